# SPDX-License-Identifier: GPL-2.0-or-later
"""chown and shift change the inode they examined (issue 11, item 3).

They used to statx a name, decide its new owner, journal the batch and only
then fchownat(dirfd, name): a user owning a directory of the tree could
rename another inode into place in between and have it chowned with the
plan of the one examined. Now each change goes through an O_PATH fd opened
at change time and checked to be the inode examined, unchanged (device,
inode, birth time, generation, owner, mode, ctime); anything else is
reported and left for --resume.

The attacker, shiftfs-atk, owns a directory of the tree in which root has
put root-owned files (it may rename them: the directory is its own), and
swaps the names of its own files and root's with renameat2(RENAME_EXCHANGE)
in a loop bounded in time, while root runs chown --from=ATTACKER or shift.
Afterwards every inode has either its original owner or exactly the plan
for that inode, never another's; a --resume once the attacker has stopped
finishes the plan.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from attack import ATTACKER, gid_of, uid_of
from chown_util import ext4_image, need_root, run

FIXTURES = (ext4_image,)

PAIRS = 300
ROUNDS = 3
SECONDS = 6.0

SWAPPER = r"""
import ctypes, os, random, sys, time
libc = ctypes.CDLL(None, use_errno=True)
d, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
names = [(b"m%d" % i, b"v%d" % i) for i in range(n)]
end = time.monotonic() + secs
first = True
while time.monotonic() < end:
    a, b = random.choice(names)
    libc.renameat2(fd, a, fd, b, 2)  # RENAME_EXCHANGE
    if first:
        print("go", flush=True)
        first = False
"""


def build(mnt, atk, agid, rnd):
    vol = os.path.join(mnt, "vol%d" % rnd)
    os.mkdir(vol)
    adir = os.path.join(vol, "atk")
    os.mkdir(adir)
    for i in range(PAIRS):
        m, v = os.path.join(adir, "m%d" % i), os.path.join(adir, "v%d" % i)
        with open(m, "w") as f:
            f.write("mine")
        os.chown(m, atk, agid)
        with open(v, "w") as f:
            f.write("root's")
        os.chmod(v, 0o600)
    os.chown(adir, atk, agid)
    owners = {}
    for n in os.listdir(adir):
        st = os.lstat(os.path.join(adir, n))
        owners[st.st_ino] = (st.st_uid, st.st_gid)
    return vol, adir, owners


def current(adir):
    out = {}
    for n in os.listdir(adir):
        st = os.lstat(os.path.join(adir, n))
        out[st.st_ino] = (st.st_uid, st.st_gid)
    return out


def attack_round(verb, plan, mnt, rnd, tmp_path):
    atk, agid = uid_of(ATTACKER), gid_of(ATTACKER)
    vol, adir, orig = build(mnt, atk, agid, rnd)
    j = str(tmp_path / ("j%d" % rnd))
    p = subprocess.Popen(["runuser", "-u", ATTACKER, "--", sys.executable, "-c", SWAPPER,
                          adir, str(PAIRS), str(SECONDS)],
                         stdout=subprocess.PIPE, text=True, cwd="/",
                         start_new_session=True)
    try:
        assert p.stdout.readline().strip() == "go"
        r = run(*verb, "--journal=" + j, vol)
    finally:
        os.killpg(p.pid, signal.SIGKILL)  # runuser and the swapper under it
        p.wait()
        time.sleep(0.1)
    got = current(adir)
    wrong = {ino: (orig[ino], got[ino], plan(*orig[ino]))
             for ino in orig if got[ino] not in (orig[ino], plan(*orig[ino]))}
    assert not wrong, "%d inodes got another inode's plan (orig, now, plan): %r\n%s" % (
        len(wrong), list(wrong.items())[:5], r.stderr[-2000:])
    assert r.returncode in (0, 1), r.stderr
    if r.returncode == 1:
        assert "changed since it was examined" in r.stderr or "changed during the walk" in r.stderr, \
            r.stderr[-2000:]
        assert "--resume" in r.stderr
    # The attacker has stopped: --resume finishes exactly the plan.
    r2 = run(verb[0], "--resume", j) if os.path.exists(j) else r
    assert r2.returncode == 0, r2.stderr[-2000:]
    got = current(adir)
    assert all(got[ino] == plan(*orig[ino]) for ino in orig), \
        [(ino, orig[ino], got[ino]) for ino in orig if got[ino] != plan(*orig[ino])][:5]
    return r.returncode


@pytest.mark.parametrize("verb", ["chown", "shift"])
def test_rename_race_changes_only_the_examined_inode(verb, ext4_image, tmp_path):
    need_root()
    atk, agid = uid_of(ATTACKER), gid_of(ATTACKER)
    mnt = ext4_image(128)
    if verb == "chown":
        args = ["chown", "--user=0:0", "--map=0:100000:65536", "--from=%d" % atk]

        def plan(u, g):
            return (100000, 100000) if u == atk else (u, g)
    else:
        args = ["shift", "--map=0:100000:65536"]

        def plan(u, g):
            return (100000 + u, 100000 + g)
    t0 = time.monotonic()
    for rnd in range(ROUNDS):
        attack_round(args, plan, mnt, rnd, tmp_path)
    assert time.monotonic() - t0 < 120
