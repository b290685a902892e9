# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential conformance: shiftfs against the native filesystem.

Each scenario is one sequence of operations. It runs on a native directory
and through a shiftfs mount of another directory on the same filesystem,
and every step's result (value, or errno name) must be equal. Only what
must differ is left out: st_dev, and inode numbers, which are checked on
their own (through the mount they must EQUAL the source's, and readdir's
d_ino must equal st_ino).

Every scenario runs twice: under the identity map, and under a shifting
map that swaps disk ids 0 and 1000 (root's creates land as disk 1000, disk
1000 is shown as 0), where the view results must still equal the native
ones and the disk owners must be the native owners translated.
"""
import errno
import fcntl
import mmap
import os
import stat
import struct
import time

import pytest

from conftest import need_root_and_fuse
from fs_util import (errno_of, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, RENAME_EXCHANGE,
                     RENAME_NOREPLACE, UTIME_NOW, UTIME_OMIT, ename, fallocate,
                     getxattr_sized, link_fd, listxattr_sized, renameat2, utimensat)

GiB = 1 << 30
NAME_MAX = 255

SWAP = "map=1000:0:1:0:1000:1:1:1:999:1001:1001:4294966294"
MAPS = {"identity": ("identity", lambda i: i), "swap": (SWAP, lambda i: {0: 1000, 1000: 0}.get(i, i))}


def st_norm(st):
    return ("stat", stat.filemode(st.st_mode), st.st_nlink, st.st_uid, st.st_gid, st.st_size, st.st_rdev)


def norm(v):
    if isinstance(v, os.stat_result):
        return st_norm(v)
    if isinstance(v, os.statvfs_result):
        return ("statvfs", v.f_bsize, v.f_frsize, v.f_blocks, v.f_files, v.f_namemax)
    if isinstance(v, (list, tuple)):
        return type(v)(norm(x) for x in v)
    return v


class Rec:
    """Runs steps relative to root, recording (label, result)."""

    def __init__(self, root):
        self.root = root
        self.out = []

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def do(self, label, fn, *a, **kw):
        try:
            v = fn(*a, **kw)
        except OSError as e:
            self.out.append((label, "E:" + ename(e.errno)))
            return None
        self.out.append((label, norm(v)))
        return v

    def open(self, label, *a):
        """os.open recorded as "fd" (descriptor numbers may differ)."""
        try:
            fd = os.open(*a)
        except OSError as e:
            self.out.append((label, "E:" + ename(e.errno)))
            return None
        self.out.append((label, "fd"))
        return fd

    def note(self, label, value):
        self.out.append((label, norm(value)))


def _fresh(path):
    os.makedirs(path)
    os.chmod(path, 0o755)


@pytest.fixture(params=sorted(MAPS))
def pair(request, tmp_path, shiftfs_mount):
    """(native root, mount root, src root, to_disk)."""
    need_root_and_fuse()
    native, src, mnt = tmp_path / "native", tmp_path / "src", tmp_path / "mnt"
    for d in (native, src, mnt):
        _fresh(str(d))
    opts, to_disk = MAPS[request.param]
    shiftfs_mount(src, mnt, opts)
    return str(native), str(mnt), str(src), to_disk


def check_inodes(mnt, src):
    """Inode numbers through the mount equal the source's; d_ino == st_ino."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(mnt):
        rel = os.path.relpath(dirpath, mnt)
        with os.scandir(dirpath) as it:
            for e in it:
                st = os.lstat(e.path)
                sst = os.lstat(os.path.join(src, rel, e.name))
                if e.inode() != st.st_ino:
                    bad.append((e.path, "d_ino", e.inode(), st.st_ino))
                if st.st_ino != sst.st_ino:
                    bad.append((e.path, "st_ino", st.st_ino, sst.st_ino))
    assert os.stat(mnt).st_ino == os.stat(src).st_ino
    assert not bad, bad


