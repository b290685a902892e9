# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs as seen by real host users.

- rootless layout for the unprivileged host user shiftfs-test (temp subuid
  and subgid files): the user's files are container root's on disk, the
  user creates files owned by disk 0, root (unmapped) gets EOVERFLOW;
- a non-root host user on the mount can do exactly what the view
  permissions allow: the same probe runs on the mount, on the kernel's
  idmapped mount of the same tree and map, and on a native directory whose
  owners are the view ids; the mount must agree with the idmapped mount
  everywhere, and with the native directory wherever the owner is mapped
  (an unmapped owner is shown as 65534 but matches nobody, which no native
  owner can model), plus a few spelled-out expectations so that "both
  wrong" cannot pass;
- setgid directory group inheritance and default ACL inheritance through a
  shifting mount are identical to the native filesystem.
"""
import os
import stat
import subprocess

import pytest

from conftest import TEST_USER, need_root_and_fuse
from fs_util import (ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT, acl_named, as_user, errno_of,
                     owner, scratch_fixture, user_ids, write_subid)
from idmap_util import idmapped  # noqa: F401

FIXTURES = (scratch_fixture,)


def test_rootless_for_unprivileged_user(scratch, shiftfs_mount):
    need_root_and_fuse()
    uid, gid = user_ids()
    s = scratch
    write_subid(s.p("subuid"), ["%s:200000:65536" % TEST_USER])
    write_subid(s.p("subgid"), ["%s:300000:65536" % TEST_USER])
    os.chmod(s.src, 0o755)  # disk owner 0: the user's own directory in the view
    open(os.path.join(s.src, "mine"), "w").close()
    os.chmod(os.path.join(s.src, "mine"), 0o600)
    open(os.path.join(s.src, "sub"), "w").close()
    os.chown(os.path.join(s.src, "sub"), 33, 33)
    open(os.path.join(s.src, "far"), "w").close()
    os.chown(os.path.join(s.src, "far"), 70000, 70000)
    shiftfs_mount(s.src, s.mnt, "rootless=%s,subuid_file=%s,subgid_file=%s"
                  % (TEST_USER, s.p("subuid"), s.p("subgid")))
    assert owner(s.mnt) == (uid, gid)
    assert owner(os.path.join(s.mnt, "mine")) == (uid, gid)
    assert owner(os.path.join(s.mnt, "sub")) == (200032, 300032)
    assert owner(os.path.join(s.mnt, "far")) == (65534, 65534)

    m = s.mnt
    r = as_user(r"""
