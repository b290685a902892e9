# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl doctor and its surroundings: rootless docker and the issue's
"done" case, userns-remap from daemon.json, a missing /etc/subuid entry,
--image through an engine, read-only/noexec mounts, and the suggested fixes
run for real."""
import json
import os
import pwd
import shlex
import subprocess

import pytest

from conftest import SHIFTCTL, TEST_USER, need, run_as, shiftctl
from doctor_util import (compare_with_kernel, doctor_json, entries_by_path,
                         make_tree, vol_root)  # noqa: F401 (fixture)

SUB_UID, SUB_GID = 200000, 300000


def host_test_user():
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        need(False, "host user %s missing (run scripts/deps.sh)" % TEST_USER)
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def rootless(vol_root):
    """A volume owned by the unprivileged test user, and subordinate id
    files giving that user 200000.. and 300000.."""
    need(os.geteuid() == 0, "needs root to create files owned by another user")
    uid, gid = host_test_user()
    vol = os.path.join(vol_root, "bitcoin-data")
    os.mkdir(vol)
    make_tree(vol, [(".", "dir", uid, gid, 0o755, None),
                    ("blocks", "dir", uid, gid, 0o755, None),
                    ("blocks/blk00000.dat", "file", uid, gid, 0o644, None),
                    ("wallet.dat", "file", uid, gid, 0o600, None)])
    su = os.path.join(vol_root, "subuid")
    sg = os.path.join(vol_root, "subgid")
    with open(su, "w") as f:
        f.write("%s:%d:65536\n" % (TEST_USER, SUB_UID))
    with open(sg, "w") as f:
        f.write("%s:%d:65536\n" % (TEST_USER, SUB_GID))
    os.chmod(su, 0o644)
    os.chmod(sg, 0o644)
    maps = ([(0, uid, 1), (1, SUB_UID, 65536)], [(0, gid, 1), (1, SUB_GID, 65536)])
    return vol, su, sg, uid, gid, maps


def test_issue_done_rootless_docker(rootless):
    """`shiftctl doctor ~/bitcoin-data --user=1000` for rootless docker."""
    vol, su, sg, uid, gid, maps = rootless
    env = dict(os.environ, DOCKER_HOST="unix:///run/user/%d/docker.sock" % uid)
    args = [vol, "--user=1000", "--rootless=" + TEST_USER,
            "--subuid-file", su, "--subgid-file", sg]
    r = shiftctl("doctor", *args, env=env)
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert "rootless docker" in out
    # container uid 1000 is host uid subuid_start + 999
    assert "the container's uid 1000 is host uid %d" % (SUB_UID + 999) in out
    assert "appear in the container as 0:0 (root:root)" in out
    assert "USER 1000 cannot write 4 of them" in out
    mount_lines = [l.strip() for l in out.splitlines() if l.strip().startswith("shiftctl mount ")]
    chown_lines = [l.strip() for l in out.splitlines() if l.strip().startswith("shiftctl chown ")]
    assert mount_lines and chown_lines
    assert "--rootless=%s" % TEST_USER in mount_lines[0]
    assert "--user=1000:1000 --owner=%d:%d" % (uid, gid) in mount_lines[0]
    assert "docker run --user 1000:1000 -v " in out
    # And the kernel agrees: in a namespace with that map, uid 1000 sees the
    # data as root's and cannot write it.
    _, doc = doctor_json(*args)
    bad = compare_with_kernel(doc, vol, maps[0], maps[1], 1000, 1000, [1000])
    assert not bad, bad
    assert all(e["container_uid"] == 0 for e in doc["entries"])


def test_rootless_user_from_docker_host(rootless):
    """No map source: DOCKER_HOST's /run/user/UID names the rootless user."""
    vol, su, sg, uid, gid, maps = rootless
    env = dict(os.environ, DOCKER_HOST="unix:///run/user/%d/docker.sock" % uid)
    # As root, $SHIFTCTL_SUBUID is ignored: the files go on the command line.
    r = shiftctl("doctor", vol, "--user=1000", "--json", "--subuid-file", su,
                 "--subgid-file", sg, env=env)
    doc = json.loads(r.stdout)
    assert doc["engine"]["name"] == "docker" and doc["engine"]["rootless"]
    assert doc["map"]["layout"] == "rootless"
    assert doc["user"]["host_uid"] == SUB_UID + 999
    assert doc["map"]["root_host_uid"] == uid


