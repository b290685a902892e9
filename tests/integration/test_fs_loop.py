# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's session loop (fs/loop.c): the spinning receiver beside
libfuse's workers. What a user would notice if it went wrong: an idle
mount eating a CPU, a slow request freezing the whole mount, a daemon that
does not stop on SIGTERM or unmount, a bad -o spin= accepted."""
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import SHIFTFS, need_root_and_fuse, need_test_hooks
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)
MAP = "map=100000:0:65536"


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy(mnt, n=2000):
    """A sequential metadata caller: n negative lookups and n creates."""
    for i in range(n):
        try:
            os.lstat(os.path.join(mnt, "missing%d" % i))
        except FileNotFoundError:
            pass
    for i in range(n // 4):
        os.close(os.open(os.path.join(mnt, "f%d" % i),
                         os.O_CREAT | os.O_WRONLY, 0o644))


@pytest.mark.parametrize("spin", [None, "spin=1000"])
def test_an_idle_mount_spends_no_cpu(scratch, shiftfs_mount, spin):
    """After a burst of requests the receiver spins at most spin= us, then
    sleeps: over 2 s of nothing the daemon uses (almost) no CPU, as
    without spinning."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    m = shiftfs_mount(scratch.src, scratch.mnt,
                      MAP + ("," + spin if spin else ""))
    busy(scratch.mnt)
    time.sleep(0.5)
    before = cpu_seconds(m.proc.pid)
    time.sleep(2)
    used = cpu_seconds(m.proc.pid) - before
    assert used < 0.1, "idle daemon used %.2f s of CPU in 2 s" % used


def threads_while_busy(scratch, shiftfs_mount, opts):
    m = shiftfs_mount(scratch.src, scratch.mnt, MAP + opts)
    busy(scratch.mnt, 400)
    n = len(os.listdir("/proc/%d/task" % m.proc.pid))
    assert len(os.listdir(scratch.mnt)) == 100
    for f in os.listdir(scratch.mnt):
        os.unlink(os.path.join(scratch.mnt, f))
    m.stop()
    return n


def test_the_receiver_is_one_thread_beside_the_workers(scratch,
                                                       shiftfs_mount):
    """With spinning on (the default) the daemon has exactly one thread
    more than libfuse's loop alone (spin=0) with the same workers, and
    the caller's requests all succeed either way."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    plain = threads_while_busy(scratch, shiftfs_mount, ",max_threads=2,spin=0")
    spun = threads_while_busy(scratch, shiftfs_mount, ",max_threads=2")
    assert spun == plain + 1, (plain, spun)


@pytest.mark.parametrize("opts", ["", ",max_threads=1", ",spin=0"])
def test_a_slow_request_holds_up_no_other(scratch, shiftfs_mount,
                                          monkeypatch, opts):
    """A create the daemon holds for 3 s (test hook) is one slow request:
    meanwhile lookups, stats and a listing of the same mount are served at
    once, whichever thread (receiver or worker) took the slow one."""
    need_root_and_fuse()
    need_test_hooks()
    os.chown(scratch.src, 100000, 100000)
    for i in range(20):
        open(os.path.join(scratch.src, "e%d" % i), "w").close()
        os.chown(os.path.join(scratch.src, "e%d" % i), 100000, 100000)
    monkeypatch.setenv("SHIFTFS_TEST_CREATE_PAUSE_MS", "3000")
    shiftfs_mount(scratch.src, scratch.mnt, MAP + opts)
    monkeypatch.delenv("SHIFTFS_TEST_CREATE_PAUSE_MS")
    os.mkdir(os.path.join(scratch.src, "d"))
    os.chown(os.path.join(scratch.src, "d"), 100000, 100000)
    done = []
    # in another directory: the kernel holds the create's directory locked
    slow = threading.Thread(target=lambda: done.append(os.open(
        os.path.join(scratch.mnt, "d", "slow"), os.O_CREAT | os.O_WRONLY,
        0o644)))
    slow.start()
    time.sleep(0.3)  # the create is in the daemon now
    t0 = time.monotonic()
    for round_ in range(5):
        for i in range(20):
            assert os.lstat(os.path.join(scratch.mnt, "e%d" % i)).st_uid == 0
        try:
            os.lstat(os.path.join(scratch.mnt, "none%d" % round_))
        except FileNotFoundError:
            pass
        assert len(os.listdir(scratch.mnt)) == 21
    took = time.monotonic() - t0
    assert took < 1.5, "others waited %.1f s behind one slow request" % took
    assert not done, "the slow create did not wait (hook missing?)"
    slow.join(10)
    assert done, "the slow create never finished"
    os.close(done[0])


def run_then_stop(scratch, stop):
    """A foreground daemon, busy for a moment, then stop(proc): its exit
    code (the mount must be gone by then)."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    p = subprocess.Popen([SHIFTFS, scratch.src, scratch.mnt, "-f", "-o", MAP],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(scratch.mnt):
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.05)
        busy(scratch.mnt, 200)
        stop(p)
        rc = p.wait(timeout=5)
        assert rc == 0, p.stderr.read()
        assert not os.path.ismount(scratch.mnt)
        return rc
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["umount", "-l", scratch.mnt], capture_output=True)


