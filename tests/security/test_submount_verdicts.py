# SPDX-License-Identifier: GPL-2.0-or-later
"""The submount check's kept verdicts (fs/submount.c).

A lookup that lands on a mount below SRC is judged by that mount's line in
/proc/self/mountinfo (type, and for FUSE the uid that mounted it). The
kernel keeps no negative entry for a refused name, so every stat of it is a
LOOKUP: a user repeating stats of a refused FUSE mount point made the
daemon read all of mountinfo (long on a container host) once per request.
Verdicts are now kept per mount id until poll() on mountinfo reports a
mount table change.

The attack on such a cache is an id reused: mount ids are handed out
lowest-free, so after an unmount the next mount usually gets the same id.
A verdict kept for a root's tmpfs must not serve a user's FUSE server
mounted in its place (with the same id), and a refused id must not keep
refusing a root's mount that took it. (The daemon keeps an fd on the
first 64 directory mounts it serves, for file handles (fs/inode.c
mnt_index()): their ids are not reused while it runs. So the served mount
of the first test is the 65th.)"""
import os
import subprocess
import time

from attack import ATTACKER, as_host_user
from conftest import Mount, mountinfo, need, need_root_and_fuse
from fs_util import scratch_fixture
from test_loop_redteam_stall import Servers, own_dirs

FIXTURES = (scratch_fixture,)
LOGGED = (r"not served: a fuse\.\S+ filesystem mounted by uid|"
          r"more mounts below the source refused")


def attacker_mount(s):
    """The attacker's directory src/atk/d0/s (the mount point), its view
    path, a Servers of the attacker's, and the daemon (identity)."""
    need_root_and_fuse()
    own_dirs(s, 1)
    point = os.path.join(s.src, "atk", "d0", "s")
    view = os.path.join(s.mnt, "atk", "d0", "s")
    servers = Servers(s, passes=1000)
    return point, view, servers, Mount(s.src, s.mnt, "identity",
                                       expect_log=LOGGED)


def mount_id(path):
    ids = [int(f[0]) for f in mountinfo() if f[4] == path]
    return ids[-1] if ids else None


def drop_caches():
    """The kernel forgets the mount's inodes, so the daemon closes the fds
    that pin an unmounted filesystem (and its id can be reused)."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def tmpfs(path, text):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755",
                        "verdicts", path], capture_output=True, text=True)
    need(r.returncode == 0, "cannot mount a tmpfs: " + r.stderr)
    with open(os.path.join(path, "f"), "w") as f:
        f.write(text)
    os.chmod(os.path.join(path, "f"), 0o644)


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)
    drop_caches()
    time.sleep(0.1)


def stat_through(path):
    """stat as the attacker (a child: a wrongly served FUSE request is
    answered by the server, never hangs): its stderr, '' on success."""
    r = as_host_user(ATTACKER, ["stat", "-c", "%i", path], timeout=20)
    return "" if r.returncode == 0 else r.stderr


def test_a_users_fuse_server_in_place_of_a_served_mount_is_refused(scratch):
    """Attack: a root's tmpfs below SRC is served (its verdict kept); it is
    unmounted and the attacker mounts its FUSE server on the same
    directory, which gets the same mount id. A lookup after the entry
    timeout is judged again and refused, as on first sight."""
    s = scratch
    point, view, servers, m = attacker_mount(s)
    fill = os.path.join(s.src, "fill")
    os.mkdir(fill)
    s.on_cleanup(lambda: [subprocess.run(["umount", "-l", p],
                                         capture_output=True)
                          for p in reversed(filled)])
    filled = []
    reused = []
    try:
        for i in range(64):  # the mounts whose fds the daemon keeps
            p = os.path.join(fill, str(i))
            os.mkdir(p)
            tmpfs(p, "")
            filled.append(p)
            os.stat(os.path.join(s.mnt, "fill", str(i), "f"))
        for attempt in range(5):
            tmpfs(point, "root's\n")
            old = mount_id(point)
            assert stat_through(os.path.join(view, "f")) == ""
            with open(os.path.join(view, "f")) as f:
                assert f.read() == "root's\n"
            unmount(point)
            servers.mount(point)
            new = mount_id(point)
            time.sleep(1.2)  # past the view's entry timeout
            err = stat_through(os.path.join(view, "m"))
            assert "Permission denied" in err, (
                "a user's FUSE server in place of a served tmpfs (mount id "
                "%s, was %s) was asked: %r" % (new, old, err))
            reused.append(new == old)
            if new == old:
                break
            servers.unmount(point)
            drop_caches()
        assert any(reused), ("the mount id was never reused in %d tries: "
                             "the kept verdict's hard case did not happen"
                             % len(reused))
        assert "not served: a fuse." in m.output()
    finally:
        servers.close()
        m.stop()


def test_a_root_mount_in_place_of_a_refused_one_is_served(scratch):
    """Legitimate use next to it: the attacker's FUSE server is refused
    (kept); it is unmounted and root mounts a tmpfs there (same id): the
    tmpfs is served."""
    s = scratch
    point, view, servers, m = attacker_mount(s)
    try:
        servers.mount(point)
        old = mount_id(point)
        assert "Permission denied" in stat_through(os.path.join(view, "m"))
        servers.close()
        drop_caches()
        tmpfs(point, "root's\n")
        new = mount_id(point)
        assert new == old, ("the tmpfs did not get the refused mount's id "
                            "(%s, was %s): nothing tested" % (new, old))
        err = stat_through(os.path.join(view, "f"))
        assert err == "", ("a root's tmpfs in place of a refused FUSE "
                           "server (mount id %s, was %s): %r"
                           % (new, old, err))
        with open(os.path.join(view, "f")) as f:
            assert f.read() == "root's\n"
    finally:
        subprocess.run(["umount", "-l", point], capture_output=True)
        servers.close()
        m.stop()


def daemon_read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/%d/io" % pid)


def test_repeated_stats_of_a_refused_mount_do_not_reread_mountinfo(scratch):
    """Attack: 300 stats of a refused FUSE mount point are 300 LOOKUPs;
    the daemon reads mountinfo for the first only (it read all of it each
    time: 300 times its size)."""
    s = scratch
    point, view, servers, m = attacker_mount(s)
    view = os.path.join(view, "m")
    try:
        servers.mount(point)
        assert "Permission denied" in stat_through(view)
        with open("/proc/self/mountinfo", "rb") as f:
            size = len(f.read())
        before = daemon_read_bytes(m.proc.pid)
        r = as_host_user(ATTACKER, ["sh", "-c",
                                    "for i in $(seq 300); do "
                                    "stat '%s' 2>/dev/null; done; true"
                                    % view], timeout=60)
        assert r.returncode == 0, r.stderr
        read = daemon_read_bytes(m.proc.pid) - before
        # The requests themselves are ~100 bytes each.
        assert read < 300 * 300 + 2 * size, (
            "300 refused lookups: the daemon read %d bytes (mountinfo is "
            "%d)" % (read, size))
        assert "Permission denied" in stat_through(view)
    finally:
        servers.close()
        m.stop()
