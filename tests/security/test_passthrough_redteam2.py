# SPDX-License-Identifier: GPL-2.0-or-later
"""Second red team of FUSE passthrough (fs/passthrough.c, SECURITY.md
rule 2b), on every open being passed through (read-only ones included).

The create race again (rule 1, rule 2b "Which file"): the daemon's create is
openat(O_CREAT|O_EXCL), then a lookup of the name for the kernel's entry,
and an attacker who may rename in the directory swaps another file onto the
name in between. sfs_passthrough_count()'s start() checks that the open
file is the looked-up inode before registering it, but an inode that
already has a passthrough open (its owner has it open through the mount)
takes any new open as one more passthrough open of the registered file,
unchecked: the attacker's own create then comes back as an O_RDWR open of
the victim's inode, served by the kernel from the victim's backing file.
"""
import os
import subprocess
import sys

from attack import swap_onto_create
from conftest import need_root_and_fuse, need_test_hooks
from fs_util import scratch_fixture
from test_passthrough_redteam import Holder

FIXTURES = (scratch_fixture,)
MAP = "map=100000:0:65536"
ATTACKER = 2000
VICTIM = 1000
SECRET = b"victim's secret, mode 0600"

CREATOR = r"""
import os, sys, time
path, swapped, out = sys.argv[1:4]
fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
deadline = time.monotonic() + 10
while not os.path.exists(swapped) and time.monotonic() < deadline:
    time.sleep(0.005)
got = os.pread(fd, 100, 0)
os.pwrite(fd, b"PWNED", 0)
os.close(fd)
with open(out, "wb") as fh:
    fh.write(got)
"""


def test_create_race_onto_an_open_inode_gives_no_access(scratch,
                                                        shiftfs_mount,
                                                        monkeypatch):
    """The victim keeps its 0600 file open through the mount (a
    passthrough open: the inode has a backing file). The attacker, who
    owns the directory, creates a new name O_RDWR; while the daemon is
    between its openat() and its lookup (the test hook holds it there for
    300 ms; without it the attacker loops) the victim's file is renamed
    onto that name. Natively the attacker's fd is its own new, empty file:
    it reads nothing and its write lands there. It must never read the
    victim's bytes nor write into them."""
    need_root_and_fuse()
    need_test_hooks()
    os.chown(scratch.src, 100000, 100000)
    os.chmod(scratch.src, 0o755)
    monkeypatch.setenv("SHIFTFS_TEST_CREATE_PAUSE_MS", "300")
    m = shiftfs_mount(scratch.src, scratch.mnt, MAP)
    monkeypatch.delenv("SHIFTFS_TEST_CREATE_PAUSE_MS")
    tmp = os.path.join(os.path.dirname(scratch.src), "sync")
    os.mkdir(tmp)
    os.chmod(tmp, 0o1777)
    d = os.path.join(scratch.src, "atk")
    os.mkdir(d)
    os.chown(d, 100000 + ATTACKER, 100000 + ATTACKER)
    os.chmod(d, 0o755)
    v = os.path.join(d, "v")
    with open(v, "wb") as fh:
        fh.write(SECRET)
    os.chown(v, 100000 + VICTIM, 100000 + VICTIM)
    os.chmod(v, 0o600)
    holder = Holder(VICTIM, os.path.join(m.mnt, "atk", "v"), os.O_RDONLY,
                    tmp)
    swapped = os.path.join(tmp, "swapped")
    out = os.path.join(tmp, "out")
    creator = subprocess.Popen(
        ["setpriv", "--reuid=%d" % ATTACKER, "--regid=%d" % ATTACKER,
         "--clear-groups", "--inh-caps=-all", "--", sys.executable, "-c",
         CREATOR, os.path.join(m.mnt, "atk", "n"), swapped, out],
        stderr=subprocess.PIPE, text=True)
    try:
        # the attacker's renames, in its own directory
        swap_onto_create(d, "n", v, creator)
        open(swapped, "w").close()
        creator.wait(timeout=20)
    finally:
        open(swapped, "w").close()
        if creator.poll() is None:
            creator.kill()
        holder.stop()
    with open(os.path.join(d, "n"), "rb") as fh:
        now = fh.read()
    got = open(out, "rb").read() if os.path.exists(out) else None
    assert got in (None, b""), (
        "the attacker's create read the victim's 0600 file: %r" % got)
    assert now == SECRET, (
        "the attacker's create wrote into the victim's file: %r" % now)
