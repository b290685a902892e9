# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 4: a FUSE mount whose shiftfs daemon was killed is shown
by shiftctl status as dead (text and --json), status MNT exits 1, and
shiftctl mount onto it says how to clear it; the printed command clears
it. A record whose mount went away without shiftctl umount is shown once
as stale as it is removed."""
import json
import os
import shlex
import signal
import subprocess
import time

import pytest

from conftest import is_mounted, need_root_and_fuse
from mount_util import host_user, mounts, run_shiftctl, world_tmp  # noqa: F401
from ns_util import private_run_shiftfs

ENOTCONN = os.strerror(107)
# Requests in flight when the daemon died get ECONNABORTED instead.
GONE = (107, 103)


def cause(problem):
    """The strerror that ends problem, checked to be a dead connection."""
    for e in GONE:
        if problem.endswith(os.strerror(e)):
            return os.strerror(e)
    raise AssertionError(problem)


@pytest.fixture(params=["root", "user"])
def setup_dirs(request, world_tmp):
    need_root_and_fuse()
    u = host_user()
    src, mnt, run = (os.path.join(world_tmp, n) for n in ("src", "mnt", "run"))
    for d in (src, mnt, run):
        os.mkdir(d)
        os.chown(d, u.pw_uid, u.pw_gid)
    os.chmod(run, 0o700)
    if request.param == "root":
        # root's records in a /run/shiftfs of this test's own (ns_util): a
        # root `shiftctl status` of a test beside it drops stale records.
        back = private_run_shiftfs()
        yield src, mnt, None, None, "/run/shiftfs/mounts"
        if is_mounted(mnt):
            subprocess.run(["umount", "-l", mnt])
        back()
        return
    yield src, mnt, u.pw_name, {"XDG_RUNTIME_DIR": run}, \
        os.path.join(run, "shiftfs", "mounts")


def records_of(statedir, mnt):
    """The state records of mnt alone (root's /run/shiftfs/mounts is shared
    with every other test running beside this one)."""
    found = []
    for f in os.listdir(statedir):
        try:
            with open(os.path.join(statedir, f)) as fh:
                if json.load(fh).get("mountpoint") == mnt:
                    found.append(os.path.join(statedir, f))
        except (OSError, ValueError):
            pass
    return found


def kill_daemon(mnt, user, env):
    r = run_shiftctl(["status", "--json", mnt], user=user, env=env)
    pid = json.loads(r.stdout)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.statvfs(mnt)
        except OSError:
            break
        time.sleep(0.05)
    with pytest.raises(OSError) as e:
        os.listdir(mnt)
    assert e.value.errno in GONE
    return pid


def test_dead_daemon(setup_dirs, mounts):
    src, mnt, user, env, statedir = setup_dirs
    args = ["--backend=fuse", "--map=%d:200000:1" % host_user().pw_uid]
    mounts.mount(*args, src, mnt, user=user, env=env)
    pid = kill_daemon(mnt, user, env)
    clear = "shiftctl umount %s" % mnt
    r = run_shiftctl(["status", "--json", mnt], user=user, env=env)
    err = cause(json.loads(r.stdout)[0]["problem"])
    want = ("%s: %s, backend fuse, DEAD: its shiftfs daemon (pid %d) is gone:"
            " %s; '%s' clears it" % (mnt, src, pid, err, clear))
    r = run_shiftctl(["status"], user=user, env=env)
    assert r.returncode == 0
    assert want in r.stdout.splitlines(), r.stdout
    r = run_shiftctl(["status", mnt], user=user, env=env)
    assert r.returncode == 1 and r.stdout.strip() == want
    r = run_shiftctl(["status", "--json", mnt], user=user, env=env)
    assert r.returncode == 1
    rec = json.loads(r.stdout)[0]
    assert rec["state"] == "dead" and rec["problem"].endswith(err)
    # mount onto it: says how to clear it.
    r = run_shiftctl(["mount"] + args + [src, mnt], user=user, env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "shiftctl: %s is a shifted mount whose daemon is dead (its shiftfs "
        "daemon (pid %d) is gone: %s): '%s' clears it" % (
            mnt, pid, err, clear))
    r = run_shiftctl(shlex.split(clear)[1:], user=user, env=env)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
    mounts.mount(*args, src, mnt, user=user, env=env)
    r = run_shiftctl(["status", mnt], user=user, env=env)
    assert r.returncode == 0 and "DEAD" not in r.stdout
    j = json.loads(run_shiftctl(["status", "--json", mnt], user=user,
                                env=env).stdout)
    assert j[0]["state"] == "active"


def test_dead_unrecorded(setup_dirs, mounts):
    src, mnt, user, env, statedir = setup_dirs
    args = ["--backend=fuse", "--map=%d:200000:1" % host_user().pw_uid]
    mounts.mount(*args, src, mnt, user=user, env=env)
    kill_daemon(mnt, user, env)
    for f in records_of(statedir, mnt):
        os.unlink(f)
    clear = "shiftctl umount --force %s" % mnt
    r = run_shiftctl(["status", "--json", mnt], user=user, env=env)
    rec = json.loads(r.stdout)[0]
    assert rec["state"] == "dead" and not rec["recorded"]
    err = cause(rec["problem"])
    r = run_shiftctl(["status"], user=user, env=env)
    assert ("%s: %s, backend fuse, DEAD: its FUSE daemon is gone: %s; '%s' "
            "clears it" % (mnt, src, err, clear)) in r.stdout, r.stdout
    r = run_shiftctl(["mount"] + args + [src, mnt], user=user, env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "shiftctl: %s is a fuse.shiftfs mount that shiftctl did not record, "
        "and its FUSE daemon is gone: %s: '%s' clears it" % (
            mnt, err, clear))
    r = run_shiftctl(shlex.split(clear)[1:], user=user, env=env)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)


def test_stale_record(setup_dirs, mounts):
    src, mnt, user, env, statedir = setup_dirs
    args = ["--backend=fuse", "--map=%d:200000:1" % host_user().pw_uid]
    mounts.mount(*args, src, mnt, user=user, env=env)
    subprocess.run(["umount", "-l", mnt], check=True)
    r = run_shiftctl(["status", "--json"], user=user, env=env)
    mine = [o for o in json.loads(r.stdout) if o["mountpoint"] == mnt]
    assert [o["state"] for o in mine] == ["stale"]
    assert "its record was removed" in mine[0]["problem"]
    assert not records_of(statedir, mnt)
    r = run_shiftctl(["status"], user=user, env=env)
    assert mnt not in r.stdout
    # status MNT right after the mount went away
    mounts.mount(*args, src, mnt, user=user, env=env)
    subprocess.run(["umount", "-l", mnt], check=True)
    r = run_shiftctl(["status", mnt], user=user, env=env)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "shiftctl: %s is not a shifted mount (any more: it was unmounted "
        "without shiftctl umount, and its stale record was removed)" % mnt)
