# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 10, defects 5 and 6: xattr namespaces and setgid on setfacl.

The daemon calls *xattr() as root, and the kernel's checks on a FUSE mount
stop short of some namespaces: listxattr showed trusted.* names to every
caller, system.* names other than the POSIX ACLs reached setxattr and
removexattr as root for anyone (system.nfs4_acl on an NFS source), and
setfacl kept S_ISGID where ext4 clears it (owner not in the file's group,
no CAP_FSETID). Each probe runs as the real attacker (shiftfs-atk) or in a
real user namespace, on the mount and on a native directory (and, for
setgid, on the kernel's idmapped mount of the same tree), and the answers
must be the same; root's legitimate view (view uid 0) keeps its rights.
"""
import grp
import os
import shutil
import stat
import subprocess
import time

import pytest

from attack import ATTACKER, VICTIM, gid_of, in_userns, uid_of
from conftest import need, need_root_and_fuse
from fs_util import Scratch, as_user
from idmap_util import idmapped  # noqa: F401


@pytest.fixture
def scratch():
    s = Scratch("shiftfs-sec")
    yield s
    s.cleanup()


def populate(base):
    """A file with trusted/user/security xattrs, a fifo and a symlink, all
    the attacker's, in a directory the attacker owns."""
    a, ag = uid_of(ATTACKER), gid_of(ATTACKER)
    d = os.path.join(base, "w")
    os.mkdir(d)
    os.chown(d, a, ag)
    f = os.path.join(d, "f")
    open(f, "w").close()
    os.setxattr(f, "trusted.t", b"1")
    os.setxattr(f, "user.u", b"2")
    os.setxattr(f, "security.s", b"3")
    os.mkfifo(os.path.join(d, "p"))
    os.symlink("f", os.path.join(d, "l"))
    for n in ("f", "p", "l"):
        os.lchown(os.path.join(d, n), a, ag)
    return d


PROBE = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.listxattr.restype = ctypes.c_ssize_t
d = %r
f = d + '/f'
def size_query(p):
    n = libc.listxattr(os.fsencode(p), None, 0)
    if n < 0: raise OSError(ctypes.get_errno(), 'listxattr')
    return n
step('list', lambda: sorted(os.listxattr(f)))
step('list_size', size_query, f)
step('get_trusted', os.getxattr, f, 'trusted.t')
step('set_trusted', os.setxattr, f, 'trusted.x', b'1')
step('rm_trusted', os.removexattr, f, 'trusted.t')
step('set_system', os.setxattr, f, 'system.foo', b'1')
step('set_nfs4', os.setxattr, f, 'system.nfs4_acl', b'1')
step('rm_system', os.removexattr, f, 'system.foo')
step('set_security', os.setxattr, f, 'security.foo', b'1')
step('rm_security', os.removexattr, f, 'security.s')
step('get_security', os.getxattr, f, 'security.s')
step('set_user', os.setxattr, f, 'user.x', b'1')
step('get_user', os.getxattr, f, 'user.u')
step('user_fifo', os.setxattr, d + '/p', 'user.x', b'1')
step('user_symlink', lambda: os.setxattr(d + '/l', 'user.x', b'1', follow_symlinks=False))
"""


def test_xattr_namespaces_as_native_for_the_attacker(scratch, shiftfs_mount, idmapped):
    need_root_and_fuse()
    s = scratch
    native, isrc, idm = s.p("native"), s.p("isrc"), s.p("idm")
    for d in (native, isrc, idm):
        os.mkdir(d)
        os.chmod(d, 0o755)
    for base in (s.src, native, isrc):
        populate(base)
    shiftfs_mount(s.src, s.mnt, "identity")
    idmapped(isrc, idm, [(0, 0, 4294967295)])
    got = as_user(PROBE % os.path.join(s.mnt, "w"), user=ATTACKER)
    want = as_user(PROBE % os.path.join(native, "w"), user=ATTACKER)
    kernel = as_user(PROBE % os.path.join(idm, "w"), user=ATTACKER)
    assert got == want == kernel
    # and what native is, spelled out
    assert got["list"] == ("ok", ["security.s", "user.u"])
    assert got["list_size"] == ("ok", len(b"security.s\0user.u\0"))
    assert got["get_trusted"] == ("err", "ENODATA")
    assert got["set_trusted"] == ("err", "EPERM")
    assert got["rm_trusted"] == ("err", "EPERM")
    # EOPNOTSUPP, which Python names ENOTSUP (the same value on Linux)
    assert got["set_system"] == ("err", "ENOTSUP")
    assert got["set_nfs4"] == ("err", "ENOTSUP")
    assert got["rm_system"] == ("err", "ENOTSUP")
    assert got["set_security"] == ("err", "EPERM")
    assert got["rm_security"] == ("err", "EPERM")
    assert got["get_security"] == ("ok", "3")
    assert got["set_user"] == ("ok", None)  # the owner's own namespace
    assert got["get_user"] == ("ok", "2")
    assert got["user_fifo"] == ("err", "EPERM")
    assert got["user_symlink"] == ("err", "EPERM")
    f = os.path.join(s.src, "w", "f")
    assert sorted(os.listxattr(f)) == ["security.s", "trusted.t", "user.u", "user.x"]


def test_view_root_keeps_its_namespaces(scratch, shiftfs_mount):
    """The legitimate privileged caller (view uid 0) still sees and writes
    trusted.* and security.* through the mount."""
    need_root_and_fuse()
    s = scratch
    populate(s.src)
    shiftfs_mount(s.src, s.mnt, "identity")
    f = os.path.join(s.mnt, "w", "f")
    assert "trusted.t" in os.listxattr(f)
    assert os.getxattr(f, "trusted.t") == b"1"
    os.setxattr(f, "trusted.r", b"r")
    os.setxattr(f, "security.r", b"r")
    os.removexattr(f, "trusted.t")
    disk = os.path.join(s.src, "w", "f")
    assert os.getxattr(disk, "trusted.r") == b"r"
    assert os.getxattr(disk, "security.r") == b"r"
    assert "trusted.t" not in os.listxattr(disk)


def _strace(pid, log):
    need(shutil.which("strace") is not None, "needs strace")
    p = subprocess.Popen(["strace", "-f", "-qq", "-o", log, "-p", str(pid), "-e",
                          "trace=setxattr,lsetxattr,fsetxattr,removexattr,"
                          "lremovexattr,fremovexattr"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    tasks = os.listdir("/proc/%d/task" % pid)
    while time.monotonic() < deadline:
        traced = 0
        for t in tasks:
            with open("/proc/%d/task/%s/status" % (pid, t)) as h:
                traced += any(l.startswith("TracerPid:") and l.split()[1] != "0"
                              for l in h)
        if traced == len(tasks):
            return p
        time.sleep(0.02)
    p.kill()
    pytest.fail("strace did not attach to the daemon")


def test_system_names_never_reach_the_source(scratch, shiftfs_mount):
    """system.* other than the POSIX ACLs is refused before any *xattr()
    call as root, for the attacker and for root alike; the daemon's own
    syscalls are watched, since ext4 would refuse system.foo anyway."""
    need_root_and_fuse()
    s = scratch
    d = populate(s.src)
    m = shiftfs_mount(s.src, s.mnt, "identity")
    log = s.p("strace.log")
    tracer = _strace(m.proc.pid, log)
    try:
        f = os.path.join(s.mnt, "w", "f")
        code = ("step('a', os.setxattr, %r, 'system.nfs4_acl', b'x')\n"
                "step('b', os.removexattr, %r, 'system.cifs_acl')\n"
                "step('u', os.setxattr, %r, 'user.seen', b'1')\n") % (f, f, f)
        r = as_user(code, user=ATTACKER)
        assert r["a"] == ("err", "ENOTSUP") and r["b"] == ("err", "ENOTSUP"), r
        assert r["u"] == ("ok", None)
        for fn, a in ((os.setxattr, ("system.nfs4_acl", b"x")), (os.removexattr, ("system.foo",))):
            with pytest.raises(OSError) as ei:
                fn(f, *a)
            assert ei.value.strerror and ei.value.errno == 95  # EOPNOTSUPP
        # the ACLs are system.* too and still pass
        subprocess.run(["setfacl", "-m", "u:%d:r" % uid_of(VICTIM), f], check=True)
    finally:
        time.sleep(0.2)
        tracer.terminate()
        tracer.wait()
    with open(log) as h:
        calls = h.read()
    assert "user.seen" in calls, calls  # the trace does see the daemon
    assert "system.posix_acl_access" in calls, calls
    for name in ("system.nfs4_acl", "system.cifs_acl", "system.foo"):
        assert name not in calls, calls
    assert os.getxattr(os.path.join(d, "f"), "user.seen") == b"1"


CONTAINER = "0 100000 65536\n"


def test_container_root_sees_no_trusted_names(scratch, shiftfs_mount):
    """Container root has CAP_SYS_ADMIN in its own namespace only: natively
    it cannot list trusted.* of a host file, and through the mount (view
    uid 100000, not 0) neither."""
    need_root_and_fuse()
    s = scratch
    native = s.p("native")
    os.mkdir(native)
    os.chmod(native, 0o755)
    for base, owner in ((s.src, 0), (native, 100000)):
        f = os.path.join(base, "f")
        open(f, "w").close()
        os.setxattr(f, "trusted.t", b"1")
        os.setxattr(f, "user.u", b"1")
        os.chown(f, owner, owner)
    shiftfs_mount(s.src, s.mnt, "map=0:100000:65536")
    prog = ("import os,sys; n=os.listxattr(sys.argv[1]); "
            "sys.exit(3 if any(x.startswith('trusted.') for x in n) else "
            "(0 if 'user.u' in n else 4))")
    for base in (native, s.mnt):
        rc = in_userns(["/usr/bin/python3", "-c", prog, os.path.join(base, "f")],
                       CONTAINER, CONTAINER, 0, 0)
        assert rc == 0, (base, rc)
        rc = in_userns(["sh", "-c", "setfattr -n trusted.x -v 1 %s/f 2>/dev/null" % base],
                       CONTAINER, CONTAINER, 0, 0)
        assert rc != 0, base
    assert "trusted.x" not in os.listxattr(os.path.join(s.src, "f"))


# --- defect 6: setfacl and S_ISGID ------------------------------------------

def setgid_tree(base):
    a, ag, vg = uid_of(ATTACKER), gid_of(ATTACKER), gid_of(VICTIM)
    os.chmod(base, 0o755)
    w = os.path.join(base, "w")
    os.mkdir(w)
    os.chown(w, a, ag)
    for name, group, kind in (("other", vg, "f"), ("own", ag, "f"), ("supp", vg, "f"),
                              ("byroot", vg, "f"), ("dother", vg, "d"), ("ddef", vg, "d")):
        p = os.path.join(w, name)
        if kind == "f":
            open(p, "w").close()
        else:
            os.mkdir(p)
        os.chown(p, a, group)
        os.chmod(p, 0o2775)


def run_setfacl(base):
    """The probe: the attacker (not in the victim's group), the attacker
    with the victim's group as a supplementary group, and root."""
    w = os.path.join(base, "w")
    a, ag, v, vg = uid_of(ATTACKER), gid_of(ATTACKER), uid_of(VICTIM), gid_of(VICTIM)
    need(shutil.which("setpriv") is not None, "needs setpriv")
    out = {}
    runs = (("other", ["--groups=%d" % ag], ["-m"]),
            ("own", ["--groups=%d" % ag], ["-m"]),
            ("supp", ["--groups=%d,%d" % (ag, vg)], ["-m"]),
            ("dother", ["--groups=%d" % ag], ["-m"]),
            ("ddef", ["--groups=%d" % ag], ["-d", "-m"]))
    for name, groups, how in runs:
        r = subprocess.run(["setpriv", "--reuid=%d" % a, "--regid=%d" % ag] + groups +
                           ["--", "setfacl"] + how + ["u:%d:r" % v, os.path.join(w, name)],
                           capture_output=True, text=True)
        assert r.returncode == 0, (base, name, r.stderr)
    subprocess.run(["setfacl", "-m", "u:%d:r" % v, os.path.join(w, "byroot")], check=True)
    for name in ("other", "own", "supp", "byroot", "dother", "ddef"):
        out[name] = stat.S_IMODE(os.lstat(os.path.join(w, name)).st_mode) & stat.S_ISGID
    return out


def test_setfacl_clears_setgid_as_ext4_does(scratch, shiftfs_mount, idmapped):
    need_root_and_fuse()
    s = scratch
    native, idm_src, idm = s.p("native"), s.p("isrc"), s.p("idm")
    for d in (native, idm_src, idm):
        os.mkdir(d)
        os.chmod(d, 0o755)
    for base in (s.src, native, idm_src):
        setgid_tree(base)
    grp.getgrgid(gid_of(VICTIM))  # the group exists on the host
    shiftfs_mount(s.src, s.mnt, "identity")
    idmapped(idm_src, idm, [(0, 0, 4294967295)])
    got, want, kernel = run_setfacl(s.mnt), run_setfacl(native), run_setfacl(idm)
    assert got == want == kernel
    # spelled out: cleared for the owner outside the group (files and
    # directories alike); kept for a member (primary or supplementary),
    # for root (CAP_FSETID) and for a default ACL, which leaves the mode
    assert got["other"] == 0 and got["dother"] == 0
    assert got["own"] == got["supp"] == got["byroot"] == got["ddef"] == stat.S_ISGID
    # what the mount did is on disk
    assert not os.lstat(os.path.join(s.src, "w", "other")).st_mode & stat.S_ISGID
