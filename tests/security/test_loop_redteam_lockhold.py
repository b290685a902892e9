# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of 7c4b449 (fs/submount.c), second round: other ways to hold
the daemon's fixed set of threads, and what the submount check must still
let through.

- A read lease (F_SETLEASE) a host user takes on files of its own below
  SRC: an open for writing waits in break_lease() up to lease-break-time
  (45 s by default). Through the mount that wait was a worker's
  (sfs_open()): one open per thread, by the attacker itself, stalled the
  mount for everyone, again and again. Now the daemon opens with
  O_NONBLOCK and a waiting open gets a thread of its own (fs/ops_file.c,
  wait_for_lease()).
- Every kind of op on, in and next to a name a never-answering server
  covers reaches nothing of it (what held).
- Legitimate: an unprivileged daemon's own user's FUSE mounts below SRC,
  also for a daemon that is root of its own user namespace (refused on
  7c4b449: mountinfo prints the host uid).

The red team's other finding, a directory lock held through a page fault
on the attacker's own FUSE file: tests/security/test_loop_redteam_dirlock.py."""
import os
import shutil
import subprocess
import time

from attack import (ATTACKER, VICTIM, daemon_stacks, daemon_threads,
                    descendant, fuse_server, gid_of, kill_wait, spawn, uid_of,
                    victim_is_served)
from conftest import Mount, mountinfo, need, need_root_and_fuse
from fs_util import scratch_fixture
from test_loop_redteam_stall import Servers

FIXTURES = (scratch_fixture,)


LEASE = r"""
import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)  # the break's signal
F_SETLEASE, F_RDLCK = 1024, 0
fds = []
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY)
    fcntl.fcntl(fd, F_SETLEASE, F_RDLCK)
    fds.append(fd)
print("leased", flush=True)
time.sleep(120)
"""


def test_a_lease_on_a_users_file_below_src_stalls_no_thread(scratch):
    """A host user's own file below SRC, with a read lease of its own
    (fcntl F_SETLEASE, F_RDLCK: the owner needs no privilege): an open for
    writing of it waits in break_lease() for /proc/sys/fs/lease-break-time
    (45 s by default) unless O_NONBLOCK. Through the mount that open is
    the daemon's (sfs_open(), passthrough's too): daemon_threads() opens
    for writing by the attacker itself stall the whole mount for 45 s, and
    it can lease new files and do it again at once."""
    need_root_and_fuse()
    s = scratch
    n = daemon_threads() + 1
    uid, gid = uid_of(ATTACKER), gid_of(ATTACKER)
    atk = os.path.join(s.src, "atk")
    os.mkdir(atk)
    os.chown(atk, uid, gid)
    files = []
    for i in range(n):
        f = os.path.join(atk, "l%d" % i)
        with open(f, "w") as fh:
            fh.write("x\n")
        os.chown(f, uid, gid)
        os.chmod(f, 0o644)
        files.append(f)
    m = Mount(s.src, s.mnt, "identity")
    procs = []
    try:
        holder = spawn(ATTACKER, ["python3", "-c", LEASE] + files)
        procs.append(holder)
        assert holder.stdout.readline().strip() == "leased", \
            holder.stderr.read()
        opener = ("import os, sys\n"
                  "os.close(os.open(sys.argv[1], os.O_WRONLY))\n")
        procs += [spawn(ATTACKER, ["python3", "-c", opener, os.path.join(
            s.mnt, "atk", "l%d" % i)]) for i in range(n)]
        time.sleep(1)
        done, out = victim_is_served(s, "fresh")
        info = "daemon threads: %s" % daemon_stacks(m.proc.pid)
        assert done, (
            info + ": another user's read through the mount hangs: every daemon "
            "thread waits in break_lease() on shiftfs-atk's leased files "
            "(for lease-break-time: %s s)" % open(
                "/proc/sys/fs/lease-break-time").read().strip())
        assert out == "victim's data\n"
    finally:
        kill_wait(procs)  # the holder's death ends its leases
        m.stop(check_log=False)


class BlockAll(Servers):
    """block_all_fuse (every request logged, none answered), allow_other,
    mounted by shiftfs-atk on path with extra -o options; closed as
    Servers are."""

    def __init__(self, s):
        self.bin = fuse_server(s.path, "block_all_fuse.c")
        self.s = s
        self.procs, self.pids, self.paths, self.logs = [], [], [], []

    def mount(self, path, opts="allow_other"):
        log = self.s.p("block_all.%d.log" % len(self.logs))
        lf = open(log, "w")
        os.chmod(log, 0o666)
        p = subprocess.Popen(["runuser", "-u", ATTACKER, "--", self.bin,
                              "-f", "-o", opts, path], cwd="/",
                             stdout=subprocess.DEVNULL, stderr=lf)
        lf.close()
        self.procs.append(p)
        self.paths.append(path)
        self.logs.append(log)
        end = time.monotonic() + 5
        while not [f for f in mountinfo() if f[4] == path]:
            assert p.poll() is None and time.monotonic() < end, (
                "block_all_fuse did not mount: " + open(log).read())
            time.sleep(0.02)
        self.pids.append(descendant(p.pid, "block_all_fuse"))

    def requests(self):
        return {l: open(l).read().split() for l in self.logs}


