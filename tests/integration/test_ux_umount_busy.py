# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 5: shiftctl umount of a busy FUSE mount (as the user who
mounted it, through fusermount3, and as root) says it is busy and gives
the --lazy command, which then works."""
import os
import shlex
import subprocess
import time

import pytest

from conftest import SHIFTCTL, is_mounted, need_root_and_fuse
from mount_util import host_user, mounts, run_shiftctl, world_tmp  # noqa: F401


def busy_holder(mnt, user=None):
    """A process with its working directory in mnt."""
    cmd = ["sleep", "30"]
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    p = subprocess.Popen(cmd, cwd=mnt)
    time.sleep(0.3)
    return p


@pytest.mark.parametrize("as_user", [True, False])
def test_busy_umount_says_busy_and_lazy_works(world_tmp, mounts, as_user):
    need_root_and_fuse()
    u = host_user()
    user = u.pw_name if as_user else None
    src, mnt, run = (os.path.join(world_tmp, n) for n in ("src", "mnt", "run"))
    for d in (src, mnt, run):
        os.mkdir(d)
        os.chown(d, u.pw_uid, u.pw_gid)
    os.chmod(run, 0o700)
    env = {"XDG_RUNTIME_DIR": run} if as_user else None
    mounts.mount("--backend=fuse", "--map=%d:200000:1" % u.pw_uid, src, mnt,
                 user=user, env=env)
    holder = busy_holder(mnt, user)
    try:
        r = run_shiftctl(["umount", mnt], user=user, env=env)
        assert r.returncode == 1
        want = ("shiftctl: cannot unmount %s: it is busy (a process has a "
                "file open or its working directory there); 'shiftctl "
                "umount --lazy %s' detaches it now" % (mnt, mnt))
        assert r.stderr.strip() == want, r.stderr
        assert "Operation not permitted" not in r.stderr
        assert is_mounted(mnt)
        cmd = r.stderr.strip().split("'")[1]
        r = run_shiftctl(shlex.split(cmd)[1:], user=user, env=env)
        assert r.returncode == 0, r.stderr
        assert not is_mounted(mnt)
    finally:
        holder.kill()
        holder.wait()
