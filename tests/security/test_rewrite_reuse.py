# SPDX-License-Identifier: GPL-2.0-or-later
"""undo and --resume act only on the inode the run changed (issue 11, item 1).

The journal used to name inodes by (device, inode number) alone. After
`shiftctl shift --map=0:100000:65536` of a tree holding a root-owned 4755
binary, the container (a real user namespace mapping 0 -> 100000) deleted
the binary and created files until one reused its inode number (ext4 does
so at once); root's `shiftctl undo` then made the container's file
root:root 4755. Now each journal entry carries the inode's birth time and
generation, and privileged inodes (setuid/setgid, file capabilities) also
the owner, mode and ctime the run left them with: undo and resume skip and
report anything else ("N skipped: changed since the run").

Everything runs on a loop-mounted ext4 image: tmpfs hands out fresh inode
numbers, ext4 reuses a freed one immediately.
"""
import os
import stat
import subprocess
import sys

from attack import ATTACKER, as_host_user, in_userns, uid_of
from chown_util import diff, dump, ext4_image, need_root, run
from conftest import need, need_test_hooks

FIXTURES = (ext4_image,)

MAP = "--map=0:100000:65536"
UMAP = "0 100000 65536"
SETUID = b"#!/bin/sh\necho original\n"
EVIL = b"#!/bin/sh\necho container code\n"

# Runs as root inside the container: delete the binary, create files until
# one gets its inode number back (bounded), make that one setuid.
REUSE = r"""
import os, sys
tree, name, ino, evil = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.unlink(os.path.join(tree, name))
for i in range(3000):
    p = os.path.join(tree, "c%d" % i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    os.write(fd, evil.encode())
    os.close(fd)
    if os.lstat(p).st_ino == ino:
        os.chmod(p, 0o4755)
        sys.exit(0)
sys.exit(3)
"""

# Runs as root inside the container: rewrite the setuid binary in place
# (the owner, container root, keeps its setuid bit with CAP_FSETID in its
# namespace; if the kernel cleared it, set it again).
REWRITE = r"""
import os, sys
p, evil = sys.argv[1], sys.argv[2]
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
os.write(fd, evil.encode())
os.close(fd)
if not os.stat(p).st_mode & 0o4000:
    os.chmod(p, 0o4755)
"""


def make_vol(mnt):
    """A volume as rootful podman leaves it: root's setuid binary, a root
    config file, an application's files (uid 999), a setuid-root file
    with a capability."""
    vol = os.path.join(mnt, "vol")
    os.mkdir(vol)
    os.mkdir(os.path.join(vol, "etc"))
    os.mkdir(os.path.join(vol, "data"))
    with open(os.path.join(vol, "bin"), "wb") as f:
        f.write(SETUID)
    os.chmod(os.path.join(vol, "bin"), 0o4755)
    with open(os.path.join(vol, "etc", "conf"), "w") as f:
        f.write("x")
    for i in range(20):
        p = os.path.join(vol, "data", "f%d" % i)
        with open(p, "w") as f:
            f.write("d")
        os.chown(p, 999, 999)
    os.chown(os.path.join(vol, "data"), 999, 999)
    return vol


def container(script, *args):
    return in_userns([sys.executable, "-c", script] + [str(a) for a in args],
                     UMAP, UMAP, timeout=60)


def jdir(tmp_path):
    d = tmp_path / "journals"
    d.mkdir(mode=0o700)
    return str(d)


def test_reused_inode_number_is_not_undone(ext4_image, tmp_path):
    need_root()
    vol = make_vol(ext4_image())
    ino = os.lstat(os.path.join(vol, "bin")).st_ino
    j = os.path.join(jdir(tmp_path), "j")
    r = run("shift", MAP, "--journal=" + j, vol)
    assert r.returncode == 0, r.stderr
    assert os.lstat(os.path.join(vol, "bin")).st_uid == 100000

    rc = container(REUSE, vol, "bin", ino, EVIL.decode())
    need(rc == 0, "ext4 did not hand the inode number out again (rc %d)" % rc)
    reused = [n for n in os.listdir(vol) if os.lstat(os.path.join(vol, n)).st_ino == ino]
    assert len(reused) == 1
    victim = os.path.join(vol, reused[0])
    before = os.lstat(victim)
    assert (before.st_uid, stat.S_IMODE(before.st_mode)) == (100000, 0o4755)

    r = run("undo", j)
    st = os.lstat(victim)
    # The container's file is left exactly as the container made it.
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (100000, 100000, 0o4755), \
        "undo gave the container's file to root: %r\n%s" % (st, r.stderr)
    assert st.st_ctime_ns == before.st_ctime_ns
    # ... and reported: exit 1, its path, the count.
    assert r.returncode == 1, r.stderr
    assert reused[0] in r.stderr and "another inode has its inode number" in r.stderr, r.stderr
    assert "1 skipped: changed since the run" in r.stdout, r.stdout
    # Everything else is restored.
    assert os.lstat(os.path.join(vol, "etc", "conf")).st_uid == 0
    assert os.lstat(os.path.join(vol, "data", "f3")).st_uid == 999
    assert os.lstat(vol).st_uid == 0


