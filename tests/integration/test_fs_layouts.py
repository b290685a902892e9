# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs under every layout: owners, creates, chown, ACLs, capabilities.

For each layout (identity, explicit uidmap/gidmap, map=, rootless with temp
subuid/subgid files, rootless split over two subuid lines, userns-remap,
owner mode) a tree with known disk owners is mounted and checked against
an independent model of the id map (the ranges the layout must produce,
written out here by hand):

- owners seen through the mount: disk -> view, unmapped -> overflow id
  (shown, never matched: the kernel refuses every write to an inode whose
  owner is unmapped, as on an idmapped mount, so SRC and the files written
  through the mount get a mapped disk owner first);
- creates (file, dir, symlink, fifo) by a caller with view ids (uid, gid):
  disk owner = view -> disk, or EOVERFLOW when the caller is unmapped;
- chown: mapped ok, unmapped view id EOVERFLOW (disk unchanged), -1 keeps;
- POSIX ACL entries both ways (setfacl/getfacl -n through the mount, raw
  xattr values on disk), unmapped view id in an ACL -> refused, entries
  naming unmapped disk ids hidden from the view and kept on disk;
- security.capability v3 rootid both ways.
"""
import os
import subprocess

import pytest

from conftest import need_root_and_fuse
from fs_util import (ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER,
                     ACL_USER_OBJ, ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT, CAP_XATTR,
                     acl_decode, acl_encode, acl_named, as_user, errno_of, fcaps_decode,
                     fcaps_v2, fcaps_v3, owner, scratch_fixture, write_subid, UsernsProcess)

FIXTURES = (scratch_fixture,)

OVERFLOW = 65534
BIG = 4294967294  # 2^32 - 2, the largest valid id


class Layout:
    def __init__(self, name, opts, uid, gid=None, ovf=(OVERFLOW, OVERFLOW), subid=None, userns=False):
        self.name, self.opts, self.userns = name, opts, userns
        self.uid, self.gid = uid, gid if gid is not None else uid
        self.ovf = ovf
        self.subid = subid  # (subuid lines, subgid lines) or None

    @staticmethod
    def _view(ranges, d):
        for disk, view, count in ranges:
            if disk <= d < disk + count:
                return view + d - disk
        return None

    @staticmethod
    def _disk(ranges, v):
        for disk, view, count in ranges:
            if view <= v < view + count:
                return disk + v - view
        return None

    def view_uid(self, d):
        v = self._view(self.uid, d)
        return self.ovf[0] if v is None else v

    def view_gid(self, d):
        v = self._view(self.gid, d)
        return self.ovf[1] if v is None else v

    def disk_uid(self, v):
        return self._disk(self.uid, v)

    def disk_gid(self, v):
        return self._disk(self.gid, v)

    def mapped_view(self, ranges, off=5):
        """A mapped view id (not 0) and one that is unmapped."""
        disk, view, count = ranges[-1]
        good = view + min(off, count - 1)
        bad = None
        for cand in (7, 12345, 3000000, 4000000000):
            if self._disk(ranges, cand) is None:
                bad = cand
                break
        return good, bad

    def options(self, s):
        o = self.opts
        if self.userns:
            # pid=PID: a live process whose namespace has exactly these maps
            fmt = lambda rs: "".join("%d %d %d\n" % r for r in rs)  # noqa: E731
            p = UsernsProcess(fmt(self.uid), fmt(self.gid))
            s.on_cleanup(p.stop)
            o = "pid=%d" % p.pid + ("," + o if o else "")
        if self.subid:
            su, sg = s.p("subuid"), s.p("subgid")
            write_subid(su, self.subid[0])
            write_subid(sg, self.subid[1])
            o += ",subuid_file=%s,subgid_file=%s" % (su, sg)
        return o


LAYOUTS = [
    Layout("identity", "identity", [(0, 0, 4294967295)]),
    Layout("explicit", "uidmap=0:100000:65536:65536:1000:1,gidmap=0:200000:65536:65536:1000:1",
           [(0, 100000, 65536), (65536, 1000, 1)], [(0, 200000, 65536), (65536, 1000, 1)]),
    Layout("map", "map=0:100000:65536", [(0, 100000, 65536)]),
    Layout("rootless", "rootless=root", [(0, 0, 1), (1, 100000, 65536)],
           subid=(["root:100000:65536"], ["root:100000:65536"])),
    Layout("rootless_split", "rootless=root", [(0, 0, 1), (1, 100000, 1000), (1001, 300000, 64536)],
           [(0, 0, 1), (1, 400000, 65536)],
           subid=(["nobody:500000:10", "root:100000:1000", "root:300000:64536"],
                  ["root:400000:65536"])),
    Layout("userns_remap", "userns_remap=root", [(0, 100000, 65536)],
           subid=(["root:100000:65536"], ["root:100000:65536"])),
    Layout("pid", "", [(0, 100000, 1000), (1000, 1000, 1), (1001, 101001, 64535)],
           [(0, 200000, 65536)], userns=True),
    Layout("owner", "map=0:100000:65536,owner=1000:1001,user=0:0",
           [(1000, 100000, 1)], [(1001, 100000, 1)]),
    Layout("owner_rootless", "rootless=root,owner=1000:1000,user=5:6",
           [(1000, 100004, 1)], [(1000, 100005, 1)],
           subid=(["root:100000:65536"], ["root:100000:65536"])),
]
IDS = [l.name for l in LAYOUTS]
# identity maps every valid id: nothing is unmapped there
SHIFTING = [l for l in LAYOUTS if l.name != "identity"]

DISK_OWNERS = [(0, 0), (1, 1), (5, 6), (1000, 1000), (1000, 1001), (65535, 65535),
               (65536, 65536), (70000, 70000), (BIG, BIG)]


@pytest.fixture(params=LAYOUTS, ids=IDS)
def layout(request):
    return request.param


def mapped_disk_owner(layout):
    return layout.uid[0][0], layout.gid[0][0]


def mount(shiftfs_mount, s, layout, **kw):
    need_root_and_fuse()
    os.chown(s.src, *mapped_disk_owner(layout))
    return shiftfs_mount(s.src, s.mnt, layout.options(s), **kw)


def test_owners_seen_through_mount(scratch, shiftfs_mount, layout):
    s = scratch
    for uid, gid in DISK_OWNERS:
        p = os.path.join(s.src, "f_%d_%d" % (uid, gid))
        open(p, "w").close()
        os.chown(p, uid, gid)
        d = os.path.join(s.src, "d_%d_%d" % (uid, gid))
        os.mkdir(d)
        os.chown(d, uid, gid)
        l = os.path.join(s.src, "l_%d_%d" % (uid, gid))
        os.symlink("target", l)
        os.lchown(l, uid, gid)
    mount(shiftfs_mount, s, layout)
    seen, want = {}, {}
    for uid, gid in DISK_OWNERS:
        for kind in "fdl":
            name = "%s_%d_%d" % (kind, uid, gid)
            seen[name] = owner(os.path.join(s.mnt, name))
            want[name] = (layout.view_uid(uid), layout.view_gid(gid))
    assert seen == want
    # the root directory too
    st = os.stat(s.mnt)
    du, dg = mapped_disk_owner(layout)
    assert (st.st_uid, st.st_gid) == (layout.view_uid(du), layout.view_gid(dg))


def _creator(layout):
    """View ids of a caller that is mapped under the layout."""
    vu = layout._view(layout.uid, layout.uid[0][0])
    vg = layout._view(layout.gid, layout.gid[0][0])
    return vu, vg


CREATE_CODE = r"""
m = %r
step('file', lambda: os.stat(m + '/file') if wr(m + '/file') else None)
step('dir', mk, m + '/dir')
step('symlink', lambda: (os.symlink('t', m + '/sym'), os.lstat(m + '/sym'))[1])
step('fifo', lambda: (os.mkfifo(m + '/fifo', 0o600), os.lstat(m + '/fifo'))[1])
step('hardlink', lambda: (os.link(m + '/file', m + '/hard'), os.lstat(m + '/hard'))[1])
"""


def test_create_owner_is_view_to_disk(scratch, shiftfs_mount, layout):
    s = scratch
    os.chmod(s.src, 0o777)
    mount(shiftfs_mount, s, layout)
    vu, vg = _creator(layout)
    r = as_user(CREATE_CODE % s.mnt, user=(vu, vg))
    du, dg = layout.disk_uid(vu), layout.disk_gid(vg)
    for name, path in (("file", "file"), ("dir", "dir"), ("symlink", "sym"), ("fifo", "fifo")):
        assert r[name][0] == "ok", (name, r[name])
        assert r[name][1][:2] == [vu, vg], (name, "view owner", r[name])
        assert owner(os.path.join(s.src, path)) == (du, dg), (name, "disk owner")
    assert r["hardlink"][0] == "ok", r["hardlink"]
    assert os.lstat(os.path.join(s.src, "hard")).st_ino == os.lstat(os.path.join(s.src, "file")).st_ino


@pytest.mark.parametrize("layout", SHIFTING, ids=[l.name for l in SHIFTING])
def test_create_by_unmapped_caller_is_eoverflow(scratch, shiftfs_mount, layout):
    s = scratch
    os.chmod(s.src, 0o777)
    mount(shiftfs_mount, s, layout)
    # an unmapped uid with a mapped gid, and the other way round
    _, bad_u = layout.mapped_view(layout.uid)
    _, bad_g = layout.mapped_view(layout.gid)
    vu, vg = _creator(layout)
    for who in ((bad_u, vg), (vu, bad_g)):
        r = as_user(CREATE_CODE % s.mnt, user=who)
        for name in ("file", "dir", "symlink", "fifo"):
            assert r[name] == ("err", "EOVERFLOW"), (who, name, r[name])
    assert os.listdir(s.src) == [], "nothing may be stored for an unmapped caller"


def test_root_create(scratch, shiftfs_mount, layout):
    """Root (view 0) creates: mapped -> disk image of 0, else EOVERFLOW."""
    s = scratch
    mount(shiftfs_mount, s, layout)
    du, dg = layout.disk_uid(0), layout.disk_gid(0)
    p = os.path.join(s.mnt, "rootfile")
    e = errno_of(lambda: open(p, "w").close())
    e2 = errno_of(os.mkdir, os.path.join(s.mnt, "rootdir"))
    if du is None or dg is None:
        assert (e, e2) == ("EOVERFLOW", "EOVERFLOW")
        assert os.listdir(s.src) == []
    else:
        assert (e, e2) == (None, None)
        assert owner(os.path.join(s.src, "rootfile")) == (du, dg)
        assert owner(os.path.join(s.src, "rootdir")) == (du, dg)
        assert owner(p) == (0, 0)


def test_chown(scratch, shiftfs_mount, layout):
    s = scratch
    f = os.path.join(s.src, "f")
    open(f, "w").close()
    d0u, d0g = layout.uid[0][0], layout.gid[0][0]
    os.chown(f, d0u, d0g)
    os.symlink("x", os.path.join(s.src, "l"))
    mount(shiftfs_mount, s, layout)
    m = os.path.join(s.mnt, "f")
    good_u, bad_u = layout.mapped_view(layout.uid)
    good_g, bad_g = layout.mapped_view(layout.gid)
    # mapped
    os.chown(m, good_u, good_g)
    assert owner(f) == (layout.disk_uid(good_u), layout.disk_gid(good_g))
    assert owner(m) == (good_u, good_g)
    # -1 keeps
    v0u, v0g = layout.view_uid(d0u), layout.view_gid(d0g)
    os.chown(m, v0u, -1)
    assert owner(f) == (d0u, layout.disk_gid(good_g))
    os.chown(m, -1, v0g)
    assert owner(f) == (d0u, d0g)
    os.chown(m, -1, -1)
    assert owner(f) == (d0u, d0g)
    if bad_u is None:
        return  # identity: no unmapped view id exists
    # unmapped view ids
    assert errno_of(os.chown, m, bad_u, -1) == "EOVERFLOW"
    assert errno_of(os.chown, m, -1, bad_g) == "EOVERFLOW"
    assert owner(f) == (d0u, d0g)
    # symlinks: lchown changes the link, not a target
    ml = os.path.join(s.mnt, "l")
    os.lchown(ml, good_u, good_g)
    assert owner(os.path.join(s.src, "l")) == (layout.disk_uid(good_u), layout.disk_gid(good_g))
    assert errno_of(os.lchown, ml, bad_u, -1) == "EOVERFLOW"


def _getfacl(path):
    r = subprocess.run(["getfacl", "-n", "-c", "-p", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return sorted(l for l in r.stdout.splitlines() if l and not l.startswith("#"))


def test_acl_both_ways(scratch, shiftfs_mount, layout):
    s = scratch
    f = os.path.join(s.src, "f")
    open(f, "w").close()
    d = os.path.join(s.src, "d")
    os.mkdir(d)
    os.chown(f, *mapped_disk_owner(layout))
    os.chown(d, *mapped_disk_owner(layout))
    # on disk: named entries with a mapped and an unmapped disk id
    du = layout.uid[-1][0] + 1 if layout.uid[-1][2] > 1 else layout.uid[-1][0]
    dg = layout.gid[-1][0]
    unmapped_disk = 4000000000 if layout.name != "identity" else None
    # entries in the order the kernel requires (tag, then id)
    entries = [(ACL_USER_OBJ, 6, 0xFFFFFFFF), (ACL_USER, 4, du), (ACL_GROUP_OBJ, 4, 0xFFFFFFFF),
               (ACL_GROUP, 5, dg), (ACL_MASK, 7, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)]
    if unmapped_disk:
        entries.insert(2, (ACL_USER, 1, unmapped_disk))
    os.setxattr(f, ACL_XATTR_ACCESS, acl_encode(entries))
    mount(shiftfs_mount, s, layout)
    mf, md = os.path.join(s.mnt, "f"), os.path.join(s.mnt, "d")

    # disk -> view: getfacl -n and the raw value through the mount
    lines = _getfacl(mf)
    assert "user:%d:r--" % layout.view_uid(du) in lines, lines
    assert "group:%d:r-x" % layout.view_gid(dg) in lines, lines
    named = acl_named(os.getxattr(mf, ACL_XATTR_ACCESS))
    assert named[("u", layout.view_uid(du))] == 4
    assert named[("g", layout.view_gid(dg))] == 5
    if unmapped_disk:
        # hidden: no id can show it without granting it to someone
        assert len(named) == 2, named
        assert "mask::rwx" in lines, lines
        # and rewriting the ACL through the mount keeps it on disk
        good_u, _ = layout.mapped_view(layout.uid)
        r = subprocess.run(["setfacl", "-m", "u:%d:rw-" % good_u, mf],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        on_disk = acl_named(os.getxattr(f, ACL_XATTR_ACCESS))
        assert on_disk[("u", unmapped_disk)] == 1, on_disk
        assert on_disk[("u", layout.disk_uid(good_u))] == 6, on_disk

    # view -> disk: setfacl through the mount, raw xattr on disk
    good_u, bad_u = layout.mapped_view(layout.uid)
    good_g, bad_g = layout.mapped_view(layout.gid)
    r = subprocess.run(["setfacl", "-m", "u:%d:rwx,g:%d:r--" % (good_u, good_g), md],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["setfacl", "-d", "-m", "u:%d:r-x" % good_u, md], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    on_disk = acl_named(os.getxattr(d, ACL_XATTR_ACCESS))
    assert on_disk == {("u", layout.disk_uid(good_u)): 7, ("g", layout.disk_gid(good_g)): 4}
    on_disk = acl_named(os.getxattr(d, ACL_XATTR_DEFAULT))
    assert on_disk == {("u", layout.disk_uid(good_u)): 5}

    if bad_u is None:
        return  # identity: no unmapped view id exists
    # unmapped view ids are refused and nothing changes
    before = os.getxattr(d, ACL_XATTR_ACCESS)
    r = subprocess.run(["setfacl", "-m", "u:%d:rwx" % bad_u, md], capture_output=True, text=True)
    assert r.returncode != 0
    bad = acl_encode([(ACL_USER_OBJ, 7, 0xFFFFFFFF), (ACL_GROUP_OBJ, 5, 0xFFFFFFFF), (ACL_GROUP, 7, bad_g),
                      (ACL_MASK, 7, 0xFFFFFFFF), (ACL_OTHER, 5, 0xFFFFFFFF)])
    assert errno_of(os.setxattr, md, ACL_XATTR_ACCESS, bad) == "EOVERFLOW"
    assert os.getxattr(d, ACL_XATTR_ACCESS) == before


def test_capability_v3_rootid(scratch, shiftfs_mount, layout):
    s = scratch
    f = os.path.join(s.src, "prog")
    open(f, "w").close()
    # a mapped disk id whose view is not 0 (a v3 value written with root
    # id 0 is stored as v2 by the kernel: test_capability_v2_* covers that)
    disk, view, count = layout.uid[-1]
    disk_root = disk + 1 if count > 1 else disk
    os.setxattr(f, CAP_XATTR, fcaps_v3(disk_root))
    g = os.path.join(s.src, "prog2")
    open(g, "w").close()
    os.chown(g, *mapped_disk_owner(layout))
    mount(shiftfs_mount, s, layout)
    rev, perm, rootid = fcaps_decode(os.getxattr(os.path.join(s.mnt, "prog"), CAP_XATTR))
    want = layout.view_uid(disk_root)
    if want == 0:
        # the kernel reports a v3 value whose root is the caller's root as v2
        assert (rev, perm) == (2, 1 << 10)
    else:
        assert (rev, perm, rootid) == (3, 1 << 10, want)

    good_u, bad_u = layout.mapped_view(layout.uid)
    os.setxattr(os.path.join(s.mnt, "prog2"), CAP_XATTR, fcaps_v3(good_u))
    rev, perm, rootid = fcaps_decode(os.getxattr(g, CAP_XATTR))
    du = layout.disk_uid(good_u)
    if du == 0:
        assert rev in (2, 3) and (rev == 2 or rootid == 0)
    else:
        assert (rev, perm, rootid) == (3, 1 << 10, du)
    if bad_u is None:
        return  # identity: no unmapped view id exists
    # a root id with no disk image: refused, disk unchanged
    before = os.getxattr(g, CAP_XATTR)
    e = errno_of(os.setxattr, os.path.join(s.mnt, "prog2"), CAP_XATTR, fcaps_v3(bad_u))
    assert e in ("EOVERFLOW", "EINVAL"), e
    assert os.getxattr(g, CAP_XATTR) == before


def test_capability_v2_is_root_of_the_disk(scratch, shiftfs_mount, layout):
    """v1/v2 capabilities belong to disk root (uid 0). Through a mount that
    moves 0 they are presented as v3 with rootid = view of 0, as the kernel's
    idmapped mounts do; where 0 is unmapped they are hidden (ENODATA), so
    exec through the mount does not grant them."""
    s = scratch
    f = os.path.join(s.src, "prog")
    open(f, "w").close()
    os.setxattr(f, CAP_XATTR, fcaps_v2())
    before = os.getxattr(f, CAP_XATTR)
    mount(shiftfs_mount, s, layout)
    mf = os.path.join(s.mnt, "prog")
    view_root = layout._view(layout.uid, 0)
    if view_root is None:
        assert errno_of(os.getxattr, mf, CAP_XATTR) == "ENODATA"
    elif view_root == 0:
        assert fcaps_decode(os.getxattr(mf, CAP_XATTR)) == (2, 1 << 10, None)
    else:
        assert fcaps_decode(os.getxattr(mf, CAP_XATTR)) == (3, 1 << 10, view_root)
        assert len(os.getxattr(mf, CAP_XATTR)) == 24
    assert os.getxattr(f, CAP_XATTR) == before  # reading changes nothing


def test_capability_v3_unmapped_root_is_hidden(scratch, shiftfs_mount, layout):
    s = scratch
    f = os.path.join(s.src, "prog")
    open(f, "w").close()
    os.setxattr(f, CAP_XATTR, fcaps_v3(4000000000))
    mount(shiftfs_mount, s, layout)
    view = layout._view(layout.uid, 4000000000)
    mf = os.path.join(s.mnt, "prog")
    if view is None:
        assert errno_of(os.getxattr, mf, CAP_XATTR) == "ENODATA"
    else:  # identity: the root id is mapped and shown as itself
        assert fcaps_decode(os.getxattr(mf, CAP_XATTR)) == (3, 1 << 10, view)


def test_acl_order_kept_under_swapping_map(scratch, shiftfs_mount):
    """A map that swaps two ids reverses their order in an ACL; the kernel
    and ext4 require named entries in ascending id order, so the daemon must
    re-sort after shifting, both ways."""
    need_root_and_fuse()
    s = scratch
    d = os.path.join(s.src, "d")
    os.mkdir(d)
    shiftfs_mount(s.src, s.mnt, "uidmap=0:1000:1:1000:0:1:1:1:999,"
                                "gidmap=0:1000:1:1000:0:1:1:1:999")
    md = os.path.join(s.mnt, "d")
    r = subprocess.run(["setfacl", "-m", "u:0:r-x,u:1000:rwx,g:0:r--,g:1000:-wx", md],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # on disk: view 0 is disk 1000 and view 1000 is disk 0, in ascending order
    raw = os.getxattr(d, ACL_XATTR_ACCESS)
    assert acl_named(raw) == {("u", 1000): 5, ("u", 0): 7, ("g", 1000): 4, ("g", 0): 3}
    users = [i for t, _, i in acl_decode(raw) if t == ACL_USER]
    assert users == sorted(users) == [0, 1000]
    lines = _getfacl(md)
    assert "user:0:r-x" in lines and "user:1000:rwx" in lines, lines
    assert "group:0:r--" in lines and "group:1000:-wx" in lines, lines

