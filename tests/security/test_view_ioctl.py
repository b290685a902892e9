# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: chattr through shiftfs must not grant more than the caller has.

The daemon sets inode flags as root. Natively, +i/+a need
CAP_LINUX_IMMUTABLE and only the owner (or CAP_FOWNER) changes a file's
flags at all. Played for real: the attacker (a separate host user, and a
container root in a real user namespace) tries chattr +i/+a on a file it
owns in the view, and any chattr on the victim's file; each gets what it
gets on the native directory (Operation not permitted) and the source flags
do not change. Beside them the legitimate uses: the owner sets +d, and the
namespace's root sets +d on its own file.
"""
import os
import subprocess

import pytest

from attack import ATTACKER, VICTIM, as_host_user, in_userns, uid_of, gid_of
from conftest import need, need_root_and_fuse
from fs_util import Scratch

BASE = 200000
MAP = "%d:0:65536" % BASE  # disk BASE+k is view k


@pytest.fixture
def scratch():
    s = Scratch("shiftfs-sec")
    yield s
    subprocess.run(["chattr", "-R", "-i", "-a", s.src], capture_output=True)
    s.cleanup()


def flags(path):
    r = subprocess.run(["lsattr", "-d", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


def setup_tree(s):
    """mine: the attacker's in the view, theirs: the victim's; also a
    native copy of both (owned by the host users themselves)."""
    a, ag = uid_of(ATTACKER), gid_of(ATTACKER)
    v, vg = uid_of(VICTIM), gid_of(VICTIM)
    need(a < 65536 and v < 65536, "test users' uids below 65536")
    os.chmod(s.src, 0o777)
    nat = s.p("native")
    os.mkdir(nat, 0o777)
    for base, off in ((s.src, BASE), (nat, 0)):
        for name, u, g in (("mine", a, ag), ("theirs", v, vg)):
            p = os.path.join(base, name)
            open(p, "w").close()
            os.chmod(p, 0o666)
            os.chown(p, off + u, off + g)
    return nat


def test_host_user_chattr(scratch, shiftfs_mount):
    need_root_and_fuse()
    s = scratch
    nat = setup_tree(s)
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    for base in (nat, s.mnt):
        for op, name in (("+i", "mine"), ("+a", "mine"), ("+d", "theirs"),
                         ("+i", "theirs")):
            r = as_host_user(ATTACKER, ["chattr", op,
                                        os.path.join(base, name)])
            assert r.returncode == 1, (base, op, name)
            assert "Operation not permitted while setting flags" in r.stderr
    for name in ("mine", "theirs"):
        assert flags(os.path.join(s.src, name)) == flags(
            os.path.join(nat, name))
        assert not set("iad") & set(flags(os.path.join(s.src, name)))
    # legitimate: the owner sets nodump on its own file
    r = as_host_user(ATTACKER, ["chattr", "+d", os.path.join(s.mnt, "mine")])
    assert r.returncode == 0, r.stderr
    assert "d" in flags(os.path.join(s.src, "mine"))
    r = as_host_user(ATTACKER, ["lsattr", os.path.join(s.mnt, "mine")])
    assert r.returncode == 0 and "d" in r.stdout.split()[0]


def test_userns_root_chattr(scratch, shiftfs_mount):
    """A container root (uid 0 in its own user namespace, the attacker on
    the host) holds CAP_LINUX_IMMUTABLE only in its namespace: +i on its
    own file through the mount is refused as natively, +d works."""
    need_root_and_fuse()
    s = scratch
    nat = setup_tree(s)
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    a, ag = uid_of(ATTACKER), gid_of(ATTACKER)
    umap, gmap = "0 %d 1\n" % a, "0 %d 1\n" % ag
    logdir = s.p("log")
    os.mkdir(logdir)
    os.chmod(logdir, 0o777)

    def chattr(op, path):
        """chattr in the namespace: (exit code, its stderr)."""
        log = os.path.join(logdir, "err")
        rc = in_userns(["sh", "-c", 'chattr "$1" "$2" 2>"$3"', "sh", op,
                        path, log], umap, gmap)
        with open(log) as f:
            return rc, f.read()

    for base in (nat, s.mnt):
        mine = os.path.join(base, "mine")
        rc, err = chattr("+i", mine)
        assert rc == 1, (base, err)
        assert "Operation not permitted while setting flags" in err
        rc, err = chattr("+d", mine)
        assert rc == 0, (base, err)
    assert "i" not in flags(os.path.join(s.src, "mine"))
    assert "d" in flags(os.path.join(s.src, "mine"))
    # the victim's file is not the namespace root's
    rc, err = chattr("+d", os.path.join(s.mnt, "theirs"))
    assert rc == 1 and "Operation not permitted" in err
    assert "d" not in flags(os.path.join(s.src, "theirs"))


def test_view_root_keeps_its_rights(scratch, shiftfs_mount):
    """The view's root (host root through the mount) sets +i on the
    attacker's file, as root does natively."""
    need_root_and_fuse()
    s = scratch
    setup_tree(s)
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    r = subprocess.run(["chattr", "+i", os.path.join(s.mnt, "mine")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "i" in flags(os.path.join(s.src, "mine"))
    r = as_host_user(ATTACKER, ["chattr", "-i", os.path.join(s.mnt, "mine")])
    assert r.returncode == 1 and "Operation not permitted" in r.stderr
    assert "i" in flags(os.path.join(s.src, "mine"))


def test_project_id_refused(scratch, shiftfs_mount):
    """Project ids are not the owner's to set (a way out of a project
    quota): refused through the mount even for the view's root (on this
    ext4 without the project feature chattr -p natively says "Operation
    not supported"; the daemon refuses before asking)."""
    need_root_and_fuse()
    s = scratch
    setup_tree(s)
    shiftfs_mount(s.src, s.mnt, "map=" + MAP)
    r = subprocess.run(["chattr", "-p", "7", os.path.join(s.mnt, "mine")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "Operation not permitted while setting project" in r.stderr
