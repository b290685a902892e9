# SPDX-License-Identifier: GPL-2.0-or-later
"""issue 11 item 7: shiftctl doctor (and chown) read a container image's
/etc/passwd and /etc/group as root. The image is built by an attacker
(shiftfs-atk owns the directory and everything in it): its files are input.

An absolute symlink img/etc/passwd -> /etc/shadow is resolved the way the
container resolves it, inside the image (img/etc/shadow), never on the host;
a relative one cannot climb out either; FIFOs, terminals and devices are
refused instead of hanging the run; files over 4 MiB are refused. A normal
image still resolves its users."""
import json
import os
import subprocess

import pytest

from attack import ATTACKER, as_host_user, uid_of
from conftest import SHIFTCTL, need
from fs_util import Scratch

# The secret a symlink points at: a valid passwd line, so that if doctor
# read it, --user=secretuser would resolve to 31337 and show up.
SECRET_LINE = "secretuser:x:31337:31337:TOPSECRET-GECOS:/:/bin/sh\n"
SECRET_UID = "31337"
LEGIT = "root:x:0:0::/root:/bin/sh\nappuser:x:1234:1234::/app:/bin/sh\n"
LEGIT_GROUP = "root:x:0:\nappuser:x:1234:\nmedia:x:4321:appuser\n"
TIMEOUT = 20


@pytest.fixture
def lab():
    need(os.geteuid() == 0, "doctor must run as root for this attack")
    uid_of(ATTACKER)
    s = Scratch("shiftfs-doctor-img")
    # The host's secret: readable by root only.
    secret_dir = s.p("rootonly")
    os.mkdir(secret_dir, 0o700)
    secret = os.path.join(secret_dir, "secret")
    with open(secret, "w") as f:
        f.write(SECRET_LINE)
    os.chmod(secret, 0o600)
    # The volume doctor examines.
    vol = s.p("vol")
    os.mkdir(vol)
    # The image directory, handed to the attacker, who builds it.
    img = s.p("img")
    os.mkdir(img)
    os.chown(img, uid_of(ATTACKER), uid_of(ATTACKER))
    r = as_host_user(ATTACKER, ["sh", "-c", "mkdir -p %s/etc && "
                                "touch %s/etc/group" % (img, img)])
    assert r.returncode == 0, r.stderr
    yield s, img, vol, secret
    s.cleanup()


def atk(*cmd):
    r = as_host_user(ATTACKER, list(cmd))
    assert r.returncode == 0, (cmd, r.stderr)


