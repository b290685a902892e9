# SPDX-License-Identifier: GPL-2.0-or-later
"""FUSE passthrough must not keep a privilege a native write would kill.

A passthrough write is done by the source filesystem on the daemon's
backing file, with the credentials the daemon registered it with; the
daemon is root and would hold CAP_FSETID, with which ext4 keeps setuid and
setgid bits on a write. The classic attack on that: open a file for
writing while it is harmless, wait for its owner to make it setuid (or to
give it a file capability), then write your own code into it. Natively the
write clears the bits (the writer lacks CAP_FSETID) and drops the
capability. The attacker here is a host user (uid 2000, no capabilities)
writing through the mount with an fd opened before the owner's chmod or
setcap, side by side with the same sequence on a native directory; each
case also shows that the write was passed through (no WRITE request), so
the backing file's credentials are what is tested. Beside them the
legitimate uses: the owner's own writes keep an ordinary file's mode and
land on the source.

Then the create race: an attacker who owns a directory renames a victim's
file onto the name it is creating, so that the daemon's lookup after the
create finds the victim's inode (a test hook holds the create there). The daemon must never make
its own new file the backing file of the victim's inode (later opens of
the victim's file would read and write the attacker's file): the victim
reads its own bytes through the mount every time.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

from attack import swap_onto_create, write_after
from conftest import need_root_and_fuse, need_test_hooks
from chown_util import ext4_image  # noqa: F401
from fs_util import cost, fcaps_v2, scratch_fixture

FIXTURES = (scratch_fixture,)
CAPS = "security.capability"
ATTACKER = 2000

def attack(path, owner_step, tmp):
    """Open path for writing as ATTACKER, let owner_step() run, write."""
    write_after(ATTACKER, path, owner_step, tmp)


def state(p):
    try:
        caps = os.getxattr(p, CAPS) != b""
    except OSError:
        caps = False
    return oct(os.stat(p).st_mode & 0o7777), caps


@pytest.fixture
def side(scratch, shiftfs_mount):
    """(native dir, source dir, mount, sync dir) on one map: disk ids
    100000+ shown as 0+, files owned by disk 101000 (view 1000)."""
    need_root_and_fuse()
    native = os.path.join(os.path.dirname(scratch.src), "native")
    tmp = os.path.join(os.path.dirname(scratch.src), "sync")
    for d in (native, tmp):
        os.mkdir(d)
        os.chmod(d, 0o1777)
    os.chown(scratch.src, 100000, 100000)
    os.chmod(scratch.src, 0o1777)
    m = shiftfs_mount(scratch.src, scratch.mnt, "map=100000:0:65536")
    yield native, scratch.src, m, tmp
    shutil.rmtree(native, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


CASES = {
    # name: (mode before, what the owner does after the open)
    "setuid": (0o666, lambda p: os.chmod(p, 0o4777)),
    "setgid-gx": (0o666, lambda p: os.chmod(p, 0o2777)),
    "setuid-setgid": (0o666, lambda p: os.chmod(p, 0o6777)),
    "capability": (0o777, lambda p: os.setxattr(p, CAPS, fcaps_v2())),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_privilege_granted_after_the_open_dies_at_the_write(side, case):
    native, src, m, tmp = side
    mode, grant = CASES[case]
    results = []
    for where, top, own_uid, path_of in (
            ("native", native, 1000, lambda n: os.path.join(native, n)),
            ("mount", src, 101000, lambda n: os.path.join(m.mnt, n))):
        f = os.path.join(top, case)
        with open(f, "wb") as fh:
            fh.write(b"harmless")
        os.chown(f, own_uid, own_uid)
        os.chmod(f, mode)

        def run():
            attack(path_of(case), lambda: grant(f), tmp)
        c = cost(m, run)
        if where == "mount":
            assert "WRITE" not in c, (
                "not a passthrough write: the test tests nothing", c)
        with open(f, "rb") as fh:
            assert fh.read() == b"evilless"
        results.append(state(f))
    # natively the write kills every one of them
    assert results[0] == ("0o777", False), results[0]
    assert results[1] == results[0], (
        "through the mount %s, natively %s" % (results[1], results[0]))


def test_owner_writes_keep_an_ordinary_file_as_it_is(side):
    native, src, m, tmp = side
    f = os.path.join(src, "plain")
    with open(f, "wb") as fh:
        fh.write(b"0" * 10)
    os.chown(f, 101000, 101000)
    os.chmod(f, 0o640)

    def write():
        r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000",
                            "--clear-groups", "--", "sh", "-c",
                            "printf abc | dd of=%s conv=notrunc status=none"
                            % os.path.join(m.mnt, "plain")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    c = cost(m, write)
    assert "WRITE" not in c, c
    with open(f, "rb") as fh:
        assert fh.read() == b"abc" + b"0" * 7
    assert os.stat(f).st_mode & 0o7777 == 0o640
    assert (os.stat(f).st_uid, os.stat(f).st_gid) == (101000, 101000)


CREATOR = r"""
import os, sys, time
path, done = sys.argv[1:3]
fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"attacker")
while not os.path.exists(done):
    time.sleep(0.01)
