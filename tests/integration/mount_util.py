# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the shiftctl mount/umount/status tests.

`Mounts` runs `shiftctl mount` and always takes down what it mounted in
teardown (shiftctl umount --lazy, then umount -l, then SIGTERM to a recorded
daemon pid), even when a test fails halfway.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import SHIFTCTL, SHIFTFS, TEST_USER, is_mounted, mountinfo, need

OVERFLOW_UID = int(open("/proc/sys/kernel/overflowuid").read())
OVERFLOW_GID = int(open("/proc/sys/kernel/overflowgid").read())


def run_shiftctl(args, user=None, env=None):
    """shiftctl ARGS as root, or as a host user through runuser."""
    extra = dict(env or {}, SHIFTFS=SHIFTFS)
    cmd = [SHIFTCTL] + [str(a) for a in args]
    if user:
        cmd = ["runuser", "-u", user, "--", "env"] + \
              ["%s=%s" % kv for kv in extra.items()] + cmd
    return subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, **extra), timeout=60)


def mount_entry(path):
    """The topmost mountinfo entry at path: dict(id, fstype, opts, source)."""
    path = os.path.realpath(path)
    found = None
    for fields in mountinfo():
        sep = fields.index("-", 6)
        if fields[4] == path:
            found = {"id": int(fields[0]), "opts": fields[5],
                     "fstype": fields[sep + 1],
                     "source": fields[sep + 2]}
    return found


def state_of(mnt):
    """The mount's record from `shiftctl status MNT --json`, or None."""
    r = run_shiftctl(["status", "--json", mnt])
    if r.returncode != 0:
        return None
    items = json.loads(r.stdout)
    return items[0] if items else None


class Mounts:
    """Factory for shiftctl mounts that are always cleaned up."""

    def __init__(self):
        self.mnts = []

    def mount(self, *args, user=None, env=None, expect_ok=True):
        args = [str(a) for a in args]
        # The mount point is the last positional argument.
        self.mnts.append((args[-1], user, env))
        r = run_shiftctl(["mount"] + args, user=user, env=env)
        if expect_ok:
            assert r.returncode == 0, "shiftctl mount %s: %s%s" % (
                " ".join(args), r.stdout, r.stderr)
        return r

    def cleanup(self):
        for mnt, user, env in reversed(self.mnts):
            pid = None
            st = state_of(mnt) if user is None else None
            if st:
                pid = st.get("pid")
            if is_mounted(mnt):
                run_shiftctl(["umount", "--lazy", mnt], user=user, env=env)
            while is_mounted(mnt):
                if subprocess.run(["umount", "-l", mnt],
                                  capture_output=True).returncode != 0:
                    break
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


@pytest.fixture
def mounts():
    m = Mounts()
    yield m
    m.cleanup()


@pytest.fixture
def world_tmp():
    """A scratch dir others can traverse (pytest's tmp_path parents are
    0700), removed at the end."""
    top = tempfile.mkdtemp(prefix="shiftctl-mount.")
    os.chmod(top, 0o755)
    yield top
    for root, dirs, _ in os.walk(top):
        for d in dirs:
            p = os.path.join(root, d)
            if is_mounted(p):
                subprocess.run(["umount", "-l", p], capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


def host_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        need(False, "host user %s missing (run scripts/deps.sh)" % TEST_USER)


class Map:
    """A DISK:VIEW:COUNT map, applied in Python to check the mount's view."""

    def __init__(self, ranges, overflow):
        self.ranges = ranges
        self.overflow = overflow

    @classmethod
    def from_json(cls, items, overflow):
        return cls([(i["disk"], i["view"], i["count"]) for i in items],
                   overflow)

    def view(self, disk):
        for d, v, c in self.ranges:
            if d <= disk < d + c:
                return v + (disk - d)
        return self.overflow

    def disk(self, view):
        for d, v, c in self.ranges:
            if v <= view < v + c:
                return d + (view - v)
        return None


def make_tree(src, ids=(0, 5, 1000, 65535, 70000), with_acl=True):
    """Files and dirs owned by the given disk ids, modes, a symlink, a hard
    link, a setgid dir, and POSIX ACLs naming some of the ids."""
    os.chmod(src, 0o755)
    for i in ids:
        f = os.path.join(src, "f%d" % i)
        with open(f, "w") as fh:
            fh.write("data %d\n" % i)
        os.chmod(f, 0o640 if i % 2 else 0o604)
        os.lchown(f, i, i + 1 if i < 70000 else i)
        d = os.path.join(src, "d%d" % i)
        os.mkdir(d)
        os.chmod(d, 0o2775)
        os.lchown(d, i, i)
        os.symlink("f%d" % i, os.path.join(src, "l%d" % i))
        os.lchown(os.path.join(src, "l%d" % i), i, i)
    os.link(os.path.join(src, "f5"), os.path.join(src, "hardlink"))
    os.mkdir(os.path.join(src, "sub"))
    with open(os.path.join(src, "sub", "deep"), "w") as fh:
        fh.write("deep\n")
    os.lchown(os.path.join(src, "sub", "deep"), 5, 5)
    if with_acl:
        subprocess.run(["setfacl", "-m", "u:5:rwx,g:1000:r-x,u:70000:r--",
                        os.path.join(src, "f0")], check=True)
        subprocess.run(["setfacl", "-d", "-m", "u:1000:rwx,g:5:r-x",
                        os.path.join(src, "d5")], check=True)


def walk(top):
    """Relative paths of everything below top, sorted."""
    out = []
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), top))
    return sorted(out)


def getfacl(path):
    r = subprocess.run(["getfacl", "-n", "-p", "--skip-base", path],
                       capture_output=True, text=True)
    # Drop the "# file:" header, which names the path.
    return [l for l in r.stdout.splitlines()
            if l and not l.startswith("# file:")]


def fuse_conf_allows_other():
    """Does /etc/fuse.conf let ordinary users mount with allow_other
    (user_allow_other; scripts/deps.sh sets it)?"""
    try:
        with open("/etc/fuse.conf") as f:
            return any(l.strip() == "user_allow_other" for l in f)
    except OSError:
        return False
