# SPDX-License-Identifier: GPL-2.0-or-later
"""Third red team, on the watchdog of bb629fd (fs/loop.c).

The watchdog adds one receiver when every serving thread has been inside a
handler for 1 s with none returning, up to 64; docs/SECURITY.md: "a held
lock costs one thread, not the mount". test_loop_redteam_dirlock.py holds
one directory per thread because the kernel sends one LOOKUP of a new name
at a time per directory of the mount (fuse_lock_inode(): the connection
does not get FUSE_PARALLEL_DIROPS, whatever sfs_init() asks).

That holds for lookups of *new* names only. A cached positive dentry of
the mount whose entry timeout (1 s) ran out is revalidated
(fuse_dentry_revalidate()) without any lock of the directory, and each
process that walks the name sends its own LOOKUP, in parallel. If the name
is gone from SRC (its owner unlinked it), the daemon's openat() of it goes
to lookup_slow() and waits on the directory's i_rwsem like a new name.

So one directory of the attacker's own below SRC, one file in it looked up
once through the mount and unlinked, the directory held as in
test_loop_redteam_dirlock.py (a getdents64 into a mapping of a FUSE file
whose READ is never answered, a mkdir queued), and then N processes that
stat the old name through the mount: every worker, the receiver and each
receiver the watchdog adds (one a second) wait on that one directory. With
N = 64 + the threads + a few the mount is hung for everyone for good, and
SIGTERM does not end the daemon (libfuse joins a worker that never comes
back from the kernel), so the mount does not even fail with ENOTCONN.
"""
import os
import subprocess
import time

from attack import (ATTACKER, daemon_stacks, daemon_threads, gid_of,
                    kill_wait, spawn, uid_of, victim_is_served)
from conftest import Mount, need_root_and_fuse
from fs_util import scratch_fixture
from test_loop_redteam_dirlock import HOLD, FaultServer

FIXTURES = (scratch_fixture,)

# n children, each stat()s (or, with "list" first, lists) path
# i % len(paths): n parallel LOOKUPs (READDIRs, each with its own open).
STATS = r"""
import os, sys, time
args = sys.argv[1:]
op = os.stat
if args[0] == "list":
    op, args = os.listdir, args[1:]
paths, n = args[:-1], int(args[-1])
for i in range(n):
    if os.fork() == 0:
        try:
            op(paths[i % len(paths)])
        except OSError:
            pass
        os._exit(0)
print("asked", flush=True)
time.sleep(60)
"""