m = %r
step('read_mine', rd, m + '/mine')
step('write_mine', wr, m + '/mine', b'hello')
step('create', lambda: os.stat(m + '/new') if wr(m + '/new') else None)
step('mkdir', mk, m + '/newdir')
step('chmod', os.chmod, m + '/new', 0o640)
step('chown_to_sub', os.chown, m + '/new', 200001, -1)
step('unlink_sub', os.unlink, m + '/sub')
""" % m)
    assert r["read_mine"] == ("ok", "")
    assert r["write_mine"] == ("ok", 5)
    assert r["create"] == ("ok", [uid, gid, oct(0o100644)])
    assert r["mkdir"] == ("ok", [uid, gid, oct(0o40755)])
    assert r["chmod"][0] == "ok"
    # an unprivileged user cannot give files away, shifted or not
    assert r["chown_to_sub"] == ("err", "EPERM")
    # the user owns the (view) directory, so it may unlink others' files
    assert r["unlink_sub"][0] == "ok"
    assert owner(os.path.join(s.src, "new")) == (0, 0)
    assert owner(os.path.join(s.src, "newdir")) == (0, 0)
    assert stat.S_IMODE(os.stat(os.path.join(s.src, "new")).st_mode) == 0o640
    assert not os.path.exists(os.path.join(s.src, "sub"))
    with open(os.path.join(s.src, "mine"), "rb") as f:
        assert f.read() == b"hello"
    # root is not mapped in this layout: it may look, not create
    assert errno_of(lambda: open(os.path.join(m, "byroot"), "w").close()) == "EOVERFLOW"
    assert errno_of(os.mkdir, os.path.join(m, "byroot")) == "EOVERFLOW"
    # but root may chown within the map
    os.chown(os.path.join(m, "new"), 200001, 300002)
    assert owner(os.path.join(s.src, "new")) == (2, 3)


# (name, kind, disk uid, disk gid, mode); with the map below disk 1000 is
# shiftfs-test in the view, disk 0 is root, disk 2000 is shown as 65534.
TREE = [
    ("own600", "f", 1000, 1000, 0o600),
    ("own400", "f", 1000, 1000, 0o400),
    ("own000", "f", 1000, 1000, 0o000),
    ("root600", "f", 0, 0, 0o600),
    ("root644", "f", 0, 0, 0o644),
    ("root666", "f", 0, 0, 0o666),
    ("root640g", "f", 0, 1000, 0o640),
    ("root660g", "f", 0, 1000, 0o660),
    ("root755x", "f", 0, 0, 0o755),
    ("root700x", "f", 0, 0, 0o700),
    ("far606", "f", 2000, 2000, 0o606),
    ("far660", "f", 2000, 2000, 0o660),
    ("owndir", "d", 1000, 1000, 0o700),
    ("rootdir755", "d", 0, 0, 0o755),
    ("rootdir777", "d", 0, 0, 0o777),
    ("rootdir1777", "d", 0, 0, 0o1777),
    ("rootdir711", "d", 0, 0, 0o711),
    ("rootdir700", "d", 0, 0, 0o700),
    ("grpdir770", "d", 0, 1000, 0o770),
    ("fardir707", "d", 2000, 2000, 0o707),
]
MAP = "uidmap=0:0:1:1000:{uid}:1,gidmap=0:0:1:1000:{gid}:1"

PROBE = r"""
m = %r
files = %r
dirs = %r
for n in files:
    step(n + ':r', rd, m + '/' + n)
    step(n + ':w', wr, m + '/' + n, b'w')
    step(n + ':x', os.access, m + '/' + n, os.X_OK)
    step(n + ':chmod', os.chmod, m + '/' + n, 0o644)
    step(n + ':utime', os.utime, m + '/' + n, (1, 1))
    step(n + ':utime_now', os.utime, m + '/' + n, None)
for n in dirs:
    d = m + '/' + n
    step(n + ':ls', ls, d)
    step(n + ':stat_in', os.stat, d + '/inner')
    step(n + ':create', lambda: os.stat(d + '/c') if wr(d + '/c') else None)
    step(n + ':mkdir', mk, d + '/cd')
    step(n + ':unlink_inner', os.unlink, d + '/inner')
    step(n + ':rename_inner', os.rename, d + '/inner2', d + '/inner3')
