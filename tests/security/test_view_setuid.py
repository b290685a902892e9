# SPDX-License-Identifier: GPL-2.0-or-later
"""setuid, setgid and file capabilities through the view (issue 10, items
2 and 4, the FUSE daemon's part).

Item 4: open(O_TRUNC) by a non-owner kept the setuid bit where ext4 clears
it (libfuse's default atomic O_TRUNC left the truncation, and so the
kernel's killpriv, to the daemon, which truncates with CAP_FSETID). Every
case runs side by side on a native directory of the same filesystem and on
an identity mount, and the results must be equal.

Item 2: under a rootless layout the mapped user's view uid is disk uid 0,
so `cp /bin/bash MNT/rootsh; chmod 4755 MNT/rootsh` left a setuid-root
binary in SRC, and `unshare -r setcap cap_setuid+ep MNT/capfile` stored a
host-wide (v2) capability. The daemon's guard: a caller whose view uid is
not 0 never makes a file setuid/setgid for a privileged disk id (one that
is not itself a view id of the map) nor capable on the host. Each attack is
played as the mapped host user (runuser) and as root of a real user
namespace whose root is that user; the legitimate uses sit beside them.
"""
import os
import shutil
import stat
import subprocess
import sys

import pytest

from attack import (ATTACKER, MAPPED, as_host_user, gid_of, in_userns,
                    subid_start, uid_of)
from conftest import need, need_root_and_fuse
from fs_util import (CAP_XATTR, as_user, fcaps_decode, fcaps_v2, fcaps_v3,
                     scratch_fixture)

FIXTURES = (scratch_fixture,)


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _caps(path):
    try:
        return os.getxattr(path, CAP_XATTR, follow_symlinks=False)
    except OSError:
        return None


# --- item 4: killpriv on truncation, identity mount vs native --------------

@pytest.fixture
def identity(scratch, shiftfs_mount):
    need_root_and_fuse()
    uid_of(ATTACKER)
    os.mkdir(scratch.p("native"))
    os.chmod(scratch.p("native"), 0o755)
    shiftfs_mount(scratch.src, scratch.mnt, "identity")
    return scratch


TRUNC_CASES = {
    "setuid": (0o4777, False),
    "setuid_setgid": (0o6777, False),
    "setgid_group_exec": (0o2777, False),
    "setgid_no_group_exec": (0o2767, False),
    "capability": (0o0777, True),
}

OPS = {
    "open_trunc": "os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))",
    "truncate": "os.truncate(p, 1)",
    "write": "fd = os.open(p, os.O_WRONLY); os.write(fd, b'x'); os.close(fd)",
}


def _plant(path, mode, cap):
    with open(path, "w") as f:
        f.write("data\n")
    os.chmod(path, mode)
    if cap:
        os.setxattr(path, CAP_XATTR, fcaps_v2())


def _run(user, op, path):
    code = "p = %r\nstep('op', lambda: exec(%r, {'os': os, 'p': p}))" % (
        path, OPS[op])
    return as_user(code, user=user)["op"]


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("case", sorted(TRUNC_CASES))
def test_non_owner_truncate_or_write_equals_native(identity, case, op):
    """shiftfs-atk (not the owner, not in the group) writes or truncates a
    root file it may write: the bits and capabilities it keeps are the
    native ones, and the native ones are what ext4 documents."""
    s = identity
    mode, cap = TRUNC_CASES[case]
    name = "%s-%s" % (case, op)
    native, viewed = s.p("native", name), s.p("src", name)
    _plant(native, mode, cap)
    _plant(viewed, mode, cap)
    assert _run(ATTACKER, op, native) == ("ok", None)
    assert _run(ATTACKER, op, s.p("mnt", name)) == ("ok", None)
    assert (_mode(viewed), _caps(viewed)) == (_mode(native), _caps(native))
    # Spelled out, so that "both wrong" cannot pass.
    assert _mode(viewed) == mode & 0o777
    assert _caps(viewed) is None


