# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the shiftfs-idmap-helper tests (integration and security).

`helper_bin` installs the build's helper the way `cmake --install` does:
copied into a root-owned directory and given cap_sys_admin,cap_setuid,
cap_setgid with setcap (the build tree itself is not a place for a
privileged binary). `helper_tree` makes a world-traversable root-owned
directory with a user-owned `top` holding `src` and `mnt`, and takes down
any mount left under it. `policy` writes /etc/shiftfs/helper.conf for one
test and puts back what was there.
"""
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, SHIFTCTL, SHIFTFS, is_mounted, mountinfo, need

HELPER_BUILT = os.path.join(BUILD, "helper", "shiftfs-idmap-helper")
CONF = "/etc/shiftfs/helper.conf"
STATE = "/run/shiftfs-helper"


def ids(user):
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


def subid(user, path):
    with open(path) as f:
        for line in f:
            f3 = line.strip().split(":")
            if len(f3) == 3 and f3[0] == user:
                return int(f3[1]), int(f3[2])
    return None


@pytest.fixture(scope="session")
def helper_bin():
    need(os.geteuid() == 0, "needs root (to install the helper)")
    need(shutil.which("setcap") is not None, "needs setcap (libcap2-bin)")
    need(os.path.exists(HELPER_BUILT), "helper not built: " + HELPER_BUILT)
    top = tempfile.mkdtemp(prefix="idh-bin.")
    os.chmod(top, 0o755)
    path = os.path.join(top, "shiftfs-idmap-helper")
    shutil.copy(HELPER_BUILT, path)
    os.chmod(path, 0o755)
    r = subprocess.run(["setcap", "cap_sys_admin,cap_setuid,cap_setgid+ep",
                        path], capture_output=True, text=True)
    need(r.returncode == 0, "setcap failed: " + r.stderr)
    state_was = os.path.isdir(STATE)
    had = set(os.listdir(STATE)) if state_was else set()
    yield path
    shutil.rmtree(top, ignore_errors=True)
    remove_new_state(state_was, had)


def remove_new_state(state_was, had):
    """The records and lock files the session's helper runs made under
    /run/shiftfs-helper go again (a record still naming a live mount
    stays), and the directory too when it was not there before."""
    if not os.path.isdir(STATE):
        return
    # the helper makes idmapped mounts only: a reused mount id of another
    # kind of mount does not keep a record
    live = {f[0] for f in mountinfo() if "idmapped" in f[5].split(",")}
    for name in sorted(set(os.listdir(STATE)) - had):
        p = os.path.join(STATE, name)
        if not name.endswith(".lock"):
            try:
                with open(p) as f:
                    if any(x.split(" ")[0] in live
                           for x in f.read().splitlines()):
                        continue
            except OSError:
                continue
        try:
            os.unlink(p)
        except OSError:
            pass
    if not state_was:
        try:
            os.rmdir(STATE)
        except OSError:
            pass


def mounts_under(top):
    """Mount points at or below top, from mountinfo."""
    top = os.path.realpath(top)
    return [f[4] for f in mountinfo()
            if f[4] == top or f[4].startswith(top + "/")]


class Tree:
    def __init__(self, user):
        self.user = user
        self.uid, self.gid = ids(user)
        self.root = tempfile.mkdtemp(prefix="idh-tree.")
        os.chmod(self.root, 0o755)
        self.top = os.path.join(self.root, "top")
        self.src = os.path.join(self.top, "src")
        self.mnt = os.path.join(self.top, "mnt")
        for d in (self.top, self.src, self.mnt):
            os.mkdir(d)
            os.chown(d, self.uid, self.gid)
            os.chmod(d, 0o755)

    def cleanup(self):
        for p in sorted(mounts_under(self.root), reverse=True):
            subprocess.run(["umount", "-l", p], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def helper_tree():
    made = []

    def make(user):
        t = Tree(user)
        made.append(t)
        return t
    yield make
    for t in made:
        t.cleanup()


def run_helper(helper, user, args, env=None, **kw):
    """The helper as a host user (runuser), with env (default: empty)."""
    cmd = ["runuser", "-u", user, "--", "env", "-i"] + \
          ["%s=%s" % kv for kv in (env or {}).items()] + \
          [helper] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          cwd="/", **kw)


def shiftctl_as(user, helper, args, xdg):
    env = {"XDG_RUNTIME_DIR": xdg, "SHIFTFS": SHIFTFS,
           "SHIFTCTL_IDMAP_HELPER": helper}
    cmd = ["runuser", "-u", user, "--", "env"] + \
          ["%s=%s" % kv for kv in env.items()] + [SHIFTCTL] + \
          [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          cwd="/")


def xdg_dir(tree):
    d = os.path.join(tree.root, "run")
    os.mkdir(d, 0o700)
    os.chown(d, tree.uid, tree.gid)
    return d


def mount_opts(path):
    for f in mountinfo():
        if f[4] == path:
            return f[5].split(",")
    return None


@pytest.fixture
def policy():
    """policy(text) writes /etc/shiftfs/helper.conf (root's, 0644);
    the old file (its text, mode and owner; or its absence) comes back
    afterwards."""
    old = None
    if os.path.exists(CONF):
        with open(CONF) as f:
            old = f.read()
        st = os.stat(CONF)
    made_dir = not os.path.isdir(os.path.dirname(CONF))

    def write(text, mode=0o644):
        os.makedirs(os.path.dirname(CONF), exist_ok=True)
        with open(CONF, "w") as f:
            f.write(text)
        os.chmod(CONF, mode)
    yield write
    if old is None:
        if os.path.exists(CONF):
            os.unlink(CONF)
        if made_dir:
            os.rmdir(os.path.dirname(CONF))
    else:
        with open(CONF, "w") as f:
            f.write(old)
        os.chown(CONF, st.st_uid, st.st_gid)
        os.chmod(CONF, st.st_mode & 0o7777)


__all__ = ["helper_bin", "helper_tree", "policy", "run_helper",
           "shiftctl_as", "xdg_dir", "mounts_under", "mount_opts", "ids",
           "subid", "is_mounted", "CONF", "STATE"]
