# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 10, defect 1: an unmapped owner is shown as the overflow id and
matched by nobody (DESIGN.md: shown, never matched).

The reproduction, as root: `echo secret >src/f; chmod 600 src/f;
shiftfs src mnt -o map=5000:6000:1; su -s /bin/sh nobody -c 'cat mnt/f'`
printed `secret`, and nobody could chmod the file, copy a binary over it
and make it setuid. Each attack below runs as the real host user (nobody,
shiftfs-atk) or as a process in a real user namespace, through shiftfs and
through the kernel's idmapped mount of the same tree and map, and both
must give the same answer; beside it, the mapped owner still reads and
writes its files and ACL entries for mapped users still work.

Also issue 10, item 7: owner mode (`-o owner=H,user=C`) as root without a
subuid entry for root, and opendir fds with O_CLOEXEC.
"""
import os
import shutil
import stat
import subprocess

import pytest

from attack import ATTACKER, VICTIM, as_host_user, gid_of, in_userns, uid_of
from conftest import is_mounted, need, need_root_and_fuse, shiftctl
from fs_util import (ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ,
                     ACL_XATTR_ACCESS, Scratch, acl_decode, acl_encode, acl_named)
from idmap_util import idmapped  # noqa: F401


@pytest.fixture
def scratch():
    s = Scratch("shiftfs-sec")
    yield s
    s.cleanup()


def both_mounts(s, shiftfs_mount, idmapped, opts, uid_ranges, gid_ranges=None):
    """SRC at s.mnt through shiftfs and at s.p('idm') through the kernel."""
    need_root_and_fuse()
    idm = s.p("idm")
    os.mkdir(idm)
    os.chmod(idm, 0o755)
    shiftfs_mount(s.src, s.mnt, opts)
    idmapped(s.src, idm, uid_ranges, gid_ranges)
    return {"fuse": s.mnt, "idmap": idm}


def su_nobody(cmd):
    """The reproduction's own words: su -s /bin/sh nobody -c CMD."""
    need(shutil.which("su") is not None, "needs su")
    return subprocess.run(["su", "-s", "/bin/sh", "nobody", "-c", cmd],
                          capture_output=True, text=True, cwd="/", timeout=60)


def secret_file(s):
    f = os.path.join(s.src, "f")
    with open(f, "w") as h:
        h.write("secret\n")
    os.chmod(f, 0o600)
    return f


def test_nobody_cannot_read_or_take_an_unmapped_file(scratch, shiftfs_mount, idmapped):
    s = scratch
    f = secret_file(s)
    m = both_mounts(s, shiftfs_mount, idmapped, "map=5000:6000:1", [(5000, 6000, 1)])
    for backend, mnt in m.items():
        st = os.stat(os.path.join(mnt, "f"))
        assert (st.st_uid, st.st_gid) == (65534, 65534), backend  # shown
        r = su_nobody("cat %s/f" % mnt)
        assert r.returncode != 0 and "secret" not in r.stdout, (backend, r.stdout)
        assert "Permission denied" in r.stderr, (backend, r.stderr)
        # nor can nobody make it its own: chmod, overwrite, setuid
        r = su_nobody("chmod 777 %s/f" % mnt)
        assert "Value too large" in r.stderr, (backend, r.stderr)
        r = su_nobody("cp /bin/true %s/f" % mnt)
        assert r.returncode != 0, backend
        r = su_nobody("chmod 4755 %s/f" % mnt)
        assert r.returncode != 0, backend
        # and root is no owner of it either: no CAP_DAC_OVERRIDE/FOWNER
        r = subprocess.run(["cat", mnt + "/f"], capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (backend, r.stderr)
        r = subprocess.run(["chmod", "644", mnt + "/f"], capture_output=True, text=True)
        assert "Value too large" in r.stderr, (backend, r.stderr)
    st = os.stat(f)
    assert stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid, st.st_gid) == (0, 0)
    with open(f) as h:
        assert h.read() == "secret\n"


