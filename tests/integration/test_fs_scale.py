# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon past the fd limit: file handles per inode and a bounded fd cache.

The hard RLIMIT_NOFILE here (and under many systemd services) is 20,000 and
the daemon cannot raise it. With one O_PATH fd per cached inode, creates
failed past ~20,000 files. These tests create, extract and walk more entries
than that through the mount, check that the daemon's open fds stay near the
fd cache bound (-o fd_cache), that a create failing after the file was made
leaves nothing behind (test hook SHIFTFS_TEST_FAIL_AFTER_CREATE=1), and that a
file deleted on the host while the kernel still caches it gives ENOENT/ESTALE
and no crash.
"""
import errno
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time

import pytest

from conftest import (SHIFTFS, TEST_USER, is_mounted, need, need_root_and_fuse, need_test_hooks, umount,
                      wait_for_mount)
from fs_util import users_own_mount

SLACK = 64  # fds besides the cache: std streams, /dev/fuse clones, mount fds


def daemon_fds(m):
    return len(os.listdir("/proc/%d/fd" % m.proc.pid))


@pytest.fixture
def big(tmp_path):
    need_root_and_fuse()
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    return str(src), str(mnt)


def test_30000_creates_in_one_dir_beyond_fd_limit(big, shiftfs_mount):
    src, mnt = big
    n = 30000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    m = shiftfs_mount(src, mnt, "identity")
    assert "one open fd per cached inode" not in m.output()  # handle mode
    d = os.path.join(mnt, "d")
    os.mkdir(d)
    for i in range(n):
        fd = os.open(os.path.join(d, "f%05d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"%d" % i)
        os.close(fd)
    # Every one is there, on the source too, and stats through the mount.
    assert len(os.listdir(d)) == n
    assert len(os.listdir(os.path.join(src, "d"))) == n
    for i in range(0, n, 1):
        st = os.stat(os.path.join(d, "f%05d" % i))
        assert st.st_size == len(b"%d" % i)
    fds = daemon_fds(m)
    assert fds < 4096 + SLACK, "daemon holds %d fds (hard limit %s)" % (fds, hard)
    r = subprocess.run(["rm", "-rf", d], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.listdir(src) == []


def _make_tree(top, nfiles):
    """A tree of nfiles files in 100 dirs, with symlinks and hard links."""
    os.makedirs(top)
    for i in range(nfiles):
        d = os.path.join(top, "d%02d" % (i % 100))
        if i < 100:
            os.mkdir(d)
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(b"x" * (i % 37))
        if i % 1000 == 0:
            os.symlink("f%05d" % i, os.path.join(d, "s%05d" % i))
            os.link(os.path.join(d, "f%05d" % i), os.path.join(d, "h%05d" % i))


def _listing(top):
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            target = os.readlink(p) if os.path.islink(p) else None
            out[rel] = (st.st_mode, st.st_size, st.st_nlink, target)
    return out


def test_untar_over_25000_entries_matches_native(big, shiftfs_mount, tmp_path):
    src, mnt = big
    tree = str(tmp_path / "tree")
    _make_tree(tree, 26000)
    tarball = str(tmp_path / "t.tar")
    subprocess.run(["tar", "-C", tree, "-cf", tarball, "."], check=True)
    with tarfile.open(tarball) as t:
        entries = len(t.getmembers())
    assert entries > 25000
    native = str(tmp_path / "native")
    os.mkdir(native)
    subprocess.run(["tar", "-C", native, "-xf", tarball], check=True)

    shiftfs_mount(src, mnt, "identity")
    through = os.path.join(mnt, "x")
    os.mkdir(through)
    r = subprocess.run(["tar", "-C", through, "-xf", tarball], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    want = _listing(native)
    assert _listing(through) == want
    assert _listing(os.path.join(src, "x")) == want
    # Hard links are one inode through the mount.
    a = os.stat(os.path.join(through, "d00", "f00000"))
    b = os.stat(os.path.join(through, "d00", "h00000"))
    assert a.st_ino == b.st_ino and a.st_nlink == 2


def test_find_ls_50000_files_fds_stay_bounded(big, shiftfs_mount):
    src, mnt = big
    n, cache = 50000, 1000
    for i in range(n):
        d = os.path.join(src, "d%02d" % (i % 50))
        if i < 50:
            os.mkdir(d)
        open(os.path.join(d, "f%05d" % i), "wb").close()
    m = shiftfs_mount(src, mnt, "identity,fd_cache=%d" % cache)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                peak[0] = max(peak[0], daemon_fds(m))
            except OSError:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    try:
        r = subprocess.run(["find", mnt, "-ls"], capture_output=True, text=True)
    finally:
        done.set()
        t.join()
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == n + 50 + 1
    peak[0] = max(peak[0], daemon_fds(m))
    assert peak[0] < cache + SLACK, "daemon held %d fds with fd_cache=%d" % (peak[0], cache)
    # The walk went far past the cache: fds were reopened from handles.
    assert peak[0] > cache // 2


def test_failed_create_leaves_nothing(big, shiftfs_mount, monkeypatch):
    src, mnt = big
    with open(os.path.join(src, "old"), "w") as f:
        f.write("kept")
    need_test_hooks()
    monkeypatch.setenv("SHIFTFS_TEST_FAIL_AFTER_CREATE", "1")
    shiftfs_mount(src, mnt, "identity")
    monkeypatch.delenv("SHIFTFS_TEST_FAIL_AFTER_CREATE")

    def fails(fn, *a):
        with pytest.raises(OSError) as e:
            fn(*a)
        assert e.value.errno == errno.EIO

    fails(os.open, os.path.join(mnt, "new"), os.O_WRONLY | os.O_CREAT, 0o644)
    fails(os.open, os.path.join(mnt, "excl"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    fails(os.mkdir, os.path.join(mnt, "dir"))
    fails(os.symlink, "target", os.path.join(mnt, "sym"))
    fails(os.mkfifo, os.path.join(mnt, "fifo"))
    # Nothing was left behind, on the source or through the mount...
    assert sorted(os.listdir(src)) == ["old"]
    assert sorted(os.listdir(mnt)) == ["old"]
    # ...and an O_EXCL retry is not refused with EEXIST.
    fails(os.open, os.path.join(mnt, "new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    # An existing file opened with O_CREAT is never removed.
    fd = os.open(os.path.join(mnt, "old"), os.O_RDWR | os.O_CREAT, 0o644)
    os.close(fd)
    with open(os.path.join(src, "old")) as f:
        assert f.read() == "kept"


def test_deleted_on_host_while_cached(big, shiftfs_mount):
    src, mnt = big
    for i in range(200):
        open(os.path.join(src, "o%03d" % i), "w").close()
    with open(os.path.join(src, "victim"), "w") as f:
        f.write("data")
    m = shiftfs_mount(src, mnt, "identity,fd_cache=16")
    os.stat(os.path.join(mnt, "victim"))  # the kernel now caches the inode
    os.unlink(os.path.join(src, "victim"))
    for i in range(200):  # push its fd out of the 16-fd cache
        os.stat(os.path.join(mnt, "o%03d" % i))
    # Within the entry timeout the kernel still has the dentry: OPEN, GETATTR
    # and LISTXATTR reach the daemon for an inode that no longer exists.
    with pytest.raises(OSError) as e:
        os.open(os.path.join(mnt, "victim"), os.O_RDONLY)
    assert e.value.errno in (errno.ENOENT, errno.ESTALE)
    time.sleep(1.2)
    with pytest.raises(OSError) as e:
        os.stat(os.path.join(mnt, "victim"))
    assert e.value.errno in (errno.ENOENT, errno.ESTALE)
    # The daemon is alive and the mount works.
    assert m.proc.poll() is None
    with open(os.path.join(mnt, "after"), "w") as f:
        f.write("ok")
    with open(os.path.join(src, "after")) as f:
        assert f.read() == "ok"


@pytest.fixture
def world_top():
    """A world-traversable scratch dir (tmp_path's parents are 0700); set up
    before shiftfs_mount, so removed after its unmount."""
    need_root_and_fuse()
    top = tempfile.mkdtemp(prefix="shiftfs-scale.")
    os.chmod(top, 0o755)
    yield top
    mnt = os.path.join(top, "mnt")
    if is_mounted(mnt):
        umount(mnt)
    shutil.rmtree(top, ignore_errors=True)


def test_unprivileged_daemon_keeps_fds(world_top, shiftfs_mount):
    """Without CAP_DAC_READ_SEARCH the daemon says so once and still works."""
    src, mnt, m = users_own_mount(shiftfs_mount, world_top)
    r = subprocess.run(["runuser", "-u", TEST_USER, "--", "sh", "-c",
                        "echo hi > %s/a && mkdir %s/d && cat %s/a" % (mnt, mnt, mnt)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "hi\n", r.stderr
    lines = [l for l in m.output().splitlines() if "one open fd per cached inode" in l]
    assert len(lines) == 1, m.output()
    assert os.listdir(src) == ["a", "d"] or sorted(os.listdir(src)) == ["a", "d"]


@pytest.mark.parametrize("value", ["abc", "-1", "99999999"])
def test_fd_cache_option_errors(big, value):
    src, mnt = big
    r = subprocess.run([SHIFTFS, src, mnt, "-f", "-o", "identity,fd_cache=" + value],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "fd_cache=" + value in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not is_mounted(mnt)


def test_out_of_fds_gives_emfile_once_and_leaves_nothing(big):
    """Keep-fd mode (fd_cache=0) under a 128-fd limit: creates past it fail
    with EMFILE (never EBADF), the daemon says so once, and no failed create
    leaves its file behind."""
    src, mnt = big
    need(shutil.which("prlimit") is not None, "needs prlimit (util-linux)")
    log_path = os.path.join(os.path.dirname(mnt), "emfile.log")
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(["prlimit", "--nofile=128:128", SHIFTFS, src, mnt, "-f",
                                 "-o", "identity,fd_cache=0"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_mount(proc, mnt)
            made, failed = [], []
            for i in range(300):
                p = os.path.join(mnt, "f%03d" % i)
                try:
                    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                    made.append("f%03d" % i)
                except OSError as e:
                    assert e.errno in (errno.EMFILE, errno.ENFILE), e
                    failed.append("f%03d" % i)
            assert made and failed, (len(made), len(failed))
            assert sorted(os.listdir(src)) == made
            # The daemon is still serving what it has.
            assert os.stat(os.path.join(mnt, made[0])).st_size == 0
        finally:
            umount(mnt, proc)
        log.seek(0)
        lines = [l for l in log.read().splitlines() if "too many open files" in l]
    assert len(lines) == 1, lines
    assert "raise RLIMIT_NOFILE or lower -o fd_cache" in lines[0]
