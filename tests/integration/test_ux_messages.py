# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 10 (and 2): the messages a user meets first name real
options and real causes, and a command they are told to run works as
printed."""
import os
import pwd
import re
import shlex
import subprocess

from chown_util import remove_default_journals
from conftest import SHIFTCTL, is_mounted, need, need_root_and_fuse, shiftctl
from mount_util import host_user, run_shiftctl, world_tmp  # noqa: F401


def one_line(r):
    lines = r.stderr.strip().splitlines()
    return lines[0] if lines else ""


def test_conflicting_sources_name_real_options():
    r = shiftctl("map", "--map=0:1000:1", "--rootless")
    assert r.returncode == 2
    assert one_line(r) == ("shiftctl map: give one map source: --rootless "
                           "conflicts with --map")
    r = shiftctl("map", "--rootless", "--uid-map=0:1000:1")
    assert r.returncode == 2
    assert one_line(r) == ("shiftctl map: give one map source: --uid-map "
                           "conflicts with --rootless")
    assert "--explicit" not in r.stderr


def test_name_without_passwd_file_is_a_sentence_with_the_hint(tmp_path):
    want = ("--user=nosuchuser: user nosuchuser: no passwd file to look the "
            "name up in (names need the container's files: --rootfs=DIR or "
            "--passwd=FILE)")
    r = shiftctl("map", "--map=0:1000:1", "--user=nosuchuser", "--owner=0")
    assert r.returncode == 1
    assert r.stderr.strip() == "shiftctl: " + want
    assert "(no passwd file given)" not in r.stderr
    # chown and mount say the same, hint included.
    vol = tmp_path / "vol"
    vol.mkdir()
    r = shiftctl("chown", "--map=0:1000:1", "--user=nosuchuser", vol)
    assert r.returncode == 1 and r.stderr.strip() == "shiftctl: " + want
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = shiftctl("mount", "--map=0:1000:1", "--user=nosuchuser", vol, mnt)
    assert r.returncode == 1 and r.stderr.strip() == "shiftctl: " + want
    assert not is_mounted(str(mnt))
    # With --passwd the name is looked up there, and the message names it.
    pw = tmp_path / "passwd"
    pw.write_text("app:x:1000:1000::/:/bin/sh\n")
    r = shiftctl("chown", "--map=0:1000:1", "--passwd=%s" % pw,
                 "--user=nosuchuser", vol)
    assert r.returncode == 1
    assert r.stderr.strip() == ("shiftctl: --user=nosuchuser: user "
                                "nosuchuser not found in %s" % pw)


def test_id_out_of_range(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    r = shiftctl("chown", "--map=0:1000:1", "--user=99999999999", vol)
    assert r.returncode == 1
    assert r.stderr.strip() == ("shiftctl: --user=99999999999: uid "
                                "99999999999 is out of range (0 to "
                                "4294967294)")
    r = shiftctl("chown", "--map=0:1000:1", "--user=0:99999999999", vol)
    assert r.returncode == 1
    assert "gid 99999999999 is out of range" in r.stderr
    r = shiftctl("map", "--map=0:1000:1", "--user=0", "--owner=99999999999")
    assert r.returncode == 1
    assert "uid 99999999999 is out of range" in r.stderr


def test_options_before_the_verb():
    r = shiftctl("--rootless=x", "map")
    assert r.returncode == 2
    assert r.stderr.strip() == ("shiftctl: --rootless=x: options go after "
                                "the command: shiftctl map --rootless=x")
    r = shiftctl("--map=0:1:1", "status")
    assert r.returncode == 2 and "shiftctl status --map=0:1:1" in r.stderr
    r = shiftctl("--nonsense")
    assert r.returncode == 2
    assert "options go after the command" in r.stderr


def test_backend_idmap_as_a_user_needs_root(world_tmp):
    need_root_and_fuse()
    u = host_user()
    src, mnt = (os.path.join(world_tmp, n) for n in ("src", "mnt"))
    for d in (src, mnt):
        os.mkdir(d)
        os.chown(d, u.pw_uid, u.pw_gid)
    r = run_shiftctl(["mount", "--backend=idmap", "--map=%d:200000:1" %
                      u.pw_uid, src, mnt], user=u.pw_name)
    assert r.returncode == 1
    # Not installed here: the build's compiled-in path (PREFIX/libexec).
    m = re.fullmatch(
        r"shiftctl: --backend=idmap needs root or shiftfs-idmap-helper\(8\): "
        r"idmapped mounts need CAP_SYS_ADMIN, and (/\S+/libexec/shiftfs/"
        r"shiftfs-idmap-helper) is not installed \(--backend=fuse mounts "
        r"(\S+) with the shiftfs daemon\)", r.stderr.strip())
    assert m, r.stderr
    assert not os.path.exists(m.group(1)) and m.group(2) == src
    assert not is_mounted(mnt)


# ---- item 2: root and the rootless layout ----

def subid_users():
    users = []
    try:
        with open("/etc/subuid") as f:
            for line in f:
                name = line.split(":", 1)[0]
                if line.strip() and not line.startswith("#") and name != "root":
                    users.append(name)
    except OSError:
        pass
    return users


def root_has_subuid():
    return "root" in [l.split(":", 1)[0] for l in open("/etc/subuid")]


def test_root_bare_rootless_gives_the_command_to_run(tmp_path):
    """As root, chown --user=1000 (the README's command) with no sudo:
    a usage error that gives the exact command, which then works."""
    need(os.geteuid() == 0, "needs root")
    need(not root_has_subuid(), "root has its own /etc/subuid entry here")
    users = subid_users()
    need(users, "no user in /etc/subuid (scripts/deps-e2e.sh adds them)")
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    r = shiftctl("chown", "--user=1000", vol, env=env)
    assert r.returncode == 2, r.stderr
    assert "no entry for user root" not in r.stderr
    prefix = ("shiftctl chown: as root, say whose rootless layout is meant "
              "(root has no entry in /etc/subuid) with --rootless=USER, for "
              "example: ")
    line = r.stderr.strip()
    assert line.startswith(prefix) and len(r.stderr.splitlines()) == 1
    cmd = line[len(prefix):]
    assert cmd == "shiftctl chown --rootless=%s --user=1000 %s" % (
        users[0], vol)
    # Pasted as printed (shiftctl being on PATH), it works.
    argv = shlex.split(cmd)
    try:
        r = subprocess.run([SHIFTCTL] + argv[1:] + ["-q"],
                           capture_output=True, text=True, env=env)
    finally:
        remove_default_journals(str(vol))
    assert r.returncode == 0, r.stderr
    pw = pwd.getpwnam(users[0])
    sub = [l for l in open("/etc/subuid") if l.startswith(users[0] + ":")]
    first = int(sub[0].split(":")[1])
    assert os.lstat(vol / "f").st_uid == first + 1000 - 1
    assert pw.pw_uid != 0
    # A bare --rootless is replaced in place.
    r = shiftctl("map", "--rootless", "--only=uid", env=env)
    assert r.returncode == 2
    assert r.stderr.strip().endswith(
        "example: shiftctl map --rootless=%s --only=uid" % users[0])


def test_root_through_sudo_uses_sudo_user():
    need(os.geteuid() == 0, "needs root")
    u = host_user()
    users = subid_users()
    need(users, "no user in /etc/subuid (scripts/deps-e2e.sh adds them)")
    name = users[0]
    pw = pwd.getpwnam(name)
    env = dict(os.environ, SUDO_USER=name, SUDO_UID=str(pw.pw_uid))
    r = shiftctl("map", "--only=uid", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == (
        "shiftctl: run through sudo: using the rootless layout of %s "
        "(SUDO_USER); --rootless=USER names another user" % name)
    want = shiftctl("map", "--rootless=%s" % name, "--only=uid").stdout
    assert r.stdout == want and r.stdout.startswith("0 %d 1\n" % pw.pw_uid)
    # A SUDO_USER whose uid is not SUDO_UID is not believed.
    env = dict(os.environ, SUDO_USER=name, SUDO_UID=str(u.pw_uid))
    r = shiftctl("map", "--only=uid", env=env)
    assert r.returncode == 2 and "say whose rootless layout" in r.stderr