def check_disk_owners(native, src, to_disk):
    """Owners on disk are the native (= view) owners mapped view -> disk."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(native):
        rel = os.path.relpath(dirpath, native)
        for n in dirnames + filenames:
            a = os.lstat(os.path.join(dirpath, n))
            b = os.lstat(os.path.join(src, rel, n))
            if (to_disk(a.st_uid), to_disk(a.st_gid)) != (b.st_uid, b.st_gid):
                bad.append((os.path.join(rel, n), (a.st_uid, a.st_gid), (b.st_uid, b.st_gid)))
    assert not bad, bad


def run_both(pair, scenario):
    native, mnt, src, to_disk = pair
    a, b = Rec(native), Rec(mnt)
    scenario(a)
    scenario(b)
    diffs = [(x[0], "native", x[1], "shiftfs", y[1]) for x, y in zip(a.out, b.out) if x != y]
    if len(a.out) != len(b.out):
        diffs.append(("steps recorded", "native", len(a.out), "shiftfs", len(b.out)))
    assert not diffs, "shiftfs differs from native:\n" + "\n".join(map(repr, diffs))
    check_inodes(mnt, src)
    check_disk_owners(native, src, to_disk)
    return a, b


# --- helpers used by scenarios (all return plain values) -------------------

def wfile(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def rfile(path):
    with open(path, "rb") as f:
        return f.read()


def open_close(path, flags, mode=0o644):
    fd = os.open(path, flags, mode)
    os.close(fd)
    return True


def in_child(fn):
    """Run fn() in a forked child; returns its result (an errno name or a
    small string) through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = fn()
        except OSError as e:
            res = "E:" + ename(e.errno)
        except BaseException as e:  # noqa: BLE001
            res = "X:" + repr(e)
        os.write(w, str(res).encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


# --- scenarios -------------------------------------------------------------

def sc_open_flags(r):
    f = r.p("f")
    r.do("excl_new", open_close, f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    r.do("stat_new", os.stat, f)
    r.do("excl_again", open_close, f, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    r.do("write", wfile, f, b"0123456789")
    r.do("trunc", open_close, f, os.O_WRONLY | os.O_TRUNC)
    r.do("size_after_trunc", lambda: os.stat(f).st_size)
    wfile(f, b"abc")
    fd = r.open("open_append", f, os.O_WRONLY | os.O_APPEND)
    r.do("lseek0", os.lseek, fd, 0, os.SEEK_SET)
    r.do("append_write", os.write, fd, b"XYZ")
    r.do("pos_after_append", os.lseek, fd, 0, os.SEEK_CUR)
    os.close(fd)
    r.do("append_content", rfile, f)
    r.do("o_directory_on_file", open_close, f, os.O_RDONLY | os.O_DIRECTORY)
    os.symlink("f", r.p("l"))
    r.do("o_nofollow_symlink", open_close, r.p("l"), os.O_RDONLY | os.O_NOFOLLOW)
    r.do("o_path_nofollow_symlink", open_close, r.p("l"), os.O_PATH | os.O_NOFOLLOW)
    r.do("follow_symlink", rfile, r.p("l"))
    r.do("missing", open_close, r.p("nope"), os.O_RDONLY)
    os.mkdir(r.p("d"))
    r.do("write_dir", open_close, r.p("d"), os.O_WRONLY)
    r.do("creat_on_dir", open_close, r.p("d"), os.O_WRONLY | os.O_CREAT)
    r.do("o_directory_dir", open_close, r.p("d"), os.O_RDONLY | os.O_DIRECTORY)
    os.symlink("dangling_target", r.p("dl"))
    r.do("creat_through_dangling", open_close, r.p("dl"), os.O_WRONLY | os.O_CREAT, 0o600)
    r.do("dangling_created", os.lstat, r.p("dangling_target"))
    r.do("excl_on_symlink", open_close, r.p("dl"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    r.do("enotdir", open_close, r.p("f", "x"), os.O_RDONLY)
    r.do("creat_mode_umask", lambda: (open_close(r.p("m"), os.O_CREAT | os.O_WRONLY, 0o777), os.stat(r.p("m")))[1])


def sc_read_write(r):
    f = r.p("rw")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    r.do("write", os.write, fd, b"hello world")
    r.do("pwrite", os.pwrite, fd, b"HELLO", 0)
    r.do("pwrite_past_eof", os.pwrite, fd, b"end", 20)
    r.do("pread", os.pread, fd, 100, 0)
    r.do("pread_at_eof", os.pread, fd, 10, 23)
    r.do("pread_past_eof", os.pread, fd, 10, 1000)
    r.do("lseek_end", os.lseek, fd, 0, os.SEEK_END)
    r.do("read_at_end", os.read, fd, 10)
    r.do("lseek_neg", os.lseek, fd, -100, os.SEEK_SET)
    big = bytes(range(256)) * 8192  # 2 MiB
    r.do("big_pwrite", os.pwrite, fd, big, 4096)
    r.do("big_pread_ok", lambda: os.pread(fd, len(big), 4096) == big)
    r.do("fstat", os.fstat, fd)
    os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    r.do("write_on_rdonly", os.write, fd, b"x")
    os.close(fd)
    fd = os.open(f, os.O_WRONLY)
    r.do("read_on_wronly", os.read, fd, 1)
    os.close(fd)
    # mmap shared writable, then read(): same bytes
    fd = os.open(f, os.O_RDWR)
    m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[100:108] = b"MMAPPED!"
    m[5000:5004] = b"\x00\x01\x02\x03"
    r.do("read_after_mmap_write", os.pread, fd, 16, 96)
    m.flush()
    m.close()
    os.close(fd)
    r.do("reopen_read", lambda: rfile(f)[96:112])
    r.do("reopen_read2", lambda: rfile(f)[5000:5004])
    fd = os.open(f, os.O_RDONLY)
    r.do("mmap_ro_content", lambda: bytes(mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)[:16]))
    r.do("mmap_shared_write_on_rdonly",
         lambda: mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) and True)
    os.close(fd)


def sc_truncate(r):
    f = r.p("t")
    wfile(f, b"x" * 10000)
    r.do("truncate_down", os.truncate, f, 100)
    r.do("size1", lambda: os.stat(f).st_size)
    r.do("truncate_up", os.truncate, f, 50000)
    r.do("content", lambda: rfile(f) == b"x" * 100 + b"\0" * 49900)
    fd = os.open(f, os.O_RDWR)
    r.do("ftruncate", os.ftruncate, fd, 7)
    r.do("fstat", os.fstat, fd)
    r.do("ftruncate_neg", os.ftruncate, fd, -1)
    os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    r.do("ftruncate_rdonly", os.ftruncate, fd, 0)
    os.close(fd)
    os.mkdir(r.p("dir"))
    r.do("truncate_dir", os.truncate, r.p("dir"), 0)
    r.do("truncate_missing", os.truncate, r.p("missing"), 0)


def sc_fallocate(r):
    f = r.p("fa")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"A" * 65536)
    r.do("fallocate_extend", fallocate, fd, 0, 65536, 65536)
    r.do("size_extended", lambda: os.fstat(fd).st_size)
    r.do("keep_size", fallocate, fd, FALLOC_FL_KEEP_SIZE, 131072, 1 << 20)
    r.do("size_kept", lambda: os.fstat(fd).st_size)
    r.do("blocks_beyond_eof", lambda: os.fstat(fd).st_blocks * 512 >= (1 << 20) + 131072)
    r.do("punch", fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192)
    r.do("punched_content", lambda: os.pread(fd, 16384, 0) == b"A" * 4096 + b"\0" * 8192 + b"A" * 4096)
    r.do("size_after_punch", lambda: os.fstat(fd).st_size)
    r.do("punch_without_keep_size", fallocate, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096)
    r.do("posix_fallocate", os.posix_fallocate, fd, 200000, 1000)
    r.do("size_posix", lambda: os.fstat(fd).st_size)
    r.do("fallocate_bad_len", fallocate, fd, 0, 0, 0)
    os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    r.do("fallocate_rdonly", fallocate, fd, 0, 0, 4096)
    os.close(fd)


def sc_copy_seek(r):
    a, b = r.p("a"), r.p("b")
    wfile(a, bytes(range(256)) * 1024)
    wfile(b, b"")
    fa, fb = os.open(a, os.O_RDONLY), os.open(b, os.O_WRONLY)
    r.do("copy_file_range", os.copy_file_range, fa, fb, 100000, 1000, 50)
    r.do("copy_past_eof", os.copy_file_range, fa, fb, 100, 10 ** 6, 0)
    os.close(fa)
    os.close(fb)
    r.do("copied", lambda: rfile(b) == b"\0" * 50 + (bytes(range(256)) * 1024)[1000:101000])
    s = r.p("sparse")
    fd = os.open(s, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 8 << 20)
    os.pwrite(fd, b"D" * 4096, 0)
    os.pwrite(fd, b"E" * 4096, 4 << 20)
    os.fsync(fd)
    r.do("seek_data_0", os.lseek, fd, 0, os.SEEK_DATA)
    r.do("seek_hole_0", os.lseek, fd, 0, os.SEEK_HOLE)
    r.do("seek_data_mid", os.lseek, fd, 8192, os.SEEK_DATA)
    r.do("seek_hole_mid", os.lseek, fd, (4 << 20) + 1, os.SEEK_HOLE)
    r.do("seek_data_tail", os.lseek, fd, (4 << 20) + 8192, os.SEEK_DATA)
    r.do("seek_hole_past_eof", os.lseek, fd, 9 << 20, os.SEEK_HOLE)
    r.do("fsync", os.fsync, fd)
    r.do("fdatasync", os.fdatasync, fd)
    os.close(fd)
    dfd = os.open(r.root, os.O_RDONLY | os.O_DIRECTORY)
    r.do("fsync_dir", os.fsync, dfd)
    os.close(dfd)


def sc_locks(r):
    f = r.p("lk")
    wfile(f, b"lock me")
    fd = os.open(f, os.O_RDWR)
    r.do("flock_ex", fcntl.flock, fd, fcntl.LOCK_EX)

    def child_flock():
        fd2 = os.open(f, os.O_RDWR)
        fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return "locked"
    r.note("flock_conflict", in_child(child_flock))
    r.do("flock_un", fcntl.flock, fd, fcntl.LOCK_UN)
    r.note("flock_free", in_child(child_flock))
    r.do("lockf_ex", fcntl.lockf, fd, fcntl.LOCK_EX, 4, 2)
    me = os.getpid()

    def child_lockf():
        fd2 = os.open(f, os.O_RDWR)
        try:
            fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 4, 2)
            return "locked"
        except OSError as e:
            res = "E:" + ("EAGAIN/EACCES" if e.errno in (errno.EAGAIN, errno.EACCES) else ename(e.errno))
        fl = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        got = fcntl.fcntl(fd2, fcntl.F_GETLK, fl)
        t, wh, start, ln, pid = struct.unpack("hh4xqqi4x", got)
        return "%s type=%d start=%d len=%d holder_is_parent=%s" % (res, t, start, ln, pid == me)
    r.note("lockf_conflict", in_child(child_lockf))

    def child_other_range():
        fd2 = os.open(f, os.O_RDWR)
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 2, 0)
        return "locked"
    r.note("lockf_other_range", in_child(child_other_range))
    r.do("lockf_un", fcntl.lockf, fd, fcntl.LOCK_UN, 4, 2)
    r.note("lockf_free", in_child(child_lockf))
    os.close(fd)