def test_mapped_owner_still_reads_and_writes(scratch, shiftfs_mount, idmapped):
    """Legitimate use beside it: disk 5000 is the victim's in the view."""
    s = scratch
    v, vg = uid_of(VICTIM), gid_of(VICTIM)
    f = secret_file(s)
    os.chown(f, 5000, 5000)
    os.chown(s.src, 5000, 5000)
    m = both_mounts(s, shiftfs_mount, idmapped, "uidmap=5000:%d:1,gidmap=5000:%d:1" % (v, vg),
                    [(5000, v, 1)], [(5000, vg, 1)])
    for backend, mnt in m.items():
        p = os.path.join(mnt, "f")
        r = as_host_user(VICTIM, ["cat", p])
        assert r.returncode == 0 and r.stdout.startswith("secret\n"), (backend, r.stderr)
        r = as_host_user(VICTIM, ["sh", "-c", "echo mine-%s >> %s && chmod 640 %s"
                                  % (backend, p, p)])
        assert r.returncode == 0, (backend, r.stderr)
        r = as_host_user(VICTIM, ["touch", os.path.join(mnt, "new-" + backend)])
        assert r.returncode == 0, (backend, r.stderr)
        assert os.stat(os.path.join(s.src, "new-" + backend)).st_uid == 5000
        assert su_nobody("cat %s" % p).returncode != 0, backend
    with open(f) as h:
        assert h.read() == "secret\nmine-fuse\nmine-idmap\n"


def test_acl_entry_for_unmapped_id_grants_nothing(scratch, shiftfs_mount, idmapped):
    """An ACL entry naming unmapped disk uid 70000 used to be shown as
    u:65534 and granted its rights to real nobody."""
    s = scratch
    v, a = uid_of(VICTIM), uid_of(ATTACKER)
    f = secret_file(s)
    os.chown(f, 5000, 5000)
    os.chown(s.src, 5000, 5000)
    # disk: u:70000 (unmapped) and u:5001 (the attacker's view id) may read
    os.setxattr(f, ACL_XATTR_ACCESS, acl_encode([
        (ACL_USER_OBJ, 6, 0xFFFFFFFF), (ACL_USER, 4, 5001), (ACL_USER, 4, 70000),
        (ACL_GROUP_OBJ, 0, 0xFFFFFFFF), (ACL_MASK, 4, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)]))
    uids = [(5000, v, 1), (5001, a, 1)]
    gids = [(5000, gid_of(VICTIM), 1)]
    m = both_mounts(s, shiftfs_mount, idmapped,
                    "uidmap=5000:%d:1:5001:%d:1,gidmap=5000:%d:1" % (v, a, gid_of(VICTIM)),
                    uids, gids)
    for backend, mnt in m.items():
        p = os.path.join(mnt, "f")
        r = su_nobody("cat %s" % p)
        assert r.returncode != 0 and "secret" not in r.stdout, (backend, r.stdout)
        # the entry for the mapped attacker id is a real grant
        r = as_host_user(ATTACKER, ["cat", p])
        assert r.returncode == 0 and r.stdout == "secret\n", (backend, r.stderr)
    # fuse leaves the unmapped entry out of the view entirely
    assert acl_named(os.getxattr(os.path.join(s.mnt, "f"), ACL_XATTR_ACCESS)) == {("u", a): 4}