def test_no_op_on_or_below_a_covered_name_reaches_a_users_server(scratch):
    """What held: a server that logs and blocks every request, mounted by
    shiftfs-atk on a directory the daemon had already looked up (and
    listed with attributes), with an fsname and subtype faking " - " and
    user_id=0 in /proc/self/mountinfo; then every kind of op on, in and
    next to the covered name through the mount. No request reaches the
    server, every op ends, the victim is served."""
    need_root_and_fuse()
    s = scratch
    uid, gid = uid_of(ATTACKER), gid_of(ATTACKER)
    atk = os.path.join(s.src, "atk")
    os.mkdir(atk)
    for d in ("d0", "d0/s", "d1", "d1/s"):
        os.mkdir(os.path.join(atk, d))
    for f in ("d0/f", "d0/g", "d1/f"):
        open(os.path.join(atk, f), "w").close()
    for root, ds, fs in os.walk(atk):
        for x in [root] + [os.path.join(root, y) for y in ds + fs]:
            os.chown(x, uid, gid)
    m = Mount(s.src, s.mnt, "identity")
    srv = BlockAll(s)
    procs = []
    M = lambda *p: os.path.join(s.mnt, "atk", *p)
    try:
        os.stat(M("d0", "s"))
        os.listdir(M("d0", "s"))
        os.stat(M("d0", "f"))  # d0's listings carry attributes now
        os.stat(M("d1", "f"))
        srv.mount(os.path.join(atk, "d0", "s"))
        srv.mount(os.path.join(atk, "d1", "s"),
                  "allow_other,fsname=a - b user_id=0,subtype=user_id=0")
        py = lambda code: ["python3", "-c", code]
        ops = [
            ["ls", "-la", M("d0", "s")],
            ["stat", M("d0", "s")],
            ["stat", M("d0", "s", "..")],
            py("import os; print(os.listxattr(%r))" % M("d0", "s")),
            py("import os\ntry: os.getxattr(%r, 'user.x')\n"
               "except OSError: pass" % M("d0", "s")),
            ["setfattr", "-n", "user.x", "-v", "1", M("d0", "s")],
            ["chmod", "0755", M("d0", "s")],
            ["touch", M("d0", "s")],
            ["touch", M("d0", "s", "new")],
            ["mkdir", M("d0", "s", "newdir")],
            ["ln", "-s", "t", M("d0", "s", "sl")],
            ["mv", M("d0", "f"), M("d0", "s", "f2")],
            ["ln", M("d0", "g"), M("d0", "s", "g")],
            ["lsattr", "-d", M("d0", "s")],
            py("import os; print(os.statvfs(%r))" % M("d0", "s")),
            ["ls", "-l", M("d0")],
            ["ls", "-l", M("d1")],
            ["stat", M("d1", "s")],
            ["stat", M("d1", "s", "x")],
            ["find", M()],
            ["rmdir", M("d0", "s")],
            ["mv", M("d0", "s"), M("d0", "s3")],
        ]
        procs = [spawn(ATTACKER, c) for c in ops]
        end = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        hung = [" ".join(c) for c, p in zip(ops, procs) if p.poll() is None]
        reqs = srv.requests()
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n"
        assert not any(reqs.values()), reqs
        assert not hung, hung
        assert "user_id=0" not in m.output() or "uid %d" % uid in \
            m.output(), m.output()
    finally:
        srv.close()
        kill_wait(procs)
        m.stop(check_log=False)


