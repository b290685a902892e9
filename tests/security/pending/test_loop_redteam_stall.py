# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of the session loop (fs/loop.c, run_loop() in fs/main.c): a
fixed set of threads serves every user of a mount, and one request that
never ends holds one of them for good.

The daemon serves a mount with max_threads workers (one per CPU, at least
2) and the spinning receiver: max_threads + 1 threads, 3 on a 2-CPU host.
A lookup below SRC is openat(O_PATH) + fstatat() on the source
(fs/inode.c), and openat() follows mount points. A host user who may write
a directory below SRC mounts its own FUSE server there (fusermount3 with
allow_other: user_allow_other in /etc/fuse.conf, which scripts/deps.sh
sets and rootless mounts for containers need) and has the daemon look
names up in it; the server never answers. Each such lookup holds a daemon
thread in request_wait_answer() until the attacker lets go (killable only
by SIGKILL); max_threads + 1 of them and every other user and container of
the mount hangs on its next request, and SIGTERM no longer ends the daemon
(libfuse's loop joins workers that never return). The kernel's idmapped
mount of the same tree (the benchmark) hangs only the callers that walk
into the attacker's mount."""
import os
import shutil
import signal
import subprocess
import sys
import time

# pending/: not in the suite (it fails until the hole is fixed); the
# helpers are the security suite's.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from attack import (ATTACKER, as_host_user, daemon_threads, descendant,
                    gid_of, read_through, uid_of)
from conftest import Mount, mountinfo, need, need_root_and_fuse
from fs_util import scratch_fixture

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


FIXTURES = (scratch_fixture,)


def user_allow_other():
    try:
        with open("/etc/fuse.conf") as f:
            return any(l.strip() == "user_allow_other" for l in f)
    except OSError:
        return False


