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
sets and rootless mounts for containers need) and has the daemon ask it
something; the server never answers. Each such request held a daemon
thread in request_wait_answer() until the attacker let go (killable only
by SIGKILL); max_threads + 1 of them and every other user and container of
the mount hung on its next request, and SIGTERM no longer ended the daemon
(libfuse's loop joins workers that never return). Two ways in: a lookup
through the attacker's mount point, and READDIRPLUS with attributes
(sfs_lookup_known(): an fstatat() of every name of a listed directory, the
mount point among them). The kernel's idmapped mount of the same tree
hangs only the callers that walk into the attacker's mount.

Now (fs/submount.c) a lookup that lands on another mount is checked before
anything asks it, and a FUSE filesystem mounted by a user other than root
or the daemon's own is refused with EACCES; readdirplus finds names by a
statx that asks no filesystem."""
import os
import signal
import subprocess
import time

from attack import (ATTACKER, as_host_user, daemon_threads, descendant,
                    fuse_server, gid_of, kill_wait, read_through, spawn,
                    uid_of, victim_is_served)
from conftest import Mount, mountinfo, need, need_root_and_fuse
from fs_util import scratch_fixture
from mount_util import fuse_conf_allows_other

FIXTURES = (scratch_fixture,)


class Servers:
    """block_fuse servers (tests/security/block_fuse.c), one per path,
    allow_other, run as user (shiftfs-atk unless said). Every lookup in
    them is never answered once the block file's passes are used up (it
    holds `passes`); with getattr=False no GETATTR is answered either."""

    def __init__(self, s, passes=0, getattr=True, user=ATTACKER):
        need(fuse_conf_allows_other(), "needs user_allow_other in /etc/fuse.conf "
             "(scripts/deps.sh)")
        self.bin = fuse_server(s.path, "block_fuse.c")
        self.block = s.p("block-%s-%d" % (user, passes))
        with open(self.block, "w") as f:
            f.write("%d\n" % passes)
        os.chmod(self.block, 0o644)
        self.env = ["BLOCK_FUSE_FILE=" + self.block]
        if not getattr:
            self.env.append("BLOCK_FUSE_GETATTR=1")
        self.user = user
        self.procs, self.pids, self.paths = [], [], []

    def mount(self, path):
        p = subprocess.Popen(
            ["runuser", "-u", self.user, "--", "env"] + self.env +
            [self.bin, "-f", "-o", "allow_other", path], cwd="/",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.paths.append(path)
        end = time.monotonic() + 5
        while not [f for f in mountinfo() if f[4] == path]:
            assert p.poll() is None and time.monotonic() < end, (
                "the FUSE server did not mount on " + path)
            time.sleep(0.02)
        self.pids.append(descendant(p.pid, "block_fuse"))

    def unmount(self, path):
        """Detach the newest mount on path; its server lives on (a
        request the daemon sent it stays unanswered)."""
        subprocess.run(["umount", "-l", path], capture_output=True)

    def close(self):
        # Killing a server aborts its connection: requests to it end
        # (ENOTCONN) and any thread waiting on it comes back.
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
        for path in set(self.paths):
            for _ in range(self.paths.count(path)):
                subprocess.run(["umount", "-l", path], capture_output=True)


def own_dirs(s, n):
    """src/atk (shiftfs-atk's, as a user's directory below SRC is) with
    d0/s .. d{n-1}/s and a file d<i>/f: one directory per stalled
    request, since the kernel serializes lookups in one FUSE directory
    (fuse_lock_inode())."""
    uid, gid = uid_of(ATTACKER), gid_of(ATTACKER)
    atk = os.path.join(s.src, "atk")
    os.mkdir(atk)
    os.chown(atk, uid, gid)
    for i in range(n):
        d = os.path.join(atk, "d%d" % i)
        os.mkdir(d)
        os.mkdir(os.path.join(d, "s"))
        with open(os.path.join(d, "f"), "w"):
            pass
        for p in (d, os.path.join(d, "s"), os.path.join(d, "f")):
            os.chown(p, uid, gid)
    return atk


def spawn_all(cmds):
    return [spawn(ATTACKER, c) for c in cmds]


def end_all(procs, seconds):
    """Wait up to seconds for procs; kill the rest. Returns the ones that
    had ended by themselves, with their stderr."""
    end = time.monotonic() + seconds
    ended = []
    for p in procs:
        try:
            p.wait(timeout=max(0.0, end - time.monotonic()))
            ended.append((p, p.stderr.read()))
        except subprocess.TimeoutExpired:
            pass
    kill_wait(procs)
    return ended


def test_a_users_fuse_server_below_src_does_not_hang_the_mount(scratch):
    """Attack (lookup): shiftfs-atk mounts daemon_threads() + 1 FUSE
    servers of its own below SRC that answer GETATTR of their root but
    never a lookup, and stats one name in each through the mount. The old
    daemon looked the mount point up (its root answers), then sent each
    server a LOOKUP that never returned: every thread held, the victim's
    read hung. Now the attacker's mount points are refused (Permission
    denied, at once) and the victim is served."""
    need_root_and_fuse()
    s = scratch
    n = daemon_threads() + 1
    atk = own_dirs(s, n)
    servers = Servers(s, getattr=True)
    m = Mount(s.src, s.mnt, "identity")
    procs = []
    try:
        for i in range(n):
            # The daemon's own lookup of d<i> before the server is there.
            os.stat(os.path.join(s.mnt, "atk", "d%d" % i))
            servers.mount(os.path.join(atk, "d%d" % i, "s"))
        procs = spawn_all([["stat", os.path.join(
            s.mnt, "atk", "d%d" % i, "s", "x")] for i in range(n)])
        ended = end_all(procs, 3)
        done, out = victim_is_served(s, "fresh")
        assert done, (
            "another user's read through the mount hangs: each of the "
            "daemon's %d threads waits on shiftfs-atk's FUSE server below "
            "SRC" % (n - 1))
        assert out == "victim's data\n"
        assert len(ended) == n, (
            "%d of shiftfs-atk's %d stats through its own servers never "
            "ended" % (n - len(ended), n))
        for p, err in ended:
            assert p.returncode != 0 and "Permission denied" in err, err
    finally:
        kill_wait(procs)
        servers.close()
        m.stop(check_log=False)
    assert "not served: a fuse.block_fuse filesystem mounted by uid %d" % (
        uid_of(ATTACKER)) in m.output(), m.output()


def test_a_listing_with_attributes_does_not_ask_a_users_server(scratch):
    """Attack (READDIRPLUS): in each of daemon_threads() + 1 directories
    shiftfs-atk stats a file (so their listings carry attributes), mounts
    a server that answers nothing, not even its root's GETATTR, on the
    directory's "s", and lists the directory with ls -l through the mount.
    The old daemon's listing stat()ed every name, "s" too: a GETATTR sent
    to the attacker's server, never answered. Now the listing asks no
    filesystem for names (statx, AT_STATX_DONT_SYNC) and the attacker
    sees "s" refused."""
    need_root_and_fuse()
    s = scratch
    n = daemon_threads() + 1
    atk = own_dirs(s, n)
    servers = Servers(s, getattr=False)
    m = Mount(s.src, s.mnt, "identity")
    procs = []
    try:
        for i in range(n):
            os.stat(os.path.join(s.mnt, "atk", "d%d" % i, "f"))
            servers.mount(os.path.join(atk, "d%d" % i, "s"))
        procs = spawn_all([["ls", "-l", os.path.join(
            s.mnt, "atk", "d%d" % i)] for i in range(n)])
        ended = end_all(procs, 3)
        done, out = victim_is_served(s, "fresh")
        assert done, (
            "another user's read through the mount hangs: the daemon's "
            "listings wait on shiftfs-atk's FUSE servers below SRC")
        assert out == "victim's data\n"
        assert len(ended) == n, (
            "%d of shiftfs-atk's %d listings never ended" % (
                n - len(ended), n))
        for p, err in ended:
            # ls lists f and reports s: its lstat was refused.
            assert "cannot access" in err and "Permission denied" in err, err
    finally:
        kill_wait(procs)
        servers.close()
        m.stop(check_log=False)


def test_mounting_while_the_daemon_lists_and_looks_up_holds_no_thread(
        scratch):
    """Attack (race, 4 s): shiftfs-atk mounts and lazily unmounts servers
    that answer nothing on d0/s in a loop (each server lives on, so a
    request sent to any of them would stay unanswered), while it lists d0
    with attributes and stats d0/s and d0/s/x as fast as it can. Whatever
    the timing between the daemon's openat() and its check, or between
    readdir and the name's statx, no request may reach those servers:
    the victim is served afterwards."""
    need_root_and_fuse()
    s = scratch
    atk = own_dirs(s, 1)
    d0, s0 = os.path.join(atk, "d0"), os.path.join(atk, "d0", "s")
    servers = Servers(s, getattr=False)
    m = Mount(s.src, s.mnt, "identity")
    looker = None
    try:
        os.stat(os.path.join(s.mnt, "atk", "d0", "f"))
        script = (
            "import os, sys, time\n"
            "d = sys.argv[1]\n"
            "end = time.monotonic() + 4\n"
            "while time.monotonic() < end:\n"
            "    for p in (d, d + '/s', d + '/s/x'):\n"
            "        try:\n"
            "            os.lstat(p)\n"
            "        except OSError:\n"
            "            pass\n"
            "    try:\n"
            "        for e in os.scandir(d):\n"
            "            e.stat(follow_symlinks=False)\n"
            "    except OSError:\n"
            "        pass\n")
        looker, = spawn_all([["python3", "-c", script,
                                   os.path.join(s.mnt, "atk", "d0")]])
        rounds = 0
        end = time.monotonic() + 4
        while time.monotonic() < end:
            servers.mount(s0)
            time.sleep(0.01)
            servers.unmount(s0)
            rounds += 1
        assert rounds >= 5, "only %d mounts in 4 s" % rounds
        try:
            looker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        done, out = victim_is_served(s, "fresh")
        assert done, (
            "another user's read through the mount hangs after %d mounts "
            "of shiftfs-atk's servers on %s raced the daemon" % (rounds, d0))
        assert out == "victim's data\n"
        assert looker.poll() is not None, (
            "shiftfs-atk's own lookups through the mount never ended")
    finally:
        if looker:
            kill_wait([looker])
        servers.close()
        m.stop(check_log=False)


def test_a_root_submount_below_src_is_still_served(scratch):
    """Legitimate use next to it: a filesystem root mounted below SRC (a
    tmpfs and a FUSE server of root's) is shown through the mount and read
    by another user; so is a directory of a host user's own, and lookups
    that miss in it."""
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
    rootfuse = os.path.join(s.src, "rootfuse")
    os.mkdir(rootfuse)
    servers = Servers(s, passes=1000, user="root")
    m = Mount(s.src, s.mnt, "identity")
    try:
        servers.mount(rootfuse)
        done, out = read_through(os.path.join(s.mnt, "sub", "f"), 5)
        assert done and out == "on the submount\n"
        r = as_host_user(ATTACKER, ["ls", "-l", os.path.join(s.mnt, "sub")],
                         timeout=10)
        assert r.returncode == 0 and " f\n" in r.stdout, r.stderr
        # root's FUSE server: its directory "m" is looked up through it.
        st = os.stat(os.path.join(s.mnt, "rootfuse", "m"))
        assert st.st_ino == 2 and st.st_uid == 0
        try:
            os.stat(os.path.join(s.mnt, "rootfuse", "nothing"))
            assert False, "a name root's server does not have was found"
        except FileNotFoundError:
            pass
        r = as_host_user(ATTACKER, ["stat", "-c", "%U",
                                    os.path.join(s.mnt, "atk", "d0", "s")],
                         timeout=10)
        assert r.returncode == 0 and r.stdout.strip() == ATTACKER, r.stderr
        r = as_host_user(ATTACKER, ["stat", os.path.join(
            s.mnt, "atk", "d0", "s", "x")], timeout=10)
        assert r.returncode != 0 and "No such file" in r.stderr, r.stderr
        assert os.path.isdir(atk)
    finally:
        servers.close()
        m.stop()
