# SPDX-License-Identifier: GPL-2.0-or-later
"""Root's chown/shift/undo resolve PATH once, and follow no symlink on it.

The old code opened PATH by its string (only the last component
O_NOFOLLOW), then realpath()ed the string again for the system-directory
check. (a) shiftfs-atk made a directory of its own on the way to PATH a
symlink into another user's home: root's `chown .../atk/vols/data` gave the
victim's files to the container. (b) shiftfs-atk swapped a real directory x
and a symlink y -> /var/cache with RENAME_EXCHANGE in a loop: the fd came
through the symlink (/var/cache/rt2-target) while the check saw the real
directory, and root chowned a refused system subtree.

Now PATH may hold no symlink at all (refused: "a symbolic link on the
way"), realpath(PATH) is opened with openat2(RESOLVE_NO_SYMLINKS) and the
fd's own path must be that string ("changed while it was being
resolved"); the refusal, the walk and the journal use only that fd and
path. Same for --resume PATH and undo PATH.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from attack import ATTACKER, VICTIM, as_host_user, gid_of, race, uid_of
from chown_util import need_root, run

CONTAINER = ["--uid-map=0:100000:65536", "--gid-map=0:100000:65536"]


@pytest.fixture
def top():
    need_root()
    t = tempfile.mkdtemp(prefix="shiftfs-paths.", dir="/tmp")
    os.chmod(t, 0o755)
    jd = os.path.join(t, "jd")
    os.mkdir(jd, 0o700)
    yield t
    shutil.rmtree(t, ignore_errors=True)


def victim_home(top):
    """A victim's directory with private data, and the attacker's own
    directory holding `vols`, a symlink to it."""
    vic, atk = uid_of(VICTIM), uid_of(ATTACKER)
    home = os.path.join(top, "victim")
    os.mkdir(home, 0o755)
    os.chown(home, vic, gid_of(VICTIM))
    p = as_host_user(VICTIM, ["sh", "-c", "mkdir -m 700 %s/data && echo secret > "
                              "%s/data/private.txt && chmod 600 %s/data/private.txt"
                              % (home, home, home)])
    assert p.returncode == 0, p.stderr
    adir = os.path.join(top, "atk")
    os.mkdir(adir, 0o755)
    os.chown(adir, atk, gid_of(ATTACKER))
    p = as_host_user(ATTACKER, ["ln", "-s", home, os.path.join(adir, "vols")])
    assert p.returncode == 0, p.stderr
    return home, os.path.join(adir, "vols", "data")


def owners(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in [d] + [os.path.join(d, f) for f in files]:
            st = os.lstat(n)
            out[n] = (st.st_uid, st.st_gid, st.st_mode)
    return out


@pytest.mark.parametrize("verb", ["chown", "shift"])
def test_symlink_on_the_way_not_followed(top, verb):
    home, path = victim_home(top)
    before = owners(home)
    j = os.path.join(top, "jd", "j")
    args = (["chown", "--user=0"] + CONTAINER if verb == "chown"
            else ["shift", "--map=0:100000:65536"])
    r = run(*args, "--journal=" + j, path)
    assert owners(home) == before, "root's %s followed atk/vols into the victim's home:\n%s" \
        % (verb, r.stdout + r.stderr)
    assert r.returncode == 1, r.stderr
    assert "a symbolic link on the way" in r.stderr and home + "/data" in r.stderr, r.stderr
    assert not os.path.exists(j)
    # The victim's file is still private.
    p = as_host_user(ATTACKER, ["cat", os.path.join(home, "data", "private.txt")])
    assert p.returncode != 0 and "secret" not in p.stdout


def test_resume_and_undo_path_through_symlink_refused(top):
    """A real journal of the victim's tree (root changed it on purpose,
    by its real path); `--resume PATH` and `undo PATH` through the
    attacker's symlink are refused too, and the real path still works."""
    home, path = victim_home(top)
    real = os.path.join(home, "data")
    j = os.path.join(top, "jd", "j")
    r = run("chown", "--user=0", *CONTAINER, "--journal=" + j, real)
    assert r.returncode == 0, r.stderr
    changed = owners(home)
    for args in (["undo", path], ["chown", "--resume", path]):
        r = run(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert "a symbolic link on the way" in r.stderr, (args, r.stderr)
        assert owners(home) == changed
    # The legitimate undo by journal still gives the victim its files.
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert os.lstat(os.path.join(real, "private.txt")).st_uid == uid_of(VICTIM)


def test_real_and_relative_paths_work(top):
    """The legitimate use beside it: a real path, and a relative one with
    `.` and `..` (no symlink) from another directory, chown exactly the
    tree; the journal records the real path."""
    tree = os.path.join(top, "vol")
    os.makedirs(os.path.join(tree, "a", "b"))
    with open(os.path.join(tree, "a", "f"), "w") as f:
        f.write("x")
    j = os.path.join(top, "jd", "j1")
    r = run("chown", "--user=0", *CONTAINER, "--journal=" + j, tree)
    assert r.returncode == 0, r.stderr
    assert {v[0] for v in owners(tree).values()} == {100000}
    os.chown(tree, 0, 0)
    j2 = os.path.join(top, "jd", "j2")
    r = subprocess.run([os.environ["SHIFTCTL"], "chown", "--user=0",
                        "--uid-map=0:200000:65536", "--gid-map=0:200000:65536",
                        "--journal=" + j2, "./../../../vol/./a/.."],
                       cwd=os.path.join(tree, "a", "b"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.lstat(tree).st_uid == 200000
    with open(j2, "rb") as f:
        assert os.fsencode(tree) in f.read()


EXCHANGE = r"""
import ctypes, os, sys, time
a, b, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
end, n = time.time() + secs, 0
while time.time() < end:
    libc.renameat2(-100, a.encode(), -100, b.encode(), 2)  # RENAME_EXCHANGE
    n += 1
print(n)
"""


def test_exchange_race_cannot_reach_a_system_directory(top):
    """shiftfs-atk swaps its real directory x and its symlink y ->
    /var/cache in a loop (8 s) while root chowns atk/x/rt2-target again
    and again: root never changes /var/cache/rt2-target (the old binary
    did within seconds), and the runs that are not refused change only
    the attacker's own x/rt2-target."""
    target = "/var/cache/shiftfs-test-rt2-%d" % os.getpid()
    name = os.path.basename(target)
    os.mkdir(target, 0o700)
    try:
        with open(os.path.join(target, "secret"), "w") as f:
            f.write("root only\n")
        os.chmod(os.path.join(target, "secret"), 0o600)
        adir = os.path.join(top, "atk")
        os.mkdir(adir, 0o755)
        atk = uid_of(ATTACKER)
        os.chown(adir, atk, gid_of(ATTACKER))
        p = as_host_user(ATTACKER, ["sh", "-c", "mkdir -p %s/x/%s && ln -s /var/cache %s/y"
                                    % (adir, name, adir)])
        assert p.returncode == 0, p.stderr
        attacker = subprocess.Popen(["runuser", "-u", ATTACKER, "--", sys.executable, "-c",
                                     EXCHANGE, adir + "/x", adir + "/y", "8"],
                                    stdout=subprocess.PIPE, text=True, cwd="/")
        outcomes = {"ok": 0, "refused": 0, "other": 0}
        n = [0]

        def root_chown():
            n[0] += 1
            r = run("chown", "--user=0", *CONTAINER, "-q",
                    "--journal=%s/jd/j%d" % (top, n[0]), adir + "/x/" + name)
            if r.returncode == 0:
                outcomes["ok"] += 1
            elif ("symbolic link on the way" in r.stderr or "changed while it was" in r.stderr
                  or "refusing to change" in r.stderr):
                outcomes["refused"] += 1
            else:
                outcomes["other"] += 1
            st = os.stat(os.path.join(target, "secret"))
            assert st.st_uid == 0, "root chowned %s: %r" % (target, r.stderr)

        with race(root_chown, 8) as rc:
            attacker.wait(timeout=30)
        swaps = int(attacker.stdout.read().strip() or 0)
        assert swaps > 1000, "the attacker's loop did not run"
        assert rc.rounds > 20 and rc.errors == 0, (rc.rounds, rc.errors, outcomes)
        for p in (target, os.path.join(target, "secret")):
            st = os.lstat(p)
            assert (st.st_uid, st.st_gid) == (0, 0), "%s changed: %r" % (p, st)
        assert outcomes["refused"] > 0, outcomes
    finally:
        shutil.rmtree(target, ignore_errors=True)
