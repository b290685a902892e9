# SPDX-License-Identifier: GPL-2.0-or-later
"""A generation proves nothing against the inode's owner.

On a filesystem without birth times (ext4 with 128-byte inodes, as ext2
and ext3 volumes are), the journal told a setuid inode from a replacement
by its generation alone. But the owner of a file sets its generation
(`chattr -v`, FS_IOC_SETVERSION) and anyone reads the original's (`lsattr
-v`). After a shift that crashed before it changed root's 4755 binary, the
container (a real user namespace mapping 0 -> 100000) deleted it, made its
own file take the inode number and the generation, chmod 4755: root's
`shiftctl undo` made the container's code root:root 4755.

Now a setuid/setgid or capability inode with no birth time is trusted only
with the record of how the run left it (APLD, written and fdatasync'd right
after that inode changed) and only when that record's ctime has a
sub-second part (whole-second timestamps let a replacement made in the same
second match it); else it is skipped and reported, exit 1.
"""
import ctypes
import fcntl
import os
import stat
import struct
import subprocess
import sys

from attack import in_userns
from chown_util import ext4_image, need_root, run
from conftest import SHIFTCTL, need, need_test_hooks

FIXTURES = (ext4_image,)

MAP = "--map=0:100000:65536"
UMAP = "0 100000 65536"
FS_IOC_GETVERSION = 0x80087601
EVIL = "#!/bin/sh\necho container code\n"

# Root inside the container: replace PATH by a file of its own with the
# same inode number and generation, setuid.
REPLACE = r"""
import fcntl, os, struct, sys
path, ino, gen, evil = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
d = os.path.dirname(path)
os.unlink(path)
for i in range(3000):
    p = os.path.join(d, "c%d" % i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    os.write(fd, evil.encode())
    os.close(fd)
    if os.lstat(p).st_ino == ino:
        break
    os.unlink(p)
else:
    sys.exit(3)
os.chmod(p, 0o4755)
fd = os.open(p, os.O_RDONLY)
fcntl.ioctl(fd, 0x40087602, struct.pack("<q", gen))  # FS_IOC_SETVERSION
os.close(fd)
os.rename(p, path)
"""


def generation(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return struct.unpack("<i", fcntl.ioctl(fd, FS_IOC_GETVERSION, b"\0" * 8)[:4])[0] \
            & 0xFFFFFFFF
    finally:
        os.close(fd)


def has_btime(path):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)
    assert libc.statx(-100, os.fsencode(path), 0x100, 0x800, buf) == 0
    return bool(struct.unpack_from("<I", buf, 0)[0] & 0x800)


def coarse(ext4_image):
    """An ext4 without birth times (and with whole-second ctimes)."""
    mnt = ext4_image(inode_size=128, features="^metadata_csum")
    need(not has_btime(mnt), "ext4 -I 128 still reports birth times")
    return mnt


def tree(mnt, name="T"):
    t = os.path.join(mnt, name)
    os.makedirs(os.path.join(t, "bin"))
    os.makedirs(os.path.join(t, "etc"))
    tool = os.path.join(t, "bin", "tool")
    with open(tool, "w") as f:
        f.write("#!/bin/sh\necho root's tool\n")
    os.chmod(tool, 0o4755)
    with open(os.path.join(t, "etc", "conf"), "w") as f:
        f.write("c")
    os.chmod(os.path.join(t, "etc", "conf"), 0o640)
    return t, tool


def jpath(tmp_path, n="j"):
    d = tmp_path / "jd"
    d.mkdir(mode=0o700, exist_ok=True)
    return str(d / n)


def replace_as_container(tool):
    st = os.lstat(tool)
    rc = in_userns([sys.executable, "-c", REPLACE, tool, str(st.st_ino),
                    str(generation(tool)), EVIL], UMAP, UMAP)
    need(rc == 0, "ext4 did not hand the inode number out again (rc %d)" % rc)
    new = os.lstat(tool)
    assert new.st_ino == st.st_ino and new.st_mode & 0o7777 == 0o4755
    with open(tool) as f:
        assert f.read() == EVIL
    return new


def killed_shift(t, j, after):
    r = subprocess.run([SHIFTCTL, "shift", MAP, "--threads=1", "--journal=" + j, t],
                       capture_output=True, text=True,
                       env=dict(os.environ, SHIFTCTL_TEST_KILL_AFTER=str(after)))
    assert r.returncode == -9, r.stderr


