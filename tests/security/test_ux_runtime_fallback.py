# SPDX-License-Identifier: GPL-2.0-or-later
"""The XDG_RUNTIME_DIR fallback /tmp/shiftfs-UID is a name anyone can take
first in /tmp. The attacker (shiftfs-atk) pre-creates it for the victim
(shiftfs-victim) as a directory of its own, open to all, or as a symlink
to a directory of the victim's that the attacker can read: the victim's
shiftctl refuses to keep state or mount points there, says why, and
nothing of the victim's lands where the attacker can reach it. Beside it:
with the name free, the victim's mount is recorded there (0700)."""
import glob
import os
import shutil
import subprocess

import pytest

from attack import ATTACKER, VICTIM, as_host_user, uid_of
from conftest import SHIFTCTL, SHIFTFS, is_mounted, need_root_and_fuse
from ns_util import private_run_user_and_tmp


@pytest.fixture(scope="module", autouse=True)
def own_run_user():
    """The attacker's /tmp/shiftfs-UID and the victim's own stay in this
    test's mount namespace (ns_util): other tests' victim runs never see
    them."""
    need_root_and_fuse()
    back = private_run_user_and_tmp()
    yield
    back()


def victim_shiftctl(args):
    return as_host_user(VICTIM, ["env", "-u", "XDG_RUNTIME_DIR",
                                 "SHIFTFS=%s" % SHIFTFS, SHIFTCTL] +
                        [str(a) for a in args])


@pytest.fixture
def dirs():
    need_root_and_fuse()
    vu = uid_of(VICTIM)
    uid_of(ATTACKER)
    top = "/tmp/ux-fallback-%d" % os.getpid()
    os.mkdir(top)
    os.chmod(top, 0o755)
    src, mnt = os.path.join(top, "src"), os.path.join(top, "mnt")
    for d in (src, mnt):
        os.mkdir(d)
        os.chown(d, vu, -1)
    name = "/tmp/shiftfs-%d" % vu
    if os.path.islink(name):
        os.unlink(name)
    shutil.rmtree(name, ignore_errors=True)
    assert not run_user_exists(vu)
    logs = set(glob.glob("/tmp/shiftfs-*.log"))
    yield vu, src, mnt, name
    # An unrecorded mount's daemon log went to /tmp: the test's are removed.
    for f in set(glob.glob("/tmp/shiftfs-*.log")) - logs:
        if os.lstat(f).st_uid == vu:
            os.unlink(f)
    for m in (mnt, os.path.join(name, "private", "src")):
        if is_mounted(m):
            subprocess.run(["umount", "-l", m])
    if os.path.islink(name):
        os.unlink(name)
    shutil.rmtree(name, ignore_errors=True)
    shutil.rmtree(top, ignore_errors=True)


def run_user_exists(uid):
    return os.path.exists("/run/user/%d" % uid)


def refusal(name, vu):
    return ("XDG_RUNTIME_DIR is not set, and %s is not a directory of uid %d "
            "with mode 0700 (anyone can create it first): refusing to use "
            "it; set XDG_RUNTIME_DIR to a directory of your own" % (name, vu))


@pytest.mark.parametrize("how", ["open_dir", "symlink"])
def test_precreated_fallback_is_refused(dirs, how):
    vu, src, mnt, name = dirs
    if how == "open_dir":
        r = as_host_user(ATTACKER, ["sh", "-c", "mkdir %s && chmod 777 %s"
                                    % (name, name)])
        assert r.returncode == 0, r.stderr
        watched = name
    else:
        # A directory of the victim's, readable by the attacker.
        watched = os.path.join(os.path.dirname(src), "victims-open")
        os.mkdir(watched)
        os.chown(watched, vu, -1)
        os.chmod(watched, 0o777)
        r = as_host_user(ATTACKER, ["ln", "-s", watched, name])
        assert r.returncode == 0, r.stderr
    r = victim_shiftctl(["mount", "--map=%d:%d:1" % (vu, vu), src, mnt])
    # The mount itself is the victim's to make; its record is not kept in
    # the attacker's directory, and the warning says why.
    assert r.returncode == 0, r.stderr
    assert ("shiftctl: warning: cannot record the mount (shiftctl status "
            "will show less): " + refusal(name, vu)) in r.stderr.splitlines()
    assert os.listdir(watched) == []
    r = victim_shiftctl(["umount", "--force", mnt])
    assert r.returncode == 0, r.stderr
    r = victim_shiftctl(["mount", "--private", "--map=%d:%d:1" % (vu, vu),
                         src])
    assert r.returncode == 1
    assert r.stderr.strip() == "shiftctl: --private: " + refusal(name, vu)
    assert os.listdir(watched) == []


def test_free_fallback_is_the_victims(dirs):
    vu, src, mnt, name = dirs
    r = victim_shiftctl(["mount", "--map=%d:%d:1" % (vu, vu), src, mnt])
    assert r.returncode == 0, r.stderr
    assert "shiftctl: note: XDG_RUNTIME_DIR is not set: using %s" % name \
        in r.stderr
    st = os.lstat(name)
    assert st.st_uid == vu and st.st_mode & 0o7777 == 0o700
    r = victim_shiftctl(["umount", mnt])
    assert r.returncode == 0, r.stderr
