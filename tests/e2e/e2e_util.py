# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared harness of the end-to-end scenarios: real podman (rootless and
rootful) and docker (rootful with userns-remap, and rootless) running a
busybox rootfs against real volumes, with shiftctl in between.

Every engine runs with private state under the scenario's own tmp dir
(podman --root/--runroot, dockerd --data-root/--exec-root/-H), so scenarios
do not see each other and cleanup is "stop these pids, unmount everything
under this dir, remove it". Nothing is skipped: a missing engine or a
shiftctl verb that is not built yet fails the scenario (see need_verb).
"""
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

SHIFTCTL = os.environ.get("SHIFTCTL", "shiftctl")
SHIFTFS = os.environ.get("SHIFTFS", "shiftfs")
BUILD_DIR = os.environ.get("SHIFT_BUILD_DIR", "")

# Created by scripts/deps-e2e.sh, with their own /etc/subuid lines.
ROOTLESS_USER = "shiftfs-e2e"   # runs rootless podman / rootless docker
REMAP_USER = "shiftfs-remap"    # docker --userns-remap=shiftfs-remap

# The container's own users (the busybox rootfs's /etc/passwd).
CONTAINER_USERS = {"root": 0, "postgres": 999, "user": 1000}

PODMAN_GLOBAL = ["--runtime", "runc", "--cgroup-manager=cgroupfs",
                 "--events-backend=file", "--storage-driver", "vfs"]
ROOTFUL_ULIMITS = ["--ulimit", "nofile=1024:1024",
                   "--ulimit", "nproc=1024:1024"]
DOCKER = "/usr/bin/docker"  # the client that matches Debian's dockerd
DOCKERD_FLAGS = ["--iptables=false", "--ip6tables=false", "--bridge=none",
                 "--storage-driver=vfs"]
SYS_PATH = "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"


def log(msg):
    print(f"[e2e] {msg}", flush=True)


def sh(cmd, check=True, user=None, env=None, timeout=120, input=None):
    """Run argv (as USER when given, through runuser); return the
    CompletedProcess with text output. Fails the test on a non-zero
    exit when check."""
    argv = list(cmd)
    if user is not None and user != "root":
        envargs = [f"{k}={v}" for k, v in (env or {}).items()]
        argv = ["runuser", "-u", user, "--", "env"] + envargs + argv
        run_env = None
    else:
        run_env = dict(os.environ)
        run_env.update(env or {})
    p = subprocess.run(argv, capture_output=True, text=True, env=run_env,
                       timeout=timeout, input=input, cwd="/")
    if check and p.returncode != 0:
        pytest.fail(f"command failed ({p.returncode}): {' '.join(argv)}\n"
                    f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def tool_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return None
    return (p.stdout or p.stderr).strip().splitlines()[0] if \
        p.returncode == 0 else None


def need_tool(path, hint="run scripts/deps-e2e.sh"):
    if shutil.which(path) is None:
        pytest.fail(f"{path} is not installed ({hint}); the e2e suite "
                    "does not skip a missing engine")


def verb_available(verb):
    """True when this build's shiftctl implements VERB (the stubs of
    verbs not built yet say 'not available in this build yet')."""
    try:
        p = subprocess.run([SHIFTCTL, verb, "--help"], capture_output=True,
                           text=True, timeout=30)
    except FileNotFoundError:
        return False
    return p.returncode == 0 and \
        "not available in this build yet" not in p.stdout + p.stderr


def need_verb(verb):
    """A scenario that needs a shiftctl verb this build lacks FAILS."""
    if not verb_available(verb):
        pytest.fail(f"shiftctl {verb} is not available in this build "
                    f"({SHIFTCTL}); this scenario cannot pass without it")


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def gid_of(name):
    return pwd.getpwnam(name).pw_gid


def subid_start(user, path="/etc/subuid"):
    with open(path) as f:
        for line in f:
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[0] == user:
                return int(parts[1])
    pytest.fail(f"{user} has no line in {path} (run scripts/deps-e2e.sh)")


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


# ---------------------------------------------------------------- records

class Record:
    """What a scenario measured, printed at the end and saved as JSON
    under $SHIFT_BUILD_DIR/e2e-results/ for the report table."""

    def __init__(self, name):
        self.name = name
        self.start = time.monotonic()
        self.rows = []
        self.engines = {}

    def engine(self, name, argv):
        self.engines[name] = tool_version(argv) or "missing"

    def add(self, step, inside_uid, host_owner, result):
        row = {"step": step, "uid_inside": inside_uid,
               "host_owner": host_owner, "result": result}
        self.rows.append(row)
        log(f"{self.name}: {step}: uid inside={inside_uid} "
            f"host owner={host_owner} -> {result}")

    def finish(self, outcome):
        secs = time.monotonic() - self.start
        log(f"== scenario {self.name}: {outcome} in {secs:.1f} s")
        for k, v in self.engines.items():
            log(f"   engine {k}: {v}")
        for r in self.rows:
            log(f"   {r['step']}: uid inside {r['uid_inside']}, host owner "
                f"{r['host_owner']}: {r['result']}")
        if BUILD_DIR:
            d = os.path.join(BUILD_DIR, "e2e-results")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, self.name + ".json"), "w") as f:
                json.dump({"scenario": self.name, "outcome": outcome,
                           "seconds": round(secs, 1),
                           "engines": self.engines, "rows": self.rows}, f,
                          indent=1)


# ---------------------------------------------------------------- cleanup

def mounts_under(root):
    """Mount points at or below ROOT, deepest first."""
    res = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            mp = os.fsdecode(re.sub(rb"\\([0-7]{3})",
                                    lambda m: bytes([int(m.group(1), 8)]),
                                    line.split()[4]))
            if mp == root or mp.startswith(root.rstrip("/") + "/"):
                res.append(mp)
    return sorted(set(res), key=len, reverse=True)


def unmount_all(root):
    for mp in mounts_under(root):
        if subprocess.run([SHIFTCTL, "umount", mp],
                          capture_output=True).returncode == 0:
            continue
        subprocess.run(["umount", "-l", mp], capture_output=True)


def stop_pid(pid, sig=signal.SIGTERM, wait=15.0):
    """Stop one process we started, by pid; SIGKILL if it lingers."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class Scenario:
    """A scenario's private world: a tmp dir (mode 0755 so the engines'
    users can reach it), cleanup callbacks run in reverse order even on
    failure, then every mount under the dir is unmounted and it is
    removed."""

    def __init__(self, name):
        # short: podman refuses a runroot longer than 50 characters
        os.makedirs("/tmp/sfe2e", exist_ok=True)
        os.chmod("/tmp/sfe2e", 0o755)
        self.dir = tempfile.mkdtemp(prefix=name.split("-")[0] + ".",
                                    dir="/tmp/sfe2e")
        os.chmod(self.dir, 0o755)
        self.rec = Record(name)
        self._cleanups = []
        make_root_shared()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, name, uid=0, gid=0, mode=0o755):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        return p

    def on_cleanup(self, fn, *args):
        self._cleanups.append((fn, args))

    def cleanup(self):
        errors = []
        for fn, args in reversed(self._cleanups):
            try:
                fn(*args)
            except BaseException as e:  # keep cleaning, even after fail()
                errors.append(f"{fn.__name__}: {e}")
        unmount_all(self.dir)
        left = mounts_under(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        if errors or left:
            log(f"cleanup problems: {errors} mounts left: {left}")


@contextlib.contextmanager
def scenario(name):
    s = Scenario(name)
    outcome = "FAILED"
    try:
        yield s
        outcome = "passed"
    finally:
        try:
            s.cleanup()
        finally:
            s.rec.finish(outcome)


_shared_done = False


def make_root_shared():
    """Rootless podman and rootless docker keep a long-lived mount
    namespace; only with / shared do mounts made later (shiftctl mount)
    propagate into it."""
    global _shared_done
    if not _shared_done:
        sh(["mount", "--make-rshared", "/"])
        _shared_done = True


# ---------------------------------------------------------------- rootfs

def make_rootfs(dest, with_acl_tools=True):
    """A busybox rootfs with the container users, /data, and the files
    the engines expect to bind over."""
    need_tool("busybox", "install busybox-static: scripts/deps-e2e.sh")
    for d in ("bin", "etc", "data", "run", "proc", "sys", "dev", "tmp",
              "root", "home/user", "var/lib/postgresql/data",
              "home/bitcoin/.bitcoin"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    bb = os.path.join(dest, "bin", "busybox")
    shutil.copy2(shutil.which("busybox"), bb)
    sh(["chroot", dest, "/bin/busybox", "--install", "-s", "/bin"])
    with open(os.path.join(dest, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "postgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\n"
                "user:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(dest, "etc/group"), "w") as f:
        f.write("root:x:0:\npostgres:x:999:\nuser:x:1000:\n"
                "nogroup:x:65534:\n")
    for name in ("etc/mtab", "etc/hosts", "etc/resolv.conf",
                 "etc/hostname", "run/.containerenv"):
        open(os.path.join(dest, name), "a").close()
    if with_acl_tools:
        # getfacl and its libraries, to look at ACLs from inside.
        for prog in ("/usr/bin/getfacl",):
            out = sh(["ldd", prog]).stdout
            libs = [w for w in out.split() if w.startswith("/")]
            for f in [prog] + libs:
                d = os.path.join(dest, f.lstrip("/"))
                os.makedirs(os.path.dirname(d), exist_ok=True)
                shutil.copy2(f, d)
    return dest


def rootfs_tar(rootfs, dest):
    sh(["tar", "-C", rootfs, "-cf", dest, "."])
    os.chmod(dest, 0o644)
    return dest


# ---------------------------------------------------------------- podman

class Podman:
    """podman with private storage under DIR; rootless when USER is set
    (its own XDG_RUNTIME_DIR, so its pause process is ours to stop)."""

    def __init__(self, sc, user=None):
        need_tool("podman")
        need_tool("runc")
        self.sc = sc
        self.user = user
        self.base = sc.mkdir("pu" if user else "pr")
        self.env = {}
        if user:
            uid, gid = uid_of(user), gid_of(user)
            os.chown(self.base, uid, gid)
            self.run_dir = os.path.join(self.base, "xdg")
            os.makedirs(self.run_dir, mode=0o700)
            os.chown(self.run_dir, uid, gid)
            self.env = {"HOME": pwd.getpwnam(user).pw_dir,
                        "XDG_RUNTIME_DIR": self.run_dir,
                        "PATH": SYS_PATH}
        self.glob = PODMAN_GLOBAL + [
            "--root", os.path.join(self.base, "graph"),
            "--runroot", os.path.join(self.base, "rr")]
        sc.on_cleanup(self.stop)
        sc.rec.engine("podman" + ("" if user is None else " (rootless)"),
                      ["podman", "--version"])
        sc.rec.engine("runc", ["runc", "--version"])

    def cmd(self, *args, check=True, timeout=120):
        return sh(["podman"] + self.glob + list(args), check=check,
                  user=self.user, env=self.env, timeout=timeout)

    def run(self, rootfs, script, user=None, volumes=(), extra=(),
            check=False):
        args = ["run", "--rm", "--network=none"]
        if self.user is None:
            args += ROOTFUL_ULIMITS
        if user is not None:
            args += ["--user", str(user)]
        for v in volumes:
            args += ["-v", v]
        args += list(extra) + ["--rootfs", rootfs, "sh", "-c", script]
        return self.cmd(*args, check=check)

    def unshare_uid_map(self):
        return self.cmd("unshare", "cat", "/proc/self/uid_map").stdout

    def stop(self):
        self.cmd("rm", "-af", "-t", "0", check=False)
        if self.user:
            pidf = os.path.join(self.run_dir, "libpod/tmp/pause.pid")
            if os.path.exists(pidf):
                with open(pidf) as f:
                    stop_pid(int(f.read().strip()))


# ---------------------------------------------------------------- docker

class Dockerd:
    """A private dockerd: rootful (optionally --userns-remap=REMAP) or
    rootless for USER (dockerd-rootless.sh with rootlesskit --net=host).
    Stopped by the pid in its pidfile."""

    def __init__(self, sc, name, userns_remap=None, rootless_user=None,
                 extra_env=None):
        need_tool("dockerd")
        need_tool(DOCKER)
        self.sc = sc
        self.user = rootless_user
        self.base = sc.mkdir(f"docker-{name}")
        self.log_path = os.path.join(self.base, "dockerd.log")
        data, exe = os.path.join(self.base, "data"), \
            os.path.join(self.base, "exec")
        self.env = {}
        if rootless_user:
            need_tool("rootlesskit")
            uid, gid = uid_of(rootless_user), gid_of(rootless_user)
            run = os.path.join(self.base, "xdg")
            for d in (run, data):
                os.makedirs(d, mode=0o700)
                os.chown(d, uid, gid)
            exe = os.path.join(run, "dexec")
            self.sock = os.path.join(run, "docker.sock")
            self.pidfile = os.path.join(run, "docker.pid")
            self.env = {"HOME": pwd.getpwnam(rootless_user).pw_dir,
                        "XDG_RUNTIME_DIR": run,
                        "DOCKER_HOST": "unix://" + self.sock,
                        "PATH": "/usr/share/docker.io/contrib:" + SYS_PATH}
            self.env.update(extra_env or {})
            argv = ["runuser", "-u", rootless_user, "--", "env",
                    "DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host",
                    "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none"] + \
                [f"{k}={v}" for k, v in self.env.items()] + \
                ["dockerd-rootless.sh"]
        else:
            self.sock = os.path.join(self.base, "docker.sock")
            self.pidfile = os.path.join(self.base, "docker.pid")
            argv = ["dockerd"]
            self.env = {"DOCKER_HOST": "unix://" + self.sock}
        argv += DOCKERD_FLAGS + ["--data-root", data, "--exec-root", exe,
                                 "-H", "unix://" + self.sock,
                                 "--pidfile", self.pidfile]
        if userns_remap:
            argv.append("--userns-remap=" + userns_remap)
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd="/",
                                     start_new_session=True)
        sc.on_cleanup(self.stop)
        end = time.monotonic() + 60
        while True:
            p = subprocess.run([DOCKER, "-H", "unix://" + self.sock,
                                "version"], capture_output=True)
            if p.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > end:
                with open(self.log_path) as f:
                    pytest.fail("dockerd did not start:\n" +
                                f.read()[-3000:])
            time.sleep(0.2)
        sc.rec.engine(f"dockerd ({name})", ["dockerd", "--version"])

    def cmd(self, *args, check=True, timeout=120):
        return sh([DOCKER, "-H", "unix://" + self.sock] + list(args),
                  check=check, user=self.user, env=self.env,
                  timeout=timeout)

    def import_rootfs(self, tar, tag="e2e-busybox:latest"):
        self.cmd("import", tar, tag)
        return tag

    def run(self, image, script, user=None, volumes=(), extra=(),
            check=False):
        args = ["run", "--rm", "--network=none"]
        if user is not None:
            args += ["--user", str(user)]
        for v in volumes:
            args += ["-v", v]
        args += list(extra) + [image, "sh", "-c", script]
        return self.cmd(*args, check=check)

    def stop(self):
        self.cmd("rm", "-f", *self.cmd("ps", "-aq", check=False)
                 .stdout.split(), check=False)
        pid = None
        with contextlib.suppress(OSError, ValueError):
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        if pid:
            stop_pid(pid, wait=20)
        # rootlesskit (or the runuser around it) exits with dockerd
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop_pid(self.proc.pid)
            self.proc.wait(timeout=10)
        self.logf.close()


# ---------------------------------------------------------------- shiftctl

def shiftctl(*args, user=None, env=None, check=True, timeout=300):
    return sh([SHIFTCTL] + [str(a) for a in args], user=user, env=env,
              check=check, timeout=timeout)


def shift_mount(sc, *args, user=None, env=None):
    """shiftctl mount ARGS... SRC MNT (the last argument is MNT); the
    mount is undone at cleanup (shiftctl umount, then umount -l)."""
    mnt = str(args[-1])
    sc.on_cleanup(lambda: (shiftctl("umount", mnt, user=user, env=env,
                                    check=False),
                           subprocess.run(["umount", "-l", mnt],
                                          capture_output=True)))
    p = shiftctl("mount", *args, user=user, env=env)
    log(f"shiftctl mount: {p.stdout.strip()} {p.stderr.strip()}")
    return p


def shift_umount(mnt, user=None, env=None):
    return shiftctl("umount", mnt, user=user, env=env)


# ------------------------------------------------------------- checks

PROBE = ('echo "uid=$(id -u)"; echo "gid=$(id -g)"; '
         'echo "data_owner=$(stat -c %u:%g /data)"; '
         'if touch /data/written-by-container 2>/tmp/err; '
         'then echo write=ok; else echo "write=$(cat /tmp/err)"; fi')


def parse_probe(out):
    res = {}
    for line in out.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            res[k.strip()] = v.strip()
    return res


def assert_denied(p, what):
    text = p.stdout + p.stderr
    assert "Permission denied" in text, \
        f"{what}: expected 'Permission denied', got:\n{text}"


if __name__ == "__main__":
    sys.exit("a helper module: run the tests with ctest -L e2e")