def tasks(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def stuck_in(pid, frame):
    """How many of pid's threads have frame in their kernel stack."""
    n = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stack" % (pid, t)) as f:
                n += frame in f.read()
        except OSError:
            pass
    return n


def stuck_in_lookup(pid):
    return stuck_in(pid, "walk_component")


class Held:
    """s.src/own (shiftfs-atk's) held through a page fault, with a mkdir
    queued, after `stale` names in it were looked up through the mount and
    unlinked on SRC. ask(paths, n) starts n parallel stats."""

    def __init__(self, s, stale=1):
        self.s, self.procs, self.server = s, [], None
        self.d = os.path.join(s.src, "own")
        os.mkdir(self.d)
        os.chown(self.d, uid_of(ATTACKER), gid_of(ATTACKER))
        self.names = ["f%d" % i for i in range(stale)]
        for n in self.names:
            p = os.path.join(self.d, n)
            open(p, "w").close()
            os.chown(p, uid_of(ATTACKER), gid_of(ATTACKER))

    def hold(self):
        s = self.s
        self.server = FaultServer(s)
        for n in self.names:  # the mount's dentries: positive, 1 s
            os.stat(os.path.join(s.mnt, "own", n))
        for n in self.names:  # the owner removes them on SRC
            os.unlink(os.path.join(self.d, n))
        holder = spawn(ATTACKER, ["python3", "-c", HOLD,
                                  os.path.join(self.server.path, "f"),
                                  self.d])
        self.procs.append(holder)
        assert holder.stdout.readline().strip() == "holding"
        time.sleep(0.3)
        self.procs.append(spawn(ATTACKER,
                                ["mkdir", os.path.join(self.d, "x")]))
        time.sleep(1.2)  # past the entry timeout

    def ask(self, paths, n):
        p = spawn(ATTACKER, ["python3", "-c", STATS] + paths + [str(n)])
        self.procs.append(p)
        assert p.stdout.readline().strip() == "asked"

    def stale_paths(self):
        return [os.path.join(self.s.mnt, "own", n) for n in self.names]

    def close(self):
        if self.server:
            self.server.close()
        kill_wait(self.procs)


def test_revalidations_in_one_held_directory_do_not_take_every_thread(
        scratch):
    """One held directory, one stale name, 64 + daemon_threads() + 4
    processes stat it through the mount: another user's read of a file
    elsewhere must still be served."""
    need_root_and_fuse()
    s = scratch
    h = Held(s)
    m = Mount(s.src, s.mnt, "identity")
    try:
        before = tasks(m.proc.pid)
        h.hold()
        h.ask(h.stale_paths(), 64 + daemon_threads() + 4)
        time.sleep(3)
        done, out = victim_is_served(s, "fresh")
        info = ("daemon tasks before %d, now %d, in a lookup of SRC %d; "
                "stacks: %s" % (before, tasks(m.proc.pid),
                                stuck_in_lookup(m.proc.pid),
                                daemon_stacks(m.proc.pid)))
        assert done and out == "victim's data\n", (
            "one directory of SRC held through a page fault, and parallel "
            "revalidations of one stale name in it take every daemon "
            "thread, the watchdog's included: another user's read hangs ("
            + info + ")")
    finally:
        h.close()
        m.stop(check_log=False)


def test_sigterm_ends_the_daemon_while_a_directory_is_held(scratch):
    """The case the watchdog is for (one thread held by one lookup): on
    SIGTERM the daemon must give up and leave no hanging mount. (Its
    process cannot be reaped while that thread waits: the kernel's
    lookup_slow() waits uninterruptibly. It must not keep the connection
    alive meanwhile: the mount answers ENOTCONN, and the process is gone
    once the directory is let go.)"""
    need_root_and_fuse()
    s = scratch
    h = Held(s)
    m = Mount(s.src, s.mnt, "identity",
              expect_log=r"a request did not end in \d+ s: exiting")
    try:
        h.hold()
        h.ask(h.stale_paths(), 1)
        time.sleep(1.5)
        assert stuck_in_lookup(m.proc.pid) >= 1, daemon_stacks(m.proc.pid)
        t0 = time.monotonic()
        m.proc.terminate()
        answer = None
        while answer is None and time.monotonic() - t0 < 8:
            try:
                r = subprocess.run(["stat", os.path.join(s.mnt, "ok")],
                                   capture_output=True, text=True,
                                   timeout=2, cwd="/")
                if "not connected" in r.stderr:
                    answer = r.stderr
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        assert answer, (
            "SIGTERM while one daemon thread waits on a directory lock of "
            "SRC: after %.1f s the mount still hangs instead of answering "
            "ENOTCONN (threads: %s; log: %s)" % (
                time.monotonic() - t0, daemon_stacks(m.proc.pid),
                m.output()[-600:]))
        h.close()
        m.proc.wait(timeout=10)
    finally:
        h.close()
        m.stop(check_log=False)


def test_sigterm_ends_the_daemon_once_the_directory_is_let_go(scratch):
    """Legitimate use beside it: the same stall, let go before SIGTERM
    (the fault server killed): the daemon serves again, then ends with 0
    and unmounts."""
    need_root_and_fuse()
    s = scratch
    h = Held(s)
    m = Mount(s.src, s.mnt, "identity")
    try:
        h.hold()
        h.ask(h.stale_paths(), 1)
        time.sleep(1.5)
        h.close()
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n"
        m.proc.terminate()
        assert m.proc.wait(timeout=10) == 0
        assert not os.path.ismount(s.mnt)
    finally:
        h.close()
        m.stop(check_log=False)


def test_one_held_directory_one_lookup_costs_one_thread(scratch):
    """Legitimate use beside them: the stale name revalidated by one
    process costs one thread and everyone else is served."""
    need_root_and_fuse()
    s = scratch
    h = Held(s)
    m = Mount(s.src, s.mnt, "identity")
    try:
        h.hold()
        h.ask(h.stale_paths(), 1)
        time.sleep(1)
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n", daemon_stacks(m.proc.pid)
    finally:
        h.close()
        m.stop(check_log=False)


def test_new_names_in_one_held_directory_cost_one_thread(scratch):
    """Held (guard): lookups of many *new* names in one held directory go
    one at a time (the kernel's per-directory lock of the mount), so they
    cost one thread."""
    need_root_and_fuse()
    s = scratch
    h = Held(s, stale=0)
    m = Mount(s.src, s.mnt, "identity")
    try:
        h.hold()
        h.ask([os.path.join(s.mnt, "own", "new%d" % i)
               for i in range(64 + daemon_threads() + 4)],
              64 + daemon_threads() + 4)
        time.sleep(3)
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n", daemon_stacks(m.proc.pid)
        assert stuck_in_lookup(m.proc.pid) == 1
    finally:
        h.close()
        m.stop(check_log=False)


def stuck_in_getdents(pid):
    return stuck_in(pid, "iterate_dir")


def test_listings_of_one_held_directory_do_not_take_every_thread(scratch):
    """Held (guard): the same hold, and 64 + daemon_threads() + 4
    processes list the held directory through the mount, each with its
    own open; each getdents64() of the daemon would wait on the lock.
    Another user's read elsewhere must be served, and only one daemon
    thread waits in getdents64(). (Today the kernel sends them one at a
    time, fuse_lock_inode(), since the connection lacks
    FUSE_PARALLEL_DIROPS, and it passed on fcbeecf too; with parallel
    dirops the directory queues of fs/dirq.c hold it.)"""
    need_root_and_fuse()
    s = scratch
    h = Held(s, stale=0)
    m = Mount(s.src, s.mnt, "identity")
    try:
        h.hold()
        h.ask(["list", os.path.join(s.mnt, "own")],
              64 + daemon_threads() + 4)
        time.sleep(3)
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n", (
            "parallel listings of one held directory take every daemon "
            "thread: another user's read hangs (in getdents64: %d; "
            "stacks: %s)" % (stuck_in_getdents(m.proc.pid),
                              daemon_stacks(m.proc.pid)))
        assert stuck_in_getdents(m.proc.pid) <= 1, daemon_stacks(m.proc.pid)
    finally:
        h.close()
        m.stop(check_log=False)
