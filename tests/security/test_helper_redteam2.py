# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team, round 2, of shiftfs-idmap-helper (issue 14): holes in the
final code, each a reproducer that fails while the hole is open, played by
an ordinary host user (shiftfs-atk), with the legitimate use beside it.

- the locked section waits on the caller's FUSE server: `umount MNT`
  looks MNT's name up again under its parent after setresuid(0,0,0) and
  with every signal blocked. With MNT in a FUSE filesystem of the
  caller's own (allow_other: user_allow_other is set here), the server
  answers the first lookups and never the one after the lock: the helper
  waits forever as uid 0, which the caller cannot kill (EPERM), holding
  the caller's lock; every further helper the caller starts waits on that
  lock as uid 0 too: processes outside the caller's RLIMIT_NPROC, that
  only root can end.
"""
import os
import signal
import subprocess
import time

from attack import ATTACKER, as_host_user, descendant, fuse_server
from conftest import mountinfo
from helper_util import (CONF, STATE, helper_bin, helper_tree, ids,  # noqa: F401
                         run_helper)


def atk_tree(helper_tree):
    t = helper_tree(ATTACKER)
    t.maps = ["--uidmap=%d:%d:1" % (t.uid, t.uid),
              "--gidmap=%d:%d:1" % (t.gid, t.gid)]
    return t


def idmapped_targets(root):
    return [f[4] for f in mountinfo()
            if (f[4] == root or f[4].startswith(root + "/")) and
            "idmapped" in f[5].split(",")]


# --- the locked section waits on the caller's FUSE server -------------------


class BlockFuse:
    """shiftfs-atk's own FUSE server (tests/security/block_fuse.c) on
    path, allow_other; it stops answering lookups after the number
    written to self.block."""

    def __init__(self, t, path):
        self.bin = fuse_server(t.root, "block_fuse.c")
        self.block = os.path.join(t.top, "block")
        self.path = path
        self.p = subprocess.Popen(
            ["runuser", "-u", ATTACKER, "--", "env",
             "BLOCK_FUSE_FILE=" + self.block, self.bin, "-f", "-o",
             "allow_other", path], cwd="/", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        end = time.monotonic() + 5
        while not [f for f in mountinfo() if f[4] == path]:
            assert time.monotonic() < end, "the FUSE server did not mount"
            time.sleep(0.05)
        self.pid = descendant(self.p.pid, "block_fuse")

    def stop_answering_after(self, n):
        r = as_host_user(ATTACKER, ["sh", "-c", "echo %d > %s" %
                                    (n, self.block)])
        assert r.returncode == 0, r.stderr

    def close(self):
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def test_umount_does_not_wait_as_root_on_the_callers_fuse_server(
        helper_bin, helper_tree):
    """MNT inside shiftfs-atk's own FUSE filesystem; the server answers
    the lookups of MNT made before the lock (2: STATX_MNT_ID and
    STATX_MNT_ID_UNIQUE) and none after. The helper must finish within
    5 s, or wait with the caller's uids (theirs to signal, counted in their
    RLIMIT_NPROC), not as uid 0."""
    t = atk_tree(helper_tree)
    fdir = os.path.join(t.top, "fuse")
    r = as_host_user(ATTACKER, ["mkdir", fdir])
    assert r.returncode == 0, r.stderr
    fs = BlockFuse(t, fdir)
    mnt = os.path.join(fdir, "m")
    um = None
    try:
        r = run_helper(helper_bin, ATTACKER,
                       ["mount"] + t.maps + [t.src, mnt])
        assert r.returncode == 0, r.stderr
        fs.stop_answering_after(2)
        um = subprocess.Popen(
            ["runuser", "-u", ATTACKER, "--", "env", "-i", helper_bin,
             "umount", mnt], cwd="/", stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        hp = descendant(um.pid, "shiftfs-idmap")
        try:
            um.wait(timeout=5)
        except subprocess.TimeoutExpired:
            uid = open("/proc/%d/status" % hp).read().split(
                "Uid:")[1].split()[:3] if hp else "?"
            k = as_host_user(ATTACKER, ["kill", "-KILL", str(hp)])
            assert k.returncode == 0, (
                "helper (uid %s) waits on the caller's FUSE server and "
                "the caller cannot kill it: %s" % (uid, k.stderr.strip()))
            # a FUSE request the server has read ends only with an answer
            # or the server: the caller's to end either way (finally)
    finally:
        fs.close()
        if um:
            um.wait(timeout=10)


def test_umount_in_own_fuse_filesystem_beside(helper_bin, helper_tree):
    """Beside it: with the server answering, a helper mount in the
    caller's own FUSE filesystem unmounts through the helper."""
    t = atk_tree(helper_tree)
    fdir = os.path.join(t.top, "fuse")
    r = as_host_user(ATTACKER, ["mkdir", fdir])
    assert r.returncode == 0, r.stderr
    fs = BlockFuse(t, fdir)
    mnt = os.path.join(fdir, "m")
    try:
        r = run_helper(helper_bin, ATTACKER,
                       ["mount"] + t.maps + [t.src, mnt])
        assert r.returncode == 0, r.stderr
        assert mnt in idmapped_targets(t.root)
        r = run_helper(helper_bin, ATTACKER, ["umount", mnt])
        assert r.returncode == 0, r.stderr
        assert mnt not in idmapped_targets(t.root)
    finally:
        fs.close()


# --- a record that cannot be written ----------------------------------------

def test_record_write_cut_short_by_rlimit_fsize_names_the_cause(
        helper_bin, helper_tree):
    """The caller's RLIMIT_FSIZE is inherited by the helper; the record
    write is then cut short. The mount must not be made (it is not), and
    the message must not name a stale errno ("No such file or directory"
    from the unlink of the temporary file before it)."""
    t = atk_tree(helper_tree)
    r = subprocess.run(["runuser", "-u", ATTACKER, "--", "prlimit",
                        "--fsize=1", "env", "-i", helper_bin, "mount"] +
                       t.maps + [t.src, t.mnt], capture_output=True,
                       text=True, timeout=60, cwd="/")
    assert r.returncode == 1, r.stderr
    assert idmapped_targets(t.root) == []
    assert "No such file or directory" not in r.stderr, r.stderr
    assert "Input/output error" in r.stderr, r.stderr
