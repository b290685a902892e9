# SPDX-License-Identifier: GPL-2.0-or-later
"""FUSE passthrough of file data (fs/passthrough.c).

A root daemon registers an open file of the source as the backing file of
the open, and the kernel then reads and writes the data there itself: no
READ or WRITE request reaches the daemon. Asserted here with the request
counter, beside what a user sees: the bytes on the source (and a change
made there, at once), the size through the mount right after, opens of
the same inode while one is live (every kind shares the one backing
file), append and positional writers together (compared with the same
sequence on a native file), opens beside a cached one (a setuid file's)
staying cached, shared mmap, a setuid file (its writes go through the
daemon, which clears the bits), and the mounts where passthrough is off
(-o nopassthrough, -o writeback, an unprivileged daemon) doing the same
through the daemon.
"""
import mmap
import os
import shutil
import subprocess

import pytest

from conftest import TEST_USER, need_root_and_fuse
from fs_util import cost, scratch_fixture, users_own_mount

FIXTURES = (scratch_fixture,)
MAP = "map=100000:0:65536"


@pytest.fixture
def mount(scratch, shiftfs_mount):
    """mount(extra_opts) -> conftest.Mount of scratch.src (owned by view 0)."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)

    def make(extra="", idmap=MAP):
        return shiftfs_mount(scratch.src, scratch.mnt,
                             idmap + ("," + extra if extra else ""))
    return make


def write_20(path, flags=os.O_WRONLY):
    fd = os.open(path, flags)
    try:
        for i in range(20):
            os.write(fd, bytes([65 + i]) * 4096)
    finally:
        os.close(fd)


def expected_20():
    return b"".join(bytes([65 + i]) * 4096 for i in range(20))


def test_writes_send_no_request_and_land_on_the_source(scratch, mount):
    m = mount()
    path = os.path.join(m.mnt, "w")
    open(path, "w").close()
    c = cost(m, lambda: write_20(path))
    assert "WRITE" not in c and c.get("OPEN") == 1, c
    with open(os.path.join(scratch.src, "w"), "rb") as f:
        assert f.read() == expected_20()
    assert os.stat(path).st_size == 20 * 4096
    # the create's own open too: tar's create-then-write
    c = cost(m, lambda: open(os.path.join(m.mnt, "new"), "wb").write(
        b"z" * 65536))
    assert "WRITE" not in c and c.get("CREATE") == 1, c
    assert os.path.getsize(os.path.join(scratch.src, "new")) == 65536


def test_every_open_beside_a_live_one_shares_it(scratch, mount):
    """Read-only, O_DIRECT, O_APPEND and read-write opens while a write
    open is live: all succeed (the kernel fails one that does not use the
    same backing file with EIO) and see each other's bytes at once."""
    m = mount()
    path = os.path.join(m.mnt, "s")
    with open(path, "wb") as f:
        f.write(b"a" * 8192)
    w = os.open(path, os.O_RDWR)
    try:
        os.pwrite(w, b"b" * 4096, 0)
        r = os.open(path, os.O_RDONLY)
        assert os.pread(r, 8192, 0) == b"b" * 4096 + b"a" * 4096
        d = os.open(path, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, 4096)
        assert os.preadv(d, [buf], 0) == 4096 and buf[:] == b"b" * 4096
        a = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.write(a, b"c" * 10)
        assert os.pread(r, 10, 8192) == b"c" * 10
        for fd in (r, d, a):
            os.close(fd)
    finally:
        os.close(w)
    with open(os.path.join(scratch.src, "s"), "rb") as f:
        assert f.read() == b"b" * 4096 + b"a" * 4096 + b"c" * 10


def interleave(path):
    """A positional writer and an appender on one file, then the bytes."""
    with open(path, "wb") as f:
        f.write(b"0" * 100)
    p = os.open(path, os.O_WRONLY)
    a = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.pwrite(p, b"P" * 10, 5)
        os.write(a, b"A" * 7)
        os.pwrite(p, b"Q" * 3, 200)
        os.write(a, b"B" * 4)
        os.lseek(p, 50, os.SEEK_SET)
        os.write(p, b"R" * 2)
    finally:
        os.close(p)
        os.close(a)
    with open(path, "rb") as f:
        return f.read()


def test_append_and_positional_writers_as_natively(scratch, mount):
    m = mount()
    native = os.path.join(os.path.dirname(scratch.src), "native-interleave")
    try:
        want = interleave(native)
    finally:
        os.unlink(native)
    c = cost(m, lambda: interleave(os.path.join(m.mnt, "i")))
    assert interleave(os.path.join(m.mnt, "i")) == want
    assert "WRITE" not in c, c


