# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team, round 2, of shiftfs-idmap-helper (issue 14): holes in the
final code, each a reproducer that fails while the hole is open, played by
an ordinary host user (shiftfs-atk), with the legitimate use beside it.

- a mount point is renamable from a mount namespace where it is none: the
  helper's walk trusts "MNT (and every mount root above it) cannot be
  renamed once it is a mount point (EBUSY)". That holds only in the mount
  namespaces where the dentry is a mount point (is_local_mountpoint()). The
  attacker makes their own user + mount namespace with private propagation
  *before* the helper call (unshare -Urm, no privilege); the helper mount
  never shows there, so MNT is an ordinary directory there, and a rename of
  it (anywhere on the same filesystem the attacker can write: another
  user's 1777 directory, /var/tmp) moves the dentry the helper mount sits
  on, so in the initial namespace the mount is now inside the victim's
  tree. The helper's own check after the attach ("MNT still resolves to
  the path given") runs before the rename and cannot see it.
"""
import os
import signal
import subprocess
import time

from attack import ATTACKER, VICTIM, as_host_user
from conftest import mountinfo
from helper_util import (CONF, STATE, helper_bin, helper_tree, ids,  # noqa: F401
                         run_helper)


def atk_tree(helper_tree):
    t = helper_tree(ATTACKER)
    t.maps = ["--uidmap=%d:%d:1" % (t.uid, t.uid),
              "--gidmap=%d:%d:1" % (t.gid, t.gid)]
    return t


def victim_dir(t, name, mode=0o1777):
    """shiftfs-victim's world-writable (sticky) directory in t's root: the
    same filesystem as the attacker's MNT."""
    p = os.path.join(t.root, name)
    os.mkdir(p)
    os.chmod(p, mode)
    os.chown(p, *ids(VICTIM))
    return p


def idmapped_targets(root):
    return [f[4] for f in mountinfo()
            if (f[4] == root or f[4].startswith(root + "/")) and
            "idmapped" in f[5].split(",")]


class PrivateNs:
    """shiftfs-atk's own user + mount namespace, private propagation, held
    open by a sleep; made with no privilege (unshare -Urm)."""

    def __init__(self, user):
        self.user = user
        self.p = subprocess.Popen(
            ["runuser", "-u", user, "--", "unshare", "-Urm",
             "--propagation", "private", "sh", "-c",
             "echo ready; exec sleep 30"],
            stdout=subprocess.PIPE, text=True, cwd="/")
        assert self.p.stdout.readline().strip() == "ready"
        # the sleep is the (only) child of unshare's exec: runuser ->
        # unshare -> sh -> sleep all keep one pid after exec
        self.pid = self._leaf(self.p.pid)

    @staticmethod
    def _leaf(pid):
        for _ in range(50):
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read()
            if not kids.split():
                if open("/proc/%d/comm" % pid).read().strip() == "sleep":
                    return pid
            else:
                pid = int(kids.split()[0])
                continue
            time.sleep(0.1)
        raise AssertionError("no sleep in the attacker's namespace")

    def run(self, cmd):
        return as_host_user(self.user, ["nsenter", "-t", str(self.pid),
                                        "-U", "-m",
                                        "--preserve-credentials"] + cmd)

    def close(self):
        os.kill(self.pid, signal.SIGKILL)
        self.p.wait(timeout=10)


def test_mount_cannot_be_moved_by_a_rename_from_the_callers_own_mount_ns(
        helper_bin, helper_tree):
    """The attacker's private namespace exists before the mount; there MNT
    is no mount point, and `mv top/mnt victim/mnt` moves the dentry the
    helper mount is attached to: in the initial namespace the mount is now
    in shiftfs-victim's directory. The helper must refuse an MNT it cannot
    keep in place (or the mount must stay where it was made)."""
    t = atk_tree(helper_tree)
    vic = victim_dir(t, "victim")
    ns = PrivateNs(ATTACKER)
    try:
        r = run_helper(helper_bin, ATTACKER,
                       ["mount"] + t.maps + [t.src, t.mnt])
        if r.returncode == 0:
            mv = ns.run(["mv", t.mnt, os.path.join(vic, "mnt")])
            assert mv.returncode != 0 or \
                idmapped_targets(t.root) == [t.mnt], (
                    "helper mount moved into the victim's tree: %s" %
                    idmapped_targets(t.root))
        else:
            assert "rename" in r.stderr, r.stderr
        assert not [m for m in idmapped_targets(t.root)
                    if m.startswith(vic + "/")]
    finally:
        ns.close()


def test_rename_of_a_plain_directory_in_own_ns_beside(helper_bin,
                                                      helper_tree):
    """Beside it: the attacker's namespace and the rename work as such (the
    test above would pass for the wrong reason without them)."""
    t = atk_tree(helper_tree)
    vic = victim_dir(t, "victim")
    other = os.path.join(t.top, "other")
    r = as_host_user(ATTACKER, ["mkdir", other])
    assert r.returncode == 0, r.stderr
    ns = PrivateNs(ATTACKER)
    try:
        mv = ns.run(["mv", other, os.path.join(vic, "other")])
        assert mv.returncode == 0, mv.stderr
        assert os.path.isdir(os.path.join(vic, "other"))
    finally:
        ns.close()
