# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: lsattr/chattr through shiftfs, chown(f, -1, -1)'s ctime, and
shiftfs's -o map= with comma-separated ranges.

lsattr/chattr used to get "Operation not supported" from the ioctl-less
daemon; they work on the kernel's idmapped mount and must work here too:
the flags are the source inode's, root (view uid 0) sets immutable and
append-only, the owner sets the flags an owner may set natively. What an
unprivileged caller or a container root may NOT set is in
tests/security/test_view_ioctl.py.
"""
import fcntl
import os
import struct
import subprocess
import time

import pytest

from conftest import SHIFTFS, need_root_and_fuse, umount, wait_for_mount
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)
BASE = 100000
# disk BASE+k is view k: the view's root is disk 100000
MAP = "%d:0:65536" % BASE
FS_IOC_FSGETXATTR = 0x801C581F


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


def lsattr(path, *opts):
    r = run("lsattr", "-d", *opts, path)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[-2]


@pytest.fixture
def tree(scratch):
    """src/f, src/d owned by disk BASE (view root); chattr -i at the end
    so the scratch directory can go."""
    f, d = os.path.join(scratch.src, "f"), os.path.join(scratch.src, "d")
    with open(f, "w") as fh:
        fh.write("data")
    os.mkdir(d)
    for p in (f, d):
        os.chown(p, BASE, BASE)
    scratch.on_cleanup(lambda: run("chattr", "-R", "-i", "-a", scratch.src))
    return scratch


def test_lsattr_shows_source_flags(tree, shiftfs_mount):
    need_root_and_fuse()
    s = tree
    assert run("chattr", "+d", os.path.join(s.src, "f")).returncode == 0
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    r = run("lsattr", os.path.join(s.mnt, "f"))
    assert r.returncode == 0, r.stderr
    assert "Operation not supported" not in r.stderr
    assert "d" in r.stdout.split()[0]
    assert lsattr(os.path.join(s.mnt, "d")) == lsattr(os.path.join(s.src, "d"))


def test_root_chattr_immutable(tree, shiftfs_mount):
    """View root sets +i through the mount: on the source inode, and a
    write through the mount then fails as on ext4; -i undoes it."""
    need_root_and_fuse()
    s = tree
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    mf = os.path.join(s.mnt, "f")
    r = run("chattr", "+i", mf)
    assert r.returncode == 0, r.stderr
    assert "i" in lsattr(os.path.join(s.src, "f"))
    assert "i" in lsattr(mf)
    r = run("sh", "-c", "echo x >> " + mf)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    r = run("chattr", "-i", mf)
    assert r.returncode == 0, r.stderr
    assert "i" not in lsattr(os.path.join(s.src, "f"))
    with open(mf, "a") as fh:
        fh.write("more")


def test_chattr_dir_and_append(tree, shiftfs_mount):
    need_root_and_fuse()
    s = tree
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    md = os.path.join(s.mnt, "d")
    assert run("chattr", "+D", md).returncode == 0
    assert "D" in lsattr(os.path.join(s.src, "d"))
    mf = os.path.join(s.mnt, "f")
    assert run("chattr", "+a", mf).returncode == 0
    assert "a" in lsattr(os.path.join(s.src, "f"))
    r = run("sh", "-c", ": > " + mf)
    assert "Operation not permitted" in r.stderr
    with open(mf, "a") as fh:  # appending is what +a allows
        fh.write("tail")
    assert run("chattr", "-a", mf).returncode == 0


def test_fsgetxattr(tree, shiftfs_mount):
    need_root_and_fuse()
    s = tree
    run("chattr", "+d", os.path.join(s.src, "f"))
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)

    def xflags(p):
        fd = os.open(p, os.O_RDONLY)
        try:
            buf = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))
        finally:
            os.close(fd)
        return struct.unpack("=5I8s", buf)

    assert xflags(os.path.join(s.mnt, "f")) == xflags(os.path.join(s.src, "f"))
    assert xflags(os.path.join(s.mnt, "f"))[0] & 0x80  # FS_XFLAG_NODUMP


def test_other_ioctl_enotty(tree, shiftfs_mount):
    need_root_and_fuse()
    s = tree
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    fd = os.open(os.path.join(s.mnt, "f"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, 0x80086601 + 0x100, bytes(8))  # not ours
        assert e.value.errno == 25  # ENOTTY, as before
    finally:
        os.close(fd)


def test_chown_noop_updates_ctime(tree, shiftfs_mount):
    """chown(f, -1, -1) updates ctime on ext4; it must through shiftfs."""
    need_root_and_fuse()
    s = tree
    shiftfs_mount(s.src, s.mnt, "map=" + MAP + ",cache=never")
    mf = os.path.join(s.mnt, "f")
    before = os.stat(mf).st_ctime_ns
    time.sleep(0.05)
    os.chown(mf, -1, -1)
    after = os.stat(mf).st_ctime_ns
    assert after > before
    assert os.stat(os.path.join(s.src, "f")).st_ctime_ns == after
    # the native answer, for comparison
    nf = os.path.join(s.path, "native")
    open(nf, "w").close()
    b = os.stat(nf).st_ctime_ns
    time.sleep(0.05)
    os.chown(nf, -1, -1)
    assert os.stat(nf).st_ctime_ns > b


@pytest.mark.parametrize("opts", [
    "map=0:100000:65536,65536:1000:1",
    "map=0:100000:65536,65536:1000:1,ro",
    "uidmap=0:100000:65536,65536:1000:1,gidmap=0:100000:65536,65536:1000:1",
    "map=0:100000:65536:65536:1000:1",
])
def test_shiftfs_map_commas(scratch, opts):
    """shiftfs -o map= takes shiftctl's syntax: commas between ranges."""
    need_root_and_fuse()
    s = scratch
    os.chown(s.src, 65536, 65536)  # the second range: view 1000
    open(os.path.join(s.src, "f"), "w").close()
    os.chown(os.path.join(s.src, "f"), 0, 0)  # the first: view 100000
    p = subprocess.Popen([SHIFTFS, s.src, s.mnt, "-f", "-o", opts],
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for_mount(p, s.mnt)
        st = os.stat(s.mnt)
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        st = os.stat(os.path.join(s.mnt, "f"))
        assert (st.st_uid, st.st_gid) == (100000, 100000)
        with open("/proc/self/mountinfo", errors="surrogateescape") as f:
            line = [x for x in f if " %s " % s.mnt in x][0]
        assert (" ro," in line) == opts.endswith(",ro")
    finally:
        umount(s.mnt, p)


def test_shiftfs_map_error_says_what_it_wants(scratch):
    need_root_and_fuse()
    s = scratch
    r = run(SHIFTFS, s.src, s.mnt, "-o", "map=0:1:65536,65536:1000:1")
    assert r.returncode == 1
    assert "unknown option" not in r.stderr
    assert r.stderr == ("shiftfs: map=0:1:65536,65536:1000:1: range 2: range "
                        "65536:1000:1 overlaps range 0:1:65536 on the view "
                        "side\n")
    # a range after anything but a map option is still no option
    r = run(SHIFTFS, s.src, s.mnt, "-o", "identity,65536:1000:1")
    assert r.returncode != 0
    assert "unknown option(s): `-o 65536:1000:1'" in r.stderr


def test_shiftfs_version(scratch):
    for flag in ("-V", "--version"):
        r = run(SHIFTFS, flag)
        assert r.returncode == 0
        lines = r.stdout.splitlines()
        assert lines[0].startswith("shiftfs ")
        assert lines[1].startswith("FUSE library version ")