def test_reads_send_no_request(scratch, mount):
    m = mount()
    src = os.path.join(scratch.src, "r")
    with open(src, "wb") as f:
        f.write(os.urandom(1 << 20))
    with open(src, "rb") as f:
        want = f.read()

    def read():
        with open(os.path.join(m.mnt, "r"), "rb") as f:
            assert f.read() == want
    c = cost(m, read)
    assert "READ" not in c and c.get("OPEN") == 1, c
    # a change made on the source shows at once (one page cache)
    with open(src, "r+b") as f:
        f.write(b"changed")
    with open(os.path.join(m.mnt, "r"), "rb") as f:
        assert f.read(7) == b"changed"


def test_opens_beside_a_cached_one_stay_cached(scratch, mount):
    """A setuid file is opened cached; an open of the same inode while that
    one lives must be cached too (the kernel fails a passthrough open beside
    a cached one with EIO), even after the bit is gone; once both are
    closed, the next open is passed through."""
    m = mount(idmap="identity")
    src = os.path.join(scratch.src, "c")
    with open(src, "wb") as f:
        f.write(b"x" * 4096)
    os.chmod(src, 0o4755)
    path = os.path.join(m.mnt, "c")

    def both():
        r = os.open(path, os.O_RDONLY)
        try:
            assert os.pread(r, 4096, 0) == b"x" * 4096
            os.chmod(src, 0o755)
            write_20(path)
            assert os.pread(r, 4096, 4096) == bytes([66]) * 4096
        finally:
            os.close(r)
    c = cost(m, both)
    assert c.get("WRITE") == 20, c
    c = cost(m, lambda: write_20(path))
    assert "WRITE" not in c, c


def test_shared_mmap_writes_reach_the_source(scratch, mount):
    m = mount()
    path = os.path.join(m.mnt, "m")
    with open(path, "wb") as f:
        f.write(b"\0" * 8192)
    fd = os.open(path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
        mm[100:105] = b"hello"
        mm.flush()
        mm.close()
    finally:
        os.close(fd)
    with open(os.path.join(scratch.src, "m"), "rb") as f:
        assert f.read()[100:105] == b"hello"


def test_setuid_file_writes_go_through_the_daemon(scratch, mount):
    """A setuid file is not passed through: its writes reach the daemon,
    which clears the bit for a writer without CAP_FSETID (as natively).
    On the identity map, where the privilege guard (which clears such a
    bit at a write open already) is off."""
    m = mount(idmap="identity")
    src = os.path.join(scratch.src, "su")
    with open(src, "wb") as f:
        f.write(b"x")
    os.chown(src, 1000, 1000)
    os.chmod(src, 0o4777)
    path = os.path.join(m.mnt, "su")

    def write():
        r = subprocess.run(["setpriv", "--reuid=2000", "--regid=2000",
                            "--clear-groups", "--", "sh", "-c",
                            "printf y >> %s" % path],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    c = cost(m, write)
    assert c.get("WRITE") == 1, sorted(c.items())
    assert os.stat(src).st_mode & 0o7777 == 0o777


@pytest.mark.parametrize("opts", ["nopassthrough", "writeback"])
def test_without_passthrough_writes_go_through_the_daemon(scratch, mount,
                                                          opts):
    m = mount(opts)
    path = os.path.join(m.mnt, "w")
    open(path, "w").close()
    c = cost(m, lambda: write_20(path))
    assert c.get("WRITE", 0) >= 1, c
    with open(os.path.join(scratch.src, "w"), "rb") as f:
        assert f.read() == expected_20()


@pytest.fixture
def user_top():
    need_root_and_fuse()
    top = os.path.join("/tmp", "shiftfs-pt-user-%d" % os.getpid())
    os.mkdir(top)
    os.chmod(top, 0o755)
    yield top
    subprocess.run(["umount", "-l", os.path.join(top, "mnt")],
                   capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


class BehindRunuser:
    """A conftest.Mount whose daemon runs under runuser (which does not
    pass SIGUSR1 on): signals go to the daemon itself, for cost()."""

    def __init__(self, m):
        self.output = m.output
        kids = open("/proc/%d/task/%d/children" % (m.proc.pid, m.proc.pid)
                    ).read().split()
        assert len(kids) == 1, kids
        self.proc = self
        self.pid = int(kids[0])

    def send_signal(self, sig):
        os.kill(self.pid, sig)


def test_unprivileged_daemon_writes_through_itself(user_top, shiftfs_mount):
    """A user's daemon cannot register backing files (CAP_SYS_ADMIN): it
    says so once and serves the writes itself."""
    src, mnt, m = users_own_mount(shiftfs_mount, user_top)

    def write():
        r = subprocess.run(["runuser", "-u", TEST_USER, "--", "sh", "-c",
                            "printf hello > %s/a" % mnt],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    c = cost(BehindRunuser(m), write)
    assert c.get("WRITE") == 1, c
    with open(os.path.join(src, "a")) as f:
        assert f.read() == "hello"
    said = [l for l in m.output().splitlines()
            if "FUSE passthrough unavailable" in l]
    assert len(said) == 1, m.output()
