# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl status --stats: a FUSE mount's requests per operation and their
mean time, from its own daemon (signalled with SIGUSR1; the daemon writes
the counts into the mount's state directory, which only the mount's owner
can write). Only the daemon whose pid and start time the record holds is
signalled: a record whose pid now names another process (pid reuse,
played by pointing the record at an unrelated process) signals nothing.
Idmapped mounts have no daemon, and status says so."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import need_root_and_fuse
from mount_util import host_user, mounts, run_shiftctl, world_tmp  # noqa: F401


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
        return src, mnt, None, None, "/run/shiftfs/mounts"
    return src, mnt, u.pw_name, {"XDG_RUNTIME_DIR": run}, \
        os.path.join(run, "shiftfs", "mounts")


def ops(rec):
    return {o["op"]: o["requests"] for o in rec["stats"]["ops"]}


def lookups(mnt, user, n, tag):
    """n stats of names that do not exist, as the mount's owner: one
    LOOKUP each (each name is new, so no negative entry answers it)."""
    script = ("import os\nfor i in range(%d):\n"
              "    try:\n        os.stat(os.path.join(%r, '%s%%d' %% i))\n"
              "    except FileNotFoundError:\n        pass\n" % (n, mnt, tag))
    cmd = ["/usr/bin/python3", "-c", script]
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    subprocess.run(cmd, check=True)


def test_stats_count_requests(setup_dirs, mounts):
    src, mnt, user, env, statedir = setup_dirs
    mounts.mount("--backend=fuse", "--map=%d:200000:1" % host_user().pw_uid,
                 src, mnt, user=user, env=env)
    lookups(mnt, user, 7, "a")
    r = run_shiftctl(["status", "--stats", "--json", mnt], user=user, env=env)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)[0]
    first = ops(rec)
    assert first.get("LOOKUP") == 7, rec["stats"]
    assert rec["stats"]["total"] == sum(first.values())
    assert all(o["mean_us"] > 0 for o in rec["stats"]["ops"]), rec["stats"]
    # every call asks the daemon again: 5 more names, 5 more LOOKUP
    lookups(mnt, user, 5, "b")
    r = run_shiftctl(["status", "--stats", mnt], user=user, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("%s: %s, backend fuse" % (mnt, src)), lines
    assert re.fullmatch(r"  requests: [\d,]+ since the daemon started",
                        lines[1]), lines
    lookup = [l for l in lines if l.split()[:1] == ["LOOKUP"]]
    assert len(lookup) == 1, lines
    assert re.fullmatch(r" +LOOKUP +12  mean \d+\.\d us", lookup[0]), lookup
    # the counts live beside the record, the owner's alone
    path = [os.path.join(statedir, f) for f in os.listdir(statedir)
            if f.endswith(".stats")]
    assert len(path) == 1, os.listdir(statedir)
    st = os.stat(path[0])
    assert st.st_uid == host_user().pw_uid if user else st.st_uid == 0
    assert st.st_mode & 0o077 == 0
    # and go with the record
    assert run_shiftctl(["umount", mnt], user=user,
                        env=env).returncode == 0
    assert not os.path.exists(path[0])


def test_stats_signal_only_the_recorded_daemon(world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = (os.path.join(world_tmp, n) for n in ("src", "mnt"))
    os.mkdir(src)
    os.mkdir(mnt)
    mounts.mount("--backend=fuse", "--map=100000:0:65536", src, mnt)
    r = run_shiftctl(["status", "--json", mnt])
    rec = json.loads(r.stdout)[0]
    # The daemon's pid reused by an unrelated process: the record now
    # names a process whose start time is not the recorded one.
    victim = subprocess.Popen(["sleep", "60"])
    try:
        state = "/run/shiftfs/mounts"
        name = [f for f in os.listdir(state) if f.endswith(".json") and
                json.load(open(os.path.join(state, f)))["mountpoint"] == mnt]
        assert len(name) == 1
        path = os.path.join(state, name[0])
        saved = open(path).read()
        data = json.loads(saved)
        data["pid"] = victim.pid
        with open(path, "w") as f:
            json.dump(data, f)
        r = run_shiftctl(["status", "--stats", mnt])
        time.sleep(0.2)
        # sleep dies of an unhandled SIGUSR1: it was not signalled
        assert victim.poll() is None, "status signalled pid %d" % victim.pid
        # the recorded pid is not the daemon: status says it is gone and
        # asks no one for counts
        assert r.returncode == 1, r.stdout + r.stderr
        assert "DEAD: its shiftfs daemon (pid %d) is gone" % victim.pid \
            in r.stdout, r.stdout
        assert "requests:" not in r.stdout, r.stdout
        with open(path, "w") as f:
            f.write(saved)
        # the legitimate use: the recorded daemon answers
        r = run_shiftctl(["status", "--stats", "--json", mnt])
        assert r.returncode == 0, r.stdout + r.stderr
        assert json.loads(r.stdout)[0]["stats"]["total"] > 0
        assert json.loads(r.stdout)[0]["pid"] == rec["pid"]
    finally:
        victim.kill()
        victim.wait()


def test_stats_of_an_idmapped_mount(world_tmp, mounts):
    need_root_and_fuse()
    # SRC under a directory only root can enter: the map gives view ids
    # disk ids nobody holds unless some user's /etc/subuid line covers
    # 100000 (the README's demo user alice does), and the setuid-source
    # rule would refuse the idmapped mount (shiftctl-mount(1)).
    priv = os.path.join(world_tmp, "root-only")
    os.mkdir(priv, 0o700)
    src, mnt = os.path.join(priv, "src"), os.path.join(world_tmp, "mnt")
    os.mkdir(src)
    os.mkdir(mnt)
    mounts.mount("--backend=idmap", "--map=100000:0:65536", src, mnt)
    r = run_shiftctl(["status", "--stats", mnt])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == (
        "  requests: unavailable: no daemon: the kernel shifts idmap "
        "mounts, there are no requests to count"), r.stdout
    r = run_shiftctl(["status", "--stats", "--json", mnt])
    rec = json.loads(r.stdout)[0]
    assert "stats" not in rec
    assert rec["stats_unavailable"].startswith("no daemon"), rec


def test_stats_of_a_dead_daemon(world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = (os.path.join(world_tmp, n) for n in ("src", "mnt"))
    os.mkdir(src)
    os.mkdir(mnt)
    mounts.mount("--backend=fuse", "--map=100000:0:65536", src, mnt)
    pid = json.loads(run_shiftctl(["status", "--json", mnt]).stdout)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.statvfs(mnt)
        except OSError:
            break
        time.sleep(0.05)
    r = run_shiftctl(["status", "--stats", mnt])
    assert r.returncode == 1
    assert "DEAD: its shiftfs daemon (pid %d) is gone" % pid in r.stdout
    # a dead mount is not asked for counts
    assert "requests:" not in r.stdout, r.stdout
