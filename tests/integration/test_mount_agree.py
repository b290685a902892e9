# SPDX-License-Identifier: GPL-2.0-or-later
"""The two backends agree: the same SRC mounted with the same map through a
kernel idmapped mount and through shiftfs shows the same owners, modes and
ACL entries, file by file, and refuses the same things the same way.

Differences found and asserted as documented behaviour (shiftctl-mount(1)):
  - none in owners, modes or ACL entries for mapped ids;
  - an ACL entry whose disk id is unmapped: shiftfs leaves it out of the
    view (the kernel refuses (uid_t)-1 inside a FUSE ACL reply and would
    match any other id); the kernel shows 4294967295 (ACL_UNDEFINED_ID).
    Either way it grants nothing to anyone;
  - a create or chown with an unmapped view id: EOVERFLOW on both;
  - setting an ACL entry with an unmapped view id: EOVERFLOW from shiftfs,
    EINVAL from the kernel's idmapped mount. Nothing is stored by either;
  - adding an entry to an ACL that names an unmapped disk id: setfacl
    rejects the idmapped mount's 4294967295 qualifier itself; through
    shiftfs it works and the hidden entry stays on disk.
"""
import errno
import os
import subprocess

import pytest

from conftest import need_root_and_fuse
from mount_util import (OVERFLOW_GID, OVERFLOW_UID, Map, getfacl, make_tree,  # noqa: F401
                        mounts, walk, world_tmp)

MAP = "0:100000:65536"
M = Map([(0, 100000, 65536)], OVERFLOW_UID)



def suid_ok(backend):
    """SRC here is in a world-traversable scratch dir and the maps give a
    view id disk uid 0: the idmap backend needs the administrator's
    override (the rule itself is tested in tests/security)."""
    return ["--allow-suid-src"] if backend == "idmap" else []


@pytest.fixture
def both(world_tmp, mounts):
    """SRC with a varied tree, mounted at mnt-idmap and mnt-fuse."""
    need_root_and_fuse()
    src = os.path.join(world_tmp, "src")
    os.mkdir(src)
    make_tree(src)
    pub = os.path.join(src, "pub")
    os.mkdir(pub)
    os.chmod(pub, 0o1777)
    out = {}
    for backend in ("idmap", "fuse"):
        mnt = os.path.join(world_tmp, "mnt-" + backend)
        os.mkdir(mnt)
        mounts.mount("--backend=" + backend, *suid_ok(backend), "--map=" + MAP, src, mnt)
        out[backend] = mnt
    return src, out["idmap"], out["fuse"]


def as_view(uid, gid, script):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                           "--clear-groups", "sh", "-c", script],
                          capture_output=True, text=True)


def normalise(idmap_acl):
    """The kernel's unmapped ACL entries, which shiftfs does not show."""
    return sorted(l for l in idmap_acl if ":4294967295:" not in l)


def test_owners_modes_acls_agree(both):
    src, mi, mf = both
    paths = walk(src)
    assert walk(mi) == paths == walk(mf)
    acl_files = 0
    for rel in paths:
        a, b = os.lstat(os.path.join(mi, rel)), os.lstat(os.path.join(mf, rel))
        assert (a.st_uid, a.st_gid, a.st_mode) == (b.st_uid, b.st_gid, b.st_mode), rel
        s = os.lstat(os.path.join(src, rel))
        assert (a.st_uid, a.st_gid) == (M.view(s.st_uid), M.view(s.st_gid)), rel
        if os.path.islink(os.path.join(src, rel)):
            continue
        fa, fb = getfacl(os.path.join(mi, rel)), getfacl(os.path.join(mf, rel))
        assert normalise(fa) == sorted(fb), rel
        if fa:
            acl_files += 1
    assert acl_files == 2
    # The entries themselves are shifted: u:5 -> 100005, g:1000 -> 101000,
    # and the unmapped disk uid 70000 is invalid on idmap, hidden on fuse.
    f0 = getfacl(os.path.join(mi, "f0"))
    assert "user:100005:rwx" in f0
    assert "group:101000:r-x" in f0
    assert "user:4294967295:r--" in f0
    f0 = getfacl(os.path.join(mf, "f0"))
    assert "user:100005:rwx" in f0
    assert not [l for l in f0 if l.startswith("user:%d:" % OVERFLOW_UID)], f0
    d5 = getfacl(os.path.join(mf, "d5"))
    assert "default:user:101000:rwx" in d5
    assert "default:group:100005:r-x" in d5