step('top_create', lambda: wr(m + '/top'))
step('top_unlink', os.unlink, m + '/root644')
"""


def _build(base, mapper):
    for name, kind, u, g, mode in TREE:
        p = os.path.join(base, name)
        if kind == "f":
            with open(p, "w") as f:
                f.write("data")
        else:
            os.mkdir(p)
            for inner in ("inner", "inner2"):
                q = os.path.join(p, inner)
                open(q, "w").close()
                os.chown(q, *mapper(0, 0))
        vu, vg = mapper(u, g)
        os.chown(p, vu, vg)
        os.chmod(p, mode)


def test_unprivileged_user_gets_view_permissions(scratch, idmapped, shiftfs_mount):
    """Same probe: mount vs idmapped mount vs native directory."""
    need_root_and_fuse()
    uid, gid = user_ids()
    s = scratch
    native, src2, mnt2 = s.p("native"), s.p("src-idmap"), s.p("mnt-idmap")
    for d in (native, src2, mnt2):
        os.mkdir(d)
        os.chmod(d, 0o755)
    disk = lambda u, g: (u, g)

    def view(u, g):
        return ({0: 0, 1000: uid}.get(u, 65534), {0: 0, 1000: gid}.get(g, 65534))
    _build(s.src, disk)
    _build(src2, disk)
    _build(native, view)
    shiftfs_mount(s.src, s.mnt, MAP.format(uid=uid, gid=gid))
    idmapped(src2, mnt2, [(0, 0, 1), (1000, uid, 1)], [(0, 0, 1), (1000, gid, 1)])
    files = [t[0] for t in TREE if t[1] == "f"]
    dirs = [t[0] for t in TREE if t[1] == "d"]
    got = as_user(PROBE % (s.mnt, files, dirs))
    idmapped = as_user(PROBE % (mnt2, files, dirs))
    want = as_user(PROBE % (native, files, dirs))
    assert got == idmapped
    # owners in stat results: translated on the mount, view ids natively
    unmapped = tuple(t[0] + ":" for t in TREE if t[2] == 2000)
    assert {k: v for k, v in got.items() if not k.startswith(unmapped)} == \
        {k: v for k, v in want.items() if not k.startswith(unmapped)}
    # and the results are what the permissions say, not just equal
    assert got["root600:r"] == ("err", "EACCES")
    assert got["root644:r"] == ("ok", "data")
    assert got["root644:w"] == ("err", "EACCES")
    assert got["root666:w"] == ("ok", 1)
    assert got["root640g:r"] == ("ok", "data")
    assert got["root640g:w"] == ("err", "EACCES")
    assert got["own000:r"] == ("err", "EACCES")
    assert got["own000:chmod"] == ("ok", None)
    assert got["root644:chmod"] == ("err", "EPERM")
    assert got["root644:utime"] == ("err", "EPERM")
    assert got["root666:utime_now"] == ("ok", None)
    # an unmapped owner is invalid: no write to it at all (the kernel's
    # HAS_UNMAPPED_ID), its "other" bits still let it be read
    assert got["far606:w"] == ("err", "EACCES")
    assert got["far606:r"] == ("ok", "data")
    assert got["far606:chmod"] == ("err", "EOVERFLOW")
    assert got["far660:r"] == ("err", "EACCES")
    assert got["root700x:x"] == ("ok", False)
    assert got["root755x:x"] == ("ok", True)
    assert got["rootdir755:create"] == ("err", "EACCES")
    assert got["rootdir777:create"] == ("ok", [uid, gid, oct(0o100644)])
    assert got["rootdir1777:unlink_inner"] == ("err", "EPERM")
    assert got["rootdir711:ls"] == ("err", "EACCES")
    assert got["rootdir711:stat_in"][0] == "ok"
    assert got["rootdir700:stat_in"] == ("err", "EACCES")
    assert got["grpdir770:mkdir"] == ("ok", [uid, gid, oct(0o40755)])
    assert got["fardir707:create"] == ("err", "EACCES")
    assert got["fardir707:ls"][0] == "ok"
    assert got["top_create"] == ("err", "EACCES")
    assert got["top_unlink"] == ("err", "EACCES")
    # creates by the user landed as disk 1000
    assert owner(os.path.join(s.src, "rootdir777", "c")) == (1000, 1000)
    assert owner(os.path.join(s.src, "grpdir770", "cd")) == (1000, 1000)
    with open(os.path.join(s.src, "root666")) as f:
        assert f.read() == "wata"


def _getfacl(path):
    r = subprocess.run(["getfacl", "-n", "-c", "-p", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return sorted(l for l in r.stdout.splitlines() if l)


INHERIT = r"""
base = %r
for name in ('sgid', 'dacl'):
    d = base + '/' + name
    step(name + ':file', lambda: os.stat(d + '/f') if wr(d + '/f') else None)
    step(name + ':dir', mk, d + '/sub')
    step(name + ':fifo', lambda: (os.mkfifo(d + '/p', 0o666), os.lstat(d + '/p'))[1])
    step(name + ':subfile', lambda: os.stat(d + '/sub/g') if wr(d + '/sub/g') else None)