def test_setfacl_through_the_view_keeps_hidden_entries(scratch, shiftfs_mount):
    """setfacl -m by the owner rewrites the whole ACL; the entries the view
    hides (unmapped disk ids) must survive on disk, sorted, under the mask
    the owner set; an ACL with only hidden named entries still has a mask
    the kernel accepts."""
    need_root_and_fuse()
    s = scratch
    v, a = uid_of(VICTIM), uid_of(ATTACKER)
    f = secret_file(s)
    g = os.path.join(s.src, "g")
    open(g, "w").close()
    for p in (f, g, s.src):
        os.chown(p, 5000, 5000)
    os.setxattr(f, ACL_XATTR_ACCESS, acl_encode([
        (ACL_USER_OBJ, 6, 0xFFFFFFFF), (ACL_USER, 4, 70000), (ACL_GROUP_OBJ, 0, 0xFFFFFFFF),
        (ACL_MASK, 4, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)]))
    shiftfs_mount(s.src, s.mnt, "uidmap=5000:%d:1:5001:%d:1,gidmap=5000:%d:1"
                  % (v, a, gid_of(VICTIM)))
    mf = os.path.join(s.mnt, "f")
    # only hidden entries: the view is a valid ACL with a mask, no names
    view = acl_decode(os.getxattr(mf, ACL_XATTR_ACCESS))
    assert [t for t, _, _ in view] == [ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER]
    r = subprocess.run(["getfacl", "-n", mf], capture_output=True, text=True)
    assert r.returncode == 0 and "mask::r--" in r.stdout, r.stderr
    r = as_host_user(VICTIM, ["cat", mf])  # the owner's own rights still work
    assert r.returncode == 0 and r.stdout == "secret\n", r.stderr
    # the owner adds an entry for the attacker's view id
    r = as_host_user(VICTIM, ["setfacl", "-m", "u:%d:rw-" % a, mf])
    assert r.returncode == 0, r.stderr
    disk = acl_decode(os.getxattr(f, ACL_XATTR_ACCESS))
    assert (ACL_USER, 4, 70000) in disk, disk
    assert (ACL_USER, 6, 5001) in disk, disk
    users = [i for t, _, i in disk if t == ACL_USER]
    assert users == sorted(users) == [5001, 70000]
    assert [p for t, p, _ in disk if t == ACL_MASK] == [6]
    r = as_host_user(ATTACKER, ["cat", mf])
    assert r.returncode == 0 and r.stdout == "secret\n", r.stderr
    # removing the visible entry keeps the hidden one
    r = as_host_user(VICTIM, ["setfacl", "-x", "u:%d" % a, mf])
    assert r.returncode == 0, r.stderr
    assert acl_named(os.getxattr(f, ACL_XATTR_ACCESS)) == {("u", 70000): 4}
    # and setfacl -b (no extended entries wanted) removes them all, as on
    # an idmapped mount
    r = as_host_user(VICTIM, ["setfacl", "-b", mf])
    assert r.returncode == 0, r.stderr
    assert ACL_XATTR_ACCESS not in os.listxattr(f) or \
        acl_named(os.getxattr(f, ACL_XATTR_ACCESS)) == {}
    # a fresh ACL on a file that had none works as before
    r = as_host_user(VICTIM, ["setfacl", "-m", "u:%d:r--" % a, os.path.join(s.mnt, "g")])
    assert r.returncode == 0, r.stderr
    assert acl_named(os.getxattr(g, ACL_XATTR_ACCESS)) == {("u", 5001): 4}


# A container whose own nobody (65534 inside) is the host's nobody, as
# when an engine maps the overflow id through: it used to match.
CONTAINER = "0 100000 65534\n65534 65534 1\n"



