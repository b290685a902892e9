# SPDX-License-Identifier: GPL-2.0-or-later
"""Root's `shiftctl mount` and `shiftctl umount` against a user who owns a
directory on MNT's path and swaps it while they run (issue 11, items 4
and 5).

mount: the attacker swaps a directory on MNT's path with a symlink to a
root-only system directory (a directory below /var/cache, which the
refusal list covers, stands in for /etc/cron.d) in a tight loop; root
mounts many times; the mount must never land there. umount: the attacker
exchanges (renameat2 RENAME_EXCHANGE) the parent of MNT with a directory
holding an unrelated root-made tmpfs; root unmounts and remounts many
times; the tmpfs must never be unmounted. A fuse.shiftfs mount any user
can make is not unmounted by root without --force. Beside each: the
legitimate use still works.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from attack import ATTACKER, as_host_user, gid_of, uid_of
from conftest import SHIFTFS, is_mounted, need, need_root_and_fuse
from mount_util import (mount_entry, mounts, run_shiftctl,  # noqa: F401
                        world_tmp)

MAP = "--map=0:100000:65536"
TRIES = 40
RACE_SECONDS = 10.0

# The attacker's loop, run as the attacker in its own directory: x is a
# real directory one moment and a symlink to the victim directory the next.
SWAP_SYMLINK = r"""
import os, sys, time
os.chdir(sys.argv[1])
victim, end = sys.argv[2], time.monotonic() + float(sys.argv[3])
n = 0
try:
    while time.monotonic() < end and not os.path.exists("stop"):
        try:
            os.rename("x", "x.dir")
            os.symlink(victim, "x")
            os.unlink("x")
            os.rename("x.dir", "x")
        except OSError:
            pass
        n += 1
finally:
    if os.path.islink("x"):
        os.unlink("x")
    if os.path.isdir("x.dir") and not os.path.exists("x"):
        os.rename("x.dir", "x")
print(n)
"""

# renameat2(RENAME_EXCHANGE) of a and b, in a loop.
SWAP_EXCHANGE = r"""
import ctypes, ctypes.util, os, sys, time
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
os.chdir(sys.argv[1])
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end and not os.path.exists("stop"):
    libc.renameat2(-100, b"a", -100, b"b", 2)
    n += 1
