# SPDX-License-Identifier: GPL-2.0-or-later
"""Failures are not hidden (issue 11, item 10).

A run with per-inode errors used to be marked done, so --resume answered
"already completed" and the errors were never retried; an undo that could
not mark its journal undone said nothing (and a later --resume of that
journal would redo the run). Now a run with errors exits 1, says it is
incomplete and how to resume, and --resume retries what failed; an undo
that cannot mark its journal exits 1 naming the journal and the errno.
"""
import os
import subprocess

import pytest

from chown_util import ext4_image, need_root, run

FIXTURES = (ext4_image,)
MAP = "--map=0:100000:65536"


def chattr(flag, path):
    subprocess.run(["chattr", flag, path], check=True, capture_output=True)


@pytest.fixture
def vol(ext4_image, tmp_path):
    need_root()
    mnt = ext4_image()
    v = os.path.join(mnt, "vol")
    os.makedirs(os.path.join(v, "d"))
    for n in ("a", "b", "d/c"):
        with open(os.path.join(v, n), "w") as f:
            f.write(n)
    jd = tmp_path / "journals"
    jd.mkdir(mode=0o700)
    yield v, str(jd)
    subprocess.run(["chattr", "-i", os.path.join(v, "b")], capture_output=True)


def test_run_with_errors_is_incomplete_and_resumable(vol):
    v, jd = vol
    j = os.path.join(jd, "j")
    chattr("+i", os.path.join(v, "b"))
    r = run("shift", MAP, "--journal=" + j, v)
    assert r.returncode == 1, r.stderr
    assert "b: chown: Operation not permitted" in r.stderr, r.stderr
    assert "1 error: the run is not complete" in r.stderr and "--resume " + j in r.stderr, r.stderr
    assert os.lstat(os.path.join(v, "a")).st_uid == 100000
    assert os.lstat(os.path.join(v, "b")).st_uid == 0
    # Still failing: not "already completed", the error again.
    r = run("shift", "--resume", j)
    assert r.returncode == 1 and "already completed" not in r.stdout, (r.stdout, r.stderr)
    assert "Operation not permitted" in r.stderr
    # Cause fixed: the retry finishes the run, which is then complete.
    chattr("-i", os.path.join(v, "b"))
    r = run("shift", "--resume", j)
    assert r.returncode == 0, r.stderr
    assert os.lstat(os.path.join(v, "b")).st_uid == 100000
    assert os.lstat(os.path.join(v, "a")).st_uid == 100000  # never twice
    r = run("shift", "--resume", j)
    assert r.returncode == 0 and "already completed" in r.stdout, r.stdout
    # And undo brings back everything.
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert all(os.lstat(os.path.join(v, n)).st_uid == 0 for n in ("a", "b", "d/c", "d"))


def test_undo_that_cannot_mark_its_journal_fails(vol, tmp_path):
    v, jd = vol
    j = os.path.join(jd, "j")
    assert run("shift", MAP, "--journal=" + j, v).returncode == 0
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o700)
    subprocess.run(["mount", "--bind", jd, str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        r = run("undo", str(ro / "j"))
        assert r.returncode == 1, (r.stdout, r.stderr)
        msg = [line for line in r.stderr.splitlines() if "cannot mark journal" in line]
        assert msg and str(ro / "j") in msg[0] and "Read-only file system" in msg[0], r.stderr
        # What could be restored was restored.
        assert os.lstat(os.path.join(v, "a")).st_uid == 0
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)
    # Writable again: the undo completes and marks it; --resume refuses to redo.
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    r = run("shift", "--resume", j)
    assert r.returncode == 0 and "already undone" in r.stdout, r.stdout
    assert os.lstat(os.path.join(v, "a")).st_uid == 0


def test_undo_with_errors_is_not_marked(vol):
    v, jd = vol
    j = os.path.join(jd, "j")
    assert run("shift", MAP, "--journal=" + j, v).returncode == 0
    chattr("+i", os.path.join(v, "b"))
    r = run("undo", j)
    assert r.returncode == 1 and "Operation not permitted" in r.stderr, r.stderr
    chattr("-i", os.path.join(v, "b"))
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    assert os.lstat(os.path.join(v, "b")).st_uid == 0
