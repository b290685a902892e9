# SPDX-License-Identifier: GPL-2.0-or-later
"""A hard link planted in the tree does not take root's chown outside it.

fs.protected_hardlinks still lets anyone link a file they may read and
write (a 0666 file of another user). shiftfs-atk, owning a directory of
the volume root gives to a container, linked shiftfs-victim's shared
0666 file (outside the volume, same filesystem) into it: root's `shiftctl
chown` gave the victim's file to the container.

Now a non-directory with several links is changed only when every one of
its links was found in the tree (distinct names, with the same ctime and
link count at each sighting, and the link count checked again at change
time); otherwise "has N links, M of them outside PATH: left as it is",
counted in the summary, exit 1, and the journal is not marked done (a
--resume finishes once the link is sorted out).
"""
import os
import shutil
import subprocess
import sys

import pytest

from attack import ATTACKER, VICTIM, as_host_user, gid_of, uid_of
from conftest import need
from chown_util import ext4_image, need_root, run

FIXTURES = (ext4_image,)

CONTAINER = ["--uid-map=0:100000:65536", "--gid-map=0:100000:65536"]


def planted(mnt):
    """The victim's home with a 0666 file and the volume with the
    attacker's directory, on one filesystem."""
    vic, atk = uid_of(VICTIM), uid_of(ATTACKER)
    home = os.path.join(mnt, "home", "victim")
    os.makedirs(home)
    os.chown(home, vic, gid_of(VICTIM))
    p = as_host_user(VICTIM, ["sh", "-c", "echo victim-data > %s/shared.txt && chmod 666 "
                              "%s/shared.txt" % (home, home)])
    assert p.returncode == 0, p.stderr
    vol = os.path.join(mnt, "vol")
    adir = os.path.join(vol, "atk")
    os.makedirs(adir)
    os.chown(adir, atk, gid_of(ATTACKER))
    with open(os.path.join(vol, "own"), "w") as f:
        f.write("o")
    return os.path.join(home, "shared.txt"), vol, adir


def jpath(tmp_path, n="j"):
    d = tmp_path / "jd"
    d.mkdir(mode=0o700, exist_ok=True)
    return str(d / n)


@pytest.mark.parametrize("verb", ["chown", "shift"])
def test_planted_hard_link_leaves_the_outside_file_alone(ext4_image, tmp_path, verb):
    need_root()
    shared, vol, adir = planted(ext4_image())
    p = as_host_user(ATTACKER, ["ln", shared, os.path.join(adir, "innocent")])
    assert p.returncode == 0, p.stderr
    before = os.lstat(shared)
    j = jpath(tmp_path)
    args = (["chown", "--user=0"] + CONTAINER if verb == "chown"
            else ["shift", "--map=0:100000:65536"])
    r = run(*args, "--journal=" + j, vol)
    st = os.lstat(shared)
    assert (st.st_uid, st.st_gid, st.st_mode) == \
        (before.st_uid, before.st_gid, before.st_mode), \
        "root's %s changed the victim's file through a planted link:\n%s" % (verb, r.stderr)
    assert r.returncode == 1, r.stderr
    assert "atk/innocent: has 2 links, 1 of them outside PATH: left as it is" in r.stderr, \
        r.stderr
    assert "1 left as they are: hard links outside the tree" in r.stdout, r.stdout
    assert "--resume " + j in r.stderr, r.stderr
    # The rest of the volume was changed; the victim still owns its file.
    assert os.lstat(os.path.join(vol, "own")).st_uid == 100000
    assert os.lstat(adir).st_uid == (100000 if verb == "chown" else 100000 + uid_of(ATTACKER))
    assert as_host_user(VICTIM, ["chmod", "600", shared]).returncode == 0
    # --json counts it too; once the link is gone, --resume completes.
    os.chmod(shared, 0o666)
    r = run(verb, "--resume", "--json", j)
    assert r.returncode == 1 and '"links_outside": 1' in r.stdout, r.stdout + r.stderr
    os.unlink(os.path.join(adir, "innocent"))
    r = run(verb, "--resume", j)
    assert r.returncode == 0, r.stderr
    assert os.lstat(shared).st_uid == uid_of(VICTIM)


def test_single_file_path_with_links_left_alone(ext4_image, tmp_path):
    """PATH itself a file with another link (the attacker's name for the
    victim's file): left as it is."""
    need_root()
    shared, vol, adir = planted(ext4_image())
    link = os.path.join(adir, "mine")
    assert as_host_user(ATTACKER, ["ln", shared, link]).returncode == 0
    r = run("chown", "--user=0", *CONTAINER, "--journal=" + jpath(tmp_path), link)
    assert r.returncode == 1 and "outside PATH: left as it is" in r.stderr, r.stderr
    assert os.lstat(shared).st_uid == uid_of(VICTIM)


