# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash safety of shiftctl chown/shift: SIGKILL at many points of a run
(test hook SHIFTCTL_TEST_KILL_AFTER=N: the process kills itself before its
N-th change step: a journal batch, a chown, a chmod or an xattr write),
then --resume must give exactly the result of an uninterrupted run and
undo exactly the original. Also a few kills after real random delays."""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from chown_util import (SYS_JOURNALS, XATTR_CAPS, caps_v2, caps_v3, diff, dump, need_root,
                        remove_default_journals, run, set_acl, subid_files)
from conftest import SHIFTCTL, need_test_hooks

SEED = 20261123
OWNER = 5000


def build(root, ndirs=40, nfiles=100):
    """~4,400 inodes; setuid files, capabilities, ACLs and hard links
    spread through it so that kills land between their steps too."""
    os.mkdir(root)
    n = 0
    for d in range(ndirs):
        dp = os.path.join(root, "d%02d" % d)
        os.mkdir(dp)
        os.chown(dp, OWNER, OWNER)
        for f in range(nfiles):
            n += 1
            p = os.path.join(dp, "f%03d" % f)
            if n % 41 == 0:
                os.symlink("f000", p)
                os.chown(p, OWNER, OWNER, follow_symlinks=False)
                continue
            if n % 43 == 0 and d > 0:
                os.link(os.path.join(root, "d00", "f%03d" % f), p)
                continue
            with open(p, "w") as fh:
                fh.write("x" * (n % 7))
            os.chown(p, OWNER, 1000 + n % 3)
            if n % 37 == 0:
                os.chmod(p, 0o6755)
            if n % 53 == 0:
                os.setxattr(p, XATTR_CAPS, caps_v3(OWNER) if n % 2 else caps_v2())
            if n % 71 == 0:
                set_acl(p, "system.posix_acl_access",
                        [(1, 6, 0), (2, 4, OWNER), (2, 4, 1234), (4, 4, 0), (8, 4, 1001),
                         (16, 6, 0), (32, 4, 0)])
    os.chown(root, OWNER, OWNER)


def killed_run(args, kill_after):
    need_test_hooks()
    env = dict(os.environ, SHIFTCTL_TEST_KILL_AFTER=str(kill_after))
    r = subprocess.run([SHIFTCTL] + args, capture_output=True, text=True, env=env)
    return r


@pytest.fixture
def vol(tmp_path):
    need_root()
    root = str(tmp_path / "vol")
    build(root)
    jdir = tmp_path / "journals"
    jdir.mkdir()
    return root, str(jdir), tmp_path


def crash_cycle(verb_args, root, jdir, original, reference, points, undo_kill=None):
    """For each kill point: run (killed), resume (maybe killed once more,
    then resumed again), compare to reference, undo, compare to original."""
    failures = []
    for i, k in enumerate(points):
        jpath = os.path.join(jdir, "k%d" % i)
        r = killed_run(verb_args + ["--journal=" + jpath, root], k)
        assert r.returncode == -signal.SIGKILL, (k, r.returncode, r.stderr)
        assert os.path.exists(jpath)
        verb = verb_args[0]
        if i % 4 == 1:
            # Killed again while resuming.
            r = killed_run([verb, "--resume", jpath], max(1, k // 3))
            assert r.returncode in (0, -signal.SIGKILL), r.stderr
        r = run(verb, "--resume", jpath)
        assert r.returncode == 0, (k, r.stderr)
        got = dump(root)
        if got != reference:
            failures.append("resume after kill at %d:\n%s" % (k, diff(reference, got)))
        if undo_kill and i % 5 == 2:
            r = killed_run(["undo", jpath], undo_kill)
            assert r.returncode == -signal.SIGKILL, r.stderr
        r = run("undo", jpath)
        assert r.returncode == 0, (k, r.stderr)
        got = dump(root)
        if got != original:
            failures.append("undo after kill at %d:\n%s" % (k, diff(original, got)))
        os.unlink(jpath)
    assert not failures, "\n".join(failures[:5])


def reference_run(verb_args, root, jdir):
    jref = os.path.join(jdir, "ref")
    r = run(*(verb_args + ["--json", "--journal=" + jref, root]))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    reference = dump(root)
    r = run("undo", jref)
    assert r.returncode == 0, r.stderr
    os.unlink(jref)
    return doc, reference


def test_chown_killed_anywhere(vol):
    root, jdir, tmp = vol
    args = ["chown", "--user=1000"] + subid_files(tmp)
    original = dump(root)
    doc, reference = reference_run(args, root, jdir)
    assert doc["changed"] > 3000 and doc["caps_restored"] > 50 and doc["setid_restored"] > 50
    assert dump(root) == original
    steps = doc["changed"] + doc["caps_restored"] + doc["setid_restored"] + doc["acl_changed"]
    rng = random.Random(SEED)
    points = [1, 2, 3] + sorted(rng.sample(range(4, steps), 21))
    crash_cycle(args, root, jdir, original, reference, points, undo_kill=500)


def test_shift_killed_anywhere(vol):
    """shift is not idempotent: a resumed run must not shift anything twice."""
    root, jdir, tmp = vol
    args = ["shift", "--map=0:100000:65536"]
    original = dump(root)
    doc, reference = reference_run(args, root, jdir)
    assert doc["changed"] > 3000 and doc["unmappable"] == 0
    steps = doc["changed"] + doc["caps_restored"] + doc["setid_restored"] + doc["acl_changed"]
    rng = random.Random(SEED + 1)
    points = [1, 2] + sorted(rng.sample(range(3, steps), 10))
    crash_cycle(args, root, jdir, original, reference, points)


def test_kill_after_random_delays(vol):
    """Real SIGKILLs from outside at random instants (deterministic seed)."""
    root, jdir, tmp = vol
    args = ["chown", "--user=1000"] + subid_files(tmp)
    original = dump(root)
    doc, reference = reference_run(args, root, jdir)
    rng = random.Random(SEED + 2)
    full = max(doc["elapsed_s"], 0.01)
    for i in range(4):
        jpath = os.path.join(jdir, "t%d" % i)
        p = subprocess.Popen([SHIFTCTL] + args + ["--journal=" + jpath, root],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, full * 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if os.path.exists(jpath):
            r = run("chown", "--resume", jpath)
            assert r.returncode == 0, r.stderr
            assert dump(root) == reference, diff(reference, dump(root))
            r = run("undo", jpath)
            assert r.returncode == 0, r.stderr
            os.unlink(jpath)
        assert dump(root) == original, diff(original, dump(root))


def test_resume_finds_journal_by_path(vol):
    root, jdir, tmp = vol
    args = ["chown", "--user=1000"] + subid_files(tmp)
    original = dump(root)
    try:
        r = killed_run(args + [root], 700)
        assert r.returncode == -signal.SIGKILL
        jpath = [l.split("journal: ", 1)[1] for l in r.stderr.splitlines() if "journal: " in l][0]
        assert jpath.startswith(SYS_JOURNALS + "/")
        r = run("chown", "--resume", root)
        assert r.returncode == 0, r.stderr
        assert "resuming with journal: " + jpath in r.stderr
        assert all(v[1] == 100999 for v in dump(root).values())
        r = run("undo", jpath)
        assert r.returncode == 0, r.stderr
        assert dump(root) == original
    finally:
        remove_default_journals(root)


def test_torn_journal_tail_and_concurrent_run(vol):
    """A journal whose last record was torn (power loss during a write)
    still resumes and undoes; a second run on the same tree is refused
    while one is working."""
    root, jdir, tmp = vol
    args = ["chown", "--user=1000"] + subid_files(tmp)
    original = dump(root)
    jpath = os.path.join(jdir, "torn")
    r = killed_run(args + ["--journal=" + jpath, root], 2500)
    assert r.returncode == -signal.SIGKILL
    size = os.path.getsize(jpath)
    with open(jpath, "ab") as f:
        f.write(b"BTCH" + os.urandom(300))   # a torn batch: no valid CRC
    r = run("undo", "--dry-run", jpath)
    assert r.returncode == 0, r.stderr
    r = run("chown", "--resume", jpath)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(jpath) > size
    # The torn tail was cut before appending: the DONE record is readable.
    r = run("chown", "--resume", jpath)
    assert r.returncode == 0 and "already completed" in r.stdout, r.stdout
    assert all(v[1] == 100999 for v in dump(root).values())
    assert run("undo", jpath).returncode == 0
    assert dump(root) == original
    # Concurrent runs: hold the tree's lock as a running shiftctl would.
    import fcntl
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run(*(args + ["--journal=" + os.path.join(jdir, "second"), root]))
        assert r.returncode == 1 and "another shiftctl" in r.stderr, r.stderr
        assert dump(root) == original
    finally:
        os.close(fd)
