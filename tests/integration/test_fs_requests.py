# SPDX-License-Identifier: GPL-2.0-or-later
"""Round trips per operation, counted by the daemon's request counter.

SIGUSR1 makes shiftfs log one line per opcode ("stats: WRITE 20 requests,
mean 12.3 us") and a total; the counts before and after an operation give
the requests it cost. The cuts of issue 15 are asserted: no GETXATTR
security.capability before each write (killpriv v2), no FLUSH at the close
of a file of a local source (FOPEN_NOFLUSH), and a find that neither looks
up nor opens the entries it lists (READDIRPLUS gives attributes of known
inodes only; the daemon's open fds are counted). The previous daemon had
no counter; run with -d it showed 20 GETXATTR for 20 writes, a FLUSH per
close, and an fd opened per listed entry.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import need, need_root_and_fuse
from fs_util import STATS_LINE, cost, scratch_fixture, snapshot

FIXTURES = (scratch_fixture,)
@pytest.fixture
def mnt(scratch, shiftfs_mount):
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    return shiftfs_mount(scratch.src, scratch.mnt, "map=100000:0:65536")


@pytest.fixture
def mnt_daemon_io(scratch, shiftfs_mount):
    """Reads and writes through the daemon, as an unprivileged daemon (which
    cannot register FUSE passthrough files) always has them."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    return shiftfs_mount(scratch.src, scratch.mnt,
                         "map=100000:0:65536,nopassthrough")


def test_stats_lines(mnt):
    with open(os.path.join(mnt.mnt, "f"), "w") as f:
        f.write("x")
    snapshot(mnt)
    lines = [l for l in mnt.output().splitlines() if "stats:" in l]
    assert any(STATS_LINE.search(l) and "CREATE 1 requests" in l for l in lines), \
        lines
    assert re.search(r"stats: total \d+ requests$", lines[-1]), lines


def test_writes_ask_no_getxattr(mnt_daemon_io):
    mnt = mnt_daemon_io
    path = os.path.join(mnt.mnt, "w")
    open(path, "w").close()

    def write():
        fd = os.open(path, os.O_WRONLY)
        for _ in range(20):
            os.write(fd, b"w" * 4096)
        os.close(fd)
    c = cost(mnt, write)
    assert c.get("WRITE") == 20, c
    # at most once per inode (until the kernel marks it S_NOSEC), not 20
    assert c.get("GETXATTR", 0) <= 1, c