def test_root_truncate_keeps_bits_as_native(identity):
    """Host root has CAP_FSETID: its O_TRUNC keeps setuid and setgid,
    natively and through the mount."""
    s = identity
    for d, p in (("native", s.p("native", "r")), ("mnt", s.p("src", "r"))):
        _plant(p, 0o6755, True)
    os.close(os.open(s.p("native", "r"), os.O_WRONLY | os.O_TRUNC))
    os.close(os.open(s.p("mnt", "r"), os.O_WRONLY | os.O_TRUNC))
    assert _mode(s.p("src", "r")) == _mode(s.p("native", "r")) == 0o6755
    # capabilities go on any truncation, even root's (cap_inode_killpriv)
    assert _caps(s.p("src", "r")) == _caps(s.p("native", "r"))
    assert _caps(s.p("src", "r")) is None
    assert os.path.getsize(s.p("src", "r")) == 0


def test_identity_owner_sets_setuid_on_own_file(identity):
    """Legitimate on an identity mount: the owner makes its own file
    setuid, as natively (nothing is privileged under an identity map)."""
    s = identity
    os.mkdir(s.p("src", "pub"))
    os.chmod(s.p("src", "pub"), 0o1777)
    r = as_user(r"""
p = %r
step('create', lambda: os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o755)))
step('chmod', os.chmod, p, 0o4755)
step('chmod_sgid', os.chmod, p, 0o6755)
""" % s.p("mnt", "pub", "mine"), user=ATTACKER)
    assert r["chmod"] == ("ok", None) and r["chmod_sgid"] == ("ok", None)
    p = s.p("src", "pub", "mine")
    assert (os.stat(p).st_uid, _mode(p)) == (uid_of(ATTACKER), 0o6755)


def test_identity_container_root_setcap_equals_native(identity):
    """Legitimate: root of a user namespace (host uid of shiftfs-atk) sets a
    capability on its own file through an identity mount: stored as v3 for
    its own root id, exactly as natively."""
    s = identity
    need(subprocess.run(["which", "setcap"], capture_output=True).returncode
         == 0, "needs setcap (libcap2-bin)")
    a, g = uid_of(ATTACKER), gid_of(ATTACKER)
    for p in (s.p("native", "c"), s.p("src", "c")):
        with open(p, "w") as f:
            f.write("#!/bin/sh\n")
        os.chown(p, a, g)
        os.chmod(p, 0o755)
    for p in (s.p("native", "c"), s.p("mnt", "c")):
        assert in_userns(["setcap", "cap_net_bind_service+ep", p],
                         "0 %d 1" % a, "0 %d 1" % g) == 0
    assert _caps(s.p("src", "c")) == _caps(s.p("native", "c"))
    assert fcaps_decode(_caps(s.p("src", "c")))[::2] == (3, a)


# --- item 2: the guard under a rootless layout ------------------------------

def _guarded_mount(scratch, shiftfs_mount, layout):
    need_root_and_fuse()
    m, mg = uid_of(MAPPED), gid_of(MAPPED)
    need(subid_start(MAPPED) is not None and
         subid_start(MAPPED, "/etc/subgid") is not None,
         "%s needs /etc/subuid and /etc/subgid ranges" % MAPPED)
    os.chmod(scratch.src, 0o755)  # disk 0: the mapped user's in the view
    opts = {"rootless": "rootless=%s" % MAPPED,
            "owner": "owner=0:0,user=%d:%d" % (m, mg)}[layout]
    shiftfs_mount(scratch.src, scratch.mnt, opts)
    assert os.stat(scratch.mnt).st_uid == m
    return m, mg


@pytest.fixture(params=["rootless", "owner"])
def guarded(request, scratch, shiftfs_mount):
    """A layout whose view uid(MAPPED) is disk 0: rootless=MAPPED, or
    owner mode on a root-owned SRC (owner=0:0,user=MAPPED)."""
    scratch.m, scratch.mg = _guarded_mount(scratch, shiftfs_mount,
                                           request.param)
    return scratch


@pytest.fixture
def rootless(scratch, shiftfs_mount):
    """rootless=shiftfs-mapped: disk 0 is view uid(MAPPED), disk 1..65536
    its subordinate range; disk 0 and 1..65536 are privileged."""
    m, mg = _guarded_mount(scratch, shiftfs_mount, "rootless")
    assert os.stat(scratch.mnt).st_uid == m
    scratch.m, scratch.mg = m, mg
    scratch.sub = subid_start(MAPPED)
    scratch.subg = subid_start(MAPPED, "/etc/subgid")
    return scratch


