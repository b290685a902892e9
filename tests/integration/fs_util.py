# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the shiftfs filesystem tests (test_fs_*.py).

- libc calls Python's os module lacks (renameat2, fallocate with modes),
- encoders/decoders for the xattr values shiftfs translates (POSIX ACLs,
  security.capability v3),
- world-traversable scratch directories (pytest's tmp_path lives under a
  0700 directory, which an unprivileged host user cannot reach),
- running a small Python snippet as another host user and getting its
  results (values or errno names) back as JSON.
"""
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import TEST_USER, need

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
FALLOC_FL_ZERO_RANGE = 0x10
AT_FDCWD = -100
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]


def _check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return r


def _b(p):
    return os.fsencode(p)


def renameat2(old, new, flags=0):
    _check(libc.renameat2(AT_FDCWD, _b(old), AT_FDCWD, _b(new), flags), "renameat2")


def fallocate(fd, mode, offset, length):
    _check(libc.fallocate(fd, mode, offset, length), "fallocate")


def ename(e):
    """errno number -> name, e.g. 'ENOENT'."""
    return errno.errorcode.get(e, str(e))


# --- POSIX ACL xattr values (include/uapi/linux/posix_acl_xattr.h) --------
ACL_XATTR_ACCESS = "system.posix_acl_access"
ACL_XATTR_DEFAULT = "system.posix_acl_default"
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF


def acl_decode(blob):
    """-> list of (tag, perm, id)."""
    ver, = struct.unpack_from("<I", blob, 0)
    assert ver == 2, "ACL xattr version %d" % ver
    assert (len(blob) - 4) % 8 == 0, "ACL xattr size %d" % len(blob)
    return [struct.unpack_from("<HHI", blob, off) for off in range(4, len(blob), 8)]


def acl_encode(entries):
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def acl_named(blob):
    """{('u'|'g', id): perm} of the named entries of an ACL value."""
    out = {}
    for tag, perm, i in acl_decode(blob):
        if tag == ACL_USER:
            out[("u", i)] = perm
        elif tag == ACL_GROUP:
            out[("g", i)] = perm
    return out


# --- security.capability (include/uapi/linux/capability.h) ----------------
CAP_XATTR = "security.capability"
VFS_CAP_REVISION_2 = 0x02000000
VFS_CAP_REVISION_3 = 0x03000000
VFS_CAP_FLAGS_EFFECTIVE = 1
CAP_NET_BIND_SERVICE = 10


def fcaps_v3(rootid, permitted=1 << CAP_NET_BIND_SERVICE, effective=True):
    magic = VFS_CAP_REVISION_3 | (VFS_CAP_FLAGS_EFFECTIVE if effective else 0)
    return struct.pack("<IIIIII", magic, permitted, 0, 0, 0, rootid)


def fcaps_v2(permitted=1 << CAP_NET_BIND_SERVICE, effective=True):
    magic = VFS_CAP_REVISION_2 | (VFS_CAP_FLAGS_EFFECTIVE if effective else 0)
    return struct.pack("<IIIII", magic, permitted, 0, 0, 0)


def fcaps_decode(blob):
    """-> (revision, permitted low word, rootid or None)."""
    magic, perm = struct.unpack_from("<II", blob, 0)
    rev = magic & 0xFF000000
    if rev == VFS_CAP_REVISION_3:
        assert len(blob) == 24, len(blob)
        return 3, perm, struct.unpack_from("<I", blob, 20)[0]
    if rev == VFS_CAP_REVISION_2:
        assert len(blob) == 20, len(blob)
        return 2, perm, None
    return rev >> 24, perm, None


# --- scratch directories reachable by every host user ---------------------
class Scratch:
    """A 0755 directory under /tmp with src/ and mnt/ (and anything else)."""

    def __init__(self, tag="shiftfs-test"):
        self.path = tempfile.mkdtemp(prefix=tag + ".", dir="/tmp")
        os.chmod(self.path, 0o755)
        self.src = os.path.join(self.path, "src")
        self.mnt = os.path.join(self.path, "mnt")
        os.mkdir(self.src)
        os.mkdir(self.mnt)
        os.chmod(self.src, 0o755)
        os.chmod(self.mnt, 0o755)
        self._cleanups = []

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        from conftest import is_mounted
        for fn in reversed(self._cleanups):
            fn()
        for d in (self.mnt,):
            if is_mounted(d):
                subprocess.run(["umount", "-l", d], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture(name="scratch")
def scratch_fixture():
    """Use as `scratch` (import scratch_fixture into the test module).
    List it before shiftfs_mount so the mount is torn down first."""
    s = Scratch()
    yield s
    s.cleanup()


# --- acting as another host user ------------------------------------------
_RUNNER = r"""
import errno, json, os, sys
def ename(e): return errno.errorcode.get(e, str(e))
res = []
def step(label, fn, *a):
    try:
        v = fn(*a)
        if isinstance(v, bytes): v = v.decode('latin-1')
        if isinstance(v, os.stat_result): v = [v.st_uid, v.st_gid, oct(v.st_mode)]
        res.append([label, 'ok', v])
    except OSError as e:
        res.append([label, 'err', ename(e.errno)])
def wr(p, data=b'x'):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try: return os.write(fd, data)
    finally: os.close(fd)
def rd(p):
    fd = os.open(p, os.O_RDONLY)
    try: return os.read(fd, 100)
    finally: os.close(fd)
