# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs mount options a user relies on for safety: ro, nosuid/nodev by
default and suid/dev on request, cache modes seeing changes made behind
the mount's back."""
import os
import shutil
import stat
import subprocess
import time

import pytest

from conftest import mountinfo, need_root_and_fuse
from fs_util import errno_of, scratch_fixture, user_ids

FIXTURES = (scratch_fixture,)


def mount_flags(mnt):
    for fields in mountinfo():
        if fields[4] == os.path.realpath(mnt):
            return set(fields[5].split(",")), fields
    raise AssertionError("%s not in mountinfo" % mnt)


def test_ro(scratch, shiftfs_mount):
    need_root_and_fuse()
    s = scratch
    with open(os.path.join(s.src, "f"), "w") as f:
        f.write("keep")
    os.mkdir(os.path.join(s.src, "d"))
    shiftfs_mount(s.src, s.mnt, "identity,ro")
    flags, _ = mount_flags(s.mnt)
    assert "ro" in flags
    m = lambda *p: os.path.join(s.mnt, *p)  # noqa: E731
    with open(m("f")) as f:
        assert f.read() == "keep"
    assert errno_of(os.open, m("f"), os.O_WRONLY) == "EROFS"
    assert errno_of(os.open, m("new"), os.O_WRONLY | os.O_CREAT, 0o644) == "EROFS"
    assert errno_of(os.mkdir, m("nd")) == "EROFS"
    assert errno_of(os.unlink, m("f")) == "EROFS"
    assert errno_of(os.rmdir, m("d")) == "EROFS"
    assert errno_of(os.rename, m("f"), m("g")) == "EROFS"
    assert errno_of(os.chown, m("f"), 1, 1) == "EROFS"
    assert errno_of(os.chmod, m("f"), 0o600) == "EROFS"
    assert errno_of(os.truncate, m("f"), 0) == "EROFS"
    assert errno_of(os.setxattr, m("f"), "user.x", b"1") == "EROFS"
    assert errno_of(os.symlink, "x", m("s")) == "EROFS"
    assert errno_of(os.utime, m("f"), (1, 1)) == "EROFS"
    assert sorted(os.listdir(s.src)) == ["d", "f"]
    with open(os.path.join(s.src, "f")) as f:
        assert f.read() == "keep"


def _setuid_id(s):
    """A setuid-root copy of id(1) in the source tree."""
    idbin = shutil.which("id")
    p = os.path.join(s.src, "suid-id")
    shutil.copy(idbin, p)
    os.chown(p, 0, 0)
    os.chmod(p, 0o4755)
    os.mknod(os.path.join(s.src, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def _euid_of(path):
    user_ids()
    r = subprocess.run(["runuser", "-u", "shiftfs-test", "--", path, "-u"], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


def test_nosuid_nodev_by_default(scratch, shiftfs_mount):
    need_root_and_fuse()
    s = scratch
    _setuid_id(s)
    shiftfs_mount(s.src, s.mnt, "identity")
    flags, _ = mount_flags(s.mnt)
    assert {"nosuid", "nodev"} <= flags
    # the bit is shown, but not honoured
    assert os.stat(os.path.join(s.mnt, "suid-id")).st_mode & stat.S_ISUID
    uid, _ = user_ids()
    assert _euid_of(os.path.join(s.mnt, "suid-id")) == uid
    assert errno_of(os.open, os.path.join(s.mnt, "null"), os.O_WRONLY) == "EACCES"


def test_suid_dev_on_request(scratch, shiftfs_mount):
    need_root_and_fuse()
    s = scratch
    _setuid_id(s)
    shiftfs_mount(s.src, s.mnt, "identity,suid,dev")
    flags, _ = mount_flags(s.mnt)
    assert "nosuid" not in flags and "nodev" not in flags
    assert _euid_of(os.path.join(s.mnt, "suid-id")) == 0
    fd = os.open(os.path.join(s.mnt, "null"), os.O_WRONLY)
    try:
        assert os.write(fd, b"discarded") == 9
    finally:
        os.close(fd)


def test_suid_shifted_root_is_not_host_root(scratch, shiftfs_mount):
    """Under a shifting map a setuid-root file of the container runs as the
    container root's *view* id, never as host root."""
    need_root_and_fuse()
    s = scratch
    _setuid_id(s)
    os.chmod(s.src, 0o755)
    shiftfs_mount(s.src, s.mnt, "map=0:100000:65536,suid")
    assert os.stat(os.path.join(s.mnt, "suid-id")).st_uid == 100000
    assert _euid_of(os.path.join(s.mnt, "suid-id")) == 100000


@pytest.mark.parametrize("opts,wait", [("identity,cache=never", 0.0), ("identity,cache=auto", 1.3)],
                         ids=["never", "auto"])
def test_changes_behind_the_mount_are_seen(scratch, shiftfs_mount, opts, wait):
    """cache=never sees source changes at once, cache=auto within ~1 s
    (and at the next open for file data)."""
    need_root_and_fuse()
    s = scratch
    p = os.path.join(s.src, "f")
    with open(p, "w") as f:
        f.write("one")
    shiftfs_mount(s.src, s.mnt, opts)
    m = os.path.join(s.mnt, "f")
    with open(m) as f:
        assert f.read() == "one"
    assert not os.path.exists(os.path.join(s.mnt, "later"))  # a negative entry, maybe cached
    with open(p, "w") as f:
        f.write("two, longer")
    os.chown(p, 7, 8)
    open(os.path.join(s.src, "later"), "w").close()
    time.sleep(wait)
    with open(m) as f:
        assert f.read() == "two, longer"
    st = os.stat(m)
    assert (st.st_uid, st.st_gid, st.st_size) == (7, 8, 11)
    assert os.path.exists(os.path.join(s.mnt, "later"))
    os.unlink(p)
    time.sleep(wait)
    assert errno_of(os.stat, m) == "ENOENT"
