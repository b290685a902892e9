# SPDX-License-Identifier: GPL-2.0-or-later
"""The idmap backend cannot be told to refuse setuid files (issue 10,
item 2): under `--rootless=USER` view uid(USER) is disk uid 0, so USER's
`cp /bin/bash MNT/rootsh; chmod 4755 MNT/rootsh` through a kernel
idmapped mount leaves a root-owned setuid binary in SRC. shiftctl refuses
such an idmapped mount unless SRC is nosuid (everywhere it is mounted), or
reachable only by root, or --allow-suid-src is given; --backend=auto falls
back to FUSE and says why. The attack is played through an accepted mount
on a nosuid SRC: the planted binary gives the attacker nothing natively.
"""
import os
import subprocess

import pytest

from attack import ATTACKER, MAPPED, VICTIM, as_host_user, uid_of
from conftest import is_mounted, need, need_root_and_fuse
from mount_util import mount_entry, mounts, run_shiftctl, world_tmp  # noqa: F401

LAYOUT = "--rootless=" + MAPPED


@pytest.fixture
def plain(world_tmp):
    """SRC and MNT in a scratch dir every user can traverse."""
    need_root_and_fuse()
    src, mnt = (os.path.join(world_tmp, n) for n in ("src", "mnt"))
    os.mkdir(src)
    os.mkdir(mnt)
    return src, mnt


@pytest.fixture
def nosuid_src(world_tmp):
    need_root_and_fuse()
    src, mnt = (os.path.join(world_tmp, n) for n in ("tsrc", "tmnt"))
    os.mkdir(src)
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,mode=0755",
                    "shiftfs-sec", src], check=True)
    yield src, mnt
    if is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    subprocess.run(["umount", "-l", src], capture_output=True)


def test_idmap_refused_for_rootless_layout(plain, mounts):
    src, mnt = plain
    me = uid_of(MAPPED)
    r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
    assert r.returncode == 1
    assert "refusing an idmapped mount of %s: view uid %d would own disk " \
           "uid 0 in SRC" % (src, me) in r.stderr
    assert "--allow-suid-src" in r.stderr
    assert not is_mounted(mnt)


def test_auto_falls_back_to_fuse_and_says_why(plain, mounts):
    src, mnt = plain
    r = mounts.mount(LAYOUT, src, mnt)
    assert " with fuse (" in r.stdout
    assert "no idmapped mount: view uid %d would own disk uid 0" % \
        uid_of(MAPPED) in r.stdout
    assert "--allow-suid-src overrides" in r.stdout
    assert mount_entry(mnt)["fstype"] == "fuse.shiftfs"


def test_root_only_src_and_override_are_accepted(world_tmp, plain, mounts):
    src, mnt = plain
    r = mounts.mount("--backend=idmap", "--allow-suid-src", LAYOUT, src, mnt)
    assert " with idmap (" in r.stdout
    priv = os.path.join(world_tmp, "root-only")
    os.mkdir(priv, 0o700)
    src2, mnt2 = os.path.join(priv, "src"), os.path.join(world_tmp, "mnt2")
    os.mkdir(src2)
    os.mkdir(mnt2)
    r = mounts.mount("--backend=idmap", LAYOUT, src2, mnt2)
    assert " with idmap (" in r.stdout


def test_planted_setuid_on_nosuid_src_gives_nothing(nosuid_src, mounts):
    src, mnt = nosuid_src
    r = mounts.mount("--backend=idmap", LAYOUT, src, mnt)
    assert " with idmap (" in r.stdout
    assert "idmapped" in mount_entry(mnt)["opts"].split(",")

    # The mapped user plants a root-owned setuid shell through the mount...
    r = as_host_user(MAPPED, ["sh", "-c", "cp /bin/bash %s/rootsh && "
                              "chmod 4755 %s/rootsh" % (mnt, mnt)])
    assert r.returncode == 0, r.stderr
    st = os.lstat(os.path.join(src, "rootsh"))
    assert st.st_uid == 0 and st.st_mode & 0o4000, \
        "the plant did not happen: the test proves nothing"
    # ...and runs it natively from SRC, as does any other user: SRC is
    # nosuid, so it is no root shell.
    for user in (MAPPED, ATTACKER):
        r = as_host_user(user, [os.path.join(src, "rootsh"), "-p", "-c",
                                "id -u"])
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(uid_of(user))


