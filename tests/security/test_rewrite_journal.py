# SPDX-License-Identifier: GPL-2.0-or-later
"""Journals are input (issue 11, items 2 and 10's system directories).

A journal forged by user B in a directory B owns made root's `shiftctl
undo` set a root-owned file to B:B 4755. Now undo and --resume refuse a
journal that the effective user does not own, that group or others may
write, or that lies in a directory someone else owns or may write without
the sticky bit (checked on the fds actually read), and old-format journals;
and undo refuses system directories as chown and shift do (whole subtrees:
/usr/lib/x86_64-linux-gnu too).
"""
import fcntl
import os
import shutil
import stat
import struct
import sys
import tempfile
import zlib

import pytest

from attack import ATTACKER, as_host_user, gid_of, uid_of
from chown_util import diff, dump, make_tree, need_root, run, subid_files
from conftest import need

FS_IOC_GETVERSION = 0x80087601


def generation(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return struct.unpack("<i", fcntl.ioctl(fd, FS_IOC_GETVERSION, b"\0" * 8)[:4])[0] & 0xFFFFFFFF
    finally:
        os.close(fd)


def _btime_ns(path):
    """statx(STATX_BTIME) through libc (Python < 3.15 has no os.statx)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)
    AT_SYMLINK_NOFOLLOW, STATX_BTIME = 0x100, 0x800
    if libc.statx(-100, os.fsencode(path), AT_SYMLINK_NOFOLLOW, STATX_BTIME, buf) != 0:
        raise OSError(ctypes.get_errno(), "statx")
    mask = struct.unpack_from("<I", buf, 0)[0]
    assert mask & STATX_BTIME, "no birth time on " + path
    sec, nsec = struct.unpack_from("<qI", buf, 0x50)
    return sec * 10**9 + nsec


def forge(root, target, uid, gid, mode):
    """A well-formed format-2 chown journal for the tree root saying that
    target was uid:gid mode before a chown to 0:0: everything the attacker
    can learn without privilege (stat, a generation ioctl on a readable
    file), so that only the trust checks stand in the way."""
    rs, ts = os.stat(root), os.lstat(target)
    path = os.fsencode(root)
    h = b"SHIFTJNL" + struct.pack("<II", 2, 0)
    h += struct.pack("<IIIIII", 1, 16, 0, 0, 0, 0)  # chown, JF_SET_GID, to 0:0
    h += struct.pack("<QQ", rs.st_dev, rs.st_ino)
    h += struct.pack("<II", 65534, 65534) + struct.pack("<I", 0) + struct.pack("<I", 0)
    h += struct.pack("<I", len(path)) + path
    hlen = (len(h) + 4 + 7) & ~7
    h += b"\0" * (hlen - len(h) - 4)
    h = h[:12] + struct.pack("<I", hlen) + h[16:]
    h += struct.pack("<I", zlib.crc32(h))
    # The birth time too (statx needs no privilege): without one, undo no
    # longer trusts a setuid entry at all (test_rewrite_generation.py).
    bt = os.statx(target, os.STATX_BTIME, follow_symlinks=False).stx_btime_ns \
        if hasattr(os, "statx") else _btime_ns(target)
    ent = struct.pack("<QQIIIIIIIIqII", ts.st_dev, ts.st_ino, uid, gid, mode, 0, 0, 0,
                      3, generation(target), bt // 10**9, bt % 10**9, 0)  # JID_BTIME|JID_GEN
    rec = struct.pack("<IIQ", 0x48435442, 1, len(ent)) + ent
    rec += struct.pack("<I", zlib.crc32(rec)) + b"\0" * 4
    return h + rec


@pytest.fixture
def victim_tree(tmp_path):
    need_root()
    uid_of(ATTACKER)
    root = str(tmp_path / "tree")
    os.mkdir(root)
    target = os.path.join(root, "tool")
    with open(target, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(target, 0o755)
    return root, target


@pytest.fixture
def atk_dir():
    top = tempfile.mkdtemp(prefix="shiftfs-jnl.", dir="/tmp")
    os.chmod(top, 0o755)
    d = os.path.join(top, "atk")
    os.mkdir(d, 0o755)
    os.chown(d, uid_of(ATTACKER), gid_of(ATTACKER))
    yield d
    shutil.rmtree(top, ignore_errors=True)


def write_as_attacker(path, data):
    p = as_host_user(ATTACKER, [sys.executable, "-c",
                                "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))",
                                path, data.hex()])
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("where", ["own_dir", "sticky_tmp"])
def test_forged_journal_refused(victim_tree, atk_dir, where):
    """B's forgery in B's own directory, or in a sticky world-writable
    directory (root's /tmp-like, whose directory check passes: the file's
    owner is what refuses it)."""
    root, target = victim_tree
    atk = uid_of(ATTACKER)
    if where == "own_dir":
        j, why = os.path.join(atk_dir, "forged.journal"), "belongs to uid %d" % atk
    else:
        sticky = os.path.join(os.path.dirname(atk_dir), "sticky")
        os.mkdir(sticky)
        os.chmod(sticky, 0o1777)
        j, why = os.path.join(sticky, "forged.journal"), "owned by uid %d" % atk
    write_as_attacker(j, forge(root, target, atk, gid_of(ATTACKER), 0o104755))
    before = dump(root)
    for args in (["undo", j], ["chown", "--resume", j], ["undo", "--dry-run", j]):
        r = run(*args)
        assert dump(root) == before, "%s changed the tree:\n%s" % (args, diff(before, dump(root)))
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and j in lines[0] and "refusing" in lines[0], r.stderr
        assert why in lines[0], r.stderr
    st = os.lstat(target)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755)


def test_forgery_is_well_formed(victim_tree, tmp_path):
    """The control: the same bytes, written by root into root's 0700
    directory, are a journal root trusts, and undo obeys it to the letter
    (so nothing but the trust checks stopped the forgery above)."""
    root, target = victim_tree
    atk, agid = uid_of(ATTACKER), gid_of(ATTACKER)
    jd = tmp_path / "mine"
    jd.mkdir(mode=0o700)
    j = str(jd / "j")
    with open(j, "wb") as f:
        f.write(forge(root, target, atk, agid, 0o104755))
    os.chmod(j, 0o600)
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    st = os.lstat(target)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (atk, agid, 0o4755)


def test_root_journal_in_attacker_directory_refused(victim_tree, atk_dir, tmp_path):
    """Root's own (genuine) journal, but where the attacker can replace it."""
    root, target = victim_tree
    make_tree(os.path.join(root, "t"))
    jd = tmp_path / "j"
    jd.mkdir(mode=0o700)
    good = str(jd / "good")
    r = run("chown", "--user=1000", *subid_files(tmp_path), "--journal=" + good, root)
    assert r.returncode == 0, r.stderr
    moved = os.path.join(atk_dir, "root.journal")
    shutil.copy(good, moved)
    os.chmod(moved, 0o600)
    after = dump(root)
    r = run("undo", moved)
    assert r.returncode == 1 and "refusing" in r.stderr and atk_dir in r.stderr, r.stderr
    assert dump(root) == after
    # Creating one there is refused up front, too.
    r = run("chown", "--user=1001", *subid_files(tmp_path), "--journal=" + os.path.join(atk_dir, "new"), root)
    assert r.returncode == 1 and "refusing" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(atk_dir, "new"))


