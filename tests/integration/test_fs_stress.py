# SPDX-License-Identifier: GPL-2.0-or-later
"""Data-integrity stress through a shiftfs mount.

A seeded random sequence of operations on a few files (writes at random
offsets and sizes, some > 1 MiB, truncates up and down, shared mmap
writes, fallocate, punch holes, reads, fsync, reopen) is checked against an
in-memory model (a bytearray per file) after every read, and at the end
both through the mount and by reading the source files directly.

Runs: identity with the default cache (SHIFTFS_STRESS_OPS, default
100,000 operations), a shifting map with the writeback cache (1/10 of
that), cache=never (1/20), and four processes at once (three sequences on
their own files plus rename/readdir churn, 1/25 each).

The seed is printed on failure (and with -s always); rerun one with
SHIFTFS_STRESS_SEED=N, and SHIFTFS_STRESS_OPS=N to change the length.
"""
import collections
import mmap
import os
import random
import time

import pytest

from conftest import need_root_and_fuse
from fs_util import FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, fallocate

MiB = 1 << 20
PAGE = mmap.PAGESIZE
MAX_SIZE = 24 * MiB
NFILES = 3
MAIN_OPS = int(os.environ.get("SHIFTFS_STRESS_OPS", "100000"))


class Failure(AssertionError):
    pass