def test_an_unprivileged_daemons_own_fuse_below_src_is_served(scratch):
    """Legitimate: a daemon of a host user's own (shiftfs-test), whose
    SRC holds a FUSE server that user mounted: served (euid's own); one
    of shiftfs-atk's next to it: refused."""
    need_root_and_fuse()
    import pwd
    s = scratch
    user = "shiftfs-test"
    pw = pwd.getpwnam(user)
    for d in (s.src, s.mnt):
        os.chown(d, pw.pw_uid, pw.pw_gid)
    own = os.path.join(s.src, "own")
    os.mkdir(own)
    os.chown(own, pw.pw_uid, pw.pw_gid)
    other = os.path.join(s.src, "other")
    os.mkdir(other)
    os.chown(other, uid_of(ATTACKER), gid_of(ATTACKER))
    mine = Servers(s, passes=1000, user=user)
    theirs = Servers(s, passes=1000, user=ATTACKER)
    m = Mount(s.src, s.mnt, "uidmap=%d:%d:1,gidmap=%d:%d:1,allow_other" % (
        pw.pw_uid, pw.pw_uid, pw.pw_gid, pw.pw_gid), user=user)
    try:
        mine.mount(own)
        theirs.mount(other)
        r = subprocess.run(["runuser", "-u", user, "--", "stat", "-c", "%i",
                            os.path.join(s.mnt, "own", "m")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and r.stdout.strip() == "2", r.stderr
        r = subprocess.run(["runuser", "-u", user, "--", "stat",
                            os.path.join(s.mnt, "other", "m")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (
            r.stdout, r.stderr)
    finally:
        mine.close()
        theirs.close()
        m.stop(check_log=False)


def test_a_rootless_daemons_own_fuse_below_src_is_served(scratch):
    """Legitimate, refused on 7c4b449: a daemon run by host user
    shiftfs-test as root of its own user namespace (unshare -U -r -m, a
    rootless setup); below its SRC a FUSE server shiftfs-test mounted on
    the host (fusermount3). mountinfo shows user_id=999 (the host uid:
    the kernel prints it in the FUSE connection's user namespace, not the
    reader's) and fs->euid is 0 (the daemon's namespace): refused as
    "mounted by uid 999", though it is the daemon's very own user."""
    need_root_and_fuse()
    import pwd
    need(shutil.which("unshare") is not None, "needs unshare")
    s = scratch
    user = "shiftfs-test"
    pw = pwd.getpwnam(user)
    os.chown(s.path, pw.pw_uid, pw.pw_gid)
    for d in (s.src, s.mnt):
        os.chown(d, pw.pw_uid, pw.pw_gid)
    own = os.path.join(s.src, "own")
    os.mkdir(own)
    os.chown(own, pw.pw_uid, pw.pw_gid)
    mine = Servers(s, passes=1000, user=user)
    script = (
        "%s %s %s -f -o uidmap=0:0:1,gidmap=0:0:1 >%s 2>&1 &\n"
        "sleep 1\n"
        "timeout 5 stat -c %%i %s\n"
        "kill $!\n" % (os.environ.get("SHIFTFS", "shiftfs"), s.src, s.mnt,
                        s.p("ns-daemon.log"), os.path.join(s.mnt, "own", "m")))
    try:
        mine.mount(own)
        r = subprocess.run(["runuser", "-u", user, "--", "unshare", "-U",
                            "-r", "-m", "--propagation", "slave", "sh",
                            "-c", script], capture_output=True, text=True,
                           timeout=30, cwd="/")
        log = open(s.p("ns-daemon.log")).read()
        assert r.stdout.strip() == "2", (r.stdout, r.stderr, log)
    finally:
        mine.close()


POLITE_LEASE = r"""
import fcntl, os, signal, sys, time
F_SETLEASE, F_RDLCK, F_UNLCK = 1024, 0, 2
fd = os.open(sys.argv[1], os.O_RDONLY)
def let_go(sig, frame):  # a well-behaved holder: the break's signal
    fcntl.fcntl(fd, F_SETLEASE, F_UNLCK)
    print("released", flush=True)
signal.signal(signal.SIGIO, let_go)
fcntl.fcntl(fd, F_SETLEASE, F_RDLCK)
print("leased", flush=True)
time.sleep(30)
"""


def test_an_open_waits_for_a_lease_holder_that_lets_go(scratch):
    """Legitimate use next to it: a lease holder that lets go when told
    (SIGIO, as Samba does); another user's open for writing through the
    mount waits for that, in the daemon's lease thread, and then writes.
    Meanwhile the mount serves others."""
    need_root_and_fuse()
    s = scratch
    uid, gid = uid_of(ATTACKER), gid_of(ATTACKER)
    f = os.path.join(s.src, "shared")
    with open(f, "w") as fh:
        fh.write("old\n")
    os.chown(f, uid, gid)
    os.chmod(f, 0o666)
    m = Mount(s.src, s.mnt, "identity")
    procs = []
    try:
        holder = spawn(ATTACKER, ["python3", "-c", POLITE_LEASE, f])
        procs.append(holder)
        assert holder.stdout.readline().strip() == "leased", \
            holder.stderr.read()
        writer = spawn(VICTIM, ["python3", "-c",
                                "import sys\n"
                                "with open(sys.argv[1], 'w') as f:\n"
                                "    f.write('new\\n')\n",
                                os.path.join(s.mnt, "shared")])
        procs.append(writer)
        done, out = victim_is_served(s, "fresh")
        assert done and out == "victim's data\n"
        assert writer.wait(timeout=20) == 0, writer.stderr.read()
        assert holder.stdout.readline().strip() == "released"
        with open(f) as fh:
            assert fh.read() == "new\n"
    finally:
        kill_wait(procs)
        m.stop()