class Servers:
    """shiftfs-atk's FUSE servers (tests/security/block_fuse.c), one per
    path, allow_other. Every lookup in them is never answered (the block
    file holds 0); GETATTR of their root still is, so the daemon's lookup
    of the mount point itself completes."""

    def __init__(self, s):
        need(shutil.which("cc") is not None, "needs a C compiler")
        need(shutil.which("pkg-config") is not None, "needs pkg-config")
        need(shutil.which("fusermount3") is not None, "needs fusermount3")
        need(user_allow_other(), "needs user_allow_other in /etc/fuse.conf "
             "(scripts/deps.sh)")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "fuse3"], capture_output=True, text=True)
        need(flags.returncode == 0, "needs libfuse3-dev: " + flags.stderr)
        self.bin = s.p("block_fuse")
        subprocess.run(["cc", "-o", self.bin,
                        os.path.join(HERE, "block_fuse.c")] +
                       flags.stdout.split(), check=True)
        os.chmod(self.bin, 0o755)
        self.block = s.p("block")
        with open(self.block, "w") as f:
            f.write("0\n")
        os.chmod(self.block, 0o644)
        self.procs, self.pids, self.paths = [], [], []

    def mount(self, path):
        p = subprocess.Popen(
            ["runuser", "-u", ATTACKER, "--", "env",
             "BLOCK_FUSE_FILE=" + self.block, self.bin, "-f", "-o",
             "allow_other", path], cwd="/", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.paths.append(path)
        end = time.monotonic() + 5
        while not [f for f in mountinfo() if f[4] == path]:
            assert p.poll() is None and time.monotonic() < end, (
                "shiftfs-atk's FUSE server did not mount on " + path)
            time.sleep(0.05)
        self.pids.append(descendant(p.pid, "block_fuse"))

    def close(self):
        # Killing a server aborts its connection: the daemon's requests
        # to it end (ENOTCONN) and its threads come back.
        for pid in self.pids:
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for path in self.paths:
            subprocess.run(["umount", "-l", path], capture_output=True)


def own_dirs(s, n):
    """src/atk (shiftfs-atk's, as a user's directory below SRC is) with
    d0/s .. d{n-1}/s: one directory per stalled lookup, since the kernel
    serializes lookups in one FUSE directory (fuse_lock_inode())."""
    uid, gid = uid_of(ATTACKER), gid_of(ATTACKER)
    atk = os.path.join(s.src, "atk")
    os.mkdir(atk)
    os.chown(atk, uid, gid)
    for i in range(n):
        d = os.path.join(atk, "d%d" % i)
        os.mkdir(d)
        os.mkdir(os.path.join(d, "s"))
        os.chown(d, uid, gid)
        os.chown(os.path.join(d, "s"), uid, gid)
    return atk


def test_a_users_fuse_server_below_src_does_not_hang_the_mount(scratch):
    """Attack: shiftfs-atk, a host user with a directory below SRC, mounts
    daemon_threads() + 1 FUSE servers of its own in it that never answer a
    lookup, and looks one name up in each through the mount (then kills
    its own stat processes: the daemon's threads stay stuck). Another
    user's read of a file of its own, elsewhere in the mount, must still
    be answered; on the current daemon it hangs (every thread waits on
    the attacker's servers), and so does every later request of every
    user and container of the mount until the attacker lets go."""
    need_root_and_fuse()
    s = scratch
    n = daemon_threads() + 1
    atk = own_dirs(s, n)
    os.mkdir(os.path.join(s.src, "ok"))
    servers = Servers(s)
    m = Mount(s.src, s.mnt, "identity")
    stalls = []
    try:
        for i in range(n):
            # The daemon's own lookups of d<i> and d<i>/s (the mount
            # point, answered) before the servers stop answering.
            os.stat(os.path.join(s.mnt, "atk", "d%d" % i))
            servers.mount(os.path.join(atk, "d%d" % i, "s"))
            os.stat(os.path.join(s.mnt, "atk", "d%d" % i, "s"))
        for i in range(n):
            stalls.append(subprocess.Popen(
                ["runuser", "-u", ATTACKER, "--", "stat",
                 os.path.join(s.mnt, "atk", "d%d" % i, "s", "x")],
                cwd="/", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        time.sleep(1.5)
        for p in stalls:  # the attacker's callers are gone; the stalls not
            p.kill()
            p.wait(timeout=10)
        # A name the daemon has not seen: its lookup must reach a thread.
        with open(os.path.join(s.src, "ok", "fresh"), "w") as f:
            f.write("victim's data\n")
        done, out = read_through(os.path.join(s.mnt, "ok", "fresh"), 5)
        assert done, (
            "another user's read through the mount hangs: each of the "
            "daemon's %d threads waits on shiftfs-atk's FUSE server below "
            "SRC" % (n - 1))
        assert out == "victim's data\n"
    finally:
        for p in stalls:
            if p.poll() is None:
                p.kill()
        servers.close()
        m.stop(check_log=False)


def test_a_root_submount_below_src_is_still_served(scratch):
    """Legitimate use next to it: a filesystem root mounted below SRC (a
    tmpfs here) is shown through the mount and read by another user; so
    is a directory of a host user's own, and lookups that miss in it."""
    need_root_and_fuse()
    s = scratch
    atk = own_dirs(s, 1)
    sub = os.path.join(s.src, "sub")
    os.mkdir(sub)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755",
                        "rt-stall", sub], capture_output=True, text=True)
    need(r.returncode == 0, "cannot mount a tmpfs: " + r.stderr)
    s.on_cleanup(lambda: subprocess.run(["umount", "-l", sub],
                                        capture_output=True))
    with open(os.path.join(sub, "f"), "w") as f:
        f.write("on the submount\n")
    os.chmod(os.path.join(sub, "f"), 0o644)
    m = Mount(s.src, s.mnt, "identity")
    try:
        done, out = read_through(os.path.join(s.mnt, "sub", "f"), 5)
        assert done and out == "on the submount\n"
        r = as_host_user(ATTACKER, ["stat", "-c", "%U",
                                    os.path.join(s.mnt, "atk", "d0", "s")],
                         timeout=10)
        assert r.returncode == 0 and r.stdout.strip() == ATTACKER, r.stderr
        r = as_host_user(ATTACKER, ["stat", os.path.join(
            s.mnt, "atk", "d0", "s", "x")], timeout=10)
        assert r.returncode != 0 and "No such file" in r.stderr, r.stderr
        assert os.path.isdir(atk)
    finally:
        m.stop()