def test_binary_rewritten_by_container_is_not_made_root_setuid(ext4_image, tmp_path):
    need_root()
    vol = make_vol(ext4_image())
    j = os.path.join(jdir(tmp_path), "j")
    assert run("shift", MAP, "--journal=" + j, vol).returncode == 0
    binp = os.path.join(vol, "bin")
    assert container(REWRITE, binp, EVIL.decode()) == 0
    with open(binp, "rb") as f:
        assert f.read() == EVIL
    r = run("undo", j)
    st = os.lstat(binp)
    assert not (st.st_uid == 0 and st.st_mode & stat.S_ISUID), \
        "undo made container-written code setuid root: %r\n%s" % (st, r.stderr)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (100000, 0o4755)
    assert r.returncode == 1 and "modified since the run" in r.stderr, r.stderr
    assert os.lstat(os.path.join(vol, "etc", "conf")).st_uid == 0


def test_untouched_and_used_trees_undo_exactly(ext4_image, tmp_path):
    """The legitimate uses beside it: an untouched tree undoes to the byte;
    one the container used (new files, appends to ordinary files) gets its
    journalled owners back and keeps the container's new files."""
    need_root()
    mnt = ext4_image()
    vol = make_vol(mnt)
    orig = dump(vol)
    j = os.path.join(jdir(tmp_path), "j")
    assert run("shift", MAP, "--journal=" + j, vol).returncode == 0
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert dump(vol) == orig, diff(orig, dump(vol))

    j2 = os.path.join(os.path.dirname(j), "j2")
    assert run("shift", MAP, "--journal=" + j2, vol).returncode == 0
    use = r"""
import os, sys
v = sys.argv[1]
open(os.path.join(v, "new"), "w").write("n")
with open(os.path.join(v, "data", "f1"), "a") as f: f.write("more")
os.mkdir(os.path.join(v, "data", "sub"))
"""
    assert container(use, vol) == 0
    r = run("undo", j2)
    assert r.returncode == 0, r.stderr
    got = dump(vol)
    for k, v in orig.items():
        assert got[k][1:4] == v[1:4], (k, got[k], v)
    assert os.lstat(os.path.join(vol, "new")).st_uid == 100000
    assert os.lstat(os.path.join(vol, "bin")).st_mode & 0o7777 == 0o4755
    assert os.lstat(os.path.join(vol, "bin")).st_uid == 0


def test_resume_does_not_adopt_a_reused_inode(ext4_image, tmp_path):
    """A run killed after journalling its batch; the attacker (a host user
    owning a directory of the tree) deletes root's setuid file there and
    makes its own file take the inode number; --resume must leave it."""
    need_root()
    need_test_hooks()
    atk = uid_of(ATTACKER)
    mnt = ext4_image()
    vol = os.path.join(mnt, "vol")
    os.mkdir(vol)
    adir = os.path.join(vol, "atk")
    os.mkdir(adir)
    binp = os.path.join(adir, "bin")
    with open(binp, "wb") as f:
        f.write(SETUID)
    os.chmod(binp, 0o4755)
    os.chown(adir, atk, atk)
    ino = os.lstat(binp).st_ino
    j = os.path.join(jdir(tmp_path), "j")
    r = subprocess.run([os.environ.get("SHIFTCTL"), "shift", MAP, "--threads=1",
                        "--journal=" + j, vol], capture_output=True, text=True,
                       env=dict(os.environ, SHIFTCTL_TEST_KILL_AFTER="1"))
    assert r.returncode == -9, r.stderr
    assert os.lstat(binp).st_uid == 0  # killed before any change
    p = as_host_user(ATTACKER, [sys.executable, "-c", REUSE, adir, "bin", str(ino),
                                EVIL.decode()])
    need(p.returncode == 0, "ext4 did not reuse the inode number: " + p.stderr)
    reused = [n for n in os.listdir(adir) if os.lstat(os.path.join(adir, n)).st_ino == ino]
    victim = os.path.join(adir, reused[0])
    r = run("shift", "--resume", j)
    st = os.lstat(victim)
    # Not 100000 (the binary's planned owner) with the binary's 4755.
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (atk, 0o4755), \
        "resume adopted the attacker's inode: %r\n%s" % (st, r.stderr)
    assert r.returncode == 1 and "another inode has its inode number" in r.stderr, r.stderr
    # The rest of the run was finished.
    assert os.lstat(adir).st_uid == 100000 + atk
    assert os.lstat(vol).st_uid == 100000