def test_suid_mount_elsewhere_defeats_nosuid(nosuid_src, world_tmp, mounts):
    """nosuid must hold wherever SRC's filesystem is mounted: a second,
    suid mount of the same tmpfs makes the idmapped mount refused."""
    src, mnt = nosuid_src
    other = os.path.join(world_tmp, "suid-view")
    os.mkdir(other)
    subprocess.run(["mount", "--bind", src, other], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,suid", other],
                       check=True)
        need("nosuid" not in mount_entry(other)["opts"].split(","),
             "could not make a suid bind mount")
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt,
                         expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr
    finally:
        subprocess.run(["umount", "-l", other], capture_output=True)


def test_owner_mode_within_the_owners_own_ids_is_idmapped(plain, mounts):
    """Owner mode that shows shiftfs-mapped's files to its own container's
    uid 1000 (its subordinate 500999) hands nobody an id it lacks: the
    kernel's idmapped mount is used. The same for a SRC owned by another
    host user (shiftfs-victim) is refused: the container would own the
    victim's disk uid."""
    src, mnt = plain
    os.chown(src, uid_of(MAPPED), uid_of(MAPPED))
    r = mounts.mount("--backend=idmap", LAYOUT, "--user=1000",
                     "--owner=%d" % uid_of(MAPPED), src, mnt)
    assert " with idmap (" in r.stdout, r.stdout + r.stderr
    assert os.stat(mnt).st_uid == 500999
    mnt2 = os.path.join(os.path.dirname(mnt), "mnt-victim")
    os.mkdir(mnt2)
    r = mounts.mount("--backend=idmap", LAYOUT, "--user=1000",
                     "--owner=%d" % uid_of(VICTIM), src, mnt2,
                     expect_ok=False)
    assert r.returncode == 1
    assert "view uid 500999 would own disk uid %d in SRC" % \
        uid_of(VICTIM) in r.stderr


def _plant_and_run(mnt, src):
    """The mapped user opens the view's root, plants a setuid copy of bash
    there; returns what `rootsh -p -c 'id -u'` gives shiftfs-atk natively
    (None when nothing setuid reached SRC)."""
    as_host_user(MAPPED, ["sh", "-c", "chmod 755 %s; cp /bin/bash %s/rootsh"
                          " && chmod 4755 %s/rootsh" % (mnt, mnt, mnt)])
    path = os.path.join(src, "rootsh")
    if not os.path.exists(path) or not os.lstat(path).st_mode & 0o4000:
        return None
    return as_host_user(ATTACKER, [path, "-p", "-c", "id -u"]).stdout.strip()


def test_src_itself_root_only_is_not_enough(world_tmp, mounts):
    """SRC is the view's root, owned in the view by the mapped user, who
    can chmod it open through the mount: a 0700 root SRC does not make it
    reachable only by root (red-team finding). The mount is refused, or
    (auto) made with FUSE, where the plant fails."""
    need_root_and_fuse()
    src, mnt = os.path.join(world_tmp, "vol"), os.path.join(world_tmp, "m")
    os.mkdir(src, 0o700)
    os.mkdir(mnt)
    r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
    assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stderr
    assert not is_mounted(mnt)
    r = mounts.mount(LAYOUT, src, mnt)
    assert " with fuse (" in r.stdout
    assert _plant_and_run(mnt, src) in (None, str(uid_of(ATTACKER)))


def test_root_only_parent_bypassed_by_a_bind_mount(world_tmp, mounts):
    """A root-only directory above a bind mount says nothing about the
    filesystem's other ways in: data/vol (0755, reachable) bind-mounted at
    private/vol under a 0700 root directory is refused (red-team finding);
    the same data reached only through the root-only directory is
    accepted (the legitimate layout)."""
    need_root_and_fuse()
    data, priv = os.path.join(world_tmp, "data"), os.path.join(world_tmp, "private")
    os.makedirs(os.path.join(data, "vol"))
    os.mkdir(priv, 0o700)
    src = os.path.join(priv, "vol")
    os.mkdir(src)
    mnt = os.path.join(world_tmp, "m")
    os.mkdir(mnt)
    subprocess.run(["mount", "--bind", os.path.join(data, "vol"), src],
                   check=True)
    try:
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stdout
        assert not is_mounted(mnt)
    finally:
        subprocess.run(["umount", "-l", src], capture_output=True)
    # Without the bind mount, private/vol is below a root-only directory
    # on its own mount: accepted, and the plant gives the attacker nothing
    # (it cannot even reach SRC's files to run them).
    r = mounts.mount("--backend=idmap", LAYOUT, src, mnt)
    assert " with idmap (" in r.stdout
    got = _plant_and_run(mnt, src)
    assert got != "0", "a root shell for shiftfs-atk"