print(n)
"""


def attacker(script, *args):
    uid_of(ATTACKER)
    return subprocess.Popen(
        ["runuser", "-u", ATTACKER, "--", sys.executable, "-c", script]
        + [str(a) for a in args], stdout=subprocess.PIPE, text=True, cwd="/")


def stop(proc, top):
    """Ask the loop to stop, wait for it; its round count."""
    with open(os.path.join(top, "stop"), "w"):
        pass
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return int(out.strip() or 0)


def mountinfo():
    """Lines of mountinfo (other tests' mounts may have any bytes)."""
    with open("/proc/self/mountinfo", "rb") as f:
        return [l.decode("utf-8", "surrogateescape") for l in f]


def mounts_below(prefix):
    out = []
    for line in mountinfo():
        t = line.split()[4].encode("utf-8", "surrogateescape").decode(
            "unicode_escape")
        if t == prefix or t.startswith(prefix + "/"):
            out.append(t)
    return out


def detach_all(prefix):
    for t in sorted(mounts_below(prefix), key=len, reverse=True):
        st = run_shiftctl(["umount", "--lazy", t])
        if st.returncode != 0:
            subprocess.run(["umount", "-l", t], capture_output=True)


@pytest.fixture
def victim():
    """A root-only directory inside a system subtree (/var/cache), standing
    in for /etc/cron.d: refused by the refusal list, 0700 root."""
    need(os.path.isdir("/var/cache"), "needs /var/cache")
    d = tempfile.mkdtemp(prefix="shiftfs-sec-", dir="/var/cache")
    os.chmod(d, 0o700)
    for i in range(TRIES):
        os.mkdir(os.path.join(d, "mnt%d" % i))
    yield d
    detach_all(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def layout(world_tmp):
    """SRC under a root-only directory (so the idmap backend may be used
    with a map giving disk uid 0 away), and the attacker's own directory
    on MNT's path."""
    need_root_and_fuse()
    priv = os.path.join(world_tmp, "root-only")
    os.mkdir(priv, 0o700)
    src = os.path.join(priv, "src")
    os.mkdir(src)
    with open(os.path.join(src, "planted"), "w") as f:
        f.write("from SRC\n")
    atk = os.path.join(world_tmp, "atk")
    os.mkdir(atk)
    os.chown(atk, uid_of(ATTACKER), gid_of(ATTACKER))
    x = os.path.join(atk, "x")
    os.mkdir(x)
    for i in range(TRIES):
        os.mkdir(os.path.join(x, "mnt%d" % i))
    subprocess.run(["chown", "-R", "%s:" % ATTACKER, x], check=True)
    yield src, atk
    detach_all(world_tmp)


# --- item 4: mount follows no symlink swapped in after its checks --------

@pytest.mark.parametrize("backend", ["idmap", "fuse"])
def test_mount_never_lands_in_swapped_symlink(backend, layout, victim):
    src, atk = layout
    x = os.path.join(atk, "x")
    proc = attacker(SWAP_SYMLINK, atk, victim, RACE_SECONDS)
    ok = 0
    landed = []
    try:
        time.sleep(0.2)
        for i in range(TRIES):
            r = run_shiftctl(["mount", "--backend=" + backend, MAP, src,
                              os.path.join(x, "mnt%d" % i)])
            if r.returncode == 0:
                ok += 1
            landed += mounts_below(victim)
            if landed:
                break
    finally:
        rounds = stop(proc, atk)
    assert rounds > 100, "the attacker's loop hardly ran (%d)" % rounds
    assert landed == [], "the mount landed in the root-only directory"
    # What did mount is where the administrator's path was when checked.
    for t in mounts_below(x):
        assert os.path.dirname(t) == x
        assert os.path.exists(os.path.join(t, "planted"))


def test_refusals_cover_whole_system_subtrees(layout, victim):
    src, _ = layout
    need(os.path.isdir("/etc/cron.d"), "needs /etc/cron.d")
    before = mount_entry("/etc/cron.d")
    r = run_shiftctl(["mount", MAP, src, "/etc/cron.d"])
    if mount_entry("/etc/cron.d") != before:  # a regression: undo it now
        subprocess.run(["umount", "-l", "/etc/cron.d"])
    assert r.returncode == 1
    assert "refusing to mount onto /etc/cron.d: it is inside the system " \
           "directory /etc (--force overrides)" in r.stderr
    assert mount_entry("/etc/cron.d") == before
    # The stand-in: refused, and mounted only with --force.
    mnt = os.path.join(victim, "mnt0")
    r = run_shiftctl(["mount", MAP, src, mnt])
    assert r.returncode == 1
    assert "it is inside the system directory /var/cache" in r.stderr
    assert not is_mounted(mnt)
    r = run_shiftctl(["mount", "--force", MAP, src, mnt])
    assert r.returncode == 0, r.stderr
    assert is_mounted(mnt)
    assert run_shiftctl(["umount", mnt]).returncode == 0


def test_user_path_with_symlinked_parent_still_mounts(layout, world_tmp):
    """The legitimate case: MNT in a user's own directory, named through a
    symlink in a parent (like /home -> /data/home): resolved once, mounted
    at the canonical path, recorded there, unmounted."""
    src, atk = layout
    link = os.path.join(world_tmp, "home-link")
    os.symlink(atk, link)
    for backend in ("idmap", "fuse"):
        mnt = os.path.join(link, "x", "mnt1")
        real = os.path.join(atk, "x", "mnt1")
        r = run_shiftctl(["mount", "--backend=" + backend, MAP, src, mnt])
        assert r.returncode == 0, r.stderr
        assert " at %s with %s " % (real, backend) in r.stdout
        assert os.lstat(os.path.join(real, "planted")).st_uid == 100000
        r = run_shiftctl(["umount", mnt])
        assert r.returncode == 0, r.stderr
        assert not is_mounted(real)


# --- item 5: umount unmounts the mount it checked, and only ours ---------

@pytest.fixture
def exchange(layout, world_tmp):
    """atk/a/mnt: where root's shifted mount goes; atk/b/mnt: a root-made
    tmpfs the attacker wants unmounted. Both a and b are the attacker's."""
    src, atk = layout
    for d in ("a", "b"):
        os.makedirs(os.path.join(atk, d, "mnt"))
        subprocess.run(["chown", "-R", "%s:" % ATTACKER,
                        os.path.join(atk, d)], check=True)
    tmpfs = os.path.join(atk, "b", "mnt")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "unrelated",
                    tmpfs], check=True)
    tid = mount_entry(tmpfs)["id"]
    yield src, atk, tid
    detach_all(atk)