def sc_rename(r):
    for n, data in (("a", b"A"), ("b", b"B"), ("c", b"C")):
        wfile(r.p(n), data)
    r.do("overwrite", os.rename, r.p("a"), r.p("b"))
    r.do("b_is_a", rfile, r.p("b"))
    r.do("a_gone", os.stat, r.p("a"))
    r.do("noreplace_exists", renameat2, r.p("b"), r.p("c"), RENAME_NOREPLACE)
    r.do("noreplace_new", renameat2, r.p("b"), r.p("n"), RENAME_NOREPLACE)
    r.do("exchange", renameat2, r.p("n"), r.p("c"), RENAME_EXCHANGE)
    r.do("exchanged", lambda: (rfile(r.p("n")), rfile(r.p("c"))))
    r.do("exchange_missing", renameat2, r.p("n"), r.p("zz"), RENAME_EXCHANGE)
    r.do("both_flags", renameat2, r.p("n"), r.p("c"), RENAME_EXCHANGE | RENAME_NOREPLACE)
    os.makedirs(r.p("full", "x"))
    os.mkdir(r.p("empty"))
    os.mkdir(r.p("src"))
    wfile(r.p("src", "f"), b"in src")
    r.do("dir_onto_nonempty", os.rename, r.p("src"), r.p("full"))
    r.do("dir_onto_empty", os.rename, r.p("src"), r.p("empty"))
    r.do("moved", rfile, r.p("empty", "f"))
    r.do("into_own_subdir", os.rename, r.p("full"), r.p("full", "x", "y"))
    r.do("file_onto_dir", os.rename, r.p("c"), r.p("full"))
    r.do("dir_onto_file", os.rename, r.p("full"), r.p("c"))
    r.do("to_itself", os.rename, r.p("c"), r.p("c"))
    r.do("missing", os.rename, r.p("nope"), r.p("x"))
    r.do("across_dirs", os.rename, r.p("c"), r.p("full", "x", "c"))
    r.do("exchange_file_dir", renameat2, r.p("n"), r.p("full"), RENAME_EXCHANGE)
    r.do("after_exchange", lambda: (stat.S_ISDIR(os.lstat(r.p("n")).st_mode), sorted(os.listdir(r.p("n")))))
    r.do("listing", lambda: sorted(os.listdir(r.root)))
    r.do("dir_nlink", lambda: os.stat(r.root).st_nlink)