def test_mask_cannot_rearm_a_hidden_entry(scratch, shiftfs_mount):
    """A hidden entry (unmapped disk uid 70000: rw-) held to nothing by the
    mask: raising the mask through the view would give host uid 70000 rw on
    the host, for an id the mount cannot show (red-team finding). Refused
    with EPERM, the ACL on disk unchanged; the idmapped mount refuses it too
    (setfacl cannot name the hidden entry). A mask change that widens no
    hidden entry still works."""
    need_root_and_fuse()
    s = scratch
    v = uid_of(VICTIM)
    f = secret_file(s)
    os.chown(f, 5000, 5000)
    os.chown(s.src, 5000, 5000)
    before = acl_encode([
        (ACL_USER_OBJ, 6, 0xFFFFFFFF), (ACL_USER, 6, 70000), (ACL_GROUP_OBJ, 0, 0xFFFFFFFF),
        (ACL_MASK, 0, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)])
    os.setxattr(f, ACL_XATTR_ACCESS, before)
    shiftfs_mount(s.src, s.mnt, "uidmap=5000:%d:1,gidmap=5000:%d:1"
                  % (v, gid_of(VICTIM)))
    mf = os.path.join(s.mnt, "f")
    r = as_host_user(VICTIM, ["setfacl", "-m", "m::rw", mf])
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, \
        r.stdout + r.stderr
    assert os.getxattr(f, ACL_XATTR_ACCESS) == before
    # legitimate: the owner's own class bits and a mask that stays at ---
    r = as_host_user(VICTIM, ["setfacl", "-m", "u::r,m::-", mf])
    assert r.returncode == 0, r.stderr
    assert (ACL_USER, 6, 70000) in acl_decode(os.getxattr(f, ACL_XATTR_ACCESS))
    assert os.stat(f).st_mode & 0o777 == 0o400

def test_container_users_get_nothing_from_unmapped_owners(scratch, shiftfs_mount, idmapped):
    """From a real user namespace (container root and the container's own
    nobody, 65534 inside): a 0600 file whose disk owner is outside the map
    is nobody's, on both backends; the container's user 5 reads its own."""
    s = scratch
    far = os.path.join(s.src, "far")
    with open(far, "w") as h:
        h.write("far\n")
    os.chown(far, 70000, 70000)
    os.chmod(far, 0o600)
    own = os.path.join(s.src, "own")
    with open(own, "w") as h:
        h.write("own\n")
    os.chown(own, 5, 5)
    os.chmod(own, 0o600)
    m = both_mounts(s, shiftfs_mount, idmapped, "map=0:100000:65534", [(0, 100000, 65534)])
    for backend, mnt in m.items():
        for inner in (0, 65534):
            rc = in_userns(["sh", "-c", "cat %s/far >/dev/null 2>&1" % mnt],
                           CONTAINER, CONTAINER, inner, inner)
            assert rc != 0, (backend, inner)
            rc = in_userns(["sh", "-c", "chmod 666 %s/far 2>/dev/null" % mnt],
                           CONTAINER, CONTAINER, inner, inner)
            assert rc != 0, (backend, inner)
        rc = in_userns(["sh", "-c", "grep -q own %s/own && echo more >> %s/own" % (mnt, mnt)],
                       CONTAINER, CONTAINER, 5, 5)
        assert rc == 0, backend
    assert os.stat(far).st_mode & 0o7777 == 0o600
    with open(own) as h:
        assert h.read() == "own\nmore\nmore\n"


def test_overflow_options_cannot_name_a_real_id(scratch, shiftfs_mount):
    """overflow_uid=N used to show unmapped owners as N, i.e. give them to
    N's holder; only the kernel's own value is still accepted."""
    need_root_and_fuse()
    s = scratch
    with open("/proc/sys/kernel/overflowuid") as h:
        kernel = int(h.read())
    for opt in ("overflow_uid=%d" % uid_of(ATTACKER), "overflow_gid=0"):
        with pytest.raises(RuntimeError) as ei:
            shiftfs_mount(s.src, s.mnt, "map=5000:6000:1," + opt)
        assert "no longer supported" in str(ei.value), str(ei.value)
    secret_file(s)
    shiftfs_mount(s.src, s.mnt, "map=5000:6000:1,overflow_uid=%d,overflow_gid=%d"
                  % (kernel, kernel))
    assert os.stat(os.path.join(s.mnt, "f")).st_uid == kernel
    assert su_nobody("cat %s/f" % s.mnt).returncode != 0