def test_run_as_the_user_with_rootless_docker_socket(rootless, tmp_path):
    """Run by the unprivileged user itself, rootless docker found from
    $XDG_RUNTIME_DIR/docker.sock."""
    vol, su, sg, uid, gid, maps = rootless
    need(os.access(SHIFTCTL, os.X_OK), "shiftctl not built")
    xdg = os.path.join(os.path.dirname(vol), "xdg")
    os.mkdir(xdg)
    open(os.path.join(xdg, "docker.sock"), "w").close()
    os.chown(xdg, uid, gid)
    r = run_as(TEST_USER, ["env", "-u", "DOCKER_HOST", "XDG_RUNTIME_DIR=" + xdg,
                           "SHIFTCTL_SUBUID=" + su, "SHIFTCTL_SUBGID=" + sg,
                           SHIFTCTL, "doctor", vol, "--user=1000"])
    need("Permission denied" not in r.stderr, "shiftctl binary not reachable by " + TEST_USER)
    assert r.returncode == 1, r.stderr
    assert "rootless docker (from %s/docker.sock exists)" % xdg in r.stdout
    assert "is host uid %d" % (SUB_UID + 999) in r.stdout
    # The user is named: the line also works pasted by root (issue 13).
    assert "shiftctl mount --rootless=%s " % TEST_USER in r.stdout


def fix_commands(doc, kind):
    return [c for f in doc["fixes"] if f["kind"] == kind for c in f["commands"]
            if c.startswith("shiftctl ")]


def test_suggested_mount_fix_works(rootless):
    vol, su, sg, uid, gid, maps = rootless
    target = os.path.join(os.path.dirname(vol), "shifted")
    args = [vol, "--user=1000", "--rootless=" + TEST_USER, "--subuid-file", su,
            "--subgid-file", sg, "--target=" + target]
    code, doc = doctor_json(*args)
    assert code == 1
    assert doc["fixes"][0]["kind"] == "mount" and doc["fixes"][0]["remaining"] == 0
    cmd = shlex.split(fix_commands(doc, "mount")[0])
    r = subprocess.run([SHIFTCTL] + cmd[1:], capture_output=True, text=True)
    need(r.returncode == 0 or "not available" not in r.stderr, "shiftctl mount not built")
    assert r.returncode == 0, r.stderr
    try:
        code, after = doctor_json(target, "--user=1000", "--rootless=" + TEST_USER,
                                  "--subuid-file", su, "--subgid-file", sg)
        assert code == 0 and after["ok"], after["entries"]
        bad = compare_with_kernel(after, target, maps[0], maps[1], 1000, 1000, [1000])
        assert not bad, bad
    finally:
        subprocess.run([SHIFTCTL, "umount", target], capture_output=True)
        if os.path.ismount(target):
            subprocess.run(["umount", "-l", target])


def test_suggested_chown_fix_works(rootless):
    vol, su, sg, uid, gid, maps = rootless
    args = [vol, "--user=1000", "--rootless=" + TEST_USER, "--subuid-file", su,
            "--subgid-file", sg]
    code, doc = doctor_json(*args)
    cmd = shlex.split(fix_commands(doc, "chown")[0])
    journal = os.path.join(os.path.dirname(vol), "chown.journal")
    r = subprocess.run([SHIFTCTL] + cmd[1:-1] + ["--journal=" + journal, cmd[-1]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code, after = doctor_json(*args)
    assert code == 0 and after["ok"] and after["denied"] == 0
    assert os.stat(vol).st_uid == SUB_UID + 999


def test_userns_remap_from_daemon_json(vol_root, tmp_path):
    need(os.geteuid() == 0, "needs root")
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"userns-remap": TEST_USER, "log-level": "info"}))
    su = tmp_path / "subuid"
    su.write_text("%s:%d:65536\n" % (TEST_USER, SUB_UID))
    sg = tmp_path / "subgid"
    sg.write_text("%s:%d:65536\n" % (TEST_USER, SUB_GID))
    vol = os.path.join(vol_root, "data")
    os.mkdir(vol)
    # Typical rootful data: owned by host root, private files.
    make_tree(vol, [(".", "dir", 0, 0, 0o755, None),
                    ("secret", "file", 0, 0, 0o600, None),
                    ("public", "file", 0, 0, 0o644, None)])
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    r = shiftctl("doctor", vol, "--user=0", "--rootful", "--engine=docker",
                 "--docker-config", cfg, "--json", "--list=all",
                 "--subuid-file", su, "--subgid-file", sg, env=env)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["engine"]["userns_remap"] == TEST_USER
    assert doc["map"]["layout"] == "userns-remap"
    assert doc["user"]["host_uid"] == SUB_UID and doc["user"]["container_root"]
    ents = entries_by_path(doc, vol)
    # Container root cannot override modes on host-root-owned (unmapped) files.
    assert ents[os.path.join(vol, "secret")]["read"] is False
    assert ents[os.path.join(vol, "public")]["read"] is True
    assert ents[os.path.join(vol, "public")]["write"] is False
    assert any("userns-remap=%s" % TEST_USER in n for n in doc["notes"])
    bad = compare_with_kernel(doc, vol, [(0, SUB_UID, 65536)], [(0, SUB_GID, 65536)], 0, 0, [0])
    assert not bad, bad
    # Shift is offered (and judged): host root's files become container root's.
    kinds = [f["kind"] for f in doc["fixes"]]
    assert "mount" in kinds and "chown" in kinds


