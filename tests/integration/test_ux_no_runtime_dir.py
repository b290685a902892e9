# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 3: without XDG_RUNTIME_DIR (su, runuser, sudo -u, cron)
an ordinary user's mounts are recorded, a second mount and --private work,
status and umount find them, and the user is told which directory was
used: /run/user/UID when it is the user's, else /tmp/shiftfs-UID."""
import os
import shutil
import stat
import subprocess

import pytest

from conftest import SHIFTCTL, SHIFTFS, is_mounted, need, need_root_and_fuse
from mount_util import host_user, world_tmp  # noqa: F401
from ns_util import private_run_user_and_tmp


def run(u, args, env_extra=None):
    cmd = ["runuser", "-u", u.pw_name, "--", "env", "-u", "XDG_RUNTIME_DIR",
           "SHIFTFS=%s" % SHIFTFS] + \
          ["%s=%s" % kv for kv in (env_extra or {}).items()] + [SHIFTCTL] + \
          [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if k != "XDG_RUNTIME_DIR"})


@pytest.fixture(scope="module", autouse=True)
def own_run_user():
    """This file's tests decide what /run/user/UID and /tmp/shiftfs-UID
    are: they run with a /run/user and a /tmp of their own."""
    need_root_and_fuse()
    back = private_run_user_and_tmp()
    yield
    back()


@pytest.fixture
def tree(world_tmp):
    need_root_and_fuse()
    u = host_user()
    src = os.path.join(world_tmp, "src")
    os.mkdir(src)
    os.chown(src, u.pw_uid, u.pw_gid)
    mnts = []
    for n in ("mnt1", "mnt2"):
        m = os.path.join(world_tmp, n)
        os.mkdir(m)
        os.chown(m, u.pw_uid, u.pw_gid)
        mnts.append(m)
    su = os.path.join(world_tmp, "subuid")
    with open(su, "w") as f:
        f.write("%s:200000:65536\n" % u.pw_name)
    env = {"SHIFTCTL_SUBUID": su, "SHIFTCTL_SUBGID": su}
    fallback = "/tmp/shiftfs-%d" % u.pw_uid
    rundir = "/run/user/%d" % u.pw_uid
    yield u, src, mnts, env, fallback
    for m in mnts + [os.path.join(fallback, "private", "src"),
                     os.path.join(rundir, "shiftfs", "private", "src")]:
        if is_mounted(m):
            subprocess.run(["umount", "-l", m])
    shutil.rmtree(fallback, ignore_errors=True)


def check_flow(u, src, mnts, env, base):
    note = "shiftctl: note: XDG_RUNTIME_DIR is not set: using %s" % base
    pids = []
    for m in mnts:
        r = run(u, ["mount", "--user=1000", src, m], env)
        assert r.returncode == 0, r.stderr
        assert note in r.stderr.splitlines(), r.stderr
        assert "cannot record" not in r.stderr
        pids.append(int(r.stdout.split("daemon pid ")[1].split(";")[0]))
    # A second mount onto the same MNT: recorded, so refused by name
    # (unrecorded, fusermount3 said "no write access" on the view's root).
    r = run(u, ["mount", "--user=1000", src, mnts[0]], env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "shiftctl: %s is already a shifted mount (shiftctl umount %s first)"
        % (mnts[0], mnts[0]))
    r = run(u, ["mount", "--private", "--user=1000", src], env)
    assert r.returncode == 0, r.stderr
    priv = os.path.join(base, "private", "src")
    assert "at %s with fuse" % priv in r.stdout
    assert "bind %s into the container" % priv in r.stdout
    assert is_mounted(priv)
    st = os.lstat(os.path.join(base, "private"))
    assert st.st_uid == u.pw_uid and st.st_mode & 0o777 == 0o700
    r = run(u, ["status"])
    assert r.returncode == 0, r.stderr
    for m, pid in zip(mnts, pids):
        assert "%s: %s, backend fuse (shiftfs pid %d), rootless" % (
            m, src, pid) in r.stdout, r.stdout
    mine = [l for l in r.stdout.splitlines()
            if l.startswith(tuple(m + ": " for m in mnts + [priv]))]
    assert len(mine) == 3 and not [l for l in mine if "not recorded" in l], \
        r.stdout
    for m in mnts + [priv]:
        r = run(u, ["umount", m])
        assert r.returncode == 0, r.stderr
        assert not is_mounted(m)
    # --private again with the same NAME: its directory is there already.
    r = run(u, ["mount", "--private", "--user=1000", src], env)
    assert r.returncode == 0, r.stderr
    assert "bind %s into the container" % priv in r.stdout
    r = run(u, ["umount", priv])
    assert r.returncode == 0, r.stderr
    tag = os.path.basename(os.path.dirname(src))  # this test's own dir
    assert [n for n in os.listdir(os.path.join(base, "mounts"))
            if tag in n or "private%2Fsrc" in n] == []


def own_private(path, uid):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and \
        not st.st_mode & 0o077


def test_fallback(tree):
    """/tmp/shiftfs-UID when the user has no /run/user/UID (no session;
    if another test or a login made one of the user's own, that one)."""
    u, src, mnts, env, fallback = tree
    rundir = "/run/user/%d" % u.pw_uid
    if own_private(rundir, u.pw_uid):
        check_flow(u, src, mnts, env, rundir + "/shiftfs")
        return
    need(not os.path.exists(rundir), "%s exists and is not %s's" % (
        rundir, u.pw_name))
    shutil.rmtree(fallback, ignore_errors=True)
    check_flow(u, src, mnts, env, fallback)
    st = os.lstat(fallback)
    assert st.st_uid == u.pw_uid and st.st_mode & 0o777 == 0o700


@pytest.fixture
def run_user(tree):
    """A /run/user/UID made for the test (removed after, with /run/user if
    the test made that too)."""
    u = tree[0]
    rundir = "/run/user/%d" % u.pw_uid
    need(not os.path.exists(rundir),
         "%s exists (a session of %s, or another test's)" % (rundir,
                                                             u.pw_name))
    made_top = not os.path.exists("/run/user")
    os.makedirs(rundir, mode=0o700)
    yield rundir
    shutil.rmtree(rundir, ignore_errors=True)
    if made_top:
        try:
            os.rmdir("/run/user")
        except OSError:
            pass


def test_run_user_fallback(tree, run_user):
    """A /run/user/UID of the user's own (pam_systemd's) is used first."""
    u, src, mnts, env, fallback = tree
    os.chown(run_user, u.pw_uid, u.pw_gid)
    shutil.rmtree(fallback, ignore_errors=True)
    check_flow(u, src, mnts, env, run_user + "/shiftfs")
    assert not os.path.exists(fallback)


def test_run_user_not_the_users_is_not_used(tree, run_user):
    """/run/user/UID owned by someone else (or open to others) is passed
    over for /tmp/shiftfs-UID."""
    u, src, mnts, env, fallback = tree
    os.chmod(run_user, 0o777)
    r = run(u, ["mount", "--user=1000", src, mnts[0]], env)
    assert r.returncode == 0, r.stderr
    assert ("shiftctl: note: XDG_RUNTIME_DIR is not set: using %s" %
            fallback) in r.stderr
    assert os.listdir(run_user) == []
    r = run(u, ["umount", mnts[0]])
    assert r.returncode == 0, r.stderr