def sc_links(r):
    wfile(r.p("f"), b"data")
    r.do("link", os.link, r.p("f"), r.p("g"))
    r.do("nlink2", lambda: (os.stat(r.p("f")).st_nlink, os.stat(r.p("g")).st_nlink))
    r.do("same_ino", lambda: os.stat(r.p("f")).st_ino == os.stat(r.p("g")).st_ino)
    r.do("link_exists", os.link, r.p("f"), r.p("g"))
    os.mkdir(r.p("d"))
    r.do("link_dir", os.link, r.p("d"), r.p("d2"))
    r.do("link_missing", os.link, r.p("nope"), r.p("x"))
    r.do("link3", os.link, r.p("g"), r.p("d", "h"))
    r.do("nlink3", lambda: os.stat(r.p("d", "h")).st_nlink)
    r.do("unlink", os.unlink, r.p("f"))
    r.do("nlink_after_unlink", lambda: os.stat(r.p("g")).st_nlink)
    r.do("content", rfile, r.p("d", "h"))
    r.do("unlink_missing", os.unlink, r.p("f"))
    # an open file survives its last unlink
    fd = os.open(r.p("g"), os.O_RDWR)
    os.unlink(r.p("g"))
    os.unlink(r.p("d", "h"))
    r.do("open_after_unlink_nlink", lambda: os.fstat(fd).st_nlink)
    r.do("write_after_unlink", os.pwrite, fd, b"more", 4)
    r.do("read_after_unlink", os.pread, fd, 100, 0)
    os.close(fd)
    # symlinks
    r.do("symlink", os.symlink, "some/where", r.p("s"))
    r.do("readlink", os.readlink, r.p("s"))
    r.do("lstat_symlink", os.lstat, r.p("s"))
    r.do("symlink_exists", os.symlink, "x", r.p("s"))
    r.do("readlink_file", os.readlink, r.p("d"))
    r.do("stat_dangling", os.stat, r.p("s"))
    long_target = "t" * 4000
    r.do("symlink_long", os.symlink, long_target, r.p("s2"))
    r.do("readlink_long", lambda: os.readlink(r.p("s2")) == long_target)
    r.do("hardlink_symlink", os.link, r.p("s"), r.p("s3"), follow_symlinks=False)
    r.do("s3", os.lstat, r.p("s3"))


