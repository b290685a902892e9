# SPDX-License-Identifier: GPL-2.0-or-later
"""issue 10 item 1, doctor's model: "an unmapped owner is shown as the
overflow id but matches nobody". On a shifted view (shiftfs, or an idmapped
mount) a file whose disk owner the map does not cover shows as 65534; the
kernel gives neither real uid 65534 (nobody) nor root any right from that
owner, nor CAP_DAC_OVERRIDE over it. doctor must say the same, and every
verdict here is checked against a real access through a real mount."""
import json
import os
import subprocess

import pytest

from conftest import SHIFTCTL, need
from fs_util import Scratch

UNMAPPED = 70000  # outside the view's 0:100000:65536 map
MAP = "--map=0:100000:65536"


@pytest.fixture(params=["fuse", "idmap"])
def view(request):
    need(os.geteuid() == 0, "needs root")
    s = Scratch("shiftfs-doctor-ov")
    os.chmod(s.src, 0o755)
    for name, uid, mode in (("unmapped", UNMAPPED, 0o660),
                            ("mapped", 5, 0o600)):
        p = os.path.join(s.src, name)
        with open(p, "w") as f:
            f.write("secret\n")
        os.chown(p, uid, uid)
        os.chmod(p, mode)
    # The tree holds no setuid file and only root uses the view here.
    extra = ["--allow-suid-src"] if request.param == "idmap" else []
    r = subprocess.run([SHIFTCTL, "mount", "--backend=" + request.param,
                        "--force", MAP, s.src, s.mnt] + extra,
                       capture_output=True, text=True, timeout=60)
    if r.returncode and "unrecognized option" in r.stderr:  # older builds
        r = subprocess.run([SHIFTCTL, "mount", "--backend=" + request.param,
                            "--force", MAP, s.src, s.mnt],
                           capture_output=True, text=True, timeout=60)
    need(r.returncode == 0, "%s mount failed: %s" % (request.param, r.stderr))
    yield s
    subprocess.run([SHIFTCTL, "umount", s.mnt], capture_output=True)
    s.cleanup()


def doctor_verdicts(path, user):
    r = subprocess.run([SHIFTCTL, "doctor", path, "--user=%d" % user,
                        "--map=0:0:4294967295", "--json", "--list=all",
                        "--need=rw"], capture_output=True, text=True,
                       timeout=60)
    doc = json.loads(r.stdout)
    return {e["path"]: e for e in doc["entries"]}, doc


def kernel_can(uid, path, write):
    cmd = ["sh", "-c", ": >> \"$1\"" if write else "cat \"$1\" >/dev/null",
           "sh", path]
    if uid != 0:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0


@pytest.mark.parametrize("who", [65534, 0])
def test_unmapped_owner_matches_nobody(view, who):
    """Real nobody (65534) and root: neither gets the unmapped owner's
    rights, and doctor says so -- as the kernel does."""
    ents, doc = doctor_verdicts(view.mnt, who)
    e = ents["unmapped"]
    assert os.stat(os.path.join(view.mnt, "unmapped")).st_uid == 65534
    assert e["read"] is False and e["write"] is False, e
    p = os.path.join(view.mnt, "unmapped")
    assert kernel_can(who, p, False) is False
    assert kernel_can(who, p, True) is False
    assert any("match nobody" in n for n in doc["notes"]), doc["notes"]


def test_mapped_owner_still_granted(view):
    """The legitimate case beside it: the view owner of a mapped file has
    its rights, in doctor's model and for real."""
    ents, _ = doctor_verdicts(view.mnt, 100005)
    e = ents["mapped"]
    assert e["read"] is True and e["write"] is True, e
    p = os.path.join(view.mnt, "mapped")
    assert kernel_can(100005, p, False) and kernel_can(100005, p, True)
    # And root's capabilities still apply to a mapped owner.
    ents, _ = doctor_verdicts(view.mnt, 0)
    assert ents["mapped"]["read"] is True
    assert kernel_can(0, p, False)


def test_real_65534_on_a_plain_directory_is_an_owner():
    """Not on a shifted view, 65534 is a real owner like any other."""
    need(os.geteuid() == 0, "needs root")
    s = Scratch("shiftfs-doctor-ov")
    try:
        p = os.path.join(s.src, "nobodys")
        with open(p, "w") as f:
            f.write("x")
        os.chown(p, 65534, 65534)
        os.chmod(p, 0o600)
        ents, _ = doctor_verdicts(s.src, 65534)
        assert ents["nobodys"]["read"] is True
        assert kernel_can(65534, p, False)
    finally:
        s.cleanup()
