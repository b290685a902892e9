# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl mount / umount / status from the outside: refusals, --mkdir,
--private and the safety warning, auto fallback to FUSE, status and umount
(text and --json) on both backends, stale and unrecorded mounts."""
import glob
import json
import pwd
import os
import shlex
import stat
import subprocess

import pytest

from conftest import Mount, is_mounted, need, need_root_and_fuse
from ns_util import private_run_shiftfs
from mount_util import (mount_entry, mounts, run_shiftctl, state_of,  # noqa: F401
                        world_tmp)

MAP = "--map=0:100000:65536"
BACKENDS = ["idmap", "fuse"]


def mkdirs(top, *names):
    out = []
    for n in names:
        p = os.path.join(top, n)
        os.makedirs(p, exist_ok=True)
        out.append(p)
    return out


def root_only(top, *names):
    """Directories under a 0700 root-owned one: nobody but root can run
    what is in them natively, so an idmapped mount of them is allowed even
    with a map that lets a view id own disk uid 0 (shiftctl-mount(1),
    --allow-suid-src)."""
    priv = os.path.join(top, "root-only")
    os.makedirs(priv, exist_ok=True)
    os.chmod(priv, 0o700)
    return mkdirs(priv, *names)


# --- refusals ----------------------------------------------------------------

@pytest.mark.parametrize("src", ["/", "/etc", "/usr", "/boot", "/proc", "/sys", "/dev"])
def test_refuses_system_dir_as_src(src, world_tmp, mounts):
    need_root_and_fuse()
    need(os.path.isdir(src), src + " missing")
    (mnt,) = mkdirs(world_tmp, "mnt")
    r = mounts.mount(MAP, src, mnt, expect_ok=False)
    assert r.returncode == 1
    assert "refusing to mount from %s: it is the system directory %s" % (
        src, src) in r.stderr
    assert not is_mounted(mnt)


def test_refuses_home_dir_and_system_mnt(world_tmp, mounts):
    """MNT refusals use a daemon that cannot run, so that even a broken
    check would not cover a real directory."""
    need_root_and_fuse()
    (src,) = mkdirs(world_tmp, "src")
    env = {"SHIFTFS": "/bin/false"}
    homes = [(os.path.realpath(p.pw_dir), p.pw_name) for p in pwd.getpwall()
             if p.pw_dir.startswith("/home/") and os.path.isdir(p.pw_dir)]
    need(homes, "no host user with a home directory under /home")
    home, user = homes[0]
    for mnt, why in ((home, "the home directory of " + user),
                     ("/usr", "the system directory /usr"),
                     ("/root", "the system directory /root")):
        r = run_shiftctl(["mount", "--backend=fuse", MAP, src, mnt], env=env)
        assert r.returncode == 1
        assert "refusing to mount onto %s: it is %s" % (mnt, why) in r.stderr
    r = mounts.mount(MAP, home, os.path.join(world_tmp, "src"), expect_ok=False)
    assert r.returncode == 1 and "home directory of " + user in r.stderr


def test_refuses_overlap_unless_forced(world_tmp, mounts):
    need_root_and_fuse()
    a, sub = mkdirs(world_tmp, "a", "a/sub")
    for s, m in ((a, sub), (sub, a), (a, a)):
        r = mounts.mount(MAP, s, m, expect_ok=False)
        assert r.returncode == 1 and "overlap" in r.stderr, r.stderr
        assert not is_mounted(m)
    with open(os.path.join(a, "f"), "w"):
        pass
    mounts.mount("--force", MAP, a, sub)
    assert os.lstat(os.path.join(sub, "f")).st_uid == 100000


def test_missing_mnt_and_mkdir(world_tmp, mounts):
    need_root_and_fuse()
    (src,) = mkdirs(world_tmp, "src")
    mnt = os.path.join(world_tmp, "new", "mnt")
    r = mounts.mount(MAP, src, mnt, expect_ok=False)
    assert r.returncode == 1
    assert "does not exist (--mkdir creates it)" in r.stderr
    assert not os.path.exists(mnt)
    mnt = os.path.join(world_tmp, "made")
    mounts.mount("--mkdir", MAP, src, mnt)
    assert is_mounted(mnt)


def test_usage_errors():
    r = run_shiftctl(["mount", MAP, "/nonexistent"])
    assert r.returncode == 2 and "give SRC and MNT" in r.stderr
    r = run_shiftctl(["mount", "--owner=0", "/a", "/b"])
    assert r.returncode == 2 and "--owner goes with --user" in r.stderr
    r = run_shiftctl(["mount", "--backend=kernel", "/a", "/b"])
    assert r.returncode == 2 and "--backend takes auto, idmap or fuse" in r.stderr


# --- safety warning and --private ---------------------------------------------

def test_warns_when_reachable_and_private_is_quiet(world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = mkdirs(world_tmp, "src", "mnt")
    r = mounts.mount(MAP, src, mnt)
    assert "host root's files (uid 0) as owned by uid 100000" in r.stderr
    assert "--private" in r.stderr

    # Under a directory others cannot search: no warning.
    hidden, = mkdirs(world_tmp, "hidden")
    os.chmod(hidden, 0o700)
    (mnt2,) = mkdirs(hidden, "mnt")
    r = mounts.mount(MAP, src, mnt2)
    assert "warning" not in r.stderr

    # A map that shifts no host account and not root: no warning.
    (mnt3,) = mkdirs(world_tmp, "mnt3")
    r = mounts.mount("--map=1:100001:65535", src, mnt3)
    assert "warning" not in r.stderr


def test_private(world_tmp, mounts):
    need_root_and_fuse()
    (src,) = mkdirs(world_tmp, "src")
    name = "t-" + os.path.basename(world_tmp)
    mnt = "/run/shiftfs/private/" + name
    mounts.mnts.append((mnt, None, None))
    r = run_shiftctl(["mount", "--private", MAP, src, name])
    assert r.returncode == 0, r.stderr
    try:
        assert "warning" not in r.stderr
        assert "bind %s into the container" % mnt in r.stdout
        st = os.stat("/run/shiftfs/private")
        assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0
        assert is_mounted(mnt)
        r = run_shiftctl(["mount", "--private", MAP, src, "a/b"])
        assert r.returncode == 2
    finally:
        run_shiftctl(["umount", mnt])
        os.rmdir(mnt)


# --- backend choice -----------------------------------------------------------

@pytest.fixture
def fuse_src(world_tmp):
    """A SRC on a FUSE filesystem (bindfs), which cannot be idmapped."""
    need_root_and_fuse()
    need(subprocess.run(["which", "bindfs"], capture_output=True).returncode == 0,
         "needs bindfs")
    real, src = mkdirs(world_tmp, "real", "bindfs")
    with open(os.path.join(real, "f"), "w"):
        pass
    os.chown(os.path.join(real, "f"), 5, 5)
    subprocess.run(["bindfs", real, src], check=True)
    yield src
    subprocess.run(["umount", "-l", src], capture_output=True)


def test_auto_falls_back_to_fuse(fuse_src, world_tmp, mounts):
    (mnt,) = mkdirs(world_tmp, "mnt")
    r = mounts.mount(MAP, fuse_src, mnt)
    assert " with fuse (" in r.stdout
    assert "no idmapped mount: the source filesystem (or a submount) does " \
           "not support idmapped mounts" in r.stdout
    assert mount_entry(mnt)["fstype"] == "fuse.shiftfs"
    assert os.lstat(os.path.join(mnt, "f")).st_uid == 100005


def test_forced_idmap_fails_cleanly(fuse_src, world_tmp, mounts):
    (mnt,) = mkdirs(world_tmp, "mnt")
    before = mount_entry(mnt)
    r = mounts.mount("--backend=idmap", MAP, fuse_src, mnt, expect_ok=False)
    assert r.returncode == 1
    assert "idmapped mount of %s at %s failed" % (fuse_src, mnt) in r.stderr
    assert mount_entry(mnt) == before
    assert state_of(mnt) is None


def test_auto_prefers_idmap_and_fuse_only_options(world_tmp, mounts):
    need_root_and_fuse()
    src, m1, m2 = root_only(world_tmp, "src", "m1", "m2")
    r = mounts.mount(MAP, src, m1)
    assert " with idmap (kernel idmapped mount: zero overhead)" in r.stdout
    r = mounts.mount("-o", "cache=never", MAP, src, m2)
    assert " with fuse (" in r.stdout and "-o cache=never needs the FUSE backend" in r.stdout
    r = run_shiftctl(["mount", "--backend=idmap", "-o", "cache=never", MAP, src,
                      os.path.join(world_tmp, "m3")])
    assert r.returncode == 2 and "needs the FUSE backend" in r.stderr


def test_daemon_error_is_reported(world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = mkdirs(world_tmp, "src", "mnt")
    r = mounts.mount("--backend=fuse", "-o", "no_such_option_xyz", MAP, src, mnt,
                     expect_ok=False)
    assert r.returncode == 1
    assert "shiftfs failed to mount" in r.stderr
    assert "no_such_option_xyz" in r.stderr
    assert not is_mounted(mnt)
    assert state_of(mnt) is None
    # Neither a record nor the failed daemon's log is left behind.
    name = mnt[1:].replace("/", "%2F")
    assert not glob.glob("/run/shiftfs/mounts/%s.*" % glob.escape(name))


def test_second_mount_on_same_mnt_refused(world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = mkdirs(world_tmp, "src", "mnt")
    mounts.mount(MAP, src, mnt)
    r = mounts.mount("--backend=fuse", MAP, src, mnt, expect_ok=False)
    assert r.returncode == 1 and "already a shifted mount" in r.stderr


# --- status and umount ----------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_status_and_umount(backend, world_tmp, mounts):
    need_root_and_fuse()
    (src,) = root_only(world_tmp, "src")
    (mnt,) = mkdirs(world_tmp, "mnt")
    mounts.mount("--backend=" + backend, "--read-only", MAP, src, mnt)

    r = run_shiftctl(["status", "--json"])
    assert r.returncode == 0
    mine = [m for m in json.loads(r.stdout) if m["mountpoint"] == mnt]
    assert len(mine) == 1
    m = mine[0]
    assert m["source"] == src and m["backend"] == backend and m["recorded"]
    assert m["uid_map"] == [{"disk": 0, "view": 100000, "count": 65536}]
    assert m["gid_map_spec"] == "0:100000:65536" and m["read_only"]
    pid = m.get("pid")
    if backend == "fuse":
        assert pid and os.path.exists("/proc/%d" % pid)

    r = run_shiftctl(["status", mnt])
    assert r.returncode == 0
    assert r.stdout == ("%s: %s, backend %s%s, explicit, uid map 0:100000:65536, "
                        "gid map 0:100000:65536, read-only\n"
                        % (mnt, src, backend,
                           " (shiftfs pid %d)" % pid if pid else ""))

    r = run_shiftctl(["umount", mnt])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "shiftctl: unmounted %s (%s)\n" % (mnt, backend)
    assert not is_mounted(mnt)
    if pid:
        assert not os.path.exists("/proc/%d/cmdline" % pid) or \
            open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z"
    r = run_shiftctl(["status", mnt])
    assert r.returncode == 1 and "is not a shifted mount" in r.stderr
    r = run_shiftctl(["umount", mnt])
    assert r.returncode == 1 and "is not mounted" in r.stderr


def test_stale_state_is_dropped(world_tmp, mounts):
    """In a mount namespace with a /run/shiftfs of its own (ns_util): a
    root `shiftctl status` of a test running beside it would drop the stale
    record before this test could see it listed once."""
    need_root_and_fuse()
    back = private_run_shiftfs()
    try:
        check_stale_state_is_dropped(world_tmp, mounts)
        mounts.cleanup()
    finally:
        back()


def check_stale_state_is_dropped(world_tmp, mounts):
    (src,) = root_only(world_tmp, "src")
    (mnt,) = mkdirs(world_tmp, "mnt")
    mounts.mount("--backend=idmap", MAP, src, mnt)
    assert state_of(mnt)["backend"] == "idmap"
    subprocess.run(["umount", mnt], check=True)
    r = run_shiftctl(["status", "--json"])
    # Listed once as stale, as its record is removed (issue 13, item 4).
    assert [m["state"] for m in json.loads(r.stdout)
            if m["mountpoint"] == mnt] == ["stale"]
    r = run_shiftctl(["status", "--json"])
    assert mnt not in [m["mountpoint"] for m in json.loads(r.stdout)]
    assert run_shiftctl(["status", mnt]).returncode == 1
    # The stale state file itself is gone, so a new mount is not refused.
    assert state_of(mnt) is None
    mounts.mount("--backend=idmap", MAP, src, mnt)


def test_unrecorded_shiftfs_mount_is_listed_and_unmountable_forced(world_tmp):
    need_root_and_fuse()
    src, mnt = mkdirs(world_tmp, "src", "mnt")
    m = Mount(src, mnt, "uidmap=0:100000:65536,gidmap=0:100000:65536")
    try:
        r = run_shiftctl(["status", "--json", mnt])
        assert r.returncode == 0
        (e,) = json.loads(r.stdout)
        assert e == {"mountpoint": mnt, "source": src, "backend": "fuse",
                     "fstype": "fuse.shiftfs", "mount_id": e["mount_id"],
                     "recorded": False, "state": "active"}
        r = run_shiftctl(["status", mnt])
        assert "fuse.shiftfs mount not recorded by shiftctl: maps unknown" in r.stdout
        # Anyone can make a fuse.shiftfs mount: not ours without --force.
        r = run_shiftctl(["umount", mnt])
        assert r.returncode == 1
        assert "did not record; --force unmounts it anyway" in r.stderr
        assert is_mounted(mnt)
        r = run_shiftctl(["umount", "--force", mnt])
        assert r.returncode == 0, r.stderr
        assert not is_mounted(mnt)
        m.proc.wait(timeout=10)
    finally:
        m.stop(check_log=False)


def forget_record(mnt):
    for f in glob.glob("/run/shiftfs/mounts/*.json"):
        with open(f) as fh:
            if json.load(fh).get("mountpoint") == mnt:
                os.unlink(f)
                return
    raise AssertionError("no state file for " + mnt)


def test_umount_refuses_foreign_mounts(world_tmp):
    need_root_and_fuse()
    (t,) = root_only(world_tmp, "tmpfs")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", t], check=True)
    try:
        r = run_shiftctl(["umount", t])
        assert r.returncode == 1
        assert "is not a shifted mount of ours (it is a tmpfs mount" in r.stderr
        assert is_mounted(t)
        # An idmapped mount whose record is gone is not ours either.
        (m,) = mkdirs(world_tmp, "idm")
        r = run_shiftctl(["mount", "--backend=idmap", MAP, t, m])
        assert r.returncode == 0, r.stderr
        try:
            forget_record(m)
            r = run_shiftctl(["umount", m])
            assert r.returncode == 1 and "tmpfs idmapped mount" in r.stderr
            assert is_mounted(m)
            r = run_shiftctl(["status", "--json", m])
            (e,) = json.loads(r.stdout)
            assert e["recorded"] is False and e["backend"] == "idmap"
        finally:
            subprocess.run(["umount", m])
    finally:
        subprocess.run(["umount", "-l", t])
    r = run_shiftctl(["umount", os.path.join(world_tmp, "nothing")])
    assert r.returncode == 1


def test_umount_lazy_while_busy(world_tmp, mounts):
    need_root_and_fuse()
    (src,) = root_only(world_tmp, "src")
    (mnt,) = mkdirs(world_tmp, "mnt")
    mounts.mount("--backend=idmap", MAP, src, mnt)
    busy = subprocess.Popen(["sleep", "60"], cwd=mnt)
    try:
        r = run_shiftctl(["umount", mnt])
        assert r.returncode == 1 and "busy" in r.stderr.lower() and "--lazy" in r.stderr
        assert is_mounted(mnt)
        r = run_shiftctl(["umount", "--lazy", mnt])
        assert r.returncode == 0
        assert not is_mounted(mnt)
    finally:
        busy.kill()
        busy.wait()


def test_submounts_are_carried_and_unmounted(world_tmp, mounts):
    need_root_and_fuse()
    (src,) = root_only(world_tmp, "src")
    (mnt,) = mkdirs(world_tmp, "mnt")
    (inner,) = mkdirs(src, "inner")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", inner], check=True)
    try:
        with open(os.path.join(inner, "x"), "w"):
            pass
        r = mounts.mount(MAP, src, mnt)
        assert " with idmap " in r.stdout
        assert os.lstat(os.path.join(mnt, "inner", "x")).st_uid == 100000
        r = run_shiftctl(["umount", mnt])
        assert r.returncode == 0, r.stderr
        assert not is_mounted(mnt) and not is_mounted(os.path.join(mnt, "inner"))
    finally:
        subprocess.run(["umount", "-l", inner])


def test_auto_falls_back_on_shifted_sources(world_tmp, mounts):
    """A SRC that is itself a shifted mount: a shiftfs mount (FUSE, cannot
    be idmapped) or an idmapped mount (the kernel will not idmap it twice).
    Both fall back to FUSE and the owners compose through both maps."""
    need_root_and_fuse()
    src, m1, m2 = root_only(world_tmp, "src", "m1", "m2")
    s1, s2 = mkdirs(world_tmp, "s1", "s2")
    with open(os.path.join(src, "f"), "w"):
        pass
    os.chown(os.path.join(src, "f"), 5, 5)
    mounts.mount("--backend=fuse", "--map=0:1000:65536", src, m1)
    mounts.mount("--backend=idmap", "--map=0:1000:65536", src, m2)
    r = mounts.mount("--map=0:100000:70000", m1, s1)
    assert " with fuse (" in r.stdout and "does not support idmapped" in r.stdout
    r = mounts.mount("--map=0:100000:70000", m2, s2)
    assert " with fuse (" in r.stdout and "already idmapped" in r.stdout
    for s in (s1, s2):
        assert os.lstat(os.path.join(s, "f")).st_uid == 101005


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_path_names(backend, world_tmp, mounts):
    """Spaces, tabs, backslashes and '%' in paths survive mountinfo's octal
    escapes and the state file's name."""
    need_root_and_fuse()
    (src,) = root_only(world_tmp, "my src\\x")
    (mnt,) = mkdirs(world_tmp, "mnt dir\t%2F")
    mounts.mount("--backend=" + backend, MAP, src, mnt)
    st = state_of(mnt)
    assert st["mountpoint"] == mnt and st["source"] == src
    r = run_shiftctl(["status"])
    # The text form quotes paths for the shell.
    assert "%s: %s, backend %s" % (shlex.quote(mnt), shlex.quote(src),
                                   backend) in r.stdout
    r = run_shiftctl(["umount", mnt])
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
