# SPDX-License-Identifier: GPL-2.0-or-later
"""Doctor on a shifted mount reads the source its record names only when
that path still leads to the very tree the mount shows (issue 13 item 7).

Root's doctor, on a mount shiftctl recorded, walks the mount's source (so
that USER is judged on what the mount shows, not with the caller's
rights). The source is a path, resolved again: an attacker who owns a
directory on it swaps the source for a symlink to a directory only root
can read, hoping that root's doctor lists the names in it. The source is
opened with no symlink on the way (fdpath_open) and must be the inode the
mount shows at PATH (same inode number and type; for idmap the same
device): after the swap doctor reads the mount itself, as before, and
never names what is in the other directory."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from attack import ATTACKER, as_host_user, gid_of, uid_of
from conftest import SHIFTCTL, SHIFTFS, need

SECRET = "secret-name-f00d"


@pytest.fixture
def world():
    need(os.geteuid() == 0, "needs root")
    need(os.path.exists("/dev/fuse"), "needs /dev/fuse")
    top = tempfile.mkdtemp(prefix="doctor-vsrc.")
    os.chmod(top, 0o755)
    mnts = []
    yield top, mnts
    for m in mnts:
        subprocess.run([SHIFTCTL, "umount", "--lazy", m], capture_output=True)
        subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


def make_mount(top, mnts):
    atk = os.path.join(top, "atk")
    os.mkdir(atk, 0o755)
    os.chown(atk, uid_of(ATTACKER), gid_of(ATTACKER))
    src = os.path.join(atk, "src")
    os.mkdir(src, 0o700)
    with open(os.path.join(src, "data"), "w") as f:
        f.write("x\n")
    os.chmod(os.path.join(src, "data"), 0o600)
    # Only root can list it; USER would be denied there (so a scan of it
    # would name its entries as examples).
    hidden = os.path.join(top, "rootonly")
    os.mkdir(hidden, 0o700)
    with open(os.path.join(hidden, SECRET), "w") as f:
        f.write("y\n")
    os.chmod(os.path.join(hidden, SECRET), 0o600)
    mnt = os.path.join(top, "view")
    mnts.append(mnt)
    r = subprocess.run([SHIFTCTL, "mount", "--map=0:100000:65536", "--mkdir",
                        src, mnt], capture_output=True, text=True,
                       env=dict(os.environ, SHIFTFS=SHIFTFS))
    assert r.returncode == 0, r.stderr
    return src, hidden, mnt


def doctor(mnt):
    r = subprocess.run([SHIFTCTL, "doctor", mnt, "--map=0:100000:65536",
                        "--user=1000", "--json", "--list=all"],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout), r.stdout + r.stderr


def test_swapped_source_is_not_read(world):
    top, mnts = world
    src, hidden, mnt = make_mount(top, mnts)
    # The attacker swaps the source for a symlink to root's directory.
    r = as_host_user(ATTACKER, ["sh", "-c", 'mv "$1" "$1.old" && '
                                'ln -s "$2" "$1"', "sh", src, hidden])
    assert r.returncode == 0, r.stderr
    doc, out = doctor(mnt)
    assert SECRET not in out
    assert doc["mount"]["read_from_source"] is None
    assert sorted(e["path"] for e in doc["entries"]) == [".", "data"]
    # The same with a directory (a copy, not the mounted inode) in place.
    os.unlink(src)
    r = as_host_user(ATTACKER, ["sh", "-c", 'mkdir "$1" && touch '
                                '"$1/$2"', "sh", src, SECRET])
    assert r.returncode == 0, r.stderr
    doc, out = doctor(mnt)
    assert SECRET not in out
    assert doc["mount"]["read_from_source"] is None


def test_unswapped_source_is_read(world):
    """The legitimate use: the record's source is the mounted tree."""
    top, mnts = world
    src, _, mnt = make_mount(top, mnts)
    doc, out = doctor(mnt)
    assert doc["mount"]["read_from_source"] == src
    assert sorted(e["path"] for e in doc["entries"]) == [".", "data"]