def doctor(vol, *args):
    return subprocess.run([SHIFTCTL, "doctor", vol, "--map=0:100000:65536",
                           "--json"] + list(args), capture_output=True,
                          text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def assert_not_read(r, secret_text):
    out = r.stdout + r.stderr
    assert SECRET_UID not in out, out
    for field in secret_text.split(":")[1:]:  # the name is ours, on argv
        if len(field) >= 6:  # hashes: anything identifying
            assert field not in out, (field, out)


def test_absolute_symlink_to_host_secret_stays_in_image(lab):
    s, img, vol, secret = lab
    atk("ln", "-s", secret, img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=secretuser")
    assert r.returncode == 1
    assert "not found" in r.stderr or "No such file" in r.stderr, r.stderr
    assert_not_read(r, SECRET_LINE)


def test_symlink_to_real_etc_shadow(lab):
    """The reproduction as written: img/etc/passwd -> /etc/shadow."""
    s, img, vol, secret = lab
    need(os.path.exists("/etc/shadow"), "no /etc/shadow on this host")
    with open("/etc/shadow") as f:
        shadow = f.read()
    root = [l for l in shadow.splitlines() if l.startswith("root:")]
    atk("ln", "-s", "/etc/shadow", img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=root")
    assert r.returncode == 1, r.stdout
    assert "etc/passwd" in r.stderr, r.stderr
    for line in root:
        assert_not_read(r, line)
    # shadow's third field (days since the last change) was the "uid".
    assert '"uid"' not in r.stdout


def test_absolute_symlink_resolves_like_the_container(lab):
    """RESOLVE_IN_ROOT: /etc/shadow inside the image is img/etc/shadow,
    exactly what the container itself would read."""
    s, img, vol, secret = lab
    with open(s.p("inimage"), "w") as f:
        f.write("imgshadowuser:x:2222:2222::/:/bin/sh\n")
    os.chmod(s.p("inimage"), 0o644)
    atk("cp", s.p("inimage"), img + "/etc/shadow")
    atk("ln", "-s", "/etc/shadow", img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=imgshadowuser")
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["user"]["uid"] == 2222


def test_relative_symlink_cannot_climb_out(lab):
    s, img, vol, secret = lab
    rel = os.path.relpath(secret, img + "/etc")
    atk("ln", "-s", "../../../../../../.." + secret, img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=secretuser")
    assert r.returncode == 1
    assert_not_read(r, SECRET_LINE)
    os.unlink(img + "/etc/passwd")
    atk("ln", "-s", rel, img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=secretuser")
    assert r.returncode == 1
    assert_not_read(r, SECRET_LINE)


def test_magic_link_is_refused(lab):
    """/proc/self/root/... would leave the image through a magic link."""
    s, img, vol, secret = lab
    atk("ln", "-s", "/proc/self/root" + secret, img + "/etc/passwd")
    r = doctor(vol, "--rootfs=" + img, "--user=secretuser")
    assert r.returncode == 1
    assert_not_read(r, SECRET_LINE)


@pytest.mark.parametrize("kind", ["fifo", "tty", "devzero"])
def test_special_files_do_not_hang(lab, kind):
    s, img, vol, secret = lab
    target = img + "/etc/passwd"
    if kind == "fifo":
        atk("mkfifo", target)
    elif kind == "tty":
        atk("ln", "-s", "/dev/tty", target)
    else:
        atk("ln", "-s", "/dev/zero", target)
    # timeout= bounds the run: a hang is a TimeoutExpired failure.
    r = doctor(vol, "--rootfs=" + img, "--user=appuser")
    assert r.returncode == 1
    assert "etc/passwd" in r.stderr, r.stderr


@pytest.mark.parametrize("kind", ["fifo", "tty", "devzero", "big"])
def test_passwd_option_special_files_do_not_hang(lab, kind):
    """--passwd=FILE names a file the administrator chose (a symlink there
    is followed), but it still has to be a regular file of sane size."""
    s, img, vol, secret = lab
    if kind == "fifo":
        path = s.p("fifo")
        os.mkfifo(path)
    elif kind == "tty":
        path = "/dev/tty"
    elif kind == "devzero":
        path = "/dev/zero"
    else:
        path = s.p("big")
        with open(path, "w") as f:
            f.write(LEGIT)
            f.write("#" * (5 << 20) + "\n")
    r = doctor(vol, "--passwd=" + path, "--user=appuser")
    assert r.returncode == 1
    if kind == "big":
        assert "larger than 4 MiB" in r.stderr, r.stderr
    else:
        assert "not a regular file" in r.stderr or "No such" in r.stderr, \
            r.stderr


def test_big_file_in_image_is_refused(lab):
    s, img, vol, secret = lab
    atk("sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' '#' > %s/etc/passwd"
        % img)
    r = doctor(vol, "--rootfs=" + img, "--user=appuser")
    assert r.returncode == 1
    assert "larger than 4 MiB" in r.stderr, r.stderr


def test_normal_image_still_reads_its_passwd(lab):
    """The legitimate use: an image with ordinary files, and one whose
    etc/group is a relative symlink inside the image."""
    s, img, vol, secret = lab
    for name, text in (("p", LEGIT), ("g", LEGIT_GROUP)):
        with open(s.p(name), "w") as f:
            f.write(text)
        os.chmod(s.p(name), 0o644)
    atk("cp", s.p("p"), img + "/etc/passwd")
    atk("mkdir", img + "/usr")
    atk("cp", s.p("g"), img + "/usr/group")
    atk("rm", img + "/etc/group")
    atk("ln", "-s", "../usr/group", img + "/etc/group")
    r = doctor(vol, "--rootfs=" + img, "--user=appuser")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["user"]["uid"] == 1234
    assert sorted(doc["user"]["groups"]) == [1234, 4321]


def fake_engine(s, name, script):
    bindir = s.p("bin-" + name)
    os.mkdir(bindir)
    path = os.path.join(bindir, name)
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)
    return dict(os.environ, PATH="%s:/usr/bin:/bin" % bindir)


def test_image_podman_mount_dir_symlink(lab):
    """--image with podman: `podman image mount` gives the image's root,
    whose files the image's author chose."""
    s, img, vol, secret = lab
    atk("ln", "-s", secret, img + "/etc/passwd")
    env = fake_engine(s, "podman", """#!/bin/sh
case "$1 $2" in
"image inspect") echo secretuser ;;
"image mount") echo %s ;;
"image unmount") exit 0 ;;
*) exit 1 ;;
esac
""" % img)
    r = subprocess.run([SHIFTCTL, "doctor", vol, "--image=evil",
                        "--engine=podman", "--map=0:100000:65536", "--json"],
                       capture_output=True, text=True, env=env,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert_not_read(r, SECRET_LINE)


def test_image_docker_cp_symlink(lab):
    """--image with docker: what `docker cp` leaves (here a symlink to the
    host's secret) is read inside doctor's own directory, not followed."""
    s, img, vol, secret = lab
    env = fake_engine(s, "docker", """#!/bin/sh
case "$1" in
image) echo secretuser ;;
create) echo c0ffee ;;
cp) ln -s %s "$3" ;;
rm) exit 0 ;;
*) exit 1 ;;
esac
""" % secret)
    before = {d for d in os.listdir("/tmp") if d.startswith("shiftctl-doctor-")}
    r = subprocess.run([SHIFTCTL, "doctor", vol, "--image=evil",
                        "--engine=docker", "--map=0:100000:65536", "--json"],
                       capture_output=True, text=True, env=env,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert_not_read(r, SECRET_LINE)
    # USER is not found (a fatal error): the copy is removed all the same.
    after = {d for d in os.listdir("/tmp") if d.startswith("shiftctl-doctor-")}
    assert not after - before, after - before


def test_chown_rootfs_symlink_does_not_pick_a_host_uid(lab):
    """chown --rootfs resolves --user the same safe way."""
    s, img, vol, secret = lab
    with open(os.path.join(vol, "f"), "w") as f:
        f.write("x")
    atk("ln", "-s", secret, img + "/etc/passwd")
    r = subprocess.run([SHIFTCTL, "chown", "--map=0:100000:65536",
                        "--rootfs=" + img, "--user=secretuser",
                        "--journal=" + s.p("j"), vol],
                       capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r.stdout
    assert os.stat(os.path.join(vol, "f")).st_uid == 0
    assert_not_read(r, SECRET_LINE)