def test_create_and_close_send_no_flush(mnt):
    d = os.path.join(mnt.mnt, "d")
    os.mkdir(d)

    def create():
        for i in range(50):
            os.close(os.open(os.path.join(d, "f%d" % i),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    c = cost(mnt, create)
    assert c.get("CREATE") == 50, c
    assert "FLUSH" not in c, c
    # LOOKUP (negative), CREATE, RELEASE, and the parent's GETATTR that
    # the kernel's permission check asks after each create changed it
    assert sum(c.values()) <= 4 * 50, c


def test_close_of_read_and_written_files_sends_no_flush(mnt):
    path = os.path.join(mnt.mnt, "r")
    with open(path, "w") as f:
        f.write("data")

    def use():
        for _ in range(10):
            with open(path) as f:
                f.read()
            with open(path, "a") as f:
                f.write("more")
    c = cost(mnt, use)
    assert c.get("OPEN") == 20, c
    assert "FLUSH" not in c, c


def test_find_looks_nothing_up(scratch, mnt):
    # made on the source: the kernel knows none of these yet
    for i in range(5):
        d = os.path.join(scratch.src, "t%d" % i)
        os.mkdir(d)
        for j in range(100):
            open(os.path.join(d, "f%d" % j), "w").close()

    def find():
        subprocess.run(["find", mnt.mnt], check=True,
                       stdout=subprocess.DEVNULL)
    fds = len(os.listdir("/proc/%d/fd" % mnt.proc.pid))
    c = cost(mnt, find)
    # one LOOKUP per directory entered, none per file
    assert c.get("LOOKUP", 0) <= 5, c
    assert sum(c.values()) < 0.1 * 500, c
    # nor did the daemon open the files it listed (it used to open and
    # cache an O_PATH fd for each of them)
    opened = len(os.listdir("/proc/%d/fd" % mnt.proc.pid)) - fds
    assert opened < 20, "daemon holds %d more fds after find" % opened
    # a stat of a listed file still works: owner disk 0, unmapped
    st = os.lstat(os.path.join(mnt.mnt, "t3", "f42"))
    assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_ls_l_after_find_has_owners(scratch, mnt):
    d = os.path.join(scratch.src, "o")
    os.mkdir(d)
    for j in range(30):
        p = os.path.join(d, "f%d" % j)
        open(p, "w").close()
        os.chown(p, 100000 + j, 100000 + j)
    subprocess.run(["find", mnt.mnt], check=True, stdout=subprocess.DEVNULL)
    r = subprocess.run(["ls", "-ln", os.path.join(mnt.mnt, "o")],
                       check=True, capture_output=True, text=True)
    owners = sorted(int(l.split()[2]) for l in r.stdout.splitlines()[1:])
    assert owners == list(range(30))


def traced_calls(pid, fn, calls="newfstatat,name_to_handle_at"):
    """The daemon's syscalls of the kinds in calls while fn() runs."""
    need(shutil.which("strace") is not None, "needs strace")
    log = "/tmp/perf2-strace-%d.log" % os.getpid()
    p = subprocess.Popen(["strace", "-f", "-qq", "-o", log, "-p", str(pid),
                          "-e", "trace=" + calls],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            tasks = os.listdir("/proc/%d/task" % pid)
            traced = 0
            for t in tasks:
                with open("/proc/%d/task/%s/status" % (pid, t)) as h:
                    traced += any(l.startswith("TracerPid:") and
                                  l.split()[1] != "0" for l in h)
            if traced == len(tasks):
                break
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.02)
        fn()
        time.sleep(0.2)
    finally:
        p.terminate()
        p.wait()
    with open(log) as h:
        lines = h.read().splitlines()
    os.unlink(log)
    return [l for l in lines if "(" in l]


def make_tree(top, dirs, files):
    for i in range(dirs):
        d = os.path.join(top, "t%d" % i)
        os.mkdir(d)
        for j in range(files):
            open(os.path.join(d, "f%d" % j), "w").close()


def test_find_of_unseen_files_stats_nothing(scratch, mnt):
    # made on the source: the kernel knows none of these, so READDIRPLUS
    # has nothing to give but plain entries; it used to fstatat each one
    # first (find 2-3x slower on 20,000 files)
    make_tree(scratch.src, 5, 100)
    calls = traced_calls(mnt.proc.pid, lambda: subprocess.run(
        ["find", mnt.mnt], check=True, stdout=subprocess.DEVNULL))
    # the 5 directories find enters are looked up; none of the 500 files
    assert len(calls) < 50, "%d calls: %s" % (len(calls), calls[:20])


def test_ls_l_of_files_made_through_the_mount_looks_nothing_up(mnt):
    # the kernel knows these (it created them): after their entries
    # expire, READDIRPLUS still refreshes their attributes, so ls -l needs
    # no LOOKUP per file
    make_tree(mnt.mnt, 3, 100)
    time.sleep(1.5)  # past the 1 s entry and attribute timeout

    def ls():
        for i in range(3):
            subprocess.run(["ls", "-l", os.path.join(mnt.mnt, "t%d" % i)],
                           check=True, stdout=subprocess.DEVNULL)
    c = cost(mnt, ls)
    assert c.get("LOOKUP", 0) < 30, c


def test_ls_l_after_stats_looks_nothing_up(scratch, mnt):
    # files the kernel learnt through stats (ls -l, stat): the next ls -l
    # after their entries expired gets their attributes in READDIRPLUS
    make_tree(scratch.src, 3, 100)

    def ls():
        for i in range(3):
            subprocess.run(["ls", "-l", os.path.join(mnt.mnt, "t%d" % i)],
                           check=True, stdout=subprocess.DEVNULL)
    first = cost(mnt, ls)
    assert first.get("LOOKUP", 0) >= 300, first  # one per file, once
    time.sleep(1.5)
    again = cost(mnt, ls)
    assert again.get("LOOKUP", 0) < 30, again
