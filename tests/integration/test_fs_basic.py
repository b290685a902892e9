# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke tests of the shiftfs daemon: mount, owners both ways, creates as
root and as another host user, EOVERFLOW for unmapped view ids, ACLs, the
native umask/setgid/default-ACL behaviour, SIGTERM, option errors.

The map used by most tests: disk 0 <-> view 0, disk 5000 <-> view uid of
shiftfs-test; for groups disk 0 <-> 0 and disk 6000 <-> its gid. Any other
id is unmapped (disk ids show as the overflow id 65534).
"""
import os
import pwd
import re
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import (SHIFTFS, TEST_USER, Mount, is_mounted, mountinfo, need,
                      need_root_and_fuse, run_as, umount)

OVERFLOW = 65534


@pytest.fixture
def world_dirs():
    """(src, mnt) under a world-traversable scratch dir (tmp_path's parents
    are 0700, which another host user cannot pass)."""
    need_root_and_fuse()
    top = tempfile.mkdtemp(prefix="shiftfs-basic.")
    os.chmod(top, 0o755)
    src, mnt = os.path.join(top, "src"), os.path.join(top, "mnt")
    os.mkdir(src)
    os.mkdir(mnt)
    yield src, mnt
    if is_mounted(mnt):
        umount(mnt)
    shutil.rmtree(top, ignore_errors=True)


def host_test_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        need(False, "host user %s missing (run scripts/deps.sh)" % TEST_USER)


def user_map():
    u = host_test_user()
    return "uidmap=0:0:1:5000:%d:1,gidmap=0:0:1:6000:%d:1" % (u.pw_uid, u.pw_gid)


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def test_identity_mount_shows_source(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    with open(os.path.join(src, "f"), "w") as f:
        f.write("data")
    os.chown(os.path.join(src, "f"), 1234, 4321)
    os.link(os.path.join(src, "f"), os.path.join(src, "hard"))
    shiftfs_mount(src, mnt, "identity")
    fields = [f for f in mountinfo() if f[4] == mnt][0]
    fstype, source = fields[fields.index("-", 6) + 1:][:2]
    assert fstype == "fuse.shiftfs"
    assert source == src
    assert "nosuid" in fields[5] and "nodev" in fields[5]
    s, m = os.lstat(os.path.join(src, "f")), os.lstat(os.path.join(mnt, "f"))
    assert (m.st_uid, m.st_gid, m.st_ino, m.st_size) == (1234, 4321, s.st_ino, 4)
    assert os.lstat(os.path.join(mnt, "hard")).st_ino == s.st_ino
    assert m.st_nlink == 2
    # readdir's d_ino is the source inode number too
    d_inos = {e.name: e.inode() for e in os.scandir(mnt)}
    assert d_inos["f"] == s.st_ino
    with open(os.path.join(mnt, "f")) as f:
        assert f.read() == "data"


def test_shifted_owners_and_overflow(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    for name, ids in (("a", (0, 0)), ("b", (1000, 1000)), ("c", (70000, 5))):
        open(os.path.join(src, name), "w").close()
        os.chown(os.path.join(src, name), *ids)
    shiftfs_mount(src, mnt, "uidmap=0:100000:65536,gidmap=0:200000:65536")
    assert owner(os.path.join(mnt, "a")) == (100000, 200000)
    assert owner(os.path.join(mnt, "b")) == (101000, 201000)
    # disk uid 70000 is unmapped: shown as the overflow id
    assert owner(os.path.join(mnt, "c")) == (OVERFLOW, 200005)
    # readdirplus and lookup agree
    assert {e.name: e.stat(follow_symlinks=False).st_uid
            for e in os.scandir(mnt)} == {"a": 100000, "b": 101000, "c": OVERFLOW}


def test_chown_both_ways_and_eoverflow(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    open(os.path.join(src, "f"), "w").close()
    shiftfs_mount(src, mnt, "uidmap=0:100000:65536,gidmap=0:200000:65536")
    os.chown(os.path.join(mnt, "f"), 100042, 200043)
    assert owner(os.path.join(src, "f")) == (42, 43)
    os.chown(os.path.join(mnt, "f"), -1, 200007)
    assert owner(os.path.join(src, "f")) == (42, 7)
    with pytest.raises(OSError) as e:
        os.chown(os.path.join(mnt, "f"), 5, -1)
    assert e.value.errno == 75  # EOVERFLOW
    with pytest.raises(OSError) as e:
        os.chown(os.path.join(mnt, "f"), -1, 999999)
    assert e.value.errno == 75
    assert owner(os.path.join(src, "f")) == (42, 7)


def test_create_as_root_and_as_other_user(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    u = host_test_user()
    os.chmod(src, 0o777)
    shiftfs_mount(src, mnt, user_map())
    os.mkdir(os.path.join(mnt, "rootdir"))
    assert owner(os.path.join(src, "rootdir")) == (0, 0)
    r = run_as(TEST_USER, ["sh", "-c", "cd %s && echo x > f && mkdir d && "
                           "ln -s f l && mkfifo p" % mnt])
    assert r.returncode == 0, r.stderr
    for name in ("f", "d", "l", "p"):
        assert owner(os.path.join(src, name)) == (5000, 6000), name
        assert owner(os.path.join(mnt, name)) == (u.pw_uid, u.pw_gid), name
    # a hard link keeps the owner of its inode
    os.link(os.path.join(mnt, "f"), os.path.join(mnt, "f2"))
    assert owner(os.path.join(src, "f2")) == (5000, 6000)


def test_unmapped_caller_gets_eoverflow(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    os.chmod(src, 0o777)
    host_test_user()
    shiftfs_mount(src, mnt, "map=0:0:1")
    r = run_as(TEST_USER, ["touch", os.path.join(mnt, "x")])
    assert r.returncode != 0
    assert "Value too large" in r.stderr
    assert not os.path.exists(os.path.join(src, "x"))


def test_acl_round_trip(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    u = host_test_user()
    open(os.path.join(src, "f"), "w").close()
    shiftfs_mount(src, mnt, user_map())
    f = os.path.join(mnt, "f")
    r = subprocess.run(["setfacl", "-m", "u:%d:rw,g:%d:r" % (u.pw_uid, u.pw_gid), f],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    disk = subprocess.run(["getfacl", "-n", "-p", os.path.join(src, "f")],
                          capture_output=True, text=True, check=True).stdout
    assert "user:5000:rw-" in disk and "group:6000:r--" in disk
    view = subprocess.run(["getfacl", "-n", "-p", f], capture_output=True,
                          text=True, check=True).stdout
    assert "user:%d:rw-" % u.pw_uid in view and "group:%d:r--" % u.pw_gid in view
    # the kernel enforces the ACL on the view: the named user may write
    r = run_as(TEST_USER, ["sh", "-c", "echo hi >> %s" % f])
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["setfacl", "-m", "u:12345:r", f], capture_output=True, text=True)
    assert r.returncode != 0 and "Value too large" in r.stderr


def native_vs_mount(native, mounted, script):
    """Run the same shell snippet in a native dir and in the mount."""
    for d in (native, mounted):
        r = subprocess.run(["sh", "-c", "cd %s && %s" % (d, script)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_umask_setgid_default_acl_like_native(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    native = os.path.join(os.path.dirname(src), "native")
    os.mkdir(native)
    shiftfs_mount(src, mnt, "identity")
    for top in (native, os.path.join(mnt)):
        os.mkdir(os.path.join(top, "sg"))
        os.chown(os.path.join(top, "sg"), 0, 4242)
        os.chmod(os.path.join(top, "sg"), 0o2775)
        os.mkdir(os.path.join(top, "dacl"))
        subprocess.run(["setfacl", "-d", "-m", "u:1234:rwx,g::r-x,o::---",
                        os.path.join(top, "dacl")], check=True)
    native_vs_mount(native, mnt, "umask 027 && touch u && mkdir ud && "
                    "touch sg/f && mkdir sg/d && touch dacl/f && mkdir dacl/d")
    for rel in ("u", "ud", "sg/f", "sg/d", "dacl/f", "dacl/d"):
        n, m = os.lstat(os.path.join(native, rel)), os.lstat(os.path.join(mnt, rel))
        assert (oct(m.st_mode), m.st_gid) == (oct(n.st_mode), n.st_gid), rel
    for rel in ("dacl/f", "dacl/d"):
        acl = [subprocess.run(["getfacl", "-n", "-p", "-c", os.path.join(t, rel)],
                              capture_output=True, text=True, check=True).stdout
               for t in (native, mnt)]
        assert acl[0] == acl[1] and "user:1234:" in acl[1]


def test_sigterm_unmounts_cleanly(world_dirs):
    src, mnt = world_dirs
    m = Mount(src, mnt, "identity")
    try:
        with open(os.path.join(mnt, "f"), "w") as f:
            f.write("synced")
            f.flush()
            os.fsync(f.fileno())
        m.proc.send_signal(signal.SIGTERM)
        assert m.proc.wait(timeout=10) == 0
        assert not is_mounted(mnt)
        with open(os.path.join(src, "f")) as f:
            assert f.read() == "synced"
    finally:
        m.stop()


@pytest.mark.parametrize("opts,msg", [
    ("uidmap=0:1", r"^shiftfs: uidmap=0:1: range 1: expected DISK:VIEW:COUNT, got 2 fields$"),
    ("map=0:0:1,cache=sometimes", r"^shiftfs: cache=sometimes: "),
    ("map=0:0:1,identity", r"^shiftfs: give one map source"),
    ("uidmap=0:0:1", r"^shiftfs: gidmap missing"),
    ("map=0:0:1,overflow_uid=-1", r"^shiftfs: overflow_uid=-1: "),
    ("map=0:0:0", r"^shiftfs: map=0:0:0: "),
])
def test_option_errors(world_dirs, opts, msg):
    src, mnt = world_dirs
    r = subprocess.run([SHIFTFS, src, mnt, "-f", "-o", opts],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and re.search(msg, lines[0]), r.stderr
    assert not is_mounted(mnt)


def test_source_not_a_directory(world_dirs):
    src, mnt = world_dirs
    f = os.path.join(src, "file")
    open(f, "w").close()
    r = subprocess.run([SHIFTFS, f, mnt, "-f", "-o", "identity"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert r.stderr.strip() == "shiftfs: %s: Not a directory" % f
    assert not is_mounted(mnt)


def test_symlinks_returned_not_followed(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    with open(os.path.join(os.path.dirname(src), "outside"), "w") as f:
        f.write("outside")
    os.symlink("../outside", os.path.join(src, "esc"))
    shiftfs_mount(src, mnt, "identity")
    assert os.readlink(os.path.join(mnt, "esc")) == "../outside"
    assert stat.S_ISLNK(os.lstat(os.path.join(mnt, "esc")).st_mode)
    # a plain create next to it lands in SRC
    with open(os.path.join(mnt, "new"), "w") as f:
        f.write("in")
    with open(os.path.join(src, "new")) as f:
        assert f.read() == "in"


def fcaps_v3(rootid, permitted=1 << 10):
    """A security.capability v3 value (struct vfs_ns_cap_data)."""
    return struct.pack("<IIIIII", 0x03000000, permitted, 0, 0, 0, rootid)


def test_fcaps_v3_rootid_shifted(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    u = host_test_user()
    for name in ("a", "b"):
        open(os.path.join(src, name), "w").close()
    os.setxattr(os.path.join(src, "a"), "security.capability", fcaps_v3(5000))
    shiftfs_mount(src, mnt, user_map())
    v = os.getxattr(os.path.join(mnt, "a"), "security.capability")
    assert struct.unpack("<6I", v)[5] == u.pw_uid
    os.setxattr(os.path.join(mnt, "b"), "security.capability", fcaps_v3(u.pw_uid))
    v = os.getxattr(os.path.join(src, "b"), "security.capability")
    assert struct.unpack("<6I", v)[5] == 5000
    with pytest.raises(OSError) as e:
        os.setxattr(os.path.join(mnt, "b"), "security.capability", fcaps_v3(12345))
    assert e.value.errno == 75


def test_unprivileged_daemon_eperm_logged_once(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    u = host_test_user()
    os.chown(src, u.pw_uid, u.pw_gid)
    os.chown(mnt, u.pw_uid, u.pw_gid)
    m = shiftfs_mount(src, mnt, "uidmap=0:0:1:%d:%d:1,gidmap=0:0:1:%d:%d:1,allow_other"
                      % (u.pw_uid, u.pw_uid, u.pw_gid, u.pw_gid), user=TEST_USER)
    # the daemon's own ids: fine
    r = run_as(TEST_USER, ["touch", os.path.join(mnt, "mine")])
    assert r.returncode == 0, r.stderr
    assert owner(os.path.join(src, "mine")) == (u.pw_uid, u.pw_gid)
    # root's view 0 is disk 0, which this daemon cannot create as
    for name in ("x", "y"):
        with pytest.raises(PermissionError):
            open(os.path.join(mnt, name), "w")
        assert not os.path.exists(os.path.join(src, name))
    with pytest.raises(PermissionError):
        os.chown(os.path.join(mnt, "mine"), 0, -1)
    lines = [l for l in m.output().splitlines() if "CAP_CHOWN" in l]
    assert len(lines) == 1 and "disk uid 0" in lines[0], m.output()


@pytest.mark.parametrize("opts", ["cache=never", "cache=always", "writeback", "cache=auto,max_write=65536"])
def test_cache_modes_read_write(world_dirs, shiftfs_mount, opts):
    src, mnt = world_dirs
    shiftfs_mount(src, mnt, "identity," + opts)
    data = os.urandom(3 * 1024 * 1024 + 17)
    with open(os.path.join(mnt, "f"), "wb") as f:
        f.write(data)
    with open(os.path.join(mnt, "f"), "ab") as f:
        f.write(b"tail")
    with open(os.path.join(src, "f"), "rb") as f:
        assert f.read() == data + b"tail"
    with open(os.path.join(mnt, "f"), "rb") as f:
        assert f.read() == data + b"tail"
    if opts not in ("cache=always", "writeback"):
        # host-side changes show within the attribute timeout (1 s); with
        # the writeback cache the kernel owns the size (see shiftfs(8))
        with open(os.path.join(src, "f"), "wb") as f:
            f.write(b"host")
        time.sleep(1.2)
        with open(os.path.join(mnt, "f"), "rb") as f:
            assert f.read() == b"host"


def test_o_direct_read_write(world_dirs, shiftfs_mount):
    src, mnt = world_dirs
    shiftfs_mount(src, mnt, "identity")
    import mmap
    buf = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT wants
    data = os.urandom(1 << 20)
    buf[:] = data
    fd = os.open(os.path.join(mnt, "d"), os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
    try:
        assert os.pwritev(fd, [buf], 0) == len(data)
        back = mmap.mmap(-1, 1 << 20)
        assert os.preadv(fd, [back], 0) == len(data)
        assert back[:] == data
    finally:
        os.close(fd)
    with open(os.path.join(src, "d"), "rb") as f:
        assert f.read() == data


def test_user_namespace_daemon_never_creates_wrong_owner(world_dirs):
    """Root of an `unshare -r` namespace has capabilities but only one uid:
    a create for a disk id outside the namespace must fail (EPERM), not
    land on disk owned by the namespace's root.

    SRC belongs to host uid 5000, which the namespace sees as its overflow
    id 65534; the map shows that as the namespace's root (view 0), so the
    directory has a valid owner (an unmapped one would match nobody and
    the kernel would refuse the write itself), and a create by view 0 is
    for disk 65534, which the namespace cannot set."""
    src, mnt = world_dirs
    u = host_test_user()
    need(shutil.which("unshare") is not None, "needs unshare")
    top = os.path.dirname(src)
    for d in (top, mnt):
        os.chown(d, u.pw_uid, u.pw_gid)
    os.chown(src, 5000, 5000)
    os.chmod(src, 0o777)
    log = os.path.join(top, "ns.log")
    script = (
        "%s %s %s -f -o uidmap=65534:0:1,gidmap=65534:0:1 2>%s & pid=$!; "
        "for i in $(seq 100); do grep -q ' %s ' /proc/self/mountinfo && break; sleep 0.05; done; "
        "touch %s/a 2>&1; mkdir %s/b 2>&1; umount %s; wait $pid; echo rc=$?"
        % (SHIFTFS, src, mnt, log, mnt, mnt, mnt, mnt))
    r = subprocess.run(["runuser", "-u", TEST_USER, "--", "unshare", "-rm",
                        "--kill-child", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    need("cannot open" not in r.stderr and "Operation not permitted" in r.stdout
         or os.listdir(src), "unshare -rm with FUSE not usable: " + r.stderr)
    assert os.listdir(src) == [], "created with a wrong owner: %s" % os.listdir(src)
    assert r.stdout.count("Operation not permitted") == 2, r.stdout
    assert "rc=0" in r.stdout
    with open(log) as f:
        # Besides the startup note that file handles need CAP_DAC_READ_SEARCH
        # in the initial namespace (test_fs_scale.py): one line.
        lines = [l for l in f.read().splitlines()
                 if "one open fd per cached inode" not in l]
    assert len(lines) == 1 and "disk uid 65534" in lines[0], lines