def test_shiftctl_mount_refuses_overflow_ids(scratch):
    """shiftctl mount no longer hands --overflow-uid to either backend: a
    usage error (exit 2) naming the option, and nothing is mounted."""
    need_root_and_fuse()
    s = scratch
    for backend in ("fuse", "idmap"):
        r = shiftctl("mount", "--backend=" + backend, "--map=0:100000:65536",
                     "--overflow-uid=%d" % uid_of(ATTACKER), s.src, s.mnt)
        assert r.returncode == 2, r.stderr
        assert "--overflow-uid=%d: a mount shows unmapped owners as the " \
            "kernel's overflow uid" % uid_of(ATTACKER) in r.stderr
        assert not is_mounted(s.mnt)


def test_owner_mode_as_root_without_subuid(scratch, shiftfs_mount):
    """Item 7: `shiftfs SRC MNT -o owner=H,user=C` as root, with no
    /etc/subuid line for root: root's containers run without a user
    namespace, so H's files show as host id C; nothing else is mapped."""
    need_root_and_fuse()
    s = scratch
    a = uid_of(ATTACKER)
    with open("/etc/subuid") as h:
        need(not any(l.startswith("root:") for l in h), "this test wants no subuid entry for root")
    os.chown(s.src, uid_of(VICTIM), gid_of(VICTIM))
    data = os.path.join(s.src, "data")
    with open(data, "w") as h:
        h.write("victim's\n")
    os.chown(data, uid_of(VICTIM), gid_of(VICTIM))
    os.chmod(data, 0o600)
    other = os.path.join(s.src, "other")
    open(other, "w").close()
    os.chmod(other, 0o600)
    shiftfs_mount(s.src, s.mnt, "owner=%s,user=%d:%d" % (VICTIM, a, gid_of(ATTACKER)))
    st = os.stat(os.path.join(s.mnt, "data"))
    assert (st.st_uid, st.st_gid) == (a, gid_of(ATTACKER))
    # C (here the host user shiftfs-atk) is the data's owner in the view
    r = as_host_user(ATTACKER, ["sh", "-c", "cat %s/data && echo more >> %s/data && "
                                "touch %s/new" % (s.mnt, s.mnt, s.mnt)])
    assert r.returncode == 0 and r.stdout == "victim's\n", r.stderr
    assert os.stat(os.path.join(s.src, "new")).st_uid == uid_of(VICTIM)
    # root's file is unmapped: shown as 65534, nobody's and not C's
    assert os.stat(os.path.join(s.mnt, "other")).st_uid == 65534
    assert as_host_user(ATTACKER, ["cat", s.mnt + "/other"]).returncode != 0


def test_opendir_fds_are_cloexec(scratch, shiftfs_mount):
    """Item 7: the daemon's directory fds (and every other fd it holds
    into SRC) must not leak into anything it runs (O_CLOEXEC)."""
    need_root_and_fuse()
    s = scratch
    os.mkdir(os.path.join(s.src, "d"))
    m = shiftfs_mount(s.src, s.mnt, "identity")
    fd = os.open(os.path.join(s.mnt, "d"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.listdir(os.path.join(s.mnt, "d"))
        top = os.path.realpath(s.src)
        want = os.path.join(top, "d")
        dirfds = 0
        pid = m.proc.pid
        for n in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, n))
            except OSError:
                continue
            if target != top and not target.startswith(top + "/"):
                continue
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, n)) as h:
                    flags = [int(l.split()[1], 8) for l in h if l.startswith("flags:")][0]
            except FileNotFoundError:
                # Closed meanwhile (listdir's RELEASEDIR comes after it
                # returned): gone, so nothing to leak.
                continue
            assert flags & os.O_CLOEXEC, "fd %s -> %s flags %o" % (n, target, flags)
            if target == want and not flags & os.O_PATH:
                dirfds += 1  # the opendir fd, not the inode's O_PATH fd
        assert dirfds >= 1
    finally:
        os.close(fd)