def mk(p): os.mkdir(p, 0o755); return os.stat(p)
def ls(p): return sorted(os.listdir(p))
"""


def user_ids(user=TEST_USER):
    import pwd
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        need(False, "host user %s missing (run scripts/deps.sh)" % user)
    return pw.pw_uid, pw.pw_gid


def as_user(code, user=TEST_USER, umask=0o022):
    """Run code (which calls step(label, fn, *args)) as user (a name, or
    a (uid, gid) tuple run through setpriv).

    Returns {label: ('ok', value) | ('err', 'EACCES')}.
    """
    prog = _RUNNER + "os.umask(%d)\n" % umask + code + "\nprint(json.dumps(res))\n"
    if isinstance(user, tuple):
        # (uid, gid): any ids, no passwd entry needed
        need(shutil.which("setpriv") is not None, "needs setpriv")
        pre = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1], "--clear-groups", "--"]
    else:
        user_ids(user)
        need(shutil.which("runuser") is not None, "needs runuser")
        pre = ["runuser", "-u", user, "--"]
    r = subprocess.run(pre + [sys.executable, "-c", prog],
                       capture_output=True, text=True, cwd="/", timeout=60)
    assert r.returncode == 0, "snippet as %s failed: %s" % (user, r.stderr)
    return {label: (kind, v) for label, kind, v in json.loads(r.stdout.strip().splitlines()[-1])}


def write_subid(path, lines):
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    os.chmod(path, 0o644)


def errno_of(fn, *a, **kw):
    """Call fn; return None on success, else the errno name."""
    try:
        fn(*a, **kw)
    except OSError as e:
        return ename(e.errno)
    return None


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


class _timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_timespec), ctypes.c_int]
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t


def utimensat(path, atime, mtime, follow=True):
    """atime/mtime: (sec, nsec), or UTIME_NOW / UTIME_OMIT as the nsec."""
    ts = (_timespec * 2)(_timespec(*atime), _timespec(*mtime))
    _check(libc.utimensat(AT_FDCWD, _b(path), ts, 0 if follow else 0x100), "utimensat")


def getxattr_sized(path, name, size):
    """getxattr(2) with an explicit buffer size: returns the length (or raises)."""
    buf = ctypes.create_string_buffer(max(size, 1))
    return _check(libc.getxattr(_b(path), _b(name), buf if size else None, size), "getxattr")


def listxattr_sized(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    return _check(libc.listxattr(_b(path), buf if size else None, size), "listxattr")


AT_EMPTY_PATH = 0x1000
libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]


def link_fd(fd, newpath):
    """linkat(fd, "", AT_FDCWD, newpath, AT_EMPTY_PATH): give an O_TMPFILE a name."""
    _check(libc.linkat(fd, b"", AT_FDCWD, _b(newpath), AT_EMPTY_PATH), "linkat")


CLONE_NEWUSER = 0x10000000
libc.unshare.argtypes = [ctypes.c_int]


class UsernsProcess:
    """A process in a new user namespace with the given maps (lines of
    /proc/PID/uid_map: "inside outside count"), for the pid= layout."""

    def __init__(self, uid_map, gid_map):
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r1)
            os.close(w2)
            ok = libc.unshare(CLONE_NEWUSER) == 0
            os.write(w1, b"1" if ok else b"0")
            os.read(r2, 1)  # until the parent closes: then exit
            os._exit(0)
        os.close(w1)
        os.close(r2)
        self.pid, self._hold = pid, w2
        ok = os.read(r1, 1) == b"1"
        os.close(r1)
        if not ok:
            self.stop()
            need(False, "cannot create a user namespace")
        with open("/proc/%d/uid_map" % pid, "w") as f:
            f.write(uid_map)
        with open("/proc/%d/gid_map" % pid, "w") as f:
            f.write(gid_map)

    def stop(self):
        if self._hold is not None:
            os.close(self._hold)
            self._hold = None
            os.waitpid(self.pid, 0)


# --- the daemon's request counter (SIGUSR1) ------------------------------

STATS_LINE = re.compile(r"stats: ([A-Z_]+) (\d+) requests, mean (\d+\.\d) us$")


def snapshot(m):
    """{opcode: requests so far} of mount m (conftest.Mount)."""
    before = m.output().count("stats: total")
    m.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while m.output().count("stats: total") <= before:
        assert time.monotonic() < deadline, "no stats after SIGUSR1: " + \
            m.output()[-500:]
        time.sleep(0.02)
    block = m.output().split("stats: total")[-2].splitlines()
    counts = {}
    for line in block:
        g = STATS_LINE.search(line)
        if g:
            counts[g.group(1)] = int(g.group(2))
    return counts


def cost(m, fn):
    """Requests fn() sent, by opcode (FORGET, which the kernel sends when
    it likes, left out); waits for asynchronous RELEASEs."""
    time.sleep(0.3)
    a = snapshot(m)
    fn()
    time.sleep(0.3)
    b = snapshot(m)
    return {k: b[k] - a.get(k, 0) for k in b
            if k != "FORGET" and b[k] > a.get(k, 0)}


def users_own_mount(shiftfs_mount, top, user=TEST_USER):
    """user's own daemon (runuser) showing top/src at top/mnt, both made
    and owned by user, with user's uid and gid mapped to themselves:
    (src, mnt, conftest.Mount)."""
    import pwd
    need(shutil.which("runuser") is not None, "needs runuser")
    pw = pwd.getpwnam(user)
    src, mnt = os.path.join(top, "src"), os.path.join(top, "mnt")
    for d in (src, mnt):
        os.mkdir(d)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    m = shiftfs_mount(src, mnt, "uidmap=%d:%d:1,gidmap=%d:%d:1" % (
        pw.pw_uid, pw.pw_uid, pw.pw_gid, pw.pw_gid), user=user)
    return src, mnt, m