def test_sigterm_ends_the_daemon_and_the_mount(scratch):
    """SIGTERM reaches a thread that ends the loop (the receiver blocks
    every signal), whoever was spinning: the daemon exits 0 within a
    few seconds and the mount is gone."""
    run_then_stop(scratch, lambda p: p.send_signal(signal.SIGTERM))


def test_unmount_ends_the_daemon(scratch):
    run_then_stop(scratch, lambda p: subprocess.run(["umount", scratch.mnt],
                                                    check=True))


_OPENERS = r"""
import os, sys
mnt, tag = sys.argv[1], sys.argv[2]
i = 0
while True:
    try:
        fd = os.open(os.path.join(mnt, "o%s-%d" % (tag, i % 50)),
                     os.O_CREAT | os.O_RDWR, 0o644)
        os.pwrite(fd, b"x" * 16, 0)
        os.close(fd)
    except OSError:
        pass
    i += 1
"""


def test_sigterm_while_files_are_opened_ends_cleanly(scratch):
    """SIGTERM while two processes open, write and close files through the
    mount as fast as they can: the daemon exits 0 within a few seconds,
    the mount is gone, and every file on the source holds only what was
    written (sfs_loop_quiesce(): no reply written to the closed session
    fd's number, which a file being opened may have taken)."""
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    for round_ in range(3):
        p = subprocess.Popen([SHIFTFS, scratch.src, scratch.mnt, "-f", "-o",
                              MAP], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        workers = []
        try:
            deadline = time.monotonic() + 10
            while not os.path.ismount(scratch.mnt):
                assert time.monotonic() < deadline and p.poll() is None
                time.sleep(0.05)
            workers = [subprocess.Popen(
                ["python3", "-c", _OPENERS, scratch.mnt, "%d%d" % (round_, k)])
                for k in range(2)]
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=10)
            assert rc == 0, p.stderr.read()
            assert not os.path.ismount(scratch.mnt)
        finally:
            for w in workers:
                w.kill()
                w.wait()
            if p.poll() is None:
                p.kill()
                p.wait()
            subprocess.run(["umount", "-l", scratch.mnt], capture_output=True)
    names = [n for n in os.listdir(scratch.src) if n.startswith("o")]
    assert names
    for n in names:
        with open(os.path.join(scratch.src, n), "rb") as f:
            data = f.read()
        assert data in (b"", b"x" * 16), (n, data[:64])


@pytest.mark.parametrize("value,why", [
    ("abc", "spin=abc: not a number (0 to 100000 microseconds)"),
    ("100001", "spin=100001: number out of range (0 to 100000 microseconds)"),
    ("-1", "spin=-1: not a number (0 to 100000 microseconds)"),
])
def test_a_bad_spin_value_is_refused(scratch, value, why):
    need_root_and_fuse()
    r = subprocess.run([SHIFTFS, scratch.src, scratch.mnt, "-f", "-o",
                        "identity,spin=" + value],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert why in r.stderr, r.stderr
    assert not os.path.ismount(scratch.mnt)