def test_forged_generation_after_crash_not_made_root_setuid(ext4_image, tmp_path):
    """repro-1: the shift is killed after its journal batch and its chown
    of bin/ (before bin/tool); the container swaps in its own setuid file
    with tool's inode number and generation; undo must leave it alone."""
    need_root()
    need_test_hooks()
    mnt = coarse(ext4_image)
    for after in range(2, 8):  # the first kill point past bin/'s chown
        t, tool = tree(mnt, "T%d" % after)
        j = jpath(tmp_path, "j%d" % after)
        killed_shift(t, j, after)
        if os.lstat(os.path.join(t, "bin")).st_uid == 100000:
            break
    assert os.lstat(tool).st_uid == 0  # not reached
    gen = generation(tool)
    new = replace_as_container(tool)
    assert generation(tool) == gen  # forged
    r = run("undo", j)
    st = os.lstat(tool)
    assert not (st.st_uid == 0 and st.st_mode & stat.S_ISUID), \
        "undo made the container's file root setuid: %r\n%s" % (st, r.stderr)
    assert (st.st_uid, st.st_gid, st.st_mode, st.st_ctime_ns) == \
        (new.st_uid, new.st_gid, new.st_mode, new.st_ctime_ns)
    assert r.returncode == 1, r.stderr
    assert "bin/tool" in r.stderr and "without a birth time" in r.stderr, r.stderr
    assert "1 skipped: changed since the run" in r.stdout, r.stdout
    # What the run did change is given back.
    assert os.lstat(os.path.join(t, "bin")).st_uid == 0


def test_same_second_replacement_after_completed_run_not_trusted(ext4_image, tmp_path):
    """A completed run (the state record of tool is written): the container
    replaces tool within the same second as root's last change of it, so
    that owner, mode and whole-second ctime all match the record (up to 5
    tries for the same second); undo must still leave it alone."""
    need_root()
    mnt = coarse(ext4_image)
    for k in range(5):
        t, tool = tree(mnt, "T%d" % k)
        j = jpath(tmp_path, "j%d" % k)
        r = run("shift", MAP, "--threads=1", "--journal=" + j, t)
        assert r.returncode == 0, r.stderr
        left = os.lstat(tool)
        assert (left.st_uid, left.st_mode & 0o7777) == (100000, 0o4755)
        new = replace_as_container(tool)
        if new.st_ctime_ns == left.st_ctime_ns:
            break
    else:
        need(False, "the container never replaced tool within the same second")
    assert left.st_ctime_ns % 10**9 == 0  # whole seconds: the record matches it
    r = run("undo", j)
    st = os.lstat(tool)
    assert not (st.st_uid == 0 and st.st_mode & stat.S_ISUID), \
        "undo made the container's file root setuid: %r\n%s" % (st, r.stderr)
    assert r.returncode == 1 and "without a birth time" in r.stderr, r.stderr
    assert os.lstat(os.path.join(t, "etc", "conf")).st_uid == 0


def test_coarse_fs_undo_gives_back_everything_else(ext4_image, tmp_path):
    """The legitimate use beside it on the same kind of filesystem: a shift
    and its undo restore every ordinary file and directory exactly; the
    setuid binary, which nothing can prove to be the run's inode, is left
    at the run's owner (100000, setuid to the container's root only) and
    reported."""
    need_root()
    t, tool = tree(coarse(ext4_image))
    before = {p: os.lstat(os.path.join(t, p)) for p in ("", "bin", "etc", "etc/conf")}
    j = jpath(tmp_path)
    assert run("shift", MAP, "--journal=" + j, t).returncode == 0
    r = run("undo", j)
    assert r.returncode == 1 and "bin/tool" in r.stderr and "without a birth time" in r.stderr, \
        r.stderr
    for p, b in before.items():
        st = os.lstat(os.path.join(t, p))
        assert (st.st_uid, st.st_gid, st.st_mode) == (b.st_uid, b.st_gid, b.st_mode), p
    st = os.lstat(tool)
    assert (st.st_uid, st.st_mode & 0o7777) == (100000, 0o4755)


def test_crash_undo_with_birth_times_restores_setuid(ext4_image, tmp_path):
    """And where birth times exist (ext4 with 256-byte inodes), the same
    crash is undone completely, the setuid binary included."""
    need_root()
    need_test_hooks()
    mnt = ext4_image()
    assert has_btime(mnt)
    for after in (3, 4, 5):
        t, tool = tree(mnt, "T%d" % after)
        j = jpath(tmp_path, "j%d" % after)
        killed_shift(t, j, after)
        r = run("undo", j)
        assert r.returncode == 0, (after, r.stderr)
        st = os.lstat(tool)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o4755), (after, st)
        assert os.lstat(os.path.join(t, "bin")).st_uid == 0
