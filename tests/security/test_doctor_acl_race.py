# SPDX-License-Identifier: GPL-2.0-or-later
"""Red-team finding: doctor read ACLs and reopened PATH by name.

doctor lstat()ed an entry, then read its ACL with acl_get_file(path),
which follows a symlink; and it reopened PATH by its string after the
checks. The attacker (shiftfs-atk) owns the volume and swaps its files for
symlinks to a root-only file whose ACL grants USER rw (bounded loops), or
swaps the volume for a symlink to a root-only directory. Asserted:
- no entry doctor judges carries the root-only file's ACL: every entry it
  lists as a regular file with an ACL, or USER may read, would be that
  ACL's doing (the attacker's own files have none and are mode 0600);
- the names doctor lists are those of the directory it reports as PATH:
  the root-only directory's names never appear under the attacker's path.
Beside them: a real ACL on an entry (and on PATH) is still read and
decides, and a file with none is judged by its mode."""
import json
import os
import subprocess
import time

import pytest

from attack import ATTACKER, uid_of
from conftest import SHIFTCTL, need
from fs_util import Scratch

MAP = "--map=0:100000:65536"
USER_HOST_UID = 101000  # --user=1000 under MAP
NFILES = 40


@pytest.fixture
def lab():
    need(os.geteuid() == 0, "doctor runs as root here")
    need(subprocess.run(["which", "setfacl"],
                        capture_output=True).returncode == 0,
         "setfacl (acl package) missing")
    uid_of(ATTACKER)
    s = Scratch("shiftfs-doctor-acl")
    # Root-only: a 0700 directory with a file whose ACL lets USER in.
    secret_dir = s.p("secret")
    os.mkdir(secret_dir, 0o700)
    secret = os.path.join(secret_dir, "TOPSECRET-name")
    with open(secret, "w") as f:
        f.write("root only\n")
    os.chmod(secret, 0o600)
    subprocess.run(["setfacl", "-m", "u:%d:rw" % USER_HOST_UID, secret],
                   check=True)
    yield s, secret_dir, secret
    s.cleanup()