class Stress:
    def __init__(self, mnt, src, seed, prefix="file"):
        self.mnt, self.src, self.seed, self.prefix = mnt, src, seed, prefix
        self.rng = random.Random(seed)
        self.model = [bytearray() for _ in range(NFILES)]
        self.fds = [None] * NFILES
        self.history = collections.deque(maxlen=25)
        self.counts = collections.Counter()
        self.i = 0
        for n in range(NFILES):
            self.fds[n] = os.open(self.path(n), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def path(self, n, base=None):
        return os.path.join(base or self.mnt, "%s%d" % (self.prefix, n))

    def fail(self, msg):
        raise Failure("seed=%d op #%d: %s\nlast ops:\n  %s" % (
            self.seed, self.i, msg, "\n  ".join(self.history)))

    def log(self, what):
        self.history.append("#%d %s" % (self.i, what))

    # --- helpers keeping the model in step ---------------------------------
    def _grow(self, n, size):
        m = self.model[n]
        if size > len(m):
            m.extend(bytes(size - len(m)))

    def _off(self, n, slack=256 * 1024):
        return self.rng.randrange(0, min(len(self.model[n]) + slack, MAX_SIZE - 4 * MiB))

    def check_range(self, n, off, data):
        want = bytes(self.model[n][off:off + len(data)])
        if data != want:
            first = next(i for i in range(min(len(data), len(want)) + 1)
                         if i >= len(data) or i >= len(want) or data[i] != want[i])
            self.fail("file%d read at %d: %d bytes, expected %d; first difference at +%d"
                      % (n, off, len(data), len(want), first))

    # --- operations ----------------------------------------------------------
    def op_write(self, n, big=False):
        size = self.rng.randrange(MiB + 1, 3 * MiB) if big else self.rng.choice(
            (1, self.rng.randrange(1, 512), self.rng.randrange(1, 8192), self.rng.randrange(1, 70000)))
        off = self._off(n)
        data = self.rng.randbytes(size)
        self.log("write file%d off=%d len=%d" % (n, off, size))
        w = os.pwrite(self.fds[n], data, off)
        if w != size:
            self.fail("short write %d of %d" % (w, size))
        self._grow(n, off + size)
        self.model[n][off:off + size] = data

    def op_read(self, n):
        size = self.rng.choice((1, self.rng.randrange(1, 4096), self.rng.randrange(1, 131072)))
        off = self._off(n, slack=8192)
        self.log("read file%d off=%d len=%d" % (n, off, size))
        self.check_range(n, off, os.pread(self.fds[n], size, off))

    def op_read_all(self, n):
        self.log("read_all file%d" % n)
        fd = os.open(self.path(n), os.O_RDONLY)
        try:
            data = b"".join(iter(lambda: os.read(fd, 4 * MiB), b""))
        finally:
            os.close(fd)
        if len(data) != len(self.model[n]):
            self.fail("file%d size %d, expected %d" % (n, len(data), len(self.model[n])))
        self.check_range(n, 0, data)

    def op_truncate(self, n):
        m = self.model[n]
        size = self.rng.choice((0, self.rng.randrange(0, len(m) + 1), self.rng.randrange(0, MAX_SIZE // 2),
                                len(m) + self.rng.randrange(1, 100000)))
        self.log("ftruncate file%d %d -> %d" % (n, len(m), size))
        if self.rng.random() < 0.5:
            os.ftruncate(self.fds[n], size)
        else:
            os.truncate(self.path(n), size)
        if size < len(m):
            del m[size:]
        else:
            self._grow(n, size)

    def op_mmap(self, n):
        m = self.model[n]
        if len(m) < 1:
            return
        start = self.rng.randrange(0, len(m)) // PAGE * PAGE
        length = self.rng.randrange(1, min(len(m) - start, 4 * PAGE * 16) + 1)
        self.log("mmap write file%d start=%d len=%d" % (n, start, length))
        mm = mmap.mmap(self.fds[n], length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=start)
        try:
            for _ in range(self.rng.randrange(1, 6)):
                o = self.rng.randrange(0, length)
                k = self.rng.randrange(1, min(length - o, 5000) + 1)
                data = self.rng.randbytes(k)
                mm[o:o + k] = data
                m[start + o:start + o + k] = data
            # what the map shows is what read() shows
            self.check_range(n, start, bytes(mm[:length]))
            if self.rng.random() < 0.5:
                mm.flush()
        finally:
            mm.close()

    def op_fallocate(self, n):
        off = self._off(n)
        ln = self.rng.randrange(1, 2 * MiB)
        self.log("fallocate file%d off=%d len=%d" % (n, off, ln))
        fallocate(self.fds[n], 0, off, ln)
        self._grow(n, off + ln)

    def op_fallocate_keep(self, n):
        off = self._off(n)
        ln = self.rng.randrange(1, MiB)
        self.log("fallocate KEEP_SIZE file%d off=%d len=%d" % (n, off, ln))
        fallocate(self.fds[n], FALLOC_FL_KEEP_SIZE, off, ln)

    def op_punch(self, n):
        m = self.model[n]
        if not m:
            return
        off = self.rng.randrange(0, len(m))
        ln = self.rng.choice((self.rng.randrange(1, 4096), self.rng.randrange(1, 3 * MiB)))
        self.log("punch file%d off=%d len=%d" % (n, off, ln))
        fallocate(self.fds[n], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, ln)
        end = min(off + ln, len(m))
        m[off:end] = bytes(end - off)

    def op_sync(self, n):
        self.log("fsync file%d" % n)
        (os.fsync if self.rng.random() < 0.5 else os.fdatasync)(self.fds[n])

    def op_reopen(self, n):
        self.log("reopen file%d" % n)
        os.close(self.fds[n])
        flags = os.O_RDWR
        self.fds[n] = os.open(self.path(n), flags)

    def op_stat(self, n):
        self.log("stat file%d" % n)
        size = os.fstat(self.fds[n]).st_size if self.rng.random() < 0.5 else os.stat(self.path(n)).st_size
        if size != len(self.model[n]):
            self.fail("file%d st_size %d, expected %d" % (n, size, len(self.model[n])))

    OPS = [("write", 300), ("write_big", 2), ("read", 300), ("read_all", 1), ("truncate", 30),
           ("mmap", 20), ("fallocate", 15), ("fallocate_keep", 10), ("punch", 25), ("sync", 15),
           ("reopen", 15), ("stat", 60)]

    def run(self, nops, use_mmap=True):
        names = [o for o, w in self.OPS if use_mmap or o != "mmap"]
        weights = [w for o, w in self.OPS if use_mmap or o != "mmap"]
        for self.i in range(nops):
            op = self.rng.choices(names, weights)[0]
            n = self.rng.randrange(NFILES)
            self.counts[op] += 1
            try:
                if op == "write_big":
                    self.op_write(n, big=True)
                else:
                    getattr(self, "op_" + op)(n)
            except OSError as e:
                self.fail("%s on file%d: %s" % (op, n, e))

    def finish(self):
        for n in range(NFILES):
            os.fsync(self.fds[n])
            os.close(self.fds[n])
            self.fds[n] = None
        self.i = "end"
        for n in range(NFILES):
            for base, what in ((self.mnt, "mount"), (self.src, "source on disk")):
                with open(self.path(n, base), "rb") as f:
                    data = f.read()
                if data != bytes(self.model[n]):
                    self.fail("final %s file%d differs (size %d, expected %d)" % (what, n, len(data), len(self.model[n])))

    def close(self):
        for fd in self.fds:
            if fd is not None:
                os.close(fd)


VARIANTS = [
    # (id, mount options, number of operations)
    ("default", "identity", MAIN_OPS),
    ("shifted_writeback", "map=0:100000:65536:65536:0:1,writeback", max(MAIN_OPS // 10, 1000)),
    ("cache_never", "identity,cache=never", max(MAIN_OPS // 20, 1000)),
]


@pytest.mark.parametrize("opts,nops", [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_data_integrity(tmp_path, shiftfs_mount, opts, nops):
    need_root_and_fuse()
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shiftfs_mount(src, mnt, opts)
    seed = int(os.environ.get("SHIFTFS_STRESS_SEED", "0")) or random.SystemRandom().randrange(1, 2 ** 31)
    print("shiftfs stress seed=%d ops=%d opts=%s" % (seed, nops, opts))
    s = Stress(str(mnt), str(src), seed)
    t0 = time.monotonic()
    try:
        s.run(nops)
        s.finish()
    finally:
        s.close()
    dt = time.monotonic() - t0
    print("%d ops in %.1fs (%.0f ops/s): %s" % (nops, dt, nops / dt, dict(s.counts)))
    assert sum(s.counts.values()) == nops
    # files created through the mount are owned by the creator's disk id
    if opts.startswith("map="):
        assert os.stat(os.path.join(str(src), "file0")).st_uid == 65536


def test_concurrent_integrity(tmp_path, shiftfs_mount):
    """Several processes at once (the daemon is multi-threaded): each runs
    its own seeded sequence on its own files, while another renames,
    lists and stats in the same directory."""
    need_root_and_fuse()
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shiftfs_mount(src, mnt, "map=0:100000:65536:65536:0:1")
    base = int(os.environ.get("SHIFTFS_STRESS_SEED", "0")) or random.SystemRandom().randrange(1, 2 ** 31)
    nops = max(MAIN_OPS // 25, 500)
    print("shiftfs concurrent stress seeds=%d..%d ops=%d each" % (base, base + 3, nops))
    pids = {}
    for k in range(4):
        errfile = str(tmp_path / ("err%d" % k))
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if k < 3:
                    st = Stress(str(mnt), str(src), base + k, prefix="p%d_" % k)
                    try:
                        st.run(nops)
                        st.finish()
                    finally:
                        st.close()
                else:
                    rng = random.Random(base + k)
                    for i in range(nops):
                        a, b = os.path.join(str(mnt), "r_a"), os.path.join(str(mnt), "r_b")
                        with open(a, "wb") as f:
                            f.write(b"%d" % i)
                        os.rename(a, b)
                        with open(b, "rb") as f:
                            if f.read() != b"%d" % i:
                                raise AssertionError("rename lost data at %d" % i)
                        names = os.listdir(str(mnt))
                        if len(names) != len(set(names)):
                            raise AssertionError("duplicate names in listing: %s" % names)
                        if rng.random() < 0.3:
                            for n in names:
                                try:
                                    os.lstat(os.path.join(str(mnt), n))
                                except FileNotFoundError:
                                    pass
            except BaseException as e:  # noqa: BLE001
                with open(errfile, "w") as f:
                    f.write("%s: %s" % (type(e).__name__, e))
                code = 1
            os._exit(code)
        pids[pid] = errfile
    errors = []
    for pid, errfile in pids.items():
        _, status = os.waitpid(pid, 0)
        if status != 0:
            msg = open(errfile).read() if os.path.exists(errfile) else "status %d" % status
            errors.append(msg)
    assert not errors, errors
    # every file the workers made is owned by disk 65536 (view 0)
    assert {os.lstat(os.path.join(str(src), n)).st_uid for n in os.listdir(str(src))} == {65536}
