# SPDX-License-Identifier: GPL-2.0-or-later
"""An unprivileged `shiftctl mount` adds allow_other whenever
/etc/fuse.conf has user_allow_other, so that the container's ids (not the
user's) can use the mount; then every host user who can reach MNT can too,
data behind the user's 0700 home included (issue 11, item 6). shiftctl
says so in one warning line, and --private puts MNT where only the user
reaches it by path: the container reaches it through the bind mount its
engine makes, which does not walk MNT's parents.
"""
import os
import shutil
import subprocess

import pytest

from attack import ATTACKER, MAPPED, as_host_user, gid_of, subid_start, uid_of
from conftest import SHIFTCTL, SHIFTFS, is_mounted, need, need_root_and_fuse
from mount_util import fuse_conf_allows_other, world_tmp  # noqa: F401


def as_mapped(args, run):
    env = ["XDG_RUNTIME_DIR=" + run, "SHIFTFS=" + SHIFTFS]
    return as_host_user(MAPPED, ["env"] + env + [SHIFTCTL] + args)


@pytest.fixture
def home(world_tmp):
    """MAPPED's 0700 'home' holding SRC (with a 0644 file), its runtime
    dir, and a mount point others can reach; the container's view ids of
    container user 1000 under MAPPED's rootless layout."""
    need_root_and_fuse()
    need(fuse_conf_allows_other(), "needs user_allow_other in /etc/fuse.conf")
    need(shutil.which("setpriv") is not None, "needs setpriv")
    uid, gid = uid_of(MAPPED), gid_of(MAPPED)
    su, sg = subid_start(MAPPED), subid_start(MAPPED, "/etc/subgid")
    need(su is not None and sg is not None, MAPPED + " has no subids")
    h = os.path.join(world_tmp, "home")
    src, run, pub = (os.path.join(h, "data"), os.path.join(world_tmp, "run"),
                     os.path.join(world_tmp, "pub"))
    for d, mode in ((h, 0o700), (src, 0o755), (run, 0o700), (pub, 0o755)):
        os.mkdir(d, mode)
        os.chown(d, uid, gid)
    secret = os.path.join(src, "secret")
    with open(secret, "w") as f:
        f.write("behind a 0700 home\n")
    os.chmod(secret, 0o644)
    os.chown(secret, uid, gid)
    mnt = os.path.join(pub, "mnt")
    r = as_host_user(MAPPED, ["mkdir", mnt])
    assert r.returncode == 0, r.stderr
    made = []
    yield {"src": src, "run": run, "mnt": mnt, "made": made,
           "view": (su + 999, sg + 999)}
    for m in made + [mnt]:
        if is_mounted(m):
            as_mapped(["umount", "--lazy", m], run)
        if is_mounted(m):
            subprocess.run(["umount", "-l", m], capture_output=True)


def test_allow_other_is_announced(home):
    src, mnt, run = home["src"], home["mnt"], home["run"]
    r = as_mapped(["mount", "--user=1000", src, mnt], run)
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if "allow_other" in l]
    assert len(warnings) == 1, r.stderr
    assert "allow_other is on (user_allow_other in /etc/fuse.conf)" \
        in warnings[0]
    assert "every host user who can reach %s" % mnt in warnings[0]
    assert "--private" in warnings[0]
    # What it warns about is real: another host user reads the file that
    # the 0700 home hid.
    r = as_host_user(ATTACKER, ["cat", os.path.join(mnt, "secret")])
    assert r.returncode == 0 and "behind a 0700 home" in r.stdout
    r = as_mapped(["umount", mnt], run)
    assert r.returncode == 0, r.stderr


def test_private_is_reachable_by_the_container_only(home, world_tmp):
    src, run = home["src"], home["run"]
    vu, vg = home["view"]
    r = as_mapped(["mount", "--private", "--user=1000", src, "data"], run)
    assert r.returncode == 0, r.stderr
    mnt = os.path.join(run, "shiftfs", "private", "data")
    home["made"].append(mnt)
    assert "bind %s into the container" % mnt in r.stdout
    assert "allow_other is on" not in r.stderr
    assert is_mounted(mnt)
    st = os.stat(os.path.dirname(mnt))
    assert (st.st_uid, st.st_mode & 0o7777) == (uid_of(MAPPED), 0o700)

    # The attacker, another host user, cannot get at it.
    for cmd in (["cat", os.path.join(mnt, "secret")], ["ls", mnt]):
        r = as_host_user(ATTACKER, cmd)
        assert r.returncode != 0 and "Permission denied" in r.stderr

    # The container's uid, through the bind mount its engine makes (in its
    # own mount namespace), reads the file and creates one, which lands on
    # disk as the user.
    bind = os.path.join(world_tmp, "container-data")
    os.mkdir(bind)
    script = ("mount --bind {mnt} {bind} && "
              "setpriv --reuid={u} --regid={g} --clear-groups "
              "sh -c 'cat {bind}/secret && echo c > {bind}/made-inside' && "
              "setpriv --reuid={u} --regid={g} --clear-groups "
              "cat {mnt}/secret; echo path-rc=$?").format(
                  mnt=mnt, bind=bind, u=vu, g=vg)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh",
                        "-c", script], capture_output=True, text=True,
                       timeout=60)
    assert "behind a 0700 home" in r.stdout, r.stderr
    st = os.lstat(os.path.join(src, "made-inside"))
    assert (st.st_uid, st.st_gid) == (uid_of(MAPPED), gid_of(MAPPED))
    # By path, MNT is the user's alone (documented in shiftctl-mount(1)).
    assert "path-rc=1" in r.stdout

    r = as_mapped(["umount", mnt], run)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
