# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs against hostile or broken input.

Symlinks pointing out of the source tree, ".." at the mount root, names at
NAME_MAX with every byte value, garbage ACL and capability xattr values,
ids at 2^32-2 on disk, the source tree removed or renamed under a live
mount, ENOSPC on the source filesystem, a daemon killed with SIGKILL, and
bad command lines. The daemon must never serve anything from outside the
source tree, never crash, and always be unmountable.
"""
import os
import random
import signal
import stat
import subprocess
import time

import pytest

from conftest import SHIFTFS, is_mounted, need, need_root_and_fuse
from fs_util import (ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ,
                     ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT, CAP_XATTR, acl_encode, acl_named,
                     ename, errno_of, owner)

BIG = 4294967294
GONE = ("ENOENT", "ESTALE")


@pytest.fixture
def tree(tmp_path):
    """tmp/outer/src (the source), tmp/outer/SIBLING, tmp/mnt, tmp/native."""
    need_root_and_fuse()
    outer = tmp_path / "outer"
    outer.mkdir()
    src, mnt, native = outer / "src", tmp_path / "mnt", tmp_path / "native"
    for d in (src, mnt, native):
        d.mkdir()
    (outer / "SIBLING").write_text("outside the source tree")
    return str(tmp_path), str(src), str(mnt), str(native)


def test_symlinks_out_of_the_tree_are_returned_not_followed(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    os.symlink("/etc", os.path.join(src, "esc"))
    os.symlink("../../", os.path.join(src, "up"))
    os.symlink("../SIBLING", os.path.join(src, "sib"))
    sibling = os.path.join(os.path.dirname(src), "SIBLING")
    os.setxattr(sibling, "user.secret", b"host")
    os.mkdir(os.path.join(src, "d"))
    os.symlink("../../../SIBLING", os.path.join(src, "d", "deep"))
    shiftfs_mount(src, mnt, "map=0:0:65536")
    # readlink returns the stored target, whatever it is
    assert os.readlink(os.path.join(mnt, "esc")) == "/etc"
    assert os.readlink(os.path.join(mnt, "up")) == "../../"
    assert os.readlink(os.path.join(mnt, "sib")) == "../SIBLING"
    assert os.readlink(os.path.join(mnt, "d", "deep")) == "../../../SIBLING"
    assert stat.S_ISLNK(os.lstat(os.path.join(mnt, "esc")).st_mode)
    # following happens in the caller's namespace, as the kernel resolves it:
    # MNT/esc/passwd is the host /etc/passwd, MNT/up is MNT/../../
    with open(os.path.join(mnt, "esc", "passwd"), "rb") as f, open("/etc/passwd", "rb") as g:
        assert f.read() == g.read()
    assert sorted(os.listdir(os.path.join(mnt, "up"))) == sorted(os.listdir(os.path.dirname(top)))
    # MNT/sib resolves to TOP/SIBLING (absent), not to SRC/../SIBLING
    assert errno_of(os.stat, os.path.join(mnt, "sib")) == "ENOENT"
    assert errno_of(os.stat, os.path.join(mnt, "d", "deep")) == "ENOENT"
    # operations on the link itself never touch the target
    assert errno_of(os.getxattr, os.path.join(mnt, "sib"), "user.secret", follow_symlinks=False) == "ENODATA"
    assert "user.secret" not in os.listxattr(os.path.join(mnt, "sib"), follow_symlinks=False)
    os.lchown(os.path.join(mnt, "sib"), 5, 5)
    assert owner(sibling) == (0, 0)
    os.utime(os.path.join(mnt, "sib"), ns=(1, 1), follow_symlinks=False)
    assert os.stat(sibling).st_mtime_ns != 1
    assert errno_of(os.setxattr, os.path.join(mnt, "sib"), "trusted.x", b"1", follow_symlinks=False) is None
    assert errno_of(os.getxattr, sibling, "trusted.x") == "ENODATA"
    # a symlink loop is the caller's ELOOP, not a daemon hang
    os.symlink("loop", os.path.join(src, "loop"))
    assert errno_of(os.stat, os.path.join(mnt, "loop")) == "ELOOP"


def test_dotdot_at_the_root_stays_in_the_mount(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    os.makedirs(os.path.join(src, "a", "b"))
    shiftfs_mount(src, mnt, "identity")
    # MNT/.. is MNT's parent (top), never SRC's parent (outer)
    assert os.stat(os.path.join(mnt, "..")).st_ino == os.stat(top).st_ino
    assert sorted(os.listdir(os.path.join(mnt, ".."))) == sorted(os.listdir(top))
    assert "SIBLING" not in os.listdir(os.path.join(mnt, ".."))
    assert os.stat(os.path.join(mnt, "a", "b", "..", "..", "..")).st_ino == os.stat(top).st_ino
    fd = os.open(mnt, os.O_PATH | os.O_DIRECTORY)
    try:
        assert os.stat("..", dir_fd=fd).st_ino == os.stat(top).st_ino
        assert os.stat(".", dir_fd=fd).st_ino == os.stat(src).st_ino
    finally:
        os.close(fd)
    # a name that looks like a path component is just a name
    assert errno_of(os.stat, os.path.join(mnt, "...")) == "ENOENT"
    # the root's ".." inside readdir is the mount's own idea, "." is the root
    with os.scandir(mnt) as it:
        assert sorted(e.name for e in it) == ["a"]


def test_names_at_name_max_with_every_byte(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    shiftfs_mount(src, mnt, "identity")
    m = os.fsencode(mnt)
    allbytes = bytes(b for b in range(1, 256) if b != ord("/")) + b"a"  # 255 bytes
    names = [allbytes, allbytes[::-1], (b"\xff" * 255), b"\n" * 255, b"-" + b"x" * 254,
             ("é" * 127).encode() + b"x"]
    for n in names:
        assert len(n) == 255
        p = os.path.join(m, n)
        with open(p, "wb") as f:
            f.write(n)
        assert os.stat(p).st_size == 255
        os.mkdir(os.path.join(m, b"d" + n[1:]))
    assert sorted(os.listdir(m)) == sorted(names + [b"d" + n[1:] for n in names])
    assert sorted(os.listdir(os.fsencode(src))) == sorted(os.listdir(m))
    for n in names:
        with open(os.path.join(os.fsencode(src), n), "rb") as f:
            assert f.read() == n
        os.rename(os.path.join(m, n), os.path.join(m, b"d" + n[1:], n))
        os.unlink(os.path.join(m, b"d" + n[1:], n))
        os.rmdir(os.path.join(m, b"d" + n[1:]))
    assert os.listdir(m) == []
    assert errno_of(os.mkdir, os.path.join(m, b"x" * 256)) == "ENAMETOOLONG"
    assert errno_of(os.stat, os.path.join(m, b"x" * 1024)) == "ENAMETOOLONG"
    assert errno_of(os.symlink, b"x" * 4096, os.path.join(m, b"s")) == "ENAMETOOLONG"


def _garbage_values(rng):
    vals = [b"", b"\x00", b"\x02\x00\x00\x00", b"\x01\x00\x00\x00" + b"\x01\x00\x06\x00\xff\xff\xff\xff",
            b"\x02\x00\x00\x00" + b"\x01\x00",
            acl_encode([(0x40, 7, 0)]),  # unknown tag
            acl_encode([(ACL_USER_OBJ, 7, 0), (ACL_GROUP_OBJ, 7, 0), (ACL_OTHER, 7, 0), (ACL_USER, 7, 5)]),  # unsorted
            acl_encode([(ACL_USER_OBJ, 7, 0), (ACL_USER, 7, 5), (ACL_GROUP_OBJ, 7, 0), (ACL_OTHER, 7, 0)]),  # no mask
            acl_encode([(ACL_USER_OBJ, 7, 0), (ACL_USER, 7, 5), (ACL_USER, 7, 5), (ACL_GROUP_OBJ, 7, 0),
                        (ACL_MASK, 7, 0), (ACL_OTHER, 7, 0)]),  # duplicate
            acl_encode([(ACL_USER_OBJ, 0xFFFF, 0), (ACL_GROUP_OBJ, 7, 0), (ACL_OTHER, 7, 0)]),  # bad perms
            acl_encode([(ACL_USER_OBJ, 7, 0), (ACL_GROUP_OBJ, 7, 0), (ACL_OTHER, 7, 0)] * 3000)]  # too big
    vals += [rng.randbytes(rng.randrange(1, 200)) for _ in range(40)]
    vals += [b"\x02\x00\x00\x00" + rng.randbytes(8 * rng.randrange(1, 20)) for _ in range(40)]
    return vals


def test_garbage_acl_and_capability_values(tree, shiftfs_mount):
    """Same errno as the native filesystem for every value; the daemon stays up."""
    top, src, mnt, native = tree
    for base in (src, native):
        open(os.path.join(base, "f"), "w").close()
        os.mkdir(os.path.join(base, "d"))
    shiftfs_mount(src, mnt, "map=0:0:65536", expect_log=r"(?i)invalid|malformed|acl|capab")
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    diffs = []
    for i, v in enumerate(_garbage_values(rng)):
        for name, target in ((ACL_XATTR_ACCESS, "f"), (ACL_XATTR_DEFAULT, "d"), (CAP_XATTR, "f")):
            a = errno_of(os.setxattr, os.path.join(native, target), name, v)
            b = errno_of(os.setxattr, os.path.join(mnt, target), name, v)
            if a != b:
                diffs.append((i, name, v[:24].hex(), "native", a, "shiftfs", b))
            # still alive, and the file still readable
            os.stat(os.path.join(mnt, target))
    assert not diffs, "seed=%d: %s" % (seed, diffs[:10])
    # garbage is refused outright (no partial store); an unknown ACL
    # version is EOPNOTSUPP in the kernel's own parser, a torn value EINVAL
    assert errno_of(os.setxattr, os.path.join(mnt, "f"), ACL_XATTR_ACCESS, b"\x07garbage") == "ENOTSUP"
    assert errno_of(os.setxattr, os.path.join(mnt, "f"), ACL_XATTR_ACCESS, b"\x02\0\0\0\x07garbag") == "EINVAL"
    assert errno_of(os.setxattr, os.path.join(mnt, "f"), CAP_XATTR, b"\x07garbage") == "EINVAL"
    assert errno_of(os.getxattr, os.path.join(mnt, "f"), ACL_XATTR_ACCESS) in ("ENODATA", None)
    assert sorted(os.listdir(mnt)) == ["d", "f"]


def test_ids_at_the_top_of_the_range(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    mnt2 = os.path.join(top, "mnt2")
    os.mkdir(mnt2)
    f = os.path.join(src, "big")
    open(f, "w").close()
    os.chown(f, BIG, BIG)
    g = os.path.join(src, "acl")
    open(g, "w").close()
    os.setxattr(g, ACL_XATTR_ACCESS, acl_encode([
        (ACL_USER_OBJ, 6, 0xFFFFFFFF), (ACL_USER, 4, BIG), (ACL_GROUP_OBJ, 4, 0xFFFFFFFF),
        (ACL_GROUP, 4, BIG), (ACL_MASK, 4, 0xFFFFFFFF), (ACL_OTHER, 4, 0xFFFFFFFF)]))
    shiftfs_mount(src, mnt, "identity")
    shiftfs_mount(src, mnt2, "map=0:100000:65536")
    assert owner(os.path.join(mnt, "big")) == (BIG, BIG)
    assert owner(os.path.join(mnt2, "big")) == (65534, 65534)
    assert acl_named(os.getxattr(os.path.join(mnt, "acl"), ACL_XATTR_ACCESS)) == {("u", BIG): 4, ("g", BIG): 4}
    # entries naming unmapped disk ids are left out of the view (they
    # grant nothing to anyone, as on an idmapped mount); the mask stays
    assert acl_named(os.getxattr(os.path.join(mnt2, "acl"), ACL_XATTR_ACCESS)) == {}
    # identity maps 2^32-2 both ways; chown -1 is "unchanged", never an id
    os.chown(os.path.join(mnt, "acl"), BIG - 1, BIG - 1)
    assert owner(g) == (BIG - 1, BIG - 1)
    os.chown(os.path.join(mnt, "acl"), -1, -1)
    assert owner(g) == (BIG - 1, BIG - 1)
    assert errno_of(os.chown, os.path.join(mnt2, "acl"), BIG, -1) == "EOVERFLOW"
    assert errno_of(os.chown, os.path.join(mnt2, "acl"), 65534, -1) == "EOVERFLOW"
    assert owner(g) == (BIG - 1, BIG - 1)
    # files shown as the overflow id match nobody, not even root (no
    # CAP_DAC_OVERRIDE over an invalid owner, as on an idmapped mount); the
    # identity mount still writes them
    os.chown(f, BIG, BIG)
    assert errno_of(open, os.path.join(mnt2, "big"), "w") == "EACCES"
    with open(os.path.join(mnt, "big"), "w") as h:
        h.write("x")
    assert owner(f) == (BIG, BIG)


def test_source_renamed_while_mounted(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    with open(os.path.join(src, "f"), "w") as f:
        f.write("kept")
    m = shiftfs_mount(src, mnt, "identity")
    moved = os.path.join(top, "moved")
    os.rename(src, moved)
    # the daemon holds the directory, not the path (like a bind mount)
    with open(os.path.join(mnt, "f")) as f:
        assert f.read() == "kept"
    with open(os.path.join(mnt, "g"), "w") as f:
        f.write("new")
    assert os.path.exists(os.path.join(moved, "g"))
    m.stop()
    assert not is_mounted(mnt)
    assert m.proc.returncode == 0


@pytest.mark.parametrize("opts,wait", [("identity,cache=never", 0), ("identity", 1.3)], ids=["never", "auto"])
def test_source_removed_while_mounted(tree, shiftfs_mount, opts, wait):
    """Changes behind the mount's back show after the cache timeout (1 s
    for cache=auto, at once for cache=never)."""
    top, src, mnt, _ = tree
    os.makedirs(os.path.join(src, "sub", "deeper"))
    with open(os.path.join(src, "sub", "f"), "w") as f:
        f.write("x")
    with open(os.path.join(src, "top"), "w") as f:
        f.write("x")
    m = shiftfs_mount(src, mnt, opts)
    # hold references the way a shell in the directory would
    subfd = os.open(os.path.join(mnt, "sub"), os.O_RDONLY | os.O_DIRECTORY)
    ffd = os.open(os.path.join(mnt, "sub", "f"), os.O_RDONLY)
    try:
        assert sorted(os.listdir(os.path.join(mnt, "sub"))) == ["deeper", "f"]
        subprocess.run(["rm", "-rf", os.path.join(src, "sub")], check=True)
        time.sleep(wait)
        assert errno_of(os.stat, os.path.join(mnt, "sub")) in GONE
        assert errno_of(os.stat, "f", dir_fd=subfd) in GONE
        assert errno_of(os.open, "new", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=subfd) in GONE
        assert errno_of(os.mkdir, "nd", dir_fd=subfd) in GONE
        e = errno_of(os.listdir, subfd)
        assert e in GONE or os.listdir(subfd) == [], e
        # an open file of a removed tree still reads (unlinked inode)
        assert os.pread(ffd, 10, 0) == b"x"
        # now the whole source
        subprocess.run(["rm", "-rf", src], check=True)
        time.sleep(wait)
        assert errno_of(os.stat, os.path.join(mnt, "top")) in GONE
        assert errno_of(os.open, os.path.join(mnt, "new"), os.O_CREAT | os.O_WRONLY, 0o644) in GONE
        assert errno_of(os.mkdir, os.path.join(mnt, "nd")) in GONE
        e = errno_of(os.listdir, mnt)
        assert e in GONE or os.listdir(mnt) == [], e
        os.stat(mnt)  # the root itself still answers
        assert not os.path.exists(src), "nothing recreated the source"
    finally:
        os.close(subfd)
        os.close(ffd)
    m.stop()
    assert not is_mounted(mnt)
    assert m.proc.returncode == 0


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs to use as the source."""
    need_root_and_fuse()
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(d)],
                       capture_output=True, text=True)
    need(r.returncode == 0, "cannot mount a tmpfs: " + r.stderr)
    yield str(d)
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("opts", ["identity", "map=0:100000:65536:65536:0:1"])
def test_enospc_on_the_source(small_fs, tmp_path, shiftfs_mount, opts):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    os.chmod(small_fs, 0o777)
    shiftfs_mount(small_fs, mnt, opts)
    p = os.path.join(str(mnt), "fill")
    rng = random.Random(1)
    written = bytearray()
    err = None
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for _ in range(200):
            chunk = rng.randbytes(100000)
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                err = e.errno
                break
            written += chunk[:n]
        else:
            pytest.fail("wrote %d bytes into a 4 MiB filesystem without ENOSPC" % len(written))
        assert ename(err) == "ENOSPC"
        # fsync/close report nothing new: every byte the writes accepted is stored
        os.fsync(fd)
    finally:
        os.close(fd)
    assert len(written) > 3 * 1024 * 1024
    with open(p, "rb") as f:
        assert f.read() == bytes(written)
    with open(os.path.join(small_fs, "fill"), "rb") as f:
        assert f.read() == bytes(written)
    # the daemon survives: creates of empty files still work, and more data fails
    open(os.path.join(str(mnt), "empty"), "w").close()
    assert errno_of(lambda: open(os.path.join(str(mnt), "more"), "wb").write(b"y" * 200000)) == "ENOSPC"
    fd = os.open(p, os.O_WRONLY)
    try:
        assert errno_of(os.posix_fallocate, fd, 0, 64 << 20) == "ENOSPC"
    finally:
        os.close(fd)
    # freeing space makes it usable again. The daemon keeps an O_PATH fd per
    # inode the kernel knows until the kernel's FORGET arrives, which is
    # asynchronous: allow it a moment to release the unlinked file.
    before = os.statvfs(small_fs).f_bfree
    os.unlink(p)
    deadline = time.monotonic() + 5
    while os.statvfs(small_fs).f_bfree < before + 512 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.statvfs(small_fs).f_bfree >= before + 512, "space of the unlinked file not released in 5 s"
    with open(os.path.join(str(mnt), "again"), "wb") as f:
        f.write(b"z" * 1000000)
    assert os.stat(os.path.join(small_fs, "again")).st_size == 1000000


