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

from attack import ATTACKER, VICTIM, as_host_user, gid_of, race, uid_of
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


MOVER = r"""
import os, sys, time
a, b, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + secs
while time.time() < end:
    for src, dst in ((a, b), (b, a)):
        try:
            os.rename(src, dst)
        except OSError:
            pass
"""


def test_link_moved_during_the_walk_not_counted_twice(ext4_image, tmp_path):
    """The attacker's one link to the victim's file hops between two of its
    directories (6 s) while root chowns the volume again and again, so that
    a walk could meet it twice: the victim's file is never changed."""
    need_root()
    shared, vol, adir = planted(ext4_image())
    for d in ("a", "b"):
        for k in range(50):  # directories to walk around the link
            os.makedirs(os.path.join(adir, d, "s%d" % k))
    subprocess.run(["chown", "-R", "%d:%d" % (uid_of(ATTACKER), gid_of(ATTACKER)), adir],
                   check=True)
    assert as_host_user(ATTACKER, ["ln", shared, os.path.join(adir, "a", "l")]).returncode == 0
    mover = subprocess.Popen(["runuser", "-u", ATTACKER, "--", sys.executable, "-c", MOVER,
                              os.path.join(adir, "a", "l"), os.path.join(adir, "b", "l"), "6"],
                             cwd="/")
    n = [0]

    def root_chown():
        n[0] += 1
        m = 200000 + 1000 * (n[0] % 2)
        run("chown", "--user=0", "--map=0:%d:65536" % m, "--threads=2", "-q",
            "--journal=" + jpath(tmp_path, "j%d" % n[0]), vol)
        st = os.lstat(shared)
        assert st.st_uid == uid_of(VICTIM), "the victim's file was chowned: %r" % st

    with race(root_chown, 6) as rc:
        mover.wait(timeout=30)
    assert rc.rounds > 5 and rc.errors == 0, (rc.rounds, rc.errors)
    assert os.lstat(shared).st_uid == uid_of(VICTIM)


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