def sc_nodes(r):
    r.do("mkfifo", os.mkfifo, r.p("fifo"), 0o640)
    r.do("fifo_stat", os.lstat, r.p("fifo"))
    r.do("mknod_chr", os.mknod, r.p("null"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    r.do("chr_stat", os.lstat, r.p("null"))
    r.do("mknod_blk", os.mknod, r.p("blk"), 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    r.do("blk_stat", os.lstat, r.p("blk"))
    r.do("mknod_reg", os.mknod, r.p("reg"), 0o600 | stat.S_IFREG)
    r.do("reg_stat", os.lstat, r.p("reg"))
    r.do("mknod_sock", os.mknod, r.p("sock"), 0o600 | stat.S_IFSOCK)
    r.do("sock_stat", os.lstat, r.p("sock"))
    r.do("mknod_exists", os.mkfifo, r.p("fifo"))


def sc_times_statvfs(r):
    wfile(r.p("f"), b"x")
    r.do("utime_ns", os.utime, r.p("f"), ns=(1234567890123456789, 987654321987654321))
    r.do("times", lambda: (os.stat(r.p("f")).st_atime_ns, os.stat(r.p("f")).st_mtime_ns))
    r.do("omit_atime", utimensat, r.p("f"), (0, UTIME_OMIT), (5, 6))
    r.do("times2", lambda: (os.stat(r.p("f")).st_atime_ns, os.stat(r.p("f")).st_mtime_ns))
    t0 = time.time_ns()
    r.do("now_mtime", utimensat, r.p("f"), (0, UTIME_OMIT), (0, UTIME_NOW))
    t1 = time.time_ns()
    st = os.stat(r.p("f"))
    r.note("now_in_range", t0 - 20_000_000 <= st.st_mtime_ns <= t1 + 20_000_000)
    r.note("atime_kept", st.st_atime_ns)
    r.note("ctime_recent", st.st_ctime_ns >= t0 - 20_000_000)
    os.symlink("f", r.p("l"))
    r.do("lutimes", utimensat, r.p("l"), (7, 8), (9, 10), follow=False)
    r.do("link_times", lambda: (os.lstat(r.p("l")).st_atime_ns, os.lstat(r.p("l")).st_mtime_ns))
    r.do("target_untouched", lambda: os.stat(r.p("f")).st_atime_ns)
    r.do("utime_missing", os.utime, r.p("nope"), ns=(1, 1))
    r.do("utime_bad_nsec", utimensat, r.p("f"), (0, 1000000000), (0, 0))
    # write updates mtime, chmod ctime
    os.utime(r.p("f"), ns=(1, 1))
    with open(r.p("f"), "ab") as fh:
        fh.write(b"y")
    r.note("write_bumps_mtime", os.stat(r.p("f")).st_mtime_ns > 1)
    r.do("statvfs", os.statvfs, r.root)
    r.do("chmod", os.chmod, r.p("f"), 0o4751)
    r.do("mode", lambda: oct(os.stat(r.p("f")).st_mode))
    r.do("chmod_symlink_target", os.chmod, r.p("l"), 0o600)
    r.do("mode2", lambda: oct(os.stat(r.p("f")).st_mode))


def sc_xattrs(r):
    f = r.p("x")
    wfile(f, b"")
    r.do("set", os.setxattr, f, "user.a", b"alpha")
    r.do("get", os.getxattr, f, "user.a")
    r.do("set_empty", os.setxattr, f, "user.empty", b"")
    r.do("get_empty", os.getxattr, f, "user.empty")
    r.do("create_existing", os.setxattr, f, "user.a", b"x", os.XATTR_CREATE)
    r.do("replace_missing", os.setxattr, f, "user.b", b"x", os.XATTR_REPLACE)
    r.do("replace", os.setxattr, f, "user.a", b"beta", os.XATTR_REPLACE)
    r.do("get2", os.getxattr, f, "user.a")
    r.do("create_new", os.setxattr, f, "user.c", b"c" * 3000, os.XATTR_CREATE)
    r.do("trusted", os.setxattr, f, "trusted.t", b"\x00\x01bin")
    r.do("trusted_get", os.getxattr, f, "trusted.t")
    r.do("list", lambda: sorted(os.listxattr(f)))
    r.do("size_query", getxattr_sized, f, "user.c", 0)
    r.do("erange", getxattr_sized, f, "user.c", 10)
    r.do("exact", getxattr_sized, f, "user.c", 3000)
    r.do("list_size", listxattr_sized, f, 0)
    r.do("list_erange", listxattr_sized, f, 3)
    r.do("get_missing", os.getxattr, f, "user.nope")
    r.do("remove", os.removexattr, f, "user.a")
    r.do("remove_missing", os.removexattr, f, "user.a")
    r.do("list2", lambda: sorted(os.listxattr(f)))
    r.do("bad_namespace", os.setxattr, f, "bogus.x", b"1")
    r.do("name_too_long", os.setxattr, f, "user." + "n" * 300, b"1")
    r.do("value_64k", os.setxattr, f, "user.big", b"v" * 65536)
    os.symlink("x", r.p("l"))
    r.do("user_xattr_on_symlink", os.setxattr, r.p("l"), "user.s", b"1", follow_symlinks=False)
    r.do("trusted_on_symlink", os.setxattr, r.p("l"), "trusted.s", b"1", follow_symlinks=False)
    r.do("trusted_on_symlink_get", os.getxattr, r.p("l"), "trusted.s", follow_symlinks=False)
    os.mkdir(r.p("d"))
    r.do("dir_xattr", os.setxattr, r.p("d"), "user.d", b"dir")
    r.do("dir_xattr_get", os.getxattr, r.p("d"), "user.d")


def sc_dirs_names(r):
    os.makedirs(r.p("d", "sub"))
    wfile(r.p("d", "f"), b"")
    r.do("rmdir_nonempty", os.rmdir, r.p("d"))
    r.do("unlink_dir", os.unlink, r.p("d"))
    r.do("mkdir_existing", os.mkdir, r.p("d"))
    r.do("mkdir_on_file", os.mkdir, r.p("d", "f"))
    r.do("rmdir_file", os.rmdir, r.p("d", "f"))
    r.do("rmdir_missing", os.rmdir, r.p("nope"))
    r.do("rmdir_dot", os.rmdir, r.p("d", "sub", "."))
    r.do("mkdir_mode", lambda: (os.mkdir(r.p("m"), 0o1751), os.stat(r.p("m")))[1])
    r.do("rmdir_empty", os.rmdir, r.p("d", "sub"))
    r.do("mkdir_parent_missing", os.mkdir, r.p("no", "such"))
    ok = "n" * NAME_MAX
    bad = "n" * (NAME_MAX + 1)
    r.do("create_name_max", wfile, r.p(ok), b"long")
    r.do("stat_name_max", os.stat, r.p(ok))
    r.do("read_name_max", rfile, r.p(ok))
    r.do("mkdir_name_max", os.mkdir, r.p("d", ok))
    r.do("symlink_name_max", os.symlink, ok, r.p("m", ok))
    r.do("rename_name_max", os.rename, r.p(ok), r.p("d", "f" * NAME_MAX))
    r.do("create_too_long", wfile, r.p(bad), b"")
    r.do("mkdir_too_long", os.mkdir, r.p(bad))
    r.do("stat_too_long", os.stat, r.p(bad))
    r.do("rename_too_long", os.rename, r.p("d", "f"), r.p(bad))
    r.do("odd_names", lambda: [wfile(r.p("d", n), b"") for n in ("sp ace", "nl\nx", "\x01ctl", "...", "-", "é")])
    r.do("bytes_name", lambda: wfile(os.path.join(os.fsencode(r.p("d")), b"\xff\xfe"), b""))
    r.do("listing", lambda: sorted(os.listdir(os.fsencode(r.p("d")))))


def sc_tmpfile(r):
    fd = r.open("o_tmpfile", r.root, os.O_TMPFILE | os.O_RDWR, 0o600)
    if fd is None:
        return
    r.do("tmp_write", os.write, fd, b"anonymous")
    r.do("tmp_fstat", os.fstat, fd)
    r.do("not_listed", lambda: sorted(os.listdir(r.root)))
    r.do("linkat", link_fd, fd, r.p("named"))
    r.do("linked_content", rfile, r.p("named"))
    r.do("linked_stat", os.stat, r.p("named"))
    os.close(fd)
    fd = r.open("o_tmpfile_excl", r.root, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
    if fd is not None:
        r.do("linkat_excl", link_fd, fd, r.p("named2"))
        os.close(fd)
    fd = r.open("o_tmpfile_rdonly", r.root, os.O_TMPFILE | os.O_RDONLY, 0o600)
    if fd is not None:
        os.close(fd)


def sc_big_files(r):
    f = r.p("big")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    r.do("pwrite_5g", os.pwrite, fd, b"far away", 5 * GiB)
    r.do("size", lambda: os.fstat(fd).st_size)
    r.do("sparse", lambda: os.fstat(fd).st_blocks * 512 < GiB)
    r.do("pread_5g", os.pread, fd, 16, 5 * GiB - 4)
    r.do("pread_4g", os.pread, fd, 8, 4 * GiB)
    r.do("seek_data_4g", os.lseek, fd, 4 * GiB, os.SEEK_DATA)
    r.do("ftruncate_6g", os.ftruncate, fd, 6 * GiB + 123)
    r.do("size2", lambda: os.fstat(fd).st_size)
    r.do("ftruncate_4g1", os.ftruncate, fd, 4 * GiB + 1)
    r.do("pwrite_at_4g", os.pwrite, fd, b"Z", 4 * GiB)
    r.do("pread_tail", os.pread, fd, 10, 4 * GiB - 2)
    r.do("copy_file_range_big", lambda: _cfr_big(r, fd))
    os.close(fd)
    r.do("stat", os.stat, f)


def _cfr_big(r, fd):
    out = os.open(r.p("big2"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        n = os.copy_file_range(fd, out, 4, 4 * GiB - 2, 5 * GiB)
        return n, os.fstat(out).st_size, os.pread(out, 4, 5 * GiB)
    finally:
        os.close(out)


def sc_readdir(r):
    names = ["f%03d" % i for i in range(300)]
    for n in names:
        wfile(r.p(n), b"")
    os.mkdir(r.p("dir"))
    os.symlink("x", r.p("sym"))
    os.mkfifo(r.p("fifo"))
    for n in names[::3]:
        os.unlink(r.p(n))
    r.do("listdir", lambda: sorted(os.listdir(r.root)))
    r.do("types", lambda: sorted((e.name, e.is_dir(follow_symlinks=False), e.is_symlink(), e.is_file(follow_symlinks=False))
                                 for e in os.scandir(r.root)))
    r.do("listdir_file", os.listdir, r.p("f001"))
    r.do("listdir_missing", os.listdir, r.p("nope"))
    # readdir while creating: both see a consistent, duplicate-free listing
    with os.scandir(r.root) as it:
        seen = []
        for i, e in enumerate(it):
            seen.append(e.name)
            if i == 10:
                wfile(r.p("late"), b"")
    r.note("no_duplicates", len(seen) == len(set(seen)))
    r.do("empty_dir", os.listdir, r.p("dir"))


SCENARIOS = [sc_open_flags, sc_read_write, sc_truncate, sc_fallocate, sc_copy_seek, sc_locks,
             sc_rename, sc_links, sc_nodes, sc_times_statvfs, sc_xattrs, sc_dirs_names,
             sc_big_files, sc_readdir]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__[3:] for s in SCENARIOS])
def test_conformance(pair, scenario):
    os.umask(0o022)
    run_both(pair, scenario)


def test_umask_and_owner_of_creates(pair):
    """Creates under a non-trivial umask: same modes, owners translated."""
    old = os.umask(0o027)
    try:
        def sc(r):
            r.do("file", lambda: (open_close(r.p("f"), os.O_CREAT | os.O_WRONLY, 0o777), os.stat(r.p("f")))[1])
            r.do("dir", lambda: (os.mkdir(r.p("d"), 0o777), os.stat(r.p("d")))[1])
            r.do("fifo", lambda: (os.mkfifo(r.p("p"), 0o777), os.lstat(r.p("p")))[1])
            r.do("sym", lambda: (os.symlink("x", r.p("s")), os.lstat(r.p("s")))[1])
        run_both(pair, sc)
    finally:
        os.umask(old)


def _libfuse_has_tmpfile():
    try:
        with open("/usr/include/fuse3/fuse_lowlevel.h") as f:
            return "(*tmpfile)" in f.read()
    except OSError:
        return False


def test_o_tmpfile(pair):
    """O_TMPFILE + linkat(AT_EMPTY_PATH).

    The kernel sends FUSE_TMPFILE, but libfuse before the version whose
    lowlevel API has a tmpfile op answers it ENOSYS, which the kernel turns
    into EOPNOTSUPP: then the only correct behaviour is exactly that error
    (what glibc and applications fall back on), nothing left in the source,
    and the usual fallback (create a name, write, rename) working. Where
    libfuse has the op, shiftfs must behave like the native filesystem.
    """
    native, mnt, src, to_disk = pair
    if _libfuse_has_tmpfile():
        run_both(pair, sc_tmpfile)
        return
    a = Rec(native)
    sc_tmpfile(a)
    assert a.out[0] == ("o_tmpfile", "fd"), a.out
    assert errno_of(os.open, mnt, os.O_TMPFILE | os.O_RDWR, 0o600) == "ENOTSUP"  # EOPNOTSUPP
    assert errno_of(os.open, mnt, os.O_TMPFILE | os.O_WRONLY | os.O_EXCL, 0o600) == "ENOTSUP"  # EOPNOTSUPP
    assert os.listdir(src) == []
    # the fallback works, owners translated
    wfile(os.path.join(mnt, ".tmp"), b"content")
    os.rename(os.path.join(mnt, ".tmp"), os.path.join(mnt, "named"))
    assert rfile(os.path.join(src, "named")) == b"content"
    assert os.lstat(os.path.join(src, "named")).st_uid == to_disk(0)