def test_daemon_killed(tree, shiftfs_mount):
    top, src, mnt, _ = tree
    open(os.path.join(src, "f"), "w").close()
    m = shiftfs_mount(src, mnt, "identity")
    assert os.listdir(mnt) == ["f"]
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait(timeout=10)
    assert m.proc.returncode == -signal.SIGKILL
    assert is_mounted(mnt)
    # anything that reaches the daemon (attributes may still be cached)
    assert errno_of(os.stat, os.path.join(mnt, "not-cached")) == "ENOTCONN"
    assert errno_of(os.listdir, mnt) == "ENOTCONN"
    assert errno_of(os.open, os.path.join(mnt, "f"), os.O_RDONLY) == "ENOTCONN"
    r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
    assert os.listdir(mnt) == []
    assert os.listdir(src) == ["f"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_unmounts_cleanly(tree, shiftfs_mount, sig):
    """A requested stop is a success: exit 0 (systemd and scripts check it)."""
    top, src, mnt, _ = tree
    m = shiftfs_mount(src, mnt, "identity")
    m.proc.send_signal(sig)
    m.proc.wait(timeout=10)
    assert m.proc.returncode == 0
    assert not is_mounted(mnt)


BAD_OPTIONS = [
    # (id, -o value or None, how SRC is given, tokens of which one must be in the message)
    ("uidmap_short", "uidmap=0:100000", "dir", ["uidmap", "0:100000"]),
    ("uidmap_text", "uidmap=abc", "dir", ["uidmap", "abc"]),
    ("uidmap_overlap", "uidmap=0:100000:10:5:200000:10", "dir", ["uidmap", "overlap"]),
    ("uidmap_zero_count", "uidmap=0:100000:0", "dir", ["uidmap", "count"]),
    ("uidmap_wrap", "uidmap=4294967290:0:100", "dir", ["uidmap", "4294967290"]),
    ("gidmap_bad", "map=0:0:1,gidmap=x:y:z", "dir", ["gidmap", "x:y:z"]),
    ("rootless_no_user", "rootless=no-such-user-xyz", "dir", ["no-such-user-xyz"]),
    ("rootless_no_subuid", "rootless=root,subuid_file=/nonexistent/subuid", "dir", ["/nonexistent/subuid", "subuid"]),
    ("owner_bad", "map=0:0:1,owner=abc", "dir", ["owner", "abc"]),
    ("cache_bad", "identity,cache=sometimes", "dir", ["cache", "sometimes"]),
    ("overflow_bad", "identity,overflow_uid=-5", "dir", ["overflow_uid", "-5"]),
    ("src_missing", "identity", "missing", ["src-missing", "No such file"]),
    ("src_file", "identity", "file", ["src-file", "Not a directory"]),
]


@pytest.mark.parametrize("opt,srckind,tokens", [b[1:] for b in BAD_OPTIONS], ids=[b[0] for b in BAD_OPTIONS])
def test_option_errors(tmp_path, opt, srckind, tokens):
    need_root_and_fuse()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if srckind == "dir":
        src = tmp_path / "src"
        src.mkdir()
    elif srckind == "file":
        src = tmp_path / "src-file"
        src.write_text("x")
    else:
        src = tmp_path / "src-missing"
    cmd = [SHIFTFS, str(src), str(mnt), "-f", "-o", opt]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    finally:
        if is_mounted(str(mnt)):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
            pytest.fail("%s mounted despite a bad option" % cmd)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(lines) == 1, r.stderr
    assert any(t in lines[0] for t in tokens), (tokens, lines[0])
    assert r.stdout == ""