def test_root_only_guard_counts_every_mount_of_the_filesystem(world_tmp,
                                                              mounts):
    """A tmpfs mounted only below a 0700 root directory is reachable only
    by root: accepted. Mounted a second time where everyone can reach it,
    or with a world-reachable filesystem bind-mounted below SRC (the
    idmapped tree carries submounts), the guard is bypassed: refused."""
    need_root_and_fuse()
    priv = os.path.join(world_tmp, "private")
    os.mkdir(priv, 0o700)
    src, mnt = os.path.join(priv, "t"), os.path.join(world_tmp, "m")
    pub, data = os.path.join(world_tmp, "public"), os.path.join(world_tmp, "d")
    for d in (src, mnt, pub, data):
        os.mkdir(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "sec-t", src],
                   check=True)
    try:
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt)
        assert " with idmap (" in r.stdout
        assert run_shiftctl(["umount", mnt]).returncode == 0
        # the same tmpfs, also at a public place
        subprocess.run(["mount", "--bind", src, pub], check=True)
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stdout
        subprocess.run(["umount", pub], check=True)
        # a public directory of another filesystem carried as a submount
        os.mkdir(os.path.join(src, "sub"))
        subprocess.run(["mount", "--bind", data,
                        os.path.join(src, "sub")], check=True)
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stdout
        assert not is_mounted(mnt)
    finally:
        subprocess.run(["umount", "-R", "-l", src], capture_output=True)
        subprocess.run(["umount", "-l", pub], capture_output=True)


def _overlay(lower, where, opts=""):
    upper, work = lower + ".up", lower + ".work"
    os.mkdir(upper)
    os.mkdir(work)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=%s,upperdir=%s,workdir=%s%s"
                    % (lower, upper, work, opts), where], check=True)


def test_overlay_of_src_defeats_guard_and_nosuid(world_tmp, nosuid_src,
                                                 mounts):
    """An overlay with SRC as a layer shows SRC's files under another
    device number, with its own mount options deciding setuid (red-team
    finding): at a public place it defeats both the root-only guard and a
    nosuid SRC. An overlay of something else does not get in the way."""
    need_root_and_fuse()
    # the guard: SRC below a 0700 root directory, an overlay of it public
    priv = os.path.join(world_tmp, "g")
    os.mkdir(priv, 0o700)
    src, mnt = os.path.join(priv, "src"), os.path.join(world_tmp, "m")
    merged = os.path.join(world_tmp, "merged")
    for d in (src, mnt, merged):
        os.mkdir(d)
    _overlay(src, merged)
    try:
        r = mounts.mount("--backend=idmap", LAYOUT, src, mnt, expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stdout
        assert not is_mounted(mnt)
    finally:
        subprocess.run(["umount", "-l", merged], capture_output=True)
    # nosuid SRC, a suid overlay of it at a public place
    nsrc, nmnt = nosuid_src
    nmerged = os.path.join(world_tmp, "nmerged")
    os.mkdir(nmerged)
    lower = os.path.join(world_tmp, "nlower")
    os.mkdir(lower)
    subprocess.run(["mount", "--bind", nsrc, lower], check=True)
    try:
        _overlay(lower, nmerged)
        r = mounts.mount("--backend=idmap", LAYOUT, nsrc, nmnt,
                         expect_ok=False)
        assert r.returncode == 1 and "--allow-suid-src" in r.stderr, r.stdout
        subprocess.run(["umount", "-l", nmerged], capture_output=True)
        # legitimate: an overlay of an unrelated directory
        other = os.path.join(world_tmp, "other")
        os.mkdir(other)
        _overlay(other, nmerged)
        r = mounts.mount("--backend=idmap", LAYOUT, nsrc, nmnt)
        assert " with idmap (" in r.stdout
    finally:
        subprocess.run(["umount", "-l", nmerged], capture_output=True)
        subprocess.run(["umount", "-l", lower], capture_output=True)