os.close(fd)
"""


def test_create_race_never_backs_the_victims_inode(scratch, shiftfs_mount,
                                                   monkeypatch):
    """The daemon's create is openat(O_CREAT|O_EXCL), then a lookup of the
    name for the kernel's entry. An attacker who owns the directory renames
    the victim's file onto the name in between (the test hook holds the
    create there for 300 ms; without it the window is microseconds wide
    and the attacker loops). The kernel's entry is then the victim's inode
    while the daemon's open file is the attacker's new one: that file must
    not become the victim's inode's backing file, or the victim's next open
    through the mount reads the attacker's bytes (and writes into them)."""
    need_root_and_fuse()
    need_test_hooks()
    os.chown(scratch.src, 100000, 100000)
    monkeypatch.setenv("SHIFTFS_TEST_CREATE_PAUSE_MS", "300")
    m = shiftfs_mount(scratch.src, scratch.mnt, "map=100000:0:65536")
    monkeypatch.delenv("SHIFTFS_TEST_CREATE_PAUSE_MS")
    d = os.path.join(scratch.src, "atk")
    os.mkdir(d)
    os.chown(d, 100000 + ATTACKER, 100000 + ATTACKER)
    v = os.path.join(d, "v")
    with open(v, "wb") as fh:
        fh.write(b"victim's own bytes")
    os.chown(v, 101000, 101000)
    os.chmod(v, 0o644)
    done = os.path.join(os.path.dirname(scratch.src), "creator-done")
    creator = subprocess.Popen(
        ["setpriv", "--reuid=%d" % ATTACKER, "--regid=%d" % ATTACKER,
         "--clear-groups", "--", sys.executable, "-c", CREATOR,
         os.path.join(m.mnt, "atk", "n"), done],
        stderr=subprocess.PIPE, text=True)
    try:
        # wait for the daemon's file, then swap the victim's in over it
        swap_onto_create(d, "n", v, creator)
        time.sleep(0.6)  # the create finishes, the attacker writes
        with open(os.path.join(m.mnt, "atk", "n"), "rb") as fh:
            assert os.fstat(fh.fileno()).st_uid == 1000  # the victim's
            got = fh.read()
        assert got == b"victim's own bytes", (
            "the victim's file read the attacker's bytes: %r" % got)
    finally:
        open(done, "w").close()
        creator.wait(timeout=20)
    with open(os.path.join(d, "n"), "rb") as fh:
        assert fh.read() == b"victim's own bytes"


def test_passthrough_writes_keep_out_of_reserved_blocks(ext4_image,
                                                       shiftfs_mount):
    """ext4 keeps 5 % of its blocks for root (CAP_SYS_RESOURCE); a host user
    who fills the disk natively stops there with ENOSPC. Through the mount
    the same user's passthrough write is done with the backing file's
    credentials, which must not hold CAP_SYS_RESOURCE: it stops there too,
    and root's own write still may go on."""
    need_root_and_fuse()
    top = ext4_image(64)
    src = os.path.join(top, "src")
    mnt = os.path.join(top, "mnt")  # reachable by the attacker
    os.mkdir(src)
    os.mkdir(mnt)
    os.chown(src, 100000 + ATTACKER, 100000 + ATTACKER)
    native = os.path.join(top, "native")
    os.mkdir(native)
    os.chown(native, ATTACKER, ATTACKER)
    fill = ("dd if=/dev/zero of={} bs=4k count=60000 status=none 2>/dev/null;"
            " echo $?")

    def as_attacker(cmd):
        return subprocess.run(
            ["setpriv", "--reuid=%d" % ATTACKER, "--regid=%d" % ATTACKER,
             "--clear-groups", "--inh-caps=-all", "--", "sh", "-c", cmd],
            capture_output=True, text=True, timeout=120).stdout.split()
    # natively: the user's fill stops short (ENOSPC), blocks are left
    assert as_attacker(fill.format(os.path.join(native, "big"))) == ["1"]
    free = os.statvfs(top)
    assert free.f_bavail * free.f_bsize < 64 << 10 < free.f_bfree * free.f_bsize
    m = shiftfs_mount(src, mnt, "map=100000:0:65536")
    path = os.path.join(mnt, "more")

    def write():
        assert as_attacker(fill.format(path)) == ["1"]
    c = cost(m, write)
    assert "WRITE" not in c, ("not a passthrough write", c)
    assert os.path.getsize(os.path.join(src, "more")) < 64 << 10, (
        "the user's passthrough write went into root's reserved blocks")
    # root may (natively and through the mount): the reserve is root's
    with open(os.path.join(top, "root-native"), "wb") as f:
        f.write(b"r" * 65536)
