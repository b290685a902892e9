# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of the spinning receiver (fs/loop.c) and of the O_PATH
passthrough registration (fs/passthrough.c start()).

The first receiver (86c2292) made the session's own /dev/fuse fd
O_NONBLOCK; since 6a02690 the fd stays blocking and the receiver asks
poll() instead (this test fails on 86c2292). libfuse's
multi-threaded loop gives each new worker a cloned fd, but when that clone
fails (fuse_clone_chan(): open("/dev/fuse") with EMFILE, or the CLONE
ioctl) it logs "trying to continue without -o clone_fd" and the worker
reads the session fd instead; libfuse's worker treats every receive error
but EINTR, -EAGAIN included, as fatal and ends the session. Before the
receiver that fallback worker blocked in read() and the daemon lived on."""
import os
import re
import resource
import sys
import time

import subprocess

from conftest import SHIFTFS, Mount, need_root_and_fuse, wait_for_mount
from fs_util import scratch_fixture

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack import in_userns  # noqa: E402

import pytest  # noqa: E402

MAP = "map=100000:0:65536"
# The daemon's fds: a low hard limit only makes the test fast; a container
# can hold open any number up to its own RLIMIT_NOFILE (Docker: 1048576)
# per process, so it reaches whatever limit the root daemon has.
DAEMON_NOFILE = 300
FILES = 400

EXHAUST = r"""
import os, sys, threading, time
mnt, nfiles = sys.argv[1], int(sys.argv[2])
fds = []
i = 0
while len(fds) < 5000:
    try:
        fds.append(os.open(os.path.join(mnt, "f%d" % (i % nfiles)),
                           os.O_RDONLY))
    except OSError:
        break  # EMFILE from the daemon: it is out of fds
    i += 1
stop = time.monotonic() + 4
def burst(k):
    n = 0
    while time.monotonic() < stop:
        try:
            os.stat(os.path.join(mnt, "nx%d_%d" % (k, n)))
        except OSError:
            pass
        n += 1
# Concurrent lookups from several processes (not threads: the GIL)
kids = []
for k in range(6):
    pid = os.fork()
    if pid == 0:
        ts = [threading.Thread(target=burst, args=(k * 4 + j,))
              for j in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
for fd in fds:
    os.close(fd)
"""


FIXTURES = (scratch_fixture,)


class NofileMount(Mount):
    """A daemon (foreground, log kept) whose RLIMIT_NOFILE is nofile: the
    daemon takes its hard limit, so the hard limit is set in the child."""

    def __init__(self, src, mnt, options, nofile):
        self.src, self.mnt = str(src), str(mnt)
        self.log_path = self.mnt + ".log"
        self.expect_log = re.compile(
            r"too many open files|failed to open /dev/fuse|"
            r"without -o clone_fd|libgcc_s")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(
            [SHIFTFS, self.src, self.mnt, "-f", "-o", options],
            stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                  (nofile, nofile)))
        try:
            wait_for_mount(self.proc, self.mnt)
        except Exception:
            self.stop(check_log=False)
            raise


@pytest.fixture
def nofile_mount():
    mounts = []

    def start(*a):
        m = NofileMount(*a)
        mounts.append(m)
        return m
    yield start
    for m in mounts:
        m.stop(check_log=False)


@pytest.mark.parametrize("spin", ["spin=0", "spin=50"])
def test_container_exhausting_the_daemons_fds_does_not_kill_the_mount(
        scratch, nofile_mount, spin):
    """Attack: a process of a rootful container (real user namespace, root
    = host 100000) opens files through the mount until the daemon answers
    EMFILE (every open through the mount is an open fd of the daemon), then
    sends a burst of concurrent lookups so that libfuse starts one more
    worker. That worker's clone of /dev/fuse fails with EMFILE, it falls
    back to the session fd, which the spinning receiver made O_NONBLOCK,
    reads EAGAIN and ends the session: the daemon exits with status 1 and
    the mount is gone for every user and container of it, until root
    mounts it again. With spin=0 (the previous loop) the same attack only
    costs EMFILE while the fds are held.

    max_threads=4 is the daemon's default on a 4-CPU host (one worker per
    CPU, started on demand); on this 2-vCPU machine both default workers
    start before the fds run out."""
    need_root_and_fuse()
    s = scratch
    for i in range(FILES):
        with open(os.path.join(s.src, "f%d" % i), "w") as f:
            f.write("x")
    for name in os.listdir(s.src) + [""]:
        os.chown(os.path.join(s.src, name), 100000, 100000)
    m = nofile_mount(s.src, s.mnt, MAP + ",max_threads=4," + spin,
                     DAEMON_NOFILE)
    script = os.path.join(s.path, "exhaust.py")
    with open(script, "w") as f:
        f.write(EXHAUST)
    rc = in_userns([sys.executable, script, s.mnt, str(FILES)],
                   "0 100000 65536", "0 100000 65536", timeout=120)
    assert rc == 0
    time.sleep(0.5)
    assert m.proc.poll() is None, (
        "the daemon exited (%s) after a container ran it out of fds:\n%s"
        % (m.proc.returncode, m.output()))
    # The attacker let go of its fds: the mount serves everyone again.
    assert os.stat(os.path.join(s.mnt, "f1")).st_size == 1