def test_missing_subuid_entry(vol_root, tmp_path):
    su = tmp_path / "subuid"
    su.write_text("somebody-else:100000:65536\n")
    r = shiftctl("doctor", vol_root, "--user=1000", "--rootless=" + TEST_USER,
                 "--subuid-file", su, "--subgid-file", su)
    assert r.returncode == 1
    assert TEST_USER in r.stderr and str(su) in r.stderr
    assert "usermod --add-subuids" in r.stderr


def test_container_user_not_mapped(vol_root):
    r = shiftctl("doctor", vol_root, "--user=70000", "--map=0:100000:65536")
    assert r.returncode == 1
    assert "container uid 70000 is not mapped" in r.stderr


@pytest.fixture
def fake_podman(tmp_path):
    """A podman stand-in on PATH that knows one image whose USER is appuser
    and whose root filesystem is a directory here."""
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nappuser:x:1234:1234::/app:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\nappuser:x:1234:\nmedia:x:4321:appuser\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "podman.log"
    script = bindir / "podman"
    script.write_text("""#!/bin/sh
echo "$*" >> %s
case "$1 $2" in
"image inspect") [ "$5" = "example/app" ] && echo appuser || exit 125 ;;
"image mount") echo %s ;;
"image unmount") exit 0 ;;
"info --format") echo true ;;
*) exit 1 ;;
esac
""" % (log, rootfs))
    script.chmod(0o755)
    return bindir, log


def test_image_user_and_groups(fake_podman, vol_root):
    bindir, log = fake_podman
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % bindir)
    env.pop("DOCKER_HOST", None)
    r = shiftctl("doctor", vol_root, "--image=example/app", "--engine=podman",
                 "--map=0:100000:65536", "--json", env=env)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["user"]["spec"] == "appuser" and doc["user"]["uid"] == 1234
    assert sorted(doc["user"]["groups"]) == [1234, 4321]
    assert sorted(doc["user"]["host_groups"]) == [101234, 104321]
    calls = log.read_text()
    assert "image mount example/app" in calls and "image unmount example/app" in calls
    r = shiftctl("doctor", vol_root, "--image=no/such", "--engine=podman",
                 "--map=0:100000:65536", env=env)
    assert r.returncode == 1 and "image inspect no/such failed" in r.stderr


def test_image_without_engine(vol_root, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    r = shiftctl("doctor", vol_root, "--image=example/app", env=env)
    assert r.returncode == 1
    assert "needs podman or docker" in r.stderr and "--user" in r.stderr
    r = shiftctl("doctor", vol_root, "--image=example/app", "--engine=docker", env=env)
    assert r.returncode == 1 and "docker installed" in r.stderr


def test_readonly_noexec_mount(vol_root):
    need(os.geteuid() == 0, "needs root to mount tmpfs")
    mnt = os.path.join(vol_root, "ro")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "doctor-test", mnt], check=True)
    try:
        make_tree(mnt, [(".", "dir", 101000, 101000, 0o755, None),
                        ("tool", "file", 101000, 101000, 0o755, None)])
        subprocess.run(["mount", "-o", "remount,ro,noexec", mnt], check=True)
        code, doc = doctor_json(mnt, "--user=1000", "--map=0:100000:65536", "--need=rwx")
        assert code == 1
        assert doc["mount"]["read_only"] and doc["mount"]["noexec"]
        e = entries_by_path(doc, mnt)[os.path.join(mnt, "tool")]
        assert e["read"] and not e["write"] and not e["exec"]
        assert any("read-only" in r["reason"] for r in e["reasons"])
        assert any("noexec" in r["reason"] for r in e["reasons"])
        assert doc["fixes"][0]["kind"] == "remount"
        assert any("read-only" in n for n in doc["notes"])
        bad = compare_with_kernel(doc, mnt, [(0, 100000, 65536)], [(0, 100000, 65536)], 1000, 1000, [1000])
        assert not bad, bad
    finally:
        subprocess.run(["umount", "-l", mnt])