def test_writable_symlinked_and_old_journals_refused(victim_tree, tmp_path):
    root, target = victim_tree
    jd = tmp_path / "j"
    jd.mkdir(mode=0o700)
    j = str(jd / "j")
    r = run("chown", "--user=1000", *subid_files(tmp_path), "--journal=" + j, root)
    assert r.returncode == 0, r.stderr
    after = dump(root)
    os.chmod(j, 0o620)
    r = run("undo", j)
    assert r.returncode == 1 and "writable by group or others" in r.stderr, r.stderr
    os.chmod(j, 0o600)
    os.symlink(j, str(jd / "link"))
    r = run("undo", str(jd / "link"))
    assert r.returncode == 1 and "symbolic link" in r.stderr, r.stderr
    # A directory others may write (not sticky).
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    shutil.copy(j, open_dir / "j")
    r = run("undo", str(open_dir / "j"))
    assert r.returncode == 1 and "writable by others" in r.stderr, r.stderr
    # Format 1 (no inode identities): refused with a clear message.
    old = str(jd / "old")
    with open(j, "rb") as f:
        data = bytearray(f.read())
    data[8:12] = struct.pack("<I", 1)
    with open(old, "wb") as f:
        f.write(data)
    os.chmod(old, 0o600)
    r = run("undo", old)
    assert r.returncode == 1 and "older shiftctl" in r.stderr and "format 1" in r.stderr, r.stderr
    assert dump(root) == after
    # The genuine one, where it was written: undoes exactly.
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    st = os.lstat(target)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755)


def test_root_journal_in_private_dir_undoes_exactly(tmp_path):
    need_root()
    root = str(tmp_path / "vol")
    make_tree(root)
    before = dump(root)
    jd = tmp_path / "private"
    jd.mkdir(mode=0o700)
    j = str(jd / "j")
    r = run("chown", "--user=1000", *subid_files(tmp_path), "--journal=" + j, root)
    assert r.returncode == 0, r.stderr
    assert dump(root) != before
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert dump(root) == before, diff(before, dump(root))
    # A sticky world-writable directory (like /tmp) is fine.
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    j2 = str(sticky / "j")
    assert run("chown", "--user=1000", *subid_files(tmp_path), "--journal=" + j2, root).returncode == 0
    r = run("undo", j2)
    assert r.returncode == 0, r.stderr
    assert dump(root) == before


@pytest.mark.parametrize("path", ["/usr/lib/x86_64-linux-gnu", "/etc/default", "/var/lib"])
def test_system_subtrees_refused(path, tmp_path):
    need_root()
    need(os.path.isdir(path), "%s does not exist here" % path)
    for verb in (["chown", "--user=0"] + subid_files(tmp_path), ["shift", "--map=0:100000:65536"]):
        r = run(*verb, "--dry-run", path)
        assert r.returncode == 1 and "refusing" in r.stderr, (verb, r.stderr)


def test_undo_refuses_system_subtree_without_force(tmp_path):
    need_root()
    d = tempfile.mkdtemp(prefix="shiftfs-h4.", dir="/var/cache")
    try:
        with open(os.path.join(d, "f"), "w") as f:
            f.write("x")
        jd = tmp_path / "j"
        jd.mkdir(mode=0o700)
        j = str(jd / "j")
        r = run("shift", "--map=0:100000:65536", "--journal=" + j, d)
        assert r.returncode == 1 and "refusing" in r.stderr, r.stderr
        r = run("shift", "--map=0:100000:65536", "--force", "--journal=" + j, d)
        assert r.returncode == 0, r.stderr
        r = run("undo", j)
        assert r.returncode == 1 and "refusing" in r.stderr and "/var/cache" in r.stderr, r.stderr
        assert os.lstat(os.path.join(d, "f")).st_uid == 100000
        r = run("undo", "--force", j)
        assert r.returncode == 0, r.stderr
        assert os.lstat(os.path.join(d, "f")).st_uid == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)