def tmpfs_alive(tid):
    return any(int(l.split()[0]) == tid for l in mountinfo())


@pytest.mark.parametrize("backend", ["fuse", "idmap"])
def test_umount_never_hits_exchanged_tmpfs(backend, exchange):
    src, atk, tid = exchange
    mnt = os.path.join(atk, "a", "mnt")
    r = run_shiftctl(["mount", "--backend=" + backend, MAP, src, mnt])
    assert r.returncode == 0, r.stderr
    proc = attacker(SWAP_EXCHANGE, atk, RACE_SECONDS)
    unmounted = tries = 0
    try:
        time.sleep(0.2)
        deadline = time.monotonic() + RACE_SECONDS - 1
        while time.monotonic() < deadline and tmpfs_alive(tid):
            r = run_shiftctl(["umount", mnt])
            tries += 1
            if r.returncode == 0:
                unmounted += 1
                # Remount (wherever a/mnt is now: the attacker's choice).
                run_shiftctl(["mount", "--backend=" + backend, MAP, src,
                              mnt])
    finally:
        rounds = stop(proc, atk)
    assert rounds > 100, "the attacker's loop hardly ran (%d)" % rounds
    assert tmpfs_alive(tid), "root's shiftctl umount unmounted the tmpfs"
    assert unmounted > 0, "no umount succeeded in %d tries" % tries


def test_user_made_shiftfs_mount_needs_force(exchange):
    """Any user can make a fuse.shiftfs mount: root's umount leaves one it
    did not record alone, unless --force."""
    need(os.path.exists("/dev/fuse"), "needs /dev/fuse")
    src, atk, _ = exchange
    own, mnt = os.path.join(atk, "own"), os.path.join(atk, "ownmnt")
    r = as_host_user(ATTACKER, ["mkdir", own, mnt])
    assert r.returncode == 0, r.stderr
    uid = uid_of(ATTACKER)
    daemon = subprocess.Popen(
        ["runuser", "-u", ATTACKER, "--", SHIFTFS, own, mnt, "-f", "-o",
         "uidmap=%d:%d:1,gidmap=%d:%d:1" % (uid, uid, gid_of(ATTACKER),
                                            gid_of(ATTACKER))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not is_mounted(mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert is_mounted(mnt), "the attacker's daemon did not mount"
        r = run_shiftctl(["umount", mnt])
        assert r.returncode == 1
        assert "did not record; --force unmounts it anyway" in r.stderr
        assert is_mounted(mnt)
        r = run_shiftctl(["umount", "--force", mnt])
        assert r.returncode == 0, r.stderr
        assert not is_mounted(mnt)
    finally:
        if is_mounted(mnt):
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()


@pytest.mark.parametrize("backend", ["fuse", "idmap"])
def test_normal_umount_still_works(backend, exchange):
    src, atk, tid = exchange
    mnt = os.path.join(atk, "a", "mnt")
    r = run_shiftctl(["mount", "--backend=" + backend, MAP, src, mnt])
    assert r.returncode == 0, r.stderr
    r = run_shiftctl(["umount", mnt])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "shiftctl: unmounted %s (%s)\n" % (mnt, backend)
    assert not is_mounted(mnt) and tmpfs_alive(tid)
