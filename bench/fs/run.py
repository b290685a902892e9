#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Filesystem benchmark: native vs bindfs vs shiftfs vs idmapped mount.

Every target lives on one journaled scratch ext4 image on a loop device
(direct I/O), all targets are mounted at once, and each repetition visits every
target in a rotated order, so that the ratios to native come from the same
run (see shared BENCH-NOTES: freed memory is slow to touch again in these VMs,
so running targets one after another skews whichever goes first).

Run as root, by hand:

    sudo bench/fs/run.py --quick                 # smoke run, 1 rep, small sizes
    sudo bench/fs/run.py --reps 3 --json out.json
    sudo bench/fs/run.py --targets native,shiftfs,shiftfs-wb
    sudo bench/fs/run.py --walk-million          # daemon RSS after 1M inodes

Targets: native, bindfs, bindfs-mt, passthrough_ll, fuse-floor,
shiftfs-before, shiftfs,
shiftfs-nospin (-o spin=0: no spinning receiver), shiftfs-wb, idmap (only
when `shiftctl mount --backend=idmap` works; probed at start), helper-user
and fuse-user (an ordinary user, shiftfs-mapped, mounts its own directory
with `shiftctl mount --rootless --user 1000`, through shiftfs-idmap-helper
or with FUSE). passthrough_ll is libfuse's example, built from
/usr/share/doc/libfuse3-dev/examples at start (no shifting: the FUSE floor);
fuse-floor is bench/fs/floor_fuse.c, an in-memory FUSE server that makes no
system call per request, mounted so that the kernel sends it the requests it
sends shiftfs (default_permissions, 1 s timeouts, READDIRPLUS with
attributes; see its header): its metadata rows are what the round trips
cost with no work behind them (it keeps no data: no seq, fio or untar rows);
shiftfs-before is the daemon given by --shiftfs-before (an older build, for
"no row slower than before"). Requests per operation are counted on the
shiftfs daemons that have the request counter (SIGUSR1).
"""

import argparse
import datetime
import glob
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

DISK_ID = 100000  # every target shows disk id 100000 as view id 0
ALL_TARGETS = ["native", "bindfs", "bindfs-mt", "passthrough_ll",
               "fuse-floor",
               "shiftfs-before", "shiftfs", "shiftfs-nospin", "shiftfs-wb",
               "idmap",
               "helper-user", "fuse-user"]
PASSTHROUGH_LL_C = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"
FLOOR_C = os.path.join(HERE, "floor_fuse.c")
# targets that keep no file data: no seq, fio or untar rows
NO_DATA = {"fuse-floor"}
# helper-user, fuse-user: an ordinary user (BENCH_USER) mounts its own
# directory with `shiftctl mount --rootless --user 1000`, through
# shiftfs-idmap-helper (a kernel idmapped mount) or with
# --backend=fuse (the unprivileged shiftfs daemon, owner mode); the
# workloads run as container uid 1000's view ids (target "creds").
BENCH_USER = "shiftfs-mapped"

# workload name -> (kind, label); kind "time" = seconds (lower is better),
# kind "tput" = throughput (higher is better; unit in label)
WORKLOADS = [
    ("create", "time", "create"),
    ("readdir", "time", "readdir (find, after create)"),
    ("stat", "time", "stat, warm (attrs cached)"),
    ("stat_expired", "time", "stat, warm, attrs expired"),
    ("ls_lR", "time", "ls -lR"),
    ("unlink", "time", "unlink"),
    ("seq_write", "tput", "seq write (MiB/s)"),
    ("seq_read_cold", "tput", "seq read, cold (MiB/s)"),
    ("seq_read_warm", "tput", "seq read, warm (MiB/s)"),
    ("fio_randread", "tput", "fio 4k randread (IOPS)"),
    ("fio_randwrite", "tput", "fio 4k randwrite (IOPS)"),
    ("untar", "time", "untar"),
]
METADATA = ["create", "readdir", "stat", "stat_expired", "ls_lR", "unlink"]
KIND = {w: k for w, k, _ in WORKLOADS}


def errno_name(e):
    import errno
    return errno.errorcode.get(e, str(e)) if e else "error"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def out(cmd):
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path:
                return True
    return False


def wait_mounted(path, proc=None, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if mounted(path):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def drop_caches():
    os.sync()
    with as_creds(None):
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


class as_creds:
    """with as_creds((uid, gid)): this process (and what it runs) acts as
    uid:gid, keeping root as the saved id to come back; None: as root."""
    def __init__(self, creds):
        self.creds, self.saved = creds, None

    def __enter__(self):
        self.saved = (os.getresuid(), os.getresgid())
        if self.saved[0][1] != 0:
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
        if self.creds:
            os.setresgid(self.creds[1], self.creds[1], 0)
            os.setresuid(self.creds[0], self.creds[0], 0)
        return self

    def __exit__(self, *exc):
        os.setresuid(0, 0, 0)
        os.setresgid(0, 0, 0)
        (ru, eu, su), (rg, eg, sg) = self.saved
        if eu != 0:
            os.setresgid(rg, eg, sg)
            os.setresuid(ru, eu, su)
        return False


def rss_kib(pid):
    """VmRSS and VmHWM in KiB of one process (0 when gone)."""
    res = {"VmRSS": 0, "VmHWM": 0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in res:
                    res[k] = int(line.split()[1])
    except OSError:
        pass
    return res


def nthreads(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def find_binary(name, explicit):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cands = [p for p in glob.glob(os.path.join(REPO, "build*", name))
             if os.access(p, os.X_OK) and os.path.isfile(p)]
    if not cands:
        return None
    return max(cands, key=os.path.getmtime)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = None
        self.image = None
        self.loop = None
        self.img_mnt = None
        self.mounts = []   # (mountpoint, kind, proc or None)
        self.daemons = {}  # target -> Popen
        self.logs = {}
        self.targets = {}  # name -> dict(path=..., src=...)
        self.notes = []
        self.results = {}  # workload -> target -> [values]
        self.failures = {}  # workload -> target -> [messages]
        self.workloads = [w for w, _, _ in WORKLOADS]
        self.rss = {}
        self.tarball = None
        self.requests = {}

    # ---------------------------------------------------------------- setup
    def setup_image(self, size_gib, inodes):
        base = self.args.workdir or "/var/tmp"
        self.work = tempfile.mkdtemp(prefix="shiftfs-bench.", dir=base)
        os.chmod(self.work, 0o700)
        self.image = os.path.join(self.work, "scratch.img")
        log(f"scratch image {self.image}: {size_gib} GiB, {inodes} inodes")
        with open(self.image, "wb") as f:
            f.truncate(size_gib << 30)
        run(["mkfs.ext4", "-q", "-F", "-N", str(inodes),
             "-E", "lazy_itable_init=0,lazy_journal_init=0", self.image])
        self.loop = out(["losetup", "--find", "--show", "--direct-io=on",
                         self.image]).strip()
        self.img_mnt = os.path.join(self.work, "img")
        os.mkdir(self.img_mnt)
        run(["mount", "-t", "ext4", self.loop, self.img_mnt])
        self.mounts.append((self.img_mnt, "ext4", None))
        log(f"{self.loop} mounted on {self.img_mnt}")

    def src_dir(self, name):
        d = os.path.join(self.img_mnt, "src-" + name)
        os.mkdir(d)
        if name != "native":
            os.chown(d, DISK_ID, DISK_ID)
        return d

    def mnt_dir(self, name):
        d = os.path.join(self.work, "mnt-" + name)
        os.mkdir(d)
        return d

    def start_daemon(self, name, cmd, mnt):
        logf = open(os.path.join(self.work, f"{name}.log"), "w")
        self.logs[name] = logf.name
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        logf.close()
        self.mounts.append((mnt, "fuse", proc))
        if not wait_mounted(mnt, proc):
            with open(self.logs[name]) as f:
                tail = f.read()[-2000:]
            raise RuntimeError(f"{name}: mount failed: {' '.join(cmd)}\n"
                               f"{tail}")
        self.daemons[name] = proc
        return proc

    def probe_idmap(self, shiftctl):
        """Whether `shiftctl mount --backend=idmap` works here."""
        if not shiftctl:
            return "no shiftctl binary built"
        src = os.path.join(self.img_mnt, "idmap-probe")
        mnt = os.path.join(self.work, "idmap-probe-mnt")
        os.mkdir(src)
        os.chown(src, DISK_ID, DISK_ID)
        os.mkdir(mnt)
        r = subprocess.run([shiftctl, "mount", "--backend=idmap",
                            f"--map={DISK_ID}:0:1", src, mnt],
                           capture_output=True, text=True, timeout=30)
        ok = r.returncode == 0 and mounted(mnt)
        why = None
        if ok:
            st = os.stat(mnt)
            if st.st_uid != 0:
                why = f"probe mount shows uid {st.st_uid}, expected 0"
        else:
            why = ("`shiftctl mount --backend=idmap` failed: " +
                   (r.stderr.strip().splitlines() or ["exit %d" %
                                                      r.returncode])[-1])
        if mounted(mnt):
            subprocess.run([shiftctl, "umount", mnt], capture_output=True,
                           timeout=30)
            if mounted(mnt):
                run(["umount", "-l", mnt], check=False)
        os.rmdir(mnt)
        shutil.rmtree(src)
        return why

    def setup_targets(self, wanted):
        a = self.args
        shiftfs = find_binary("fs/shiftfs", a.shiftfs)
        shiftctl = find_binary("shiftctl/shiftctl", a.shiftctl)
        self.shiftfs_bin, self.shiftctl_bin = shiftfs, shiftctl
        m = f"{DISK_ID}:0:1"
        for name in wanted:
            if name == "native":
                src = self.src_dir(name)
                self.targets[name] = {"path": src}
            elif name in ("bindfs", "bindfs-mt"):
                if not shutil.which("bindfs"):
                    self.notes.append(f"{name}: bindfs not installed")
                    continue
                src, mnt = self.src_dir(name), self.mnt_dir(name)
                cmd = ["bindfs", "-f",
                       f"--map={DISK_ID}/0:@{DISK_ID}/@0", src, mnt]
                if name == "bindfs-mt":
                    cmd.insert(1, "--multithreaded")
                self.start_daemon(name, cmd, mnt)
                self.targets[name] = {"path": mnt, "cmd": cmd}
            elif name == "passthrough_ll":
                binary = self.build_passthrough_ll()
                if not binary:
                    continue
                src, mnt = self.src_dir(name), self.mnt_dir(name)
                cmd = [binary, "-f", "-o", f"source={src}", mnt]
                self.start_daemon(name, cmd, mnt)
                self.targets[name] = {"path": mnt, "cmd": cmd}
            elif name == "fuse-floor":
                binary = self.build_c("floor_fuse", FLOOR_C)
                if not binary:
                    continue
                mnt = self.mnt_dir(name)
                cmd = [binary, "-f", mnt]
                self.start_daemon(name, cmd, mnt)
                self.targets[name] = {"path": mnt, "cmd": cmd}
            elif name in ("shiftfs", "shiftfs-wb", "shiftfs-before",
                          "shiftfs-nospin"):
                binary = shiftfs
                if name == "shiftfs-before":
                    binary = a.shiftfs_before
                    if not binary or not os.access(binary, os.X_OK):
                        self.notes.append(f"{name}: n/a, no "
                                          "--shiftfs-before binary")
                        continue
                if not binary:
                    self.notes.append(f"{name}: n/a, no build*/fs/shiftfs")
                    continue
                src, mnt = self.src_dir(name), self.mnt_dir(name)
                opts = f"uidmap={m},gidmap={m}"
                if name == "shiftfs-wb":
                    opts += ",writeback"
                if name == "shiftfs-nospin":
                    opts += ",spin=0"  # libfuse's loop alone (fs/loop.c)
                if a.shiftfs_opts:
                    opts += "," + a.shiftfs_opts
                cmd = [binary, src, mnt, "-f", "-o", opts]
                try:
                    self.start_daemon(name, cmd, mnt)
                except RuntimeError as e:
                    self.notes.append(f"{name}: n/a, {e}".splitlines()[0])
                    log(str(e))
                    continue
                self.targets[name] = {"path": mnt, "cmd": cmd}
            elif name == "idmap":
                why = self.probe_idmap(shiftctl)
                if why:
                    self.notes.append(f"idmap: n/a, {why}")
                    log(f"idmap column skipped: {why}")
                    continue
                src, mnt = self.src_dir(name), self.mnt_dir(name)
                cmd = [shiftctl, "mount", "--backend=idmap",
                       f"--map={m}", src, mnt]
                run(cmd, capture_output=True)
                if not mounted(mnt):
                    self.notes.append("idmap: n/a, mount did not appear")
                    continue
                self.mounts.append((mnt, "shiftctl", None))
                self.targets[name] = {"path": mnt, "cmd": cmd}
            elif name in ("helper-user", "fuse-user"):
                why = self.setup_user_target(name, shiftctl)
                if why:
                    self.notes.append(f"{name}: n/a, {why}")
                    log(f"{name} column skipped: {why}")
        for name, t in self.targets.items():
            st = os.stat(t["path"])
            log(f"target {name:10s} {t['path']} (root shows as "
                f"{st.st_uid}:{st.st_gid})")

    def build_passthrough_ll(self):
        """libfuse's passthrough_ll example, built into the work directory
        (it keeps one fd per inode: the daemons' RLIMIT_NOFILE is raised)."""
        if not os.path.exists(PASSTHROUGH_LL_C):
            self.notes.append("passthrough_ll: n/a, no libfuse3-dev examples")
            return None
        return self.build_c("passthrough_ll", PASSTHROUGH_LL_C)

    def build_c(self, name, source):
        """A one-file libfuse program, built into the work directory."""
        binary = os.path.join(self.work, name)
        try:
            flags = out(["pkg-config", "--cflags", "--libs", "fuse3"]).split()
            run(["cc", "-O2", "-o", binary, source] + flags,
                capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            self.notes.append(f"{name}: n/a, build failed: {e}")
            return None
        return binary

    def setup_user_target(self, name, shiftctl):
        """BENCH_USER's own SRC mounted by BENCH_USER with shiftctl,
        through shiftfs-idmap-helper (installed with setcap into a
        root-owned directory, as `cmake --install` does) or with FUSE.
        Returns why not, or None."""
        import pwd
        try:
            pw = pwd.getpwnam(BENCH_USER)
        except KeyError:
            return f"no user {BENCH_USER}"
        sub = {}
        for f in ("/etc/subuid", "/etc/subgid"):
            for line in open(f):
                p = line.strip().split(":")
                if len(p) == 3 and p[0] == BENCH_USER:
                    sub[f] = int(p[1])
                    break
        if len(sub) != 2 or not shiftctl:
            return f"{BENCH_USER} needs /etc/subuid, /etc/subgid; shiftctl"
        os.chmod(self.work, 0o711)  # the user reaches SRC and MNT by path
        env = {"XDG_RUNTIME_DIR": os.path.join(self.work, "xdg-" + name),
               "SHIFTFS": self.shiftfs_bin or ""}
        os.mkdir(env["XDG_RUNTIME_DIR"], 0o700)
        os.chown(env["XDG_RUNTIME_DIR"], pw.pw_uid, pw.pw_gid)
        backend = "fuse"
        if name == "helper-user":
            built = find_binary("helper/shiftfs-idmap-helper", None)
            if not built or not shutil.which("setcap"):
                return "no build*/helper/shiftfs-idmap-helper or setcap"
            d = os.path.join(self.work, "helper-bin")
            os.mkdir(d, 0o755)
            h = os.path.join(d, "shiftfs-idmap-helper")
            shutil.copy(built, h)
            run(["setcap", "cap_sys_admin,cap_setuid,cap_setgid+ep", h])
            env["SHIFTCTL_IDMAP_HELPER"] = h
            backend = "idmap"
        src = os.path.join(self.img_mnt, "src-" + name)
        mnt = os.path.join(self.work, "mnt-" + name)
        for x in (src, mnt):
            os.mkdir(x, 0o755)
            os.chown(x, pw.pw_uid, pw.pw_gid)
        cmd = ["runuser", "-u", BENCH_USER, "--", "env"] + \
            [f"{k}={v}" for k, v in env.items()] + \
            [shiftctl, "mount", f"--backend={backend}", "--rootless",
             "--user", "1000", src, mnt]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not mounted(mnt):
            return (r.stderr.strip().splitlines() or ["not mounted"])[-1]
        log(f"{name}: {r.stdout.strip()}")
        self.mounts.append((mnt, "user", None))
        view = (sub["/etc/subuid"] + 999, sub["/etc/subgid"] + 999)
        self.targets[name] = {"path": mnt, "cmd": cmd, "creds": view}
        return None

    def make_tarball(self, entries):
        """A tarball of real system files with ~`entries` entries, all owned
        by 0:0 (so every target can represent every owner), cached in
        /var/tmp across runs."""
        path = f"/var/tmp/shiftfs-bench-untar-{entries}.tar"
        if os.path.exists(path):
            self.tarball = path
            return
        roots = ["/usr/include"]
        count = int(out(["sh", "-c", "find /usr/include | wc -l"]))
        for d in sorted(os.listdir("/usr/share")):
            if count >= entries:
                break
            p = os.path.join("/usr/share", d)
            n = int(out(["sh", "-c", f"find '{p}' | wc -l"]))
            if count + n > entries * 1.15 and count > entries * 0.5:
                continue
            roots.append(p)
            count += n
        log(f"making {path} ({count} entries)")
        tmp = path + ".part"
        run(["tar", "cf", tmp, "--owner=0", "--group=0", "--numeric-owner",
             "--warning=no-file-changed", "--warning=no-file-removed",
             "--ignore-failed-read"] + roots, check=False,
            stderr=subprocess.DEVNULL)
        os.rename(tmp, path)
        self.tarball = path

    # ------------------------------------------------------------- workloads
    def record(self, wl, target, value):
        self.results.setdefault(wl, {}).setdefault(target, []).append(value)

    def tree_paths(self, root):
        nd, nf = self.args.dirs, self.args.files
        per = nf // nd
        dirs = [os.path.join(root, f"d{i:04d}") for i in range(nd)]
        files = [os.path.join(d, f"f{j:05d}") for d in dirs
                 for j in range(per)]
        return dirs, files

    def wl_create(self, name, root):
        dirs, files = self.tree_paths(root)
        os.mkdir(root)
        t0 = time.perf_counter()
        for d in dirs:
            os.mkdir(d)
        for f in files:
            os.close(os.open(f, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
        return time.perf_counter() - t0

    def wl_readdir(self, name, root):
        t0 = time.perf_counter()
        run(["find", root], stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    def wl_stat(self, name, root):
        dirs, files = self.tree_paths(root)
        for f in files:  # warm
            os.lstat(f)
        t0 = time.perf_counter()
        for f in files:
            os.lstat(f)
        return time.perf_counter() - t0

    def wl_stat_expired(self, name, root):
        """lstat of every file once the FUSE attribute/entry timeouts of the
        last pass have run out (the caller sleeps before the first target):
        every call goes to the daemon, but the source's caches are warm."""
        dirs, files = self.tree_paths(root)
        t0 = time.perf_counter()
        for f in files:
            os.lstat(f)
        return time.perf_counter() - t0

    def wl_ls(self, name, root):
        t0 = time.perf_counter()
        run(["ls", "-lR", root], stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    def wl_unlink(self, name, root):
        dirs, files = self.tree_paths(root)
        t0 = time.perf_counter()
        for f in files:
            os.unlink(f)
        for d in dirs:
            os.rmdir(d)
        el = time.perf_counter() - t0
        os.rmdir(root)
        return el

    def wl_seq_write(self, path):
        mib = self.args.seq_mib
        t0 = time.perf_counter()
        run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}",
             "conv=fsync"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        return mib / (time.perf_counter() - t0)

    def wl_seq_read(self, path):
        mib = self.args.seq_mib
        t0 = time.perf_counter()
        run(["dd", f"if={path}", "of=/dev/null", "bs=1M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return mib / (time.perf_counter() - t0)

    def wl_fio(self, path, rw):
        a = self.args
        # warm: fio would otherwise drop the page cache first
        # (invalidate=1), which on FUSE drops only the upper cache
        run(["cat", path], stdout=subprocess.DEVNULL)
        r = run(["fio", "--name=bench", f"--filename={path}",
                 "--invalidate=0",
                 f"--size={a.fio_mib}M", "--bs=4k", f"--rw={rw}",
                 "--direct=0", "--ioengine=psync", "--numjobs=1",
                 f"--runtime={a.fio_runtime}", "--time_based",
                 "--output-format=json"], capture_output=True, text=True)
        job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]
        side = "read" if rw == "randread" else "write"
        return job[side]["iops"]

    def wl_untar(self, root):
        os.mkdir(root)
        t0 = time.perf_counter()
        run(["tar", "xf", self.tarball, "-C", root], capture_output=True,
            text=True)
        return time.perf_counter() - t0

    def rotated(self, rep):
        names = list(self.targets)
        k = rep % len(names)
        return names[k:] + names[:k]

    def fuse_pids(self):
        return {n: p.pid for n, p in self.daemons.items()
                if n.startswith("shiftfs")}

    def attempt(self, wl, n, fn, *args):
        """Run one measurement; a failure (e.g. EBADF from a daemon out of
        file descriptors) is recorded for that target and the run goes on."""
        unit = {"time": "s", "tput": "MiB/s" if wl.startswith("seq")
                else "IOPS"}[KIND[wl]]
        try:
            with as_creds(self.targets.get(n, {}).get("creds")):
                v = fn(*args)
        except (OSError, subprocess.CalledProcessError, ValueError,
                KeyError) as e:
            if isinstance(e, OSError):
                msg = f"{errno_name(e.errno)} ({e.strerror})"
            elif isinstance(e, subprocess.CalledProcessError):
                err = (e.stderr or "").strip().splitlines()
                msg = (f"{os.path.basename(e.cmd[0])} exit {e.returncode}" +
                       (f" ({len(err)} error lines, first: {err[0]})"
                        if err else ""))
            else:
                msg = f"{type(e).__name__}: {e}"
            self.failures.setdefault(wl, {}).setdefault(n, []).append(msg)
            log(f"  {wl:14s} {n:10s} FAILED: {msg}")
            return None
        self.record(wl, n, v)
        log(f"  {wl:14s} {n:10s} {v:9.3f} {unit}" if unit == "s" else
            f"  {wl:14s} {n:10s} {v:9.0f} {unit}")
        return v

    def remove(self, path):
        """rm -rf; after a failed workload a FUSE daemon may be out of file
        descriptors until the kernel forgets inodes: drop the dentry and
        inode caches and try once more."""
        if run(["rm", "-rf", path], check=False,
               stderr=subprocess.DEVNULL).returncode == 0:
            return
        drop_caches()
        if run(["rm", "-rf", path], check=False).returncode != 0:
            log(f"  could not remove {path}")

    def want(self, wl):
        return wl in self.workloads

    def one_rep(self, rep):
        order = self.rotated(rep)
        log(f"rep {rep + 1}/{self.args.reps}: order {', '.join(order)}")
        T = self.targets
        trees = {n: os.path.join(T[n]["path"], f"tree{rep}") for n in order}

        if any(self.want(w) for w in METADATA):
            base = {n: rss_kib(p)["VmRSS"]
                    for n, p in self.fuse_pids().items()}
            ok = {}
            for n in order:
                ok[n] = self.attempt("create", n, self.wl_create, n,
                                     trees[n]) is not None
            for wl, fn in (("readdir", self.wl_readdir),
                           ("stat", self.wl_stat),
                           ("stat_expired", self.wl_stat_expired),
                           ("ls_lR", self.wl_ls)):
                if not self.want(wl):
                    continue
                if wl == "stat_expired":
                    time.sleep(self.args.expire_wait)
                for n in order:
                    if ok[n]:
                        ok[n] = self.attempt(wl, n, fn, n,
                                             trees[n]) is not None
            for n, pid in self.fuse_pids().items():
                if not ok[n]:
                    continue
                r = rss_kib(pid)
                nino = self.args.files + self.args.dirs
                bpi = (r["VmRSS"] - base[n]) * 1024 / nino
                self.rss.setdefault(n, []).append({
                    "rep": rep, "rss_before_kib": base[n],
                    "rss_after_walk_kib": r["VmRSS"], "hwm_kib": r["VmHWM"],
                    "threads": nthreads(pid), "bytes_per_inode": bpi})
                log(f"  shiftfs RSS {n}: {base[n]} -> {r['VmRSS']} KiB "
                    f"({bpi:.0f} B/inode), {nthreads(pid)} threads")
            for n in order:
                if ok[n] and self.want("unlink"):
                    self.attempt("unlink", n, self.wl_unlink, n, trees[n])
                if os.path.exists(trees[n]):
                    self.remove(trees[n])

        if any(self.want(w) for w in ("seq_write", "seq_read_cold",
                                      "seq_read_warm")):
            seqf = {n: os.path.join(T[n]["path"], f"seq{rep}")
                    for n in order}

            def write(f):
                drop_caches()
                return self.wl_seq_write(f)

            def read_cold(f):
                drop_caches()
                return self.wl_seq_read(f)

            def read_warm(f):
                self.wl_seq_read(f)  # make sure it is warm
                return self.wl_seq_read(f)

            for wl, fn in (("seq_write", write), ("seq_read_cold", read_cold),
                           ("seq_read_warm", read_warm)):
                for n in order:
                    if n not in NO_DATA:
                        self.attempt(wl, n, fn, seqf[n])
            for n in order:
                if os.path.exists(seqf[n]):
                    os.unlink(seqf[n])

        if self.want("fio_randread") or self.want("fio_randwrite"):
            fiof = {n: os.path.join(T[n]["path"], f"fio{rep}")
                    for n in order if n not in NO_DATA}
            for n in fiof:  # lay the files out, untimed
                with as_creds(T[n].get("creds")):
                    run(["dd", "if=/dev/zero", f"of={fiof[n]}", "bs=1M",
                         f"count={self.args.fio_mib}", "conv=fsync"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for wl, rw in (("fio_randread", "randread"),
                           ("fio_randwrite", "randwrite")):
                if self.want(wl):
                    for n in order:
                        if n in fiof:
                            self.attempt(wl, n, self.wl_fio, fiof[n], rw)
            for n in fiof:
                os.unlink(fiof[n])
            os.sync()

        if self.tarball and self.want("untar"):
            for n in (n for n in order if n not in NO_DATA):
                root = os.path.join(T[n]["path"], f"untar{rep}")
                self.attempt("untar", n, self.wl_untar, root)
                self.remove(root)
        os.sync()

    # ------------------------------------------------------ request counts
    def counted_targets(self):
        """shiftfs targets whose daemon logs request counts on SIGUSR1."""
        res = []
        for n, t in self.targets.items():
            if not n.startswith("shiftfs") or n not in self.daemons:
                continue
            with open(t["cmd"][0], "rb") as f:
                if b"stats: total" in f.read():
                    res.append(n)
        return res

    def stats_snapshot(self, name):
        """{opcode: requests so far} from the daemon's SIGUSR1 log lines."""
        path = self.logs[name]

        def text():
            with open(path, errors="replace") as f:
                return f.read()
        before = text().count("stats: total")
        os.kill(self.daemons[name].pid, signal.SIGUSR1)
        end = time.monotonic() + 10
        while text().count("stats: total") <= before:
            if time.monotonic() > end:
                raise RuntimeError(f"{name}: no request counts on SIGUSR1")
            time.sleep(0.02)
        block = text().split("stats: total")[-2]
        counts = {}
        for line in block.splitlines():
            w = line.split("stats: ")[-1].split()
            if len(w) >= 3 and w[2].startswith("requests"):
                counts[w[0]] = int(w[1])
        return counts

    def counted(self, name, fn, per):
        """Requests (by opcode, FORGET left out) per operation of fn()."""
        os.sync()
        time.sleep(0.5)  # asynchronous RELEASEs of earlier work
        a = self.stats_snapshot(name)
        fn()
        time.sleep(0.5)
        b = self.stats_snapshot(name)
        d = {k: (b.get(k, 0) - a.get(k, 0)) / per for k in b
             if k != "FORGET" and b.get(k, 0) > a.get(k, 0)}
        return dict(sorted(d.items(), key=lambda kv: -kv[1]))

    def small_tarball(self, n=300):
        path = os.path.join(self.work, "small.tar")
        if os.path.exists(path):
            return path
        d = os.path.join(self.work, "small")
        os.mkdir(d)
        for i in range(n):
            with open(os.path.join(d, f"f{i:04d}"), "wb") as f:
                f.write(b"x" * (1024 * (1 + i % 16)))
        run(["tar", "cf", path, "--owner=0", "--group=0", "--numeric-owner",
             "-C", self.work, "small"])
        return path

    def request_profile(self):
        """Requests per create, per write(2) (4 KiB, buffered), per entry
        of an untar (300 files of 1-16 KiB) and per entry of a find."""
        tar = self.small_tarball()
        prof = {}
        for n in self.counted_targets():
            root = os.path.join(self.targets[n]["path"], "requests")
            os.mkdir(root)
            files = [os.path.join(root, f"f{i:04d}") for i in range(500)]

            def create():
                for f in files:
                    os.close(os.open(f, os.O_CREAT | os.O_WRONLY | os.O_EXCL,
                                     0o644))

            def write():
                fd = os.open(os.path.join(root, "w"), os.O_WRONLY)
                for _ in range(256):
                    os.write(fd, b"w" * 4096)
                os.close(fd)

            def untar():
                os.mkdir(os.path.join(root, "x"))
                run(["tar", "xf", tar, "-C", os.path.join(root, "x")])

            def readdir():
                run(["find", root], stdout=subprocess.DEVNULL)
            try:
                p = {"create": self.counted(n, create, len(files))}
                open(os.path.join(root, "w"), "w").close()
                p["write"] = self.counted(n, write, 256)
                p["untar"] = self.counted(n, untar, 301)
                p["readdir"] = self.counted(n, readdir, len(files) + 303)
            except (OSError, RuntimeError,
                    subprocess.CalledProcessError) as e:
                self.notes.append(f"request counts on {n} failed: {e}")
                continue
            finally:
                self.remove(root)
            prof[n] = p
            for wl, d in p.items():
                log(f"  requests {wl:8s} {n:10s} {sum(d.values()):6.2f}: " +
                    ", ".join(f"{k} {v:.2f}" for k, v in d.items()))
        return prof

    # --------------------------------------------------------- walk million
    def walk_million(self):
        a = self.args
        shiftfs = find_binary("fs/shiftfs", a.shiftfs)
        if not shiftfs:
            raise SystemExit("--walk-million needs build*/fs/shiftfs")
        nd, nf = 1000, a.million
        per = nf // nd
        src = self.src_dir("shiftfs")
        log(f"creating {nd * per} files in {nd} dirs on the image")
        t0 = time.perf_counter()
        for i in range(nd):
            d = os.path.join(src, f"d{i:04d}")
            os.mkdir(d)
            for j in range(per):
                os.close(os.open(os.path.join(d, f"f{j:05d}"),
                                 os.O_CREAT | os.O_WRONLY, 0o644))
        log(f"created in {time.perf_counter() - t0:.1f} s")
        drop_caches()
        mnt = self.mnt_dir("shiftfs")
        m = f"{DISK_ID}:0:1"
        opts = f"uidmap={m},gidmap={m}"
        if a.shiftfs_opts:
            opts += "," + a.shiftfs_opts
        cmd = [shiftfs, src, mnt, "-f", "-o", opts]
        proc = self.start_daemon("shiftfs", cmd, mnt)
        base = rss_kib(proc.pid)
        errf = os.path.join(self.work, "find.err")
        t0 = time.perf_counter()
        rc = run(["sh", "-c", f"find '{mnt}' -ls >/dev/null 2>'{errf}'"],
                 check=False).returncode
        walk = time.perf_counter() - t0
        with open(errf) as f:
            errs = f.read().splitlines()
        if errs:
            log(f"find exit {rc}, {len(errs)} error lines, e.g. {errs[0]}")
        r = rss_kib(proc.pid)
        res = {"files": nd * per, "dirs": nd, "walk_s": walk,
               "shiftfs_opts": opts,
               "find_exit": rc, "find_errors": len(errs),
               "find_first_error": errs[0] if errs else None,
               "rss_before_kib": base["VmRSS"],
               "rss_after_kib": r["VmRSS"], "hwm_kib": r["VmHWM"],
               "threads": nthreads(proc.pid),
               "bytes_per_inode": (r["VmRSS"] - base["VmRSS"]) * 1024 /
               (nd * per + nd),
               "target_met": r["VmRSS"] < 150 * 1024 and not errs}
        log(f"find -ls through shiftfs: {walk:.1f} s; daemon RSS "
            f"{base['VmRSS']} -> {r['VmRSS']} KiB (HWM {r['VmHWM']} KiB)")
        return res

    # ---------------------------------------------------------------- cleanup
    def cleanup(self):
        for mnt, kind, proc in reversed(self.mounts):
            try:
                if kind == "shiftctl" and self.shiftctl_bin and mounted(mnt):
                    subprocess.run([self.shiftctl_bin, "umount", mnt],
                                   capture_output=True, timeout=30)
                if mounted(mnt):
                    r = subprocess.run(["umount", mnt], capture_output=True)
                    if r.returncode != 0 and mounted(mnt):
                        subprocess.run(["umount", "-l", mnt],
                                       capture_output=True)
                if proc is not None:
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.terminate()
                        try:
                            proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()
            except Exception as e:  # keep going: detach and remove anyway
                log(f"cleanup of {mnt}: {e}")
        self.mounts = []
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)
            self.loop = None
        if self.work and not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        elif self.work:
            log(f"kept {self.work}")


# ------------------------------------------------------------------- report
def med(v):
    return statistics.median(v) if v else None


def versions(bench):
    v = {"date": datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%d %H:%M UTC"),
         "kernel": platform.release(),
         "cpus": os.cpu_count()}
    try:
        v["bindfs"] = out(["bindfs", "--version"]).split()[-1]
    except Exception:
        v["bindfs"] = None
    try:
        v["fio"] = out(["fio", "--version"]).strip()
    except Exception:
        v["fio"] = None
    try:
        v["libfuse3"] = out(["pkg-config", "--modversion", "fuse3"]).strip()
    except Exception:
        v["libfuse3"] = None
    b = getattr(bench, "shiftfs_bin", None)
    if b:
        r = subprocess.run([b, "--version"], capture_output=True, text=True)
        v["shiftfs"] = next((ln for ln in (r.stdout + r.stderr).splitlines()
                             if ln.startswith("shiftfs")), None)
        v["shiftfs_bin"] = b
    if getattr(bench, "shiftctl_bin", None):
        v["shiftctl_bin"] = bench.shiftctl_bin
    try:
        v["git"] = out(["git", "-C", REPO, "rev-parse", "--short",
                        "HEAD"]).strip()
    except Exception:
        v["git"] = None
    return v


def fmt_val(kind, v):
    if v is None:
        return "n/a"
    if kind == "time":
        return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"
    return f"{v:,.0f}"


def summarize(bench):
    """Medians, ratios (target time / native time) and % of native
    throughput, from the same run."""
    S = {}
    for wl, kind, label in WORKLOADS:
        per = bench.results.get(wl, {})
        nat = med(per.get("native", []))
        row = {}
        for t in bench.targets:
            m = med(per.get(t, []))
            if m is None:
                continue
            e = {"median": m, "n": len(per[t])}
            if nat:
                if kind == "time":
                    e["ratio"] = m / nat
                else:
                    e["ratio"] = nat / m if m else None
                    e["pct_native"] = 100.0 * m / nat
            row[t] = e
        S[wl] = row
    return S


def speedup(S, wl, a, b):
    """How many times faster target a is than target b."""
    ra, rb = S.get(wl, {}).get(a), S.get(wl, {}).get(b)
    if not ra or not rb or "ratio" not in ra or "ratio" not in rb:
        return None
    return rb["ratio"] / ra["ratio"] if ra["ratio"] else None


def goals(S, rss_million, targets, failures=None):
    """Issue 3 targets for shiftfs (default options); each met/not met."""
    g = []
    sh = "shiftfs"
    if sh not in targets:
        return g
    failures = failures or {}

    def r(wl, t=sh):
        return S.get(wl, {}).get(t, {}).get("ratio")

    def failed(wl, what):
        f = failures.get(wl, {}).get(sh)
        if f and r(wl) is None:
            g.append((what, "failed: " + f[0], False))
            return True
        return False

    for wl in METADATA:
        x, s = r(wl), speedup(S, wl, sh, "bindfs")
        if failed(wl, f"{wl}: ≤ 2× native and ≥ 3× faster than bindfs"):
            continue
        if x is None:
            continue
        ok = x <= 2.0 and (s is None or s >= 3.0)
        g.append((f"{wl}: ≤ 2× native and ≥ 3× faster than bindfs",
                  f"{x:.2f}× native, " +
                  (f"{s:.1f}× faster than bindfs" if s else "no bindfs"),
                  ok))
    for wl in ("seq_write", "seq_read_cold", "seq_read_warm"):
        p = S.get(wl, {}).get(sh, {}).get("pct_native")
        if p is None:
            continue
        g.append((f"{wl}: ≥ 80 % of native throughput", f"{p:.0f} %",
                  p >= 80))
    x = r("untar")
    failed("untar", "untar: ≤ 2× native")
    if x is not None:
        g.append(("untar: ≤ 2× native", f"{x:.2f}×", x <= 2.0))
    if rss_million:
        g.append(("daemon RSS < 150 MiB after 1M files",
                  f"{rss_million['rss_after_kib'] / 1024:.0f} MiB",
                  rss_million["target_met"]))
    return g


def goals15(S, targets):
    """Issue 15: ratio targets, 1.5x faster than bindfs-mt on metadata,
    and no row slower than shiftfs-before."""
    sh = "shiftfs"
    if sh not in targets:
        return []
    g = []

    def r(wl, t=sh):
        return S.get(wl, {}).get(t, {}).get("ratio")
    for wl, lim in (("seq_write", 1.3), ("fio_randwrite", 1.6),
                    ("readdir", 3.0), ("untar", 6.0), ("create", 7.0)):
        x = r(wl)
        if x is not None:
            g.append((f"{wl} ≤ {lim}× native", f"{x:.2f}×", x <= lim))
    if "bindfs-mt" in targets:
        for wl in METADATA + ["untar"]:
            x = speedup(S, wl, sh, "bindfs-mt")
            if x is not None:
                g.append((f"{wl} ≥ 1.5× faster than bindfs-mt",
                          f"{x:.2f}×", x >= 1.5))
    if "shiftfs-before" in targets:
        for wl, _, _ in WORKLOADS:
            a, b = r(wl), r(wl, "shiftfs-before")
            if a is not None and b is not None:
                # ±15 % is this VM's run-to-run spread (BENCH-NOTES)
                g.append((f"{wl} not slower than before",
                          f"{a:.2f}× vs {b:.2f}× before", a <= b * 1.15))
    return g


def markdown(bench, S, meta, rss_million=None):
    L = []
    tg = list(bench.targets)
    L.append(f"Run: {meta['date']}, kernel {meta['kernel']}, "
             f"{meta['cpus']} CPUs, bindfs {meta.get('bindfs')}, "
             f"{meta.get('fio')}, libfuse {meta.get('libfuse3')}, "
             f"git {meta.get('git')}; reps {bench.args.reps}, "
             f"{bench.args.files} files in {bench.args.dirs} dirs, "
             f"seq {bench.args.seq_mib} MiB, fio {bench.args.fio_mib} MiB "
             f"× {bench.args.fio_runtime} s.")
    L.append("")
    L.append("Medians; in brackets the ratio target time / native time "
             "(for throughput: native / target, and % of native "
             "throughput).")
    L.append("")
    L.append("| workload | " + " | ".join(tg) + " |")
    L.append("|---|" + "---|" * len(tg))
    for wl, kind, label in WORKLOADS:
        row = S.get(wl, {})
        if not row and not bench.failures.get(wl):
            continue
        cells = []
        for t in tg:
            e = row.get(t)
            fails = bench.failures.get(wl, {}).get(t, [])
            if not e:
                cells.append("FAIL: " + fails[0].split(" (")[0] if fails
                             else "n/a")
                continue
            c = fmt_val(kind, e["median"])
            if t != "native" and e.get("ratio"):
                c += f" ({e['ratio']:.2f}×"
                if kind == "tput":
                    c += f", {e['pct_native']:.0f} %"
                c += ")"
            if fails:
                c += f" [{len(fails)} rep(s) failed]"
            cells.append(c)
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    sh = [t for t in tg if t.startswith("shiftfs")]
    bf = [t for t in tg if t.startswith("bindfs")]
    if sh and bf:
        L.append("")
        L.append("Speedup of shiftfs over bindfs (bindfs time / shiftfs "
                 "time, same run):")
        L.append("")
        pairs = [(s, b) for s in sh for b in bf]
        L.append("| workload | " + " | ".join(f"{s} vs {b}"
                                              for s, b in pairs) + " |")
        L.append("|---|" + "---|" * len(pairs))
        for wl, kind, label in WORKLOADS:
            cells = []
            for s, b in pairs:
                x = speedup(S, wl, s, b)
                cells.append(f"{x:.1f}×" if x else "n/a")
            if all(c == "n/a" for c in cells):
                continue
            L.append(f"| {label} | " + " | ".join(cells) + " |")
    if bench.rss:
        L.append("")
        for n, rs in bench.rss.items():
            # growth per inode only means something in a fresh daemon: later
            # reps reuse memory freed by the previous rep's workloads
            r0 = rs[0]
            thr = max(r["threads"] for r in rs)
            L.append(f"- {n} daemon RSS, first walk of the "
                     f"{bench.args.files}-file tree (fresh daemon): "
                     f"{r0['rss_before_kib'] / 1024:.1f} → "
                     f"{r0['rss_after_walk_kib'] / 1024:.1f} MiB, "
                     f"{r0['bytes_per_inode']:.0f} bytes per cached inode; "
                     f"largest RSS seen {max(r['hwm_kib'] for r in rs) / 1024:.1f}"
                     f" MiB; {thr} threads.")
    if rss_million:
        r = rss_million
        L.append(f"- walk-million: `find -ls` of {r['files']} files through "
                 f"shiftfs in {r['walk_s']:.1f} s; daemon RSS "
                 f"{r['rss_before_kib'] / 1024:.1f} → "
                 f"{r['rss_after_kib'] / 1024:.1f} MiB (HWM "
                 f"{r['hwm_kib'] / 1024:.1f} MiB), "
                 f"{r['bytes_per_inode']:.0f} B/inode.")
    for wl, per in bench.failures.items():
        for t, msgs in per.items():
            L.append(f"- FAILED {wl} on {t} in {len(msgs)} of "
                     f"{bench.args.reps} rep(s): {msgs[0]}")
    for n in bench.notes:
        L.append(f"- note: {n}")
    if bench.requests:
        L.append("")
        L.append("Requests per operation (request counter, SIGUSR1; FORGET "
                 "left out): create = open(O_CREAT|O_EXCL) + close; write = "
                 "one 4 KiB write(2) of a buffered fd; untar = per entry of "
                 "a 300-file tar x; readdir = per entry of a find:")
        L.append("")
        tn = list(bench.requests)
        L.append("| operation | " + " | ".join(tn) + " |")
        L.append("|---|" + "---|" * len(tn))
        for wl in ("create", "write", "untar", "readdir"):
            cells = []
            for t in tn:
                d = bench.requests[t].get(wl, {})
                cells.append(f"**{sum(d.values()):.2f}**: " + ", ".join(
                    f"{k} {v:.2f}".rstrip("0").rstrip(".")
                    for k, v in d.items() if v >= 0.005))
            L.append(f"| {wl} | " + " | ".join(cells) + " |")
    g15 = goals15(S, bench.targets)
    if g15:
        L.append("")
        L.append("Issue 15 targets (shiftfs, default options, ratios to "
                 "native from this run):")
        L.append("")
        L.append("| target | measured | |")
        L.append("|---|---|---|")
        for what, val, ok in g15:
            L.append(f"| {what} | {val} | {'met' if ok else 'NOT met'} |")
    g = goals(S, rss_million, bench.targets, bench.failures)
    if g:
        L.append("")
        L.append("Issue 3 targets (shiftfs, default options):")
        L.append("")
        L.append("| target | measured | |")
        L.append("|---|---|---|")
        for what, val, ok in g:
            L.append(f"| {what} | {val} | {'met' if ok else 'NOT met'} |")
    return "\n".join(L)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 rep, 2,000 files, 64 MiB, fio 3 s")
    p.add_argument("--targets", default=",".join(ALL_TARGETS),
                   help="comma list of: " + ", ".join(ALL_TARGETS))
    p.add_argument("--json", metavar="FILE", help="write all raw numbers")
    p.add_argument("--markdown", metavar="FILE",
                   help="also write the Markdown table to FILE")
    p.add_argument("--shiftfs", help="daemon binary (default: newest "
                   "build*/fs/shiftfs)")
    p.add_argument("--shiftctl", help="shiftctl binary (default: newest "
                   "build*/shiftctl/shiftctl)")
    p.add_argument("--shiftfs-before", metavar="PATH",
                   help="an older shiftfs binary: the shiftfs-before "
                   "target")
    p.add_argument("--requests", action="store_true",
                   help="also count requests per operation (create, write, "
                   "untar per file, readdir per entry) on the shiftfs "
                   "daemons that log counts on SIGUSR1")
    p.add_argument("--shiftfs-opts", metavar="OPT[,OPT]",
                   help="extra -o options for every shiftfs mount")
    p.add_argument("--workdir", help="where the image goes (/var/tmp)")
    p.add_argument("--image-gib", type=int, default=16)
    p.add_argument("--files", type=int, default=20000)
    p.add_argument("--dirs", type=int, default=200)
    p.add_argument("--seq-mib", type=int, default=1024)
    p.add_argument("--fio-mib", type=int, default=512)
    p.add_argument("--fio-runtime", type=int, default=15)
    p.add_argument("--expire-wait", type=float, default=2.5,
                   help="seconds to wait for FUSE attr/entry timeouts "
                   "(default 2.5; libfuse and shiftfs cache=auto use 1 s)")
    p.add_argument("--untar-entries", type=int, default=40000)
    p.add_argument("--no-untar", action="store_true")
    p.add_argument("--workloads", help="comma list of: " +
                   ", ".join(w for w, _, _ in WORKLOADS) + " (default all;"
                   " stat, ls_lR and unlink need create)")
    p.add_argument("--walk-million", action="store_true",
                   help="only: 1M files in 1000 dirs, find -ls through "
                   "shiftfs, report daemon RSS")
    p.add_argument("--million", type=int, default=1000000,
                   help=argparse.SUPPRESS)
    p.add_argument("--nofile", type=int, default=1048576,
                   help="RLIMIT_NOFILE (soft and hard) for the daemons; "
                   "shiftfs keeps one fd per cached inode only in its fallback "
                   "mode, else a bounded fd cache (0: leave as is)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (image) for debugging")
    a = p.parse_args()
    if a.quick:
        a.reps = 1
        a.files, a.dirs = 2000, 20
        a.seq_mib, a.fio_mib, a.fio_runtime = 64, 64, 3
        a.untar_entries = 4000
        a.image_gib = 4
    if os.geteuid() != 0:
        p.error("run as root (loop devices, mounts, drop_caches)")
    wanted = [t.strip() for t in a.targets.split(",") if t.strip()]
    for t in wanted:
        if t not in ALL_TARGETS:
            p.error(f"unknown target {t!r}")
    if "native" not in wanted and not a.walk_million:
        wanted.insert(0, "native")

    bench = Bench(a)
    if a.workloads:
        ws = [w.strip() for w in a.workloads.split(",") if w.strip()]
        for w in ws:
            if w not in KIND:
                p.error(f"unknown workload {w!r}")
        if set(ws) & set(METADATA) and "create" not in ws:
            ws.append("create")
        bench.workloads = ws
    if a.nofile:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                n = min(a.nofile, int(f.read()))
            old = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
            if old[1] < n:
                bench.notes.append(
                    f"daemons run with RLIMIT_NOFILE {n} (the session's "
                    f"hard limit was {old[1]}; shiftfs needs one fd per "
                    f"cached inode)")
        except (OSError, ValueError) as e:
            log(f"cannot raise RLIMIT_NOFILE: {e}")

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 0
    try:
        if a.walk_million:
            bench.setup_image(a.image_gib, int(a.million * 1.3) + 100000)
            bench.targets = {"shiftfs": {}}
            bench.shiftfs_bin = find_binary("fs/shiftfs", a.shiftfs)
            res = bench.walk_million()
            meta = versions(bench)
            md = (f"walk-million ({meta['date']}, kernel {meta['kernel']}, "
                  f"-o {res['shiftfs_opts']}): "
                  f"{res['files']} files in {res['dirs']} dirs, `find -ls` "
                  f"through shiftfs {res['walk_s']:.1f} s, daemon RSS "
                  f"{res['rss_before_kib'] / 1024:.1f} → "
                  f"{res['rss_after_kib'] / 1024:.1f} MiB (HWM "
                  f"{res['hwm_kib'] / 1024:.1f} MiB), "
                  f"{res['bytes_per_inode']:.0f} B/inode, "
                  f"{res['threads']} threads, find exit {res['find_exit']} "
                  f"with {res['find_errors']} error lines"
                  + (f" (first: {res['find_first_error']})"
                     if res['find_errors'] else "") +
                  f": target < 150 MiB "
                  f"{'met' if res['target_met'] else 'NOT met'}.")
            print(md)
            if a.json:
                with open(a.json, "w") as f:
                    json.dump({"meta": meta, "walk_million": res}, f,
                              indent=1)
            if a.markdown:
                with open(a.markdown, "w") as f:
                    f.write(md + "\n")
            return 0
        inodes = max(200000, 6 * (a.files + a.dirs) + 3 * a.untar_entries)
        bench.setup_image(a.image_gib, inodes)
        if not a.no_untar and bench.want("untar"):
            bench.make_tarball(a.untar_entries)
        bench.setup_targets(wanted)
        for rep in range(a.reps):
            bench.one_rep(rep)
        if a.requests:
            bench.requests = bench.request_profile()
        S = summarize(bench)
        meta = versions(bench)
        md = markdown(bench, S, meta)
        print(md)
        if a.markdown:
            with open(a.markdown, "w") as f:
                f.write(md + "\n")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"meta": meta, "args": vars(a),
                           "targets": bench.targets, "raw": bench.results,
                           "summary": S, "rss": bench.rss,
                           "failures": bench.failures,
                           "requests": bench.requests,
                           "notes": bench.notes}, f, indent=1)
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        rc = 130
    finally:
        for n, lf in bench.logs.items():
            try:
                with open(lf) as f:
                    txt = f.read().strip()
                if txt:
                    log(f"{n} daemon log (last lines):\n" +
                        "\n".join(txt.splitlines()[-5:]))
            except OSError:
                pass
        bench.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