# The attacker: as soon as root's walk has read directory a to its end
# (inotify IN_ACCESS per getdents: the second one), move its link from a
# to b, which is read later, so that the walk meets the one outside-linked
# file under two names.
MOVER = r"""
import ctypes, os, select, struct, sys
a, b = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
wa = libc.inotify_add_watch(fd, a.encode(), 1)  # IN_ACCESS
wb = libc.inotify_add_watch(fd, b.encode(), 1)
print("ready", flush=True)
seen_a = 0
while select.select([fd], [], [], 20)[0]:
    buf = os.read(fd, 4096)
    off = 0
    while off < len(buf):
        wd, mask, cookie, ln = struct.unpack_from("iIII", buf, off)
        off += 16 + ln
        if wd == wb:
            print("late", flush=True)
            sys.exit(0)
        seen_a += 1
    # The second read of a is its end (getdents returns 0): the walk has
    # looked at a/l by now.
    if seen_a >= 2:
        os.rename(os.path.join(a, "l"), os.path.join(b, "l"))
        print("moved", flush=True)
        sys.exit(0)
print("late", flush=True)
"""


def test_link_moved_during_the_walk_not_counted_twice(ext4_image, tmp_path):
    """The attacker's one link to the victim's file moves from a/ to b/
    right when root's walk has read a/ (and before it reads b/), so that
    the walk sees it twice, as if both links were in the tree; the rename
    moves its ctime, so the names seen before no longer count. Up to 10
    rounds (bounded), each a fresh chown; the victim's file never changes."""
    need_root()
    shared, vol, adir = planted(ext4_image())
    a, b = os.path.join(adir, "a"), os.path.join(adir, "b")
    for d in (a, b):
        for k in range(200):  # work for the walk between a/ and b/
            os.makedirs(os.path.join(d, "s%d" % k))
    moved = 0
    for n in range(10):
        for d in (a, b):
            if os.path.lexists(os.path.join(d, "l")):
                os.unlink(os.path.join(d, "l"))
        # (Each round the attacker has its directory back.)
        subprocess.run(["chown", "-R", "%d:%d" % (uid_of(ATTACKER), gid_of(ATTACKER)), adir],
                       check=True)
        assert as_host_user(ATTACKER, ["ln", shared, os.path.join(a, "l")]).returncode == 0
        mover = subprocess.Popen(["runuser", "-u", ATTACKER, "--", sys.executable, "-c",
                                  MOVER, a, b], stdout=subprocess.PIPE, text=True, cwd="/")
        try:
            assert mover.stdout.readline().strip() == "ready"
            r = run("chown", "--user=0", "--map=0:%d:65536" % (200000 + 1000 * (n % 2)),
                    "--threads=1", "-q", "--journal=" + jpath(tmp_path, "j%d" % n), vol)
            out = mover.communicate(timeout=30)[0]
        finally:
            if mover.poll() is None:
                mover.kill()
                mover.wait()
        st = os.lstat(shared)
        assert st.st_uid == uid_of(VICTIM), \
            "round %d: the victim's file was chowned: %r\n%s" % (n, st, r.stderr)
        if "late" in out:
            a, b = b, a  # the walk reads b first here: plant in b next time
        if "moved" in out:
            moved += 1
            assert "its links changed during the walk" in r.stderr or \
                "outside PATH" in r.stderr, r.stderr
            if moved >= 3:
                break
    need(moved > 0, "the attacker never moved its link between the two reads")


def test_internal_hard_links_change_exactly_once(ext4_image, tmp_path):
    """The legitimate use beside it: files whose links are all in the tree
    (in several directories) change, once each, also under a shift whose
    map would shift them twice (0:1000:65536), and undo gives them back."""
    need_root()
    vol = os.path.join(ext4_image(), "vol")
    for d in ("a", "b/c", "d"):
        os.makedirs(os.path.join(vol, d))
    f1, f2 = os.path.join(vol, "a", "f1"), os.path.join(vol, "d", "f2")
    for f in (f1, f2):
        with open(f, "w") as fh:
            fh.write("x")
    os.link(f1, os.path.join(vol, "b", "c", "f1b"))
    os.link(f1, os.path.join(vol, "d", "f1c"))
    os.link(f2, os.path.join(vol, "a", "f2b"))
    os.chown(f2, 5, 5)
    j = jpath(tmp_path)
    r = run("shift", "--map=0:1000:65536", "--journal=" + j, vol)
    assert r.returncode == 0, r.stderr
    assert ", 3 hard links," in r.stdout, r.stdout
    assert os.lstat(f1).st_uid == 1000 and os.lstat(f2).st_uid == 1005
    assert os.lstat(os.path.join(vol, "b")).st_uid == 1000
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert os.lstat(f1).st_uid == 0 and os.lstat(f2).st_uid == 5
    r = run("chown", "--user=0", "--map=0:300000:65536", "--journal=" + jpath(tmp_path, "j2"),
            vol)
    assert r.returncode == 0, r.stderr
    assert os.lstat(f1).st_uid == 300000 and os.lstat(f2).st_uid == 300000
