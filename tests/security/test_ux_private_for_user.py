# SPDX-License-Identifier: GPL-2.0-or-later
"""--private as root for a rootless layout (issue 13, item 8): the mount
point under /run/shiftfs/private-uid-UID is reachable by that user (the
one whose rootless engine binds it) and by nobody else. The attacker
(shiftfs-atk, another host user) and the container's own host ids
(shiftfs-mapped's subordinate uid for container user 1000) try to reach
it by path and are refused; the user reaches it (the legitimate use, and
tests/e2e/test_ux_private_rootless.py runs real rootless podman on it)."""
import os
import subprocess

import pytest

from attack import ATTACKER, MAPPED, as_host_user, subid_start, uid_of
from conftest import SHIFTCTL, is_mounted, need, need_root_and_fuse


@pytest.fixture
def private_mount(tmp_path):
    need_root_and_fuse()
    uid = uid_of(MAPPED)
    need(subid_start(MAPPED) is not None, "%s has no /etc/subuid line" % MAPPED)
    top = "/tmp/ux-priv-%d" % os.getpid()
    os.makedirs(top + "/vol")
    os.chmod(top, 0o755)
    os.chown(top + "/vol", uid, uid)
    with open(top + "/vol/secret", "w") as f:
        f.write("s\n")
    os.chown(top + "/vol/secret", uid, uid)
    name = "ux-%d" % os.getpid()
    mnt = "/run/shiftfs/private-uid-%d/%s" % (uid, name)
    r = subprocess.run([SHIFTCTL, "mount", "--rootless=%s" % MAPPED,
                        "--user=1000", "--private", top + "/vol", name],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "bind %s into the container" % mnt in r.stdout
    yield uid, mnt
    subprocess.run([SHIFTCTL, "umount", mnt], capture_output=True)
    if is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt])
    if os.path.isdir(mnt):
        os.rmdir(mnt)
    subprocess.run(["rm", "-rf", top])


def test_only_the_layouts_user_reaches_it(private_mount):
    uid, mnt = private_mount
    base = os.path.dirname(mnt)
    # The attacker: by path, by listing the parent, by creating in it.
    for cmd in (["stat", mnt], ["ls", base], ["ls", mnt + "/secret"],
                ["mkdir", base + "/evil"]):
        r = as_host_user(ATTACKER, cmd)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (cmd, r)
    # The container's own host uid (container 1000 -> subuid + 999).
    view = subid_start(MAPPED) + 999
    r = subprocess.run(["setpriv", "--reuid=%d" % view, "--regid=%d" % view,
                        "--clear-groups", "stat", mnt],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    # The user: reaches the mount point (not the directory's listing).
    r = as_host_user(MAPPED, ["stat", "-c", "%u", mnt])
    assert r.returncode == 0, r.stderr
    r = as_host_user(MAPPED, ["ls", base])
    assert r.returncode != 0 and "Permission denied" in r.stderr
    st = os.lstat(base)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o710)
    acl = subprocess.run(["getfacl", "-cpn", base], capture_output=True,
                         text=True, check=True).stdout.split()
    assert acl == ["user::rwx", "user:%d:--x" % uid, "group::---",
                   "mask::--x", "other::---"], acl