def test_create_as_mapped_view_user_agrees(both):
    src, mi, mf = both
    for mnt, name in ((mi, "by-idmap"), (mf, "by-fuse")):
        r = as_view(100007, 100008, "umask 022; echo x > %s/pub/%s" % (mnt, name))
        assert r.returncode == 0, r.stderr
        st = os.lstat(os.path.join(src, "pub", name))
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (7, 8, 0o644)


def test_unmapped_view_id_gives_eoverflow_on_both(both):
    src, mi, mf = both
    for mnt in (mi, mf):
        # A caller whose view id has no disk id cannot create.
        r = as_view(1234, 1234, "touch %s/pub/x" % mnt)
        assert r.returncode != 0
        assert "Value too large" in r.stderr, (mnt, r.stderr)
        assert not os.path.exists(os.path.join(src, "pub", "x"))
        # chown to an unmapped view id.
        with pytest.raises(OSError) as ei:
            os.chown(os.path.join(mnt, "f5"), 1234, -1)
        assert ei.value.errno == errno.EOVERFLOW, mnt
        assert os.lstat(os.path.join(src, "f5")).st_uid == 5


def test_acl_written_through_both_backends_agrees(both):
    src, mi, mf = both
    for mnt, f in ((mi, "f1000"), (mf, "d1000")):
        subprocess.run(["setfacl", "-m", "u:100009:rw-,g:100010:r--",
                        os.path.join(mnt, f)], check=True)
        disk = getfacl(os.path.join(src, f))
        assert "user:9:rw-" in disk and "group:10:r--" in disk, (mnt, disk)
    for f in ("f1000", "d1000"):
        assert getfacl(os.path.join(mf, f)) == getfacl(os.path.join(mi, f))
    # f65535's group (disk 65536) is unmapped: an invalid owner, no xattr
    # written on either backend, not even by root
    for mnt in (mi, mf):
        r = subprocess.run(["setfacl", "-m", "u:100009:rw-",
                            os.path.join(mnt, "f65535")], capture_output=True, text=True)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, (mnt, r.stderr)
    assert "user:9" not in " ".join(getfacl(os.path.join(src, "f65535")))
    for mnt, err in ((mi, "Invalid argument"), (mf, "Value too large")):
        r = subprocess.run(["setfacl", "-m", "u:1234:rw-",
                            os.path.join(mnt, "f5")], capture_output=True, text=True)
        assert r.returncode != 0 and err in r.stderr, (mnt, r.stderr)
        assert "user:1234" not in " ".join(getfacl(os.path.join(src, "f5")))


def test_acl_with_unmapped_disk_entry_keeps_it(both):
    """f0's ACL names disk uid 70000, which the map does not cover. Adding
    an entry rewrites the whole ACL: setfacl itself rejects the idmapped
    mount's 4294967295 qualifier before any write; through shiftfs the
    entry was never shown, the write succeeds and the daemon keeps the
    hidden entry on disk."""
    src, mi, mf = both
    before = getfacl(os.path.join(src, "f0"))
    r = subprocess.run(["setfacl", "-m", "g:100003:r--",
                        os.path.join(mi, "f0")], capture_output=True, text=True)
    assert r.returncode != 0 and "Malformed access ACL" in r.stderr, r.stderr
    assert getfacl(os.path.join(src, "f0")) == before
    r = subprocess.run(["setfacl", "-m", "g:100003:r--",
                        os.path.join(mf, "f0")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    after = getfacl(os.path.join(src, "f0"))
    assert sorted(after) == sorted(before + ["group:3:r--"]), after