def test_unreadable_subtree_is_not_ok(vol_root):
    """Run by a user who cannot read part of the tree: the verdict is
    incomplete, never "nothing needs changing"."""
    need(os.geteuid() == 0, "needs root")
    uid, gid = host_test_user()
    vol = os.path.join(vol_root, "v")
    os.mkdir(vol)
    make_tree(vol, [(".", "dir", uid, gid, 0o755, None),
                    ("mine", "file", uid, gid, 0o644, None),
                    ("private", "dir", 0, 0, 0o700, None),
                    ("private/x", "file", 0, 0, 0o600, None)])
    r = run_as(TEST_USER, [SHIFTCTL, "doctor", vol, "--user=0", "--map=0:%d:1" % uid,
                           "--need=r", "--json"])
    need("Permission denied" not in r.stderr, "shiftctl binary not reachable by " + TEST_USER)
    doc = json.loads(r.stdout)
    assert r.returncode == 1
    assert doc["complete"] is False and doc["ok"] is False
    assert any("could not read everything" in n and "private" in n for n in doc["notes"])


def test_podman_info_says_rootless(fake_podman, vol_root, tmp_path):
    """--engine=podman and no map source: podman info decides rootless, and
    the rootless layout of the invoking user is used."""
    bindir, log = fake_podman
    su = tmp_path / "subuid"
    su.write_text("%s:100000:65536\n" % pwd.getpwuid(os.getuid()).pw_name)
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % bindir)
    env.pop("DOCKER_HOST", None)
    r = shiftctl("doctor", vol_root, "--user=1000", "--engine=podman", "--json",
                 "--subuid-file", su, "--subgid-file", su, env=env)
    doc = json.loads(r.stdout)
    assert doc["engine"] == dict(doc["engine"], name="podman", rootless=True,
                                 detected_from="podman info: rootless=true")
    assert doc["map"]["layout"] == "rootless"
    assert doc["user"]["host_uid"] == 100000 + 999
    assert "info --format" in log.read_text()


def test_image_through_docker(vol_root, tmp_path):
    """docker: USER from docker image inspect, /etc/passwd and /etc/group
    through docker create + docker cp, the container removed after."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    files = tmp_path / "files"
    files.mkdir()
    (files / "passwd").write_text("svc:x:4000:4000::/:/bin/sh\n")
    (files / "group").write_text("svc:x:4000:\nextra:x:4100:svc\n")
    log = tmp_path / "docker.log"
    script = bindir / "docker"
    script.write_text("""#!/bin/sh
echo "$*" >> %s
case "$1" in
image) [ "$2 $3" = "image inspect" ] 2>/dev/null; echo svc ;;
create) echo c0ffee ;;
cp) cp "%s/$(basename "${2#c0ffee:}")" "$3" ;;  # docker cp SRC DST -L
rm) exit 0 ;;
*) exit 1 ;;
esac
""" % (log, files))
    script.chmod(0o755)
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % bindir)
    env.pop("DOCKER_HOST", None)
    r = shiftctl("doctor", vol_root, "--image=example/svc", "--engine=docker",
                 "--map=0:100000:65536", "--json", env=env)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["user"]["name"] == "svc" and doc["user"]["uid"] == 4000
    assert sorted(doc["user"]["groups"]) == [4000, 4100]
    calls = log.read_text()
    assert "create example/svc" in calls and "rm c0ffee" in calls
    assert "cp c0ffee:/etc/passwd" in calls and "cp c0ffee:/etc/group" in calls
    # The copies were cleaned up.
    assert not [d for d in os.listdir("/tmp") if d.startswith("shiftctl-doctor-")
                and os.stat(os.path.join("/tmp", d)).st_mtime > os.stat(log).st_mtime - 5]