"""


@pytest.mark.parametrize("who", ["root", "user"])
def test_setgid_and_default_acl_inheritance(scratch, shiftfs_mount, who):
    """rootless=root layout: disk 0 = view 0, disk 1.. = view 100000.."""
    need_root_and_fuse()
    s = scratch
    uid, gid = user_ids()
    write_subid(s.p("subuid"), ["root:100000:65536"])
    write_subid(s.p("subgid"), ["root:100000:65536"])
    native = s.p("native")
    os.mkdir(native)
    os.chmod(native, 0o755)
    # view group 100009 (disk 10), view users 100005/100006 (disk 6/7)
    for base, grp, u1, g1 in ((s.src, 10, 6, 8), (native, 100009, 100005, 100007)):
        d = os.path.join(base, "sgid")
        os.mkdir(d)
        os.chown(d, 0, grp)
        os.chmod(d, 0o2777)
        d = os.path.join(base, "dacl")
        os.mkdir(d)
        os.chmod(d, 0o777)
        r = subprocess.run(["setfacl", "-m", "d:u:%d:rwx,d:g:%d:r-x,d:o::---,u:%d:r-x" % (u1, g1, u1), d],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    if who == "user":
        # the unprivileged host user is view 100000+k for this test: use
        # its ids through setpriv (an id the map covers)
        caller = (100042, 100043)
    else:
        caller = (0, 0)
    shiftfs_mount(s.src, s.mnt, "rootless=root,subuid_file=%s,subgid_file=%s" % (s.p("subuid"), s.p("subgid")))
    got = as_user(INHERIT % s.mnt, user=caller, umask=0o022)
    want = as_user(INHERIT % native, user=caller, umask=0o022)
    assert got == want
    assert got["sgid:file"][1][1] == 100009
    assert got["sgid:dir"][1][1] == 100009
    assert int(got["sgid:dir"][1][2], 8) & stat.S_ISGID
    for rel in ("dacl/f", "dacl/sub", "dacl/p", "dacl/sub/g", "dacl", "sgid/sub", "sgid/f"):
        a, b = _getfacl(os.path.join(s.mnt, rel)), _getfacl(os.path.join(native, rel))
        assert a == b, rel
    # default ACL was inherited, with disk ids on disk
    assert acl_named(os.getxattr(os.path.join(s.src, "dacl", "f"), ACL_XATTR_ACCESS)) == {("u", 6): 7, ("g", 8): 5}
    assert acl_named(os.getxattr(os.path.join(s.src, "dacl", "sub"), ACL_XATTR_DEFAULT)) == {("u", 6): 7, ("g", 8): 5}
    assert owner(os.path.join(s.src, "sgid", "f"))[1] == 10
    # view 100000+k is disk k+1
    assert owner(os.path.join(s.src, "dacl", "f")) == ((0, 0) if who == "root" else (43, 44))


def test_unmapped_host_user_cannot_create(scratch, shiftfs_mount):
    """shiftfs-test is not in the view of map=0:100000:65536: it may read
    what the view permissions allow, but every create/chown is EOVERFLOW."""
    need_root_and_fuse()
    s = scratch
    os.chmod(s.src, 0o777)
    with open(os.path.join(s.src, "pub"), "w") as f:
        f.write("public")
    os.chmod(os.path.join(s.src, "pub"), 0o666)
    shiftfs_mount(s.src, s.mnt, "map=0:100000:65536")
    r = as_user(r"""
m = %r
step('read', rd, m + '/pub')
step('write', wr, m + '/pub', b'P')
step('create', wr, m + '/new')
step('mkdir', mk, m + '/newdir')
step('symlink', os.symlink, 'x', m + '/sym')
step('fifo', os.mkfifo, m + '/fifo')
step('ls', ls, m)
""" % s.mnt)
    assert r["read"] == ("ok", "public")
    assert r["write"] == ("ok", 1)
    for k in ("create", "mkdir", "symlink", "fifo"):
        assert r[k] == ("err", "EOVERFLOW"), (k, r[k])
    assert r["ls"] == ("ok", ["pub"])
    assert sorted(os.listdir(s.src)) == ["pub"]