def _userns(s, cmd, inner_uid=0, inner_gid=0):
    """cmd as inner_uid in a user namespace whose root is the mapped user
    and whose 1..65536 are its subordinate ids (a rootless container)."""
    return in_userns(cmd, "0 %d 1\n1 %d 65536" % (s.m, s.sub),
                     "0 %d 1\n1 %d 65536" % (s.mg, s.subg),
                     inner_uid, inner_gid)


def _no_root_shell(path):
    """Running path (a copy of bash) as shiftfs-atk is not euid 0."""
    r = as_host_user(ATTACKER, [path, "-p", "-c", "id -u"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(uid_of(ATTACKER))


def test_mapped_user_cannot_plant_setuid_root(guarded):
    s = guarded
    r = as_host_user(MAPPED, ["sh", "-c", "cp /bin/bash %s && chmod 4755 %s"
                              % (s.p("mnt", "rootsh"), s.p("mnt", "rootsh"))])
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    st = os.stat(s.p("src", "rootsh"))
    assert st.st_uid == 0 and not st.st_mode & (stat.S_ISUID | stat.S_ISGID)
    _no_root_shell(s.p("src", "rootsh"))
    # setgid for disk group 0, and u+s alone, are refused the same way
    for mode in ("2755", "u+s", "g+s"):
        r = as_host_user(MAPPED, ["chmod", mode, s.p("mnt", "rootsh")])
        assert r.returncode != 0, (mode, r)
    assert _mode(s.p("src", "rootsh")) == 0o755


def test_mapped_user_create_strips_privileged_bits(guarded):
    """open(O_CREAT, 04755), mknod(S_IFREG|06755): created, without the
    bits (as the kernel strips S_ISGID for a caller outside the group)."""
    s = guarded
    r = as_user(r"""
m = %r
step('create', lambda: os.close(os.open(m + '/c', os.O_WRONLY | os.O_CREAT, 0o4755)))
step('mknod', os.mknod, m + '/n', 0o106755)
step('mkdir', os.mkdir, m + '/d', 0o2755)
""" % s.mnt, user=MAPPED, umask=0)
    assert r == {"create": ("ok", None), "mknod": ("ok", None),
                 "mkdir": ("ok", None)}, r
    assert _mode(s.p("src", "c")) == 0o755
    assert _mode(s.p("src", "n")) == 0o755
    assert os.stat(s.p("src", "c")).st_uid == 0


def test_mapped_user_legitimate_use(guarded):
    """The mapped user still creates, writes and chmods (without setuid)
    its own files, which are container root's (disk 0) in SRC."""
    s = guarded
    r = as_user(r"""
m = %r
step('write', wr, m + '/f', b'hello')
step('chmod700', os.chmod, m + '/f', 0o700)
step('chmod644', os.chmod, m + '/f', 0o644)
step('sticky_dir', lambda: (os.mkdir(m + '/d'), os.chmod(m + '/d', 0o3777)))
step('read', rd, m + '/f')
step('trunc', os.truncate, m + '/f', 2)
""" % s.mnt, user=MAPPED)
    assert all(v[0] == "ok" for v in r.values()), r
    assert r["read"] == ("ok", "hello")
    st = os.stat(s.p("src", "f"))
    assert (st.st_uid, _mode(s.p("src", "f")), st.st_size) == (0, 0o644, 2)
    # setgid on a directory is no privilege: kept
    assert _mode(s.p("src", "d")) == 0o3777


def test_host_root_through_mount_may_set_setuid(rootless):
    """View uid 0 is trusted: the administrator's chmod 4755 through the
    mount works as natively."""
    s = rootless
    with open(s.p("src", "tool"), "w") as f:  # host root is unmapped here
        f.write("#!/bin/sh\n")
    os.chown(s.p("mnt", "tool"), s.m, s.mg)  # disk 0:0
    os.chmod(s.p("mnt", "tool"), 0o4755)
    os.setxattr(s.p("mnt", "tool"), CAP_XATTR,
                fcaps_v3(s.m))  # the view's form of a disk v2 capability
    assert _mode(s.p("src", "tool")) == 0o4755
    assert os.stat(s.p("src", "tool")).st_uid == 0
    assert fcaps_decode(_caps(s.p("src", "tool")))[0] == 2


def test_userns_root_cannot_plant_setuid_or_capabilities(rootless):
    """The container side: root of a user namespace whose root is the
    mapped user copies bash in, chmods it 4755 and 2755, and setcaps a
    file: refused; SRC holds nothing privileged."""
    s = rootless
    need(subprocess.run(["which", "setcap"], capture_output=True).returncode
         == 0, "needs setcap (libcap2-bin)")
    sh, cap = s.p("mnt", "rootsh"), s.p("mnt", "capfile")
    assert _userns(s, ["cp", "/bin/bash", sh]) == 0
    assert _userns(s, ["cp", "/bin/true", cap]) == 0
    assert _userns(s, ["chmod", "4755", sh]) != 0
    assert _userns(s, ["chmod", "2755", sh]) != 0
    assert _userns(s, ["setcap", "cap_setuid+ep", cap]) != 0
    # the raw way: a v2 value (the kernel makes it v3 for the ns root)
    assert _userns(s, [sys.executable, "-c",
                       "import os; os.setxattr(%r, %r, %r)"
                       % (cap, CAP_XATTR, fcaps_v2())]) != 0
    # a v3 value naming another privileged root id (container uid 5 =
    # disk 5, a host system user's uid)
    assert _userns(s, [sys.executable, "-c",
                       "import os; os.setxattr(%r, %r, %r)"
                       % (cap, CAP_XATTR, fcaps_v3(5))]) != 0
    st = os.stat(s.p("src", "rootsh"))
    assert st.st_uid == 0 and not st.st_mode & (stat.S_ISUID | stat.S_ISGID)
    assert _caps(s.p("src", "capfile")) is None
    r = subprocess.run(["getcap", s.p("src", "capfile")], capture_output=True,
                       text=True)
    assert "cap_" not in r.stdout
    _no_root_shell(s.p("src", "rootsh"))
    # create with the bits from inside: stripped
    assert _userns(s, ["install", "-m", "4755", "/bin/true",
                       s.p("mnt", "inst")]) != 0 or \
        _mode(s.p("src", "inst")) == 0o755
    assert not _mode(s.p("src", "inst")) & 0o6000


def test_userns_chown_to_privileged_owner_clears_setuid(rootless):
    """Container uid C whose disk uid is the mapped user's own host uid
    (not privileged) may make its file setuid (it is setuid-C on the host,
    which that user may do natively); container root then chowns it to
    container root (disk 0): it is no longer setuid."""
    s = rootless
    c = s.m  # container uid c is disk c; disk uid(MAPPED) is a view uid
    need(1 <= c <= 65536, "uid of %s must be within 1..65536" % MAPPED)
    assert _userns(s, ["mkdir", "-m", "1777", s.p("mnt", "pub")]) == 0
    p, src = s.p("mnt", "pub", "cfile"), s.p("src", "pub", "cfile")
    assert _userns(s, ["sh", "-c", "cp /bin/true %s && chmod 4755 %s"
                       % (p, p)], inner_uid=c, inner_gid=0) == 0
    assert os.stat(src).st_uid == c
    assert _mode(src) == 0o4755  # legitimate: setuid-C
    assert _userns(s, ["chown", "0", p]) == 0
    assert os.stat(src).st_uid == 0
    assert not _mode(src) & 0o6000


@pytest.mark.parametrize("who", ["mapped_user", "userns_root"])
def test_write_open_disarms_planted_privileged_file(rootless, who):
    """Host root planted SRC/tool setuid-root with a host-wide capability;
    the container (owner in the view) opens it for writing: before the
    write is granted, the bits and the capability are gone (stricter than
    native, where the bits go at the first write)."""
    s = rootless
    for name in ("tool", "tool2"):
        p = s.p("src", name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(p, 0o6777)
        os.setxattr(p, CAP_XATTR, fcaps_v2())
    prog = ["sh", "-c", "exec 3>>%s" % s.p("mnt", "tool")]
    trunc = [sys.executable, "-c", "import os; os.truncate(%r, 0)"
             % s.p("mnt", "tool2")]
    if who == "mapped_user":
        assert as_host_user(MAPPED, prog).returncode == 0
        assert as_host_user(MAPPED, trunc).returncode == 0
    else:
        assert _userns(s, prog) == 0
        assert _userns(s, trunc) == 0
    for name in ("tool", "tool2"):
        assert _mode(s.p("src", name)) == 0o777, name
        assert _caps(s.p("src", name)) is None, name
    # reading keeps them
    p = s.p("src", "tool3")
    with open(p, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(p, 0o6755)
    assert as_host_user(MAPPED, ["cat", s.p("mnt", "tool3")]).returncode == 0
    assert _mode(p) == 0o6755


def test_setfacl_cannot_make_privileged_setuid_setgid(guarded):
    """An access ACL sets the group and owner permission bits: the mapped
    user makes its file setgid without group execute (no privilege, allowed)
    and then grants group execute with setfacl; or adds owner execute to a
    setuid-root file host root left non-executable. Neither leaves a
    setgid/setuid file for disk id 0; plain ACL changes still work."""
    s = guarded
    need(subprocess.run(["which", "setfacl"], capture_output=True)
         .returncode == 0, "needs setfacl (acl)")
    sh = s.p("mnt", "rs")
    r = as_host_user(MAPPED, ["sh", "-c", "cp /bin/bash %s && chmod 2745 %s "
                              "&& setfacl -m g::rwx %s" % (sh, sh, sh)])
    assert r.returncode == 0, r.stderr
    assert _mode(s.p("src", "rs")) == 0o775
    _no_root_shell(s.p("src", "rs"))
    p = s.p("src", "planted")
    with open(p, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(p, 0o4644)
    r = as_host_user(MAPPED, ["setfacl", "-m", "u::rwx,g::r,o::r",
                              s.p("mnt", "planted")])
    assert r.returncode == 0, r.stderr
    assert _mode(p) == 0o744
    # legitimate: an ACL on a plain file, kept as set
    r = as_host_user(MAPPED, ["setfacl", "-m", "g::rw", s.p("mnt", "rs")])
    assert r.returncode == 0, r.stderr
    assert _mode(s.p("src", "rs")) == 0o765


def test_acl_entry_cannot_widen_who_runs_a_privileged_setuid_file(rootless):
    """A root-owned 4750 binary in SRC (setuid root, only group root may
    run it): the mapped user, its owner in the view, grants shiftfs-atk
    `u:atk:rx` with setfacl. No mode bit changes (the mask stays r-x), but
    shiftfs-atk could now run it setuid root natively (red-team finding):
    the access ACL write clears the privileged setuid bit. An ACL on an
    ordinary file still works and keeps its mode."""
    s = rootless
    need(subprocess.run(["which", "setfacl"], capture_output=True)
         .returncode == 0, "needs setfacl (acl)")
    helper = s.p("src", "helper")
    shutil.copy("/bin/bash", helper)
    os.chown(helper, 0, 0)
    os.chmod(helper, 0o4750)
    r = as_host_user(ATTACKER, [helper, "-p", "-c", "id -u"])
    assert r.returncode != 0, "shiftfs-atk may not run it before"
    atk_view = s.sub + uid_of(ATTACKER) - 1  # disk uid(atk) in the view
    r = as_host_user(MAPPED, ["setfacl", "-m", "u:%d:rx" % atk_view,
                              s.p("mnt", "helper")])
    assert r.returncode == 0, r.stderr
    assert not _mode(helper) & 0o4000, oct(_mode(helper))
    r = as_host_user(ATTACKER, [helper, "-p", "-c", "id -u"])
    assert r.stdout.strip() != "0", "a root shell for shiftfs-atk"
    # legitimate: the same ACL on a plain file is kept, mode unchanged
    plain = s.p("src", "plain")
    with open(plain, "w") as f:
        f.write("x")
    os.chmod(plain, 0o640)
    r = as_host_user(MAPPED, ["setfacl", "-m", "u:%d:r" % atk_view,
                              s.p("mnt", "plain")])
    assert r.returncode == 0, r.stderr
    assert _mode(plain) == 0o640
    assert os.getxattr(plain, "system.posix_acl_access")
