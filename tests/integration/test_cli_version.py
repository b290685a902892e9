# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: -V/--version on every verb (and on shiftfs, in
test_fs_ioctl.py), and `shiftctl mount -r` says read-only in its line."""
import subprocess

import pytest

from conftest import SHIFTCTL, need_root_and_fuse
from fs_util import scratch_fixture
from install_util import verbs

FIXTURES = (scratch_fixture,)


def run(*args):
    return subprocess.run([SHIFTCTL] + list(args), capture_output=True,
                          text=True)


def test_version_on_every_verb():
    vs = verbs(SHIFTCTL)
    assert len(vs) >= 8
    want = run("--version").stdout
    assert want.startswith("shiftctl ") and want.endswith("\n")
    for v in vs:
        for flag in ("-V", "--version"):
            r = run(v, flag)
            assert (r.returncode, r.stdout, r.stderr) == (0, want, ""), v
        assert " -V, --version              display version\n" in run(
            v, "--help").stdout, v
    # wherever it comes on the line, before other options are judged
    r = run("mount", "--map=0:0:1", "-V", "/nonexistent", "/nonexistent")
    assert (r.returncode, r.stdout) == (0, want)


@pytest.mark.parametrize("backend,ro", [("idmap", "-r"), ("fuse", "-r"),
                                        ("fuse", "-oro"), ("idmap", None)])
def test_mount_line_says_read_only(scratch, backend, ro):
    need_root_and_fuse()
    s = scratch
    args = ["mount", "--map=0:0:65536", "--backend=" + backend]
    if ro:
        args.append(ro)
    r = run(*(args + [s.src, s.mnt]))
    assert r.returncode == 0, r.stderr
    try:
        line = r.stdout.splitlines()[0]
        assert line.startswith("shiftctl: mounted %s at %s with %s (" % (
            s.src, s.mnt, backend))
        assert line.endswith(", read-only") == bool(ro), line
    finally:
        run("umount", s.mnt)
