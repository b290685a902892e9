# SPDX-License-Identifier: GPL-2.0-or-later
"""SHIFTFS chooses the daemon binary `shiftctl mount` runs; under `sudo -E`
or env_keep it would choose what root runs (issue 11, item 9). With
privilege shiftctl ignores it and runs the daemon found next to its own
executable; an unprivileged user's SHIFTFS is still honoured (it can only
run what that user could run anyway).
"""
import os
import subprocess

import pytest

from attack import MAPPED, gid_of, uid_of
from conftest import SHIFTCTL, SHIFTFS, is_mounted, need_root_and_fuse
from mount_util import state_of, world_tmp  # noqa: F401


@pytest.fixture
def evil(world_tmp):
    """A SHIFTFS that leaves a marker, then runs the real daemon."""
    need_root_and_fuse()
    marks = os.path.join(world_tmp, "marks")
    os.mkdir(marks, 0o777)
    os.chmod(marks, 0o777)
    script = os.path.join(world_tmp, "evil")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ntouch %s/ran-as-$(id -u)\nexec %s \"$@\"\n"
                % (marks, SHIFTFS))
    os.chmod(script, 0o755)
    src, mnt = os.path.join(world_tmp, "src"), os.path.join(world_tmp, "mnt")
    for d in (src, mnt):
        os.mkdir(d)
    yield script, marks, src, mnt
    if is_mounted(mnt):
        subprocess.run([SHIFTCTL, "umount", "--lazy", mnt],
                       capture_output=True)
    if is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def test_root_ignores_shiftfs(evil):
    script, marks, src, mnt = evil
    env = dict(os.environ, SHIFTFS=script)
    r = subprocess.run([SHIFTCTL, "mount", "--backend=fuse",
                        "--map=0:100000:65536", src, mnt], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.listdir(marks) == [], "root ran $SHIFTFS"
    pid = state_of(mnt)["pid"]
    assert os.path.realpath("/proc/%d/exe" % pid) == os.path.realpath(SHIFTFS)
    r = subprocess.run([SHIFTCTL, "umount", mnt], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_unprivileged_user_keeps_shiftfs(evil, world_tmp):
    script, marks, src, mnt = evil
    uid, gid = uid_of(MAPPED), gid_of(MAPPED)
    run = os.path.join(world_tmp, "run")
    os.mkdir(run, 0o700)
    for d in (run, src, mnt):
        os.chown(d, uid, gid)
    env = ["env", "XDG_RUNTIME_DIR=" + run, "SHIFTFS=" + script]
    r = subprocess.run(["runuser", "-u", MAPPED, "--"] + env +
                       [SHIFTCTL, "mount", "--user=1000", src, mnt],
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    assert os.listdir(marks) == ["ran-as-%d" % uid]
    r = subprocess.run(["runuser", "-u", MAPPED, "--"] + env +
                       [SHIFTCTL, "umount", mnt], capture_output=True,
                       text=True, cwd="/")
    assert r.returncode == 0, r.stderr
