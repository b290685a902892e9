# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl mount with no privilege at all: an ordinary host user
(shiftfs-test) mounts a directory of its own in owner mode with the FUSE
backend (the daemon runs as that user through fusermount3), sees it with
status, and unmounts it. Also: what happens without user_allow_other."""
import os
import shutil
import subprocess

import pytest

from conftest import SHIFTCTL, SHIFTFS, is_mounted, need, need_root_and_fuse
from mount_util import (OVERFLOW_UID, fuse_conf_allows_other,  # noqa: F401
                        host_user, run_shiftctl, world_tmp)


@pytest.fixture
def rootless(world_tmp):
    """(src, mnt, env) owned by the test user, with its own runtime dir
    and subordinate id files."""
    need_root_and_fuse()
    need(shutil.which("runuser") is not None, "needs runuser")
    u = host_user()
    run, src, mnt = (os.path.join(world_tmp, n) for n in ("run", "src", "mnt"))
    for d in (run, src, mnt):
        os.mkdir(d)
        os.chown(d, u.pw_uid, u.pw_gid)
    os.chmod(run, 0o700)
    su, sg = os.path.join(world_tmp, "subuid"), os.path.join(world_tmp, "subgid")
    with open(su, "w") as f:
        f.write("%s:200000:65536\n" % u.pw_name)
    with open(sg, "w") as f:
        f.write("%s:300000:65536\n" % u.pw_name)
    # These tests are about the FUSE backend: no idmap helper, even where
    # one is installed (test_helper_mount.py tests it).
    env = {"XDG_RUNTIME_DIR": run, "SHIFTCTL_SUBUID": su, "SHIFTCTL_SUBGID": sg,
           "SHIFTCTL_IDMAP_HELPER": "/nonexistent/shiftfs-idmap-helper"}
    yield src, mnt, env
    if is_mounted(mnt):
        run_shiftctl(["umount", "--lazy", mnt], user=u.pw_name, env=env)
    if is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt])


def daemon_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def test_owner_mode_unprivileged(rootless):
    src, mnt, env = rootless
    u = host_user()
    user = u.pw_name
    with open(os.path.join(src, "mine"), "w") as f:
        f.write("x\n")
    os.chown(os.path.join(src, "mine"), u.pw_uid, u.pw_gid)
    with open(os.path.join(src, "roots"), "w") as f:
        f.write("x\n")
    os.chmod(src, 0o777)

    r = run_shiftctl(["mount", "--user=1000", src, mnt], user=user, env=env)
    assert r.returncode == 0, r.stderr
    view_uid, view_gid = 200000 + 999, 300000 + 999
    assert r.stdout.startswith("shiftctl: mounted %s at %s with fuse (shiftfs daemon pid " % (src, mnt))
    assert "not root: idmapped mounts need CAP_SYS_ADMIN" in r.stdout
    assert r.stdout.rstrip().endswith("uid map %d:%d:1, gid map %d:%d:1" % (
        u.pw_uid, view_uid, u.pw_gid, view_gid))
    pid = int(r.stdout.split("daemon pid ")[1].split(";")[0])
    assert daemon_uid(pid) == u.pw_uid

    # Container user 1000 (host view uid 200999) owns the user's files;
    # nothing else is mapped.
    st = os.lstat(os.path.join(mnt, "mine"))
    assert (st.st_uid, st.st_gid) == (view_uid, view_gid)
    assert os.lstat(os.path.join(mnt, "roots")).st_uid == OVERFLOW_UID

    if fuse_conf_allows_other():
        # allow_other was passed: another uid (the container's) gets in,
        # and what it creates lands on disk as the user.
        r = subprocess.run(["setpriv", "--reuid=%d" % view_uid,
                            "--regid=%d" % view_gid, "--clear-groups", "sh",
                            "-c", "echo y > %s/new" % mnt],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        st = os.lstat(os.path.join(src, "new"))
        assert (st.st_uid, st.st_gid) == (u.pw_uid, u.pw_gid)

    r = run_shiftctl(["status"], user=user, env=env)
    assert r.returncode == 0
    assert "%s: %s, backend fuse (shiftfs pid %d)" % (mnt, src, pid) in r.stdout

    r = run_shiftctl(["umount", mnt], user=user, env=env)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
    assert not os.listdir(os.path.join(env["XDG_RUNTIME_DIR"], "shiftfs", "mounts"))


def test_idmap_backend_needs_privilege(rootless):
    src, mnt, env = rootless
    r = run_shiftctl(["mount", "--backend=idmap", "--user=1000", src, mnt],
                     user=host_user().pw_name, env=env)
    assert r.returncode == 1
    assert ("--backend=idmap needs root or shiftfs-idmap-helper(8)"
            in r.stderr)
    assert not is_mounted(mnt)


def test_without_user_allow_other(rootless, world_tmp):
    """In a private mount namespace whose /etc/fuse.conf lacks
    user_allow_other: -o allow_other is refused with the reason, and a plain
    mount works but warns that only the user can reach it."""
    src, mnt, env = rootless
    need(shutil.which("unshare") is not None, "needs unshare")
    fake = os.path.join(world_tmp, "fuse.conf")
    with open(fake, "w") as f:
        f.write("# no user_allow_other here\n")
    user = host_user().pw_name
    envs = " ".join("%s=%s" % kv for kv in dict(env, SHIFTFS=SHIFTFS).items())
    sc = "runuser -u %s -- env %s %s" % (user, envs, SHIFTCTL)
    script = ("mount --bind {fake} /etc/fuse.conf\n"
              "{sc} mount -o allow_other --user=1000 {src} {mnt}; echo rc1=$?\n"
              "{sc} mount --user=1000 {src} {mnt}; echo rc2=$?\n"
              "grep -c ' {mnt} ' /proc/self/mountinfo\n"
              "{sc} umount {mnt}; echo rc3=$?\n").format(
                  fake=fake, sc=sc, src=src, mnt=mnt)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        script], capture_output=True, text=True, timeout=60)
    out, err = r.stdout, r.stderr
    assert "rc1=1" in out
    assert "-o allow_other as an unprivileged user needs user_allow_other " \
           "in /etc/fuse.conf" in err
    assert "rc2=0\n1\n" in out  # mounted, in that namespace
    assert "only uid %d can use %s" % (host_user().pw_uid, mnt) in err
    assert "user_allow_other" in err
    assert "rc3=0" in out
    assert not is_mounted(mnt)
