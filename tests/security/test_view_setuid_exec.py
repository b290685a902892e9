# SPDX-License-Identifier: GPL-2.0-or-later
"""On a -o suid mount, a write that clears a setuid bit clears it on the
mount at once, as natively.

The daemon clears setuid/setgid itself on a non-owner's write (killpriv v2,
SECURITY.md rule 2) and on a write open of a privileged file (the guard,
rule 3), but neither reply carries attributes: the kernel kept the mode it
had cached, setuid, until the attribute timeout. A user who may write a
setuid program (mode 4777) appends a byte: natively the file is 0777 at
once; through the mount `stat` still said 4777 (found at 7db5dc1; the
execve right after ran unprivileged, the kernel refreshing the attributes
on that path, so the window was what a program reads, not what it runs).
The daemon now drops the kernel's cached attributes whenever it changes a
mode behind its back, and a -o suid mount does no FUSE passthrough, whose
writes the daemon never sees. Beside it: the same program, not written,
still runs setuid on the mount.
"""
import os
import shutil
import subprocess

import pytest

from conftest import need_root_and_fuse
from fs_util import cost, scratch_fixture

FIXTURES = (scratch_fixture,)
OWNER, ATTACKER = 1000, 2000


def as_uid(uid, script):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "--inh-caps=-all", "--",
                        "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture
def suid_mount(scratch, shiftfs_mount):
    need_root_and_fuse()
    os.chmod(scratch.src, 0o1777)
    return scratch, shiftfs_mount(scratch.src, scratch.mnt,
                                  "identity,suid,allow_other")


def setuid_id(path):
    shutil.copy("/usr/bin/id", path)
    os.chown(path, OWNER, OWNER)
    os.chmod(path, 0o4777)


APPEND_AND_RUN = ("printf x >> {p} && stat -c %a {p} && {p} -u && "
                  "printf y >> {p} && {p} -u")


def test_written_setuid_program_does_not_run_setuid(suid_mount):
    scratch, m = suid_mount
    native = os.path.join(os.path.dirname(scratch.src), "native-id")
    setuid_id(native)
    want = as_uid(ATTACKER, APPEND_AND_RUN.format(p=native))
    assert want == ["777", str(ATTACKER), str(ATTACKER)], want
    setuid_id(os.path.join(scratch.src, "id"))
    path = os.path.join(m.mnt, "id")
    assert oct(os.stat(path).st_mode & 0o7777) == "0o4777"  # cached
    got = as_uid(ATTACKER, APPEND_AND_RUN.format(p=path))
    assert got == want, (
        "through the -o suid mount the written program ran as %s" % got)


def test_unwritten_setuid_program_still_runs_setuid(suid_mount):
    scratch, m = suid_mount
    setuid_id(os.path.join(scratch.src, "id"))
    assert as_uid(ATTACKER, os.path.join(m.mnt, "id") + " -u") == [
        str(OWNER)]


def test_suid_mount_does_no_passthrough(suid_mount):
    scratch, m = suid_mount
    path = os.path.join(m.mnt, "f")

    def write():
        with open(path, "wb") as f:
            f.write(b"x" * 4096)
    c = cost(m, write)
    assert c.get("WRITE") == 1, c
