# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for playing the attacker.

- ATTACKER / VICTIM: two unprivileged host users with no relation to each
  other (scripts/deps.sh makes them), and MAPPED: a host user with its own
  /etc/subuid and /etc/subgid range, for the user a mount is made *for*.
- in_userns(): run a command as a given uid inside a real user namespace
  whose map the test chooses (the container side of an attack).
- race(): run a hostile loop in a thread for a bounded time while the
  victim operation runs, and always stop it.
- write_after(): a uid opens a file for writing, waits while the owner
  does something to it, then writes (the open-then-wait attack on
  killpriv).
- swap_onto_create(): once a create through the mount made its file,
  rename another file onto the name (the create/lookup race).
- fuse_server(), spawn(), kill_wait(), victim_is_served(): the attacker's
  own FUSE servers (tests/security/*_fuse.c), its processes, and the
  other user whose read must still be served.
"""
import ctypes
import ctypes.util
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time

from conftest import need

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
CLONE_NEWUSER = 0x10000000

ATTACKER = "shiftfs-atk"
VICTIM = "shiftfs-victim"
MAPPED = "shiftfs-mapped"


def uid_of(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        need(False, "host user %s missing (run scripts/deps.sh)" % user)


def gid_of(user):
    uid_of(user)
    return pwd.getpwnam(user).pw_gid


def subid_start(user, path="/etc/subuid"):
    """The first subordinate id of user in path (None if absent)."""
    with open(path) as f:
        for line in f:
            f3 = line.strip().split(":")
            if len(f3) == 3 and f3[0] == user:
                return int(f3[1])
    return None


def as_host_user(user, cmd, timeout=60, **kw):
    """cmd (a list) as an unprivileged host user; CompletedProcess (text)."""
    uid_of(user)
    return subprocess.run(["runuser", "-u", user, "--"] + list(cmd),
                          capture_output=True, text=True, timeout=timeout,
                          cwd="/", **kw)


def in_userns(cmd, uid_map, gid_map, inner_uid=0, inner_gid=0,
              timeout=60, **kw):
    """Run cmd as inner_uid:inner_gid inside a new user namespace.

    uid_map/gid_map are /proc/PID/uid_map lines "inside outside count"
    (several joined by newlines), written by root from outside, exactly as
    newuidmap does for a container engine.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: wait until the maps are written, then exec
        try:
            os.close(w)
            os.setgroups([])  # no host root group inside the container
            if _libc.unshare(CLONE_NEWUSER) != 0:
                os._exit(126)
            os.read(r, 1)
            os.setresgid(inner_gid, inner_gid, inner_gid)
            os.setresuid(inner_uid, inner_uid, inner_uid)
            os.chdir("/")
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(r)
    # The child cannot be synchronised before unshare() without a second
    # pipe; poll until its namespace differs from ours.
    mine = os.readlink("/proc/self/ns/user")
    deadline = time.monotonic() + 10
    while os.readlink("/proc/%d/ns/user" % pid) == mine:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            raise RuntimeError("child exited (%d) before entering a user "
                               "namespace" % os.waitstatus_to_exitcode(status))
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            raise RuntimeError("child did not enter a user namespace")
        time.sleep(0.001)
    with open("/proc/%d/setgroups" % pid, "w") as f:
        f.write("deny")
    with open("/proc/%d/uid_map" % pid, "w") as f:
        f.write(uid_map)
    with open("/proc/%d/gid_map" % pid, "w") as f:
        f.write(gid_map)
    os.close(w)
    return _wait(pid, timeout)


def _wait(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise TimeoutError("userns command timed out")
        time.sleep(0.01)


class race:
    """with race(fn, seconds): fn() runs in a loop in a thread until the
    block ends or `seconds` pass, whichever is first; exceptions in fn are
    swallowed (the attacker loses races) and counted in .errors."""

    def __init__(self, fn, seconds=10.0):
        self.fn, self.seconds = fn, seconds
        self.stop = threading.Event()
        self.rounds = self.errors = 0

    def _loop(self):
        end = time.monotonic() + self.seconds
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                self.fn()
            except Exception:  # noqa: BLE001 - a lost race is not a failure
                self.errors += 1
            self.rounds += 1

    def __enter__(self):
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()
        return False


_WRITE_AFTER = r"""
import os, sys, time
path, go, done = sys.argv[1:4]
fd = os.open(path, os.O_WRONLY)
open(go, "w").close()
deadline = time.monotonic() + 15
while not os.path.exists(done) and time.monotonic() < deadline:
    time.sleep(0.01)
os.pwrite(fd, b"evil", 0)
os.close(fd)
"""


def write_after(uid, path, owner_step, tmp):
    """As uid (no groups, no capabilities) open path for writing, run
    owner_step() while that fd is open, then write b"evil" at offset 0.
    tmp: a directory uid can read, for the two handshake files."""
    import sys
    go, done = os.path.join(tmp, "go"), os.path.join(tmp, "done")
    for p in (go, done):
        if os.path.exists(p):
            os.unlink(p)
    proc = subprocess.Popen(["setpriv", "--reuid=%d" % uid,
                             "--regid=%d" % uid, "--clear-groups",
                             "--inh-caps=-all", "--",
                             sys.executable, "-c", _WRITE_AFTER, path, go,
                             done],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(go):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the writer did not open"
        time.sleep(0.01)
    owner_step()
    open(done, "w").close()
    assert proc.wait(timeout=20) == 0, proc.stderr.read()


def swap_onto_create(d, name, other, creator):
    """Wait until the file a create (by process creator) makes appears as
    d/name on the source, then move it away (to d/attackers) and rename
    other onto the name, as someone who may rename in d can."""
    deadline = time.monotonic() + 10
    path = os.path.join(d, name)
    while not os.path.exists(path):
        assert time.monotonic() < deadline and creator.poll() is None, \
            creator.stderr.read() if creator.poll() is not None else ""
        time.sleep(0.005)
    os.rename(path, os.path.join(d, "attackers"))
    os.rename(other, path)


def descendant(pid, comm, seconds=5.0):
    """The first process below pid (or pid) whose comm starts with comm."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        todo = [pid]
        while todo:
            p = todo.pop()
            try:
                if open("/proc/%d/comm" % p).read().startswith(comm):
                    return p
                todo += [int(k) for k in open(
                    "/proc/%d/task/%d/children" % (p, p)).read().split()]
            except OSError:
                pass
        time.sleep(0.05)
    return None


def daemon_threads():
    """The threads a default shiftfs mount serves with: max_threads workers
    (run_loop(): the CPUs this process may use, at least 2) and the
    receiver."""
    return max(2, len(os.sched_getaffinity(0))) + 1


def read_through(path, timeout):
    """cat path in a child (a hung FUSE request ends with SIGKILL):
    (finished, stdout)."""
    try:
        r = subprocess.run(["cat", path], capture_output=True, text=True,
                           timeout=timeout, cwd="/")
        return True, r.stdout
    except subprocess.TimeoutExpired:
        return False, None


def fuse_server(directory, source):
    """Build tests/security/<source> (a libfuse 3 server, e.g.
    block_fuse.c) into directory, world-executable: its path."""
    need(shutil.which("cc") is not None, "needs a C compiler")
    need(shutil.which("pkg-config") is not None, "needs pkg-config")
    need(shutil.which("fusermount3") is not None, "needs fusermount3")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"],
                           capture_output=True, text=True)
    need(flags.returncode == 0, "needs libfuse3-dev: " + flags.stderr)
    out = os.path.join(directory, os.path.splitext(source)[0])
    if not os.path.exists(out):
        subprocess.run(["cc", "-o", out, os.path.join(
            os.path.dirname(os.path.abspath(__file__)), source)] +
            flags.stdout.split(), check=True)
        os.chmod(out, 0o755)
    return out


def spawn(user, cmd):
    """cmd as user, in a session of its own (kill_wait() ends the command
    too, not only runuser); stdout and stderr piped, text."""
    return subprocess.Popen(["runuser", "-u", user, "--"] + cmd, cwd="/",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def kill_wait(procs, seconds=20):
    """SIGKILL the session of every spawn() still running, then wait up
    to seconds in all for them."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    end = time.monotonic() + seconds
    for p in procs:
        try:
            p.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def daemon_stacks(pid):
    """The top kernel frames of each thread of pid (root reads them)."""
    out = []
    for tid in sorted(os.listdir("/proc/%d/task" % pid)):
        try:
            st = open("/proc/%d/task/%s/stack" % (pid, tid)).read().split(
                "\n")
            out.append(" < ".join(l.split()[1].split("+")[0]
                                  for l in st[:4] if l.strip()))
        except OSError:
            pass
    return out


def victim_is_served(s, tag):
    """Another user's read of a name the daemon has not seen yet, in
    s.src/ok, through s.mnt: its lookup must reach a free daemon thread.
    (finished, stdout) of read_through(), 5 s."""
    ok = os.path.join(s.src, "ok")
    os.makedirs(ok, exist_ok=True)
    with open(os.path.join(ok, tag), "w") as f:
        f.write("victim's data\n")
    return read_through(os.path.join(s.mnt, "ok", tag), 5)