def doctor(path, *extra):
    r = subprocess.run([SHIFTCTL, "doctor", path, MAP, "--user=1000",
                        "--json", "--list=all"] + list(extra),
                       capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r


SWAPPER = r"""
import os, sys, time
vol, target, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
end = time.monotonic() + secs
names = [os.path.join(vol, "f%03d" % i) for i in range(n)]
tl, tf = os.path.join(vol, ".l"), os.path.join(vol, ".f")
while time.monotonic() < end:
    for p in names:
        try:
            os.symlink(target, tl)
            os.rename(tl, p)
            fd = os.open(tf, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
            os.rename(tf, p)
        except OSError:
            pass
"""


def attacker_loop(script, *args):
    return subprocess.Popen(["runuser", "-u", ATTACKER, "--",
                             "/usr/bin/python3", "-c", script] +
                            [str(a) for a in args],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/")


def make_attacker_dir(path):
    os.mkdir(path)
    os.chown(path, uid_of(ATTACKER), uid_of(ATTACKER))


def test_acl_swap_race_never_reads_the_root_only_acl(lab):
    s, secret_dir, secret = lab
    vol = s.p("vol")
    make_attacker_dir(vol)
    for i in range(NFILES):
        p = os.path.join(vol, "f%03d" % i)
        with open(p, "w"):
            pass
        os.chown(p, uid_of(ATTACKER), uid_of(ATTACKER))
        os.chmod(p, 0o600)
    seconds = 8.0
    proc = attacker_loop(SWAPPER, vol, secret, NFILES, seconds)
    runs = files_seen = 0
    try:
        end = time.monotonic() + seconds - 0.5
        while time.monotonic() < end:
            r = doctor(vol)
            assert r.returncode in (0, 1), r.stderr
            doc = json.loads(r.stdout)
            runs += 1
            assert doc["acl_entries"] == 0, doc["entries"]
            for e in doc["entries"]:
                if e["type"] != "file":
                    continue
                files_seen += 1
                assert not e["acl"], e
                assert not e["read"] and not e["write"], e
    finally:
        proc.kill()
        proc.wait()
    assert runs >= 3 and files_seen > 0, (runs, files_seen)


VOLSWAP = r"""
import os, sys, time
top, target, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
mid, real, tl = (os.path.join(top, n) for n in ("mid", "mid.real", ".l"))
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        os.rename(mid, real)
        os.symlink(target, tl)
        os.rename(tl, mid)
        time.sleep(0.001)
        os.unlink(mid)
        os.rename(real, mid)
        # the real directory stays in place as long as the symlink does:
        # without it doctor almost never found it there (a CI run under
        # ASan: 139 runs, every one at the symlink), and the legitimate
        # walk beside the race went untested
        time.sleep(0.001)
    except OSError:
        pass
"""


def test_volume_swap_race_never_walks_another_directory(lab):
    """PATH is atk/mid/vol; the attacker swaps its own directory mid for
    a symlink to a root-only directory that also holds a vol. Whatever
    doctor walks, it is the directory it reports as PATH."""
    s, secret_dir, secret = lab
    hidden = s.p("hidden")
    os.mkdir(hidden, 0o700)
    os.mkdir(os.path.join(hidden, "vol"), 0o700)
    with open(os.path.join(hidden, "vol", "TOPSECRET-entry"), "w"):
        pass
    top = s.p("atk")
    make_attacker_dir(top)
    make_attacker_dir(os.path.join(top, "mid"))
    vol = os.path.join(top, "mid", "vol")
    make_attacker_dir(vol)
    for i in range(20):
        p = os.path.join(vol, "mine%02d" % i)
        with open(p, "w"):
            pass
        os.chown(p, uid_of(ATTACKER), uid_of(ATTACKER))
    seconds = 8.0
    proc = attacker_loop(VOLSWAP, top, hidden, seconds)
    runs = walked = refused = 0
    try:
        end = time.monotonic() + seconds - 0.5
        while time.monotonic() < end:
            r = doctor(vol)
            if r.returncode == 1 and not r.stdout:
                # Lost the race against us: a clear refusal, or PATH
                # missing at that instant.
                assert (b"changed while being opened" in r.stderr or
                        b"No such file" in r.stderr), r.stderr
                refused += 1
                continue
            doc = json.loads(r.stdout)
            runs += 1
            paths = [e["path"] for e in doc["entries"]]
            if doc["path"] == os.path.join(hidden, "vol"):
                continue  # realpath resolved PATH there: reported so
            walked += 1
            assert doc["path"] == vol, doc["path"]
            assert not [p for p in paths if "TOPSECRET" in p], doc
    finally:
        proc.kill()
        proc.wait()
    assert runs >= 3 and walked > 0, (runs, walked, refused)


def test_real_acl_still_read(lab):
    """An ACL on an entry and on PATH is read and decides: the file's ACL
    grants USER rw though its mode does not; the plain file is denied."""
    s, secret_dir, secret = lab
    vol = s.p("vol")
    make_attacker_dir(vol)
    for name in ("granted", "plain"):
        p = os.path.join(vol, name)
        with open(p, "w"):
            pass
        os.chown(p, uid_of(ATTACKER), uid_of(ATTACKER))
        os.chmod(p, 0o600)
    subprocess.run(["setfacl", "-m", "u:%d:rw" % USER_HOST_UID,
                    os.path.join(vol, "granted")], check=True)
    subprocess.run(["setfacl", "-m", "u:%d:rwx" % USER_HOST_UID, vol],
                   check=True)
    r = doctor(vol)
    doc = json.loads(r.stdout)
    by = {e["path"]: e for e in doc["entries"]}
    assert doc["acl_entries"] == 2, doc
    assert by["."]["acl"] and by["."]["write"], by["."]
    assert by["granted"]["acl"] and by["granted"]["ok"], by["granted"]
    assert not by["plain"]["acl"] and not by["plain"]["read"], by["plain"]
    # The text report says so too.
    t = subprocess.run([SHIFTCTL, "doctor", vol, MAP, "--user=1000"],
                       capture_output=True, text=True, timeout=60)
    assert "2 entries carry POSIX ACLs" in t.stdout, t.stdout
    assert "cannot read 1 of them" in t.stdout, t.stdout
