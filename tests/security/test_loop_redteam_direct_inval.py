# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of the session loop (fs/loop.c, run_loop() in fs/main.c) and
of the O_DIRECT write path (direct_written() in fs/ops_file.c).

After an O_DIRECT write the daemon drops the mount's cached pages of the
range (fuse_lowlevel_notify_inval_inode()) before it replies. In the
kernel that is invalidate_inode_pages2_range(), which waits, in D state,
for each locked page of the range, and a page a buffered reader is
reading stays locked until the daemon answers the reader's READ. Up to
43e0a4d a worker did that and counted on "other workers" to serve the
READ. But a mount has max_threads workers (one per CPU, at least 2) and
the receiver: a container that kept as many O_DIRECT writers as that busy
on files that are not passed through (setgid here; also every file on
-o nopassthrough, -o writeback, -o suid mounts, other filesystems below
SRC and kernels before 6.9), with buffered readers of the same ranges
beside them, got every thread waiting in a notify for a page whose READ
no thread was left to serve. Nothing ended that: the threads were in D
state (SIGKILL waited too), every user and container of the mount hung,
and only aborting the connection in /sys/fs/fuse/connections gave it
back. Now one thread of the daemon's own drops the pages and replies."""
import os
import subprocess
import sys
import time

from attack import daemon_threads, in_userns, read_through
from conftest import Mount, mountinfo, need_root_and_fuse
from fs_util import scratch_fixture

# disk 0 is view 100000: the container's root owns SRC
MAP = "map=0:100000:65536"
SECONDS = 10

ATTACK = r"""
import mmap, os, sys, time
mnt, seconds, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
MB = 1 << 20
# One file per writer: the kernel holds the inode lock across a write.
def name(k):
    return os.path.join(mnt, "f%d" % k)
for k in range(n):
    with open(name(k), "wb") as fh:
        fh.write(b"\0" * (4 * MB))
    os.chmod(name(k), 0o2644)  # setgid: the daemon does not pass it through
stop = time.monotonic() + seconds
def writer(k):
    buf = mmap.mmap(-1, MB)  # page aligned, as O_DIRECT wants
    buf.write(b"%d" % (k % 10) * MB)
    fd = os.open(name(k), os.O_RDWR | os.O_DIRECT)
    i = 0
    while time.monotonic() < stop:
        os.pwrite(fd, buf, (i % 4) * MB)
        i += 1
def reader(k):
    while time.monotonic() < stop:
        fd = os.open(name(k), os.O_RDONLY)
        os.pread(fd, 4 * MB, 0)
        os.close(fd)
kids = []
for k in range(n):
    for fn in (writer, reader):
        pid = os.fork()
        if pid == 0:
            try:
                fn(k)
            finally:
                os._exit(0)
        kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
"""


FIXTURES = (scratch_fixture,)


def abort_connection(mnt):
    """Abort the mount's FUSE connection (its minor from mountinfo: a stat
    of a hung mount would hang too)."""
    ctl = "/sys/fs/fuse/connections"
    if not [f for f in mountinfo() if f[4] == ctl]:
        subprocess.run(["mount", "-t", "fusectl", "none", ctl],
                       capture_output=True)
    for f in mountinfo():
        if f[4] == mnt:
            minor = f[2].split(":")[1]
            try:
                with open("%s/%s/abort" % (ctl, minor), "w") as a:
                    a.write("1")
            except OSError:
                pass


def waiting_in_page_lock(pid):
    n = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            w = open("/proc/%d/task/%s/wchan" % (pid, t)).read()
        except OSError:
            continue
        n += "folio" in w or "page" in w
    return n


def test_direct_writers_and_readers_do_not_deadlock_the_daemon(scratch):
    """Attack: a rootful container (real user namespace, root = host
    100000) runs daemon_threads() + 1 O_DIRECT writers (1 MiB writes), each on
    a setgid file of its own, and a buffered reader of each file, for up
    to 10 s. Another
    user's read of a file of its own through the mount must then be
    answered; on 43e0a4d every thread of it waited in
    invalidate_inode_pages2_range() for a page whose READ was queued, the
    read hung, and so did every request of every user of the mount."""
    need_root_and_fuse()
    s = scratch
    m = Mount(s.src, s.mnt, MAP)
    script = os.path.join(s.path, "attack.py")
    with open(script, "w") as f:
        f.write(ATTACK)
    n = daemon_threads() + 1
    pid = os.fork()
    if pid == 0:
        try:
            rc = in_userns([sys.executable, script, s.mnt, str(SECONDS),
                            str(n)], "0 100000 65536", "0 100000 65536",
                           timeout=SECONDS + 30)
        except BaseException:
            rc = 99
        os._exit(rc)
    try:
        end = time.monotonic() + SECONDS + 2
        while time.monotonic() < end and not os.waitpid(pid, os.WNOHANG)[0]:
            if waiting_in_page_lock(m.proc.pid) >= n - 1:
                break
            time.sleep(0.1)
        stuck = waiting_in_page_lock(m.proc.pid)
        with open(os.path.join(s.src, "fresh"), "w") as f:
            f.write("victim's data\n")
        done, out = read_through(os.path.join(s.mnt, "fresh"), 5)
        assert done, (
            "another user's read through the mount hangs: %d daemon threads "
            "wait on page locks of the container's readers" % stuck)
        assert out == "victim's data\n"
    finally:
        abort_connection(s.mnt)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        m.stop(check_log=False)


def test_direct_writes_and_buffered_reads_stay_coherent(scratch):
    """Legitimate use next to it (what direct_written() is for): an
    O_DIRECT write to a setgid file, then a buffered read of the range,
    sees the new bytes; the daemon serves another user meanwhile."""
    need_root_and_fuse()
    s = scratch
    m = Mount(s.src, s.mnt, MAP)
    try:
        script = os.path.join(s.path, "legit.py")
        with open(script, "w") as f:
            f.write(r"""
import mmap, os, sys
f = os.path.join(sys.argv[1], "g")
with open(f, "wb") as fh:
    fh.write(b"a" * 65536)
os.chmod(f, 0o2644)
with open(f, "rb") as fh:
    assert fh.read(4) == b"aaaa"
buf = mmap.mmap(-1, 65536)
buf.write(b"b" * 65536)
fd = os.open(f, os.O_RDWR | os.O_DIRECT)
assert os.pwrite(fd, buf, 0) == 65536
os.close(fd)
with open(f, "rb") as fh:
    assert fh.read() == b"b" * 65536
""")
        rc = in_userns([sys.executable, script, s.mnt], "0 100000 65536",
                       "0 100000 65536", timeout=30)
        assert rc == 0
        with open(os.path.join(s.src, "fresh"), "w") as f:
            f.write("x\n")
        assert read_through(os.path.join(s.mnt, "fresh"), 5) == (True,
                                                                  "x\n")
    finally:
        m.stop()
