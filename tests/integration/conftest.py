# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared fixtures for the integration tests: they really mount.

Binaries come from $SHIFTFS and $SHIFTCTL (set by CTest). Every test gets its
own temporary directories (pytest's tmp_path). A mount started through
`shiftfs_mount` is always unmounted in teardown, and the daemon's stderr is
captured: any line containing "error" or "warning" fails the test unless the
test declares it expected (libfuse test/util.py does the same).

Skips: a test that cannot run here (no root, no /dev/fuse, no runuser) calls
`need(cond, why)`. Locally that skips; with SHIFTFS_TEST_MUST_MOUNT=1 (set by
.ci/run) it fails, so CI never counts a skipped test as passing.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

MUST = os.environ.get("SHIFTFS_TEST_MUST_MOUNT") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("SHIFT_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
SHIFTFS = os.environ.get("SHIFTFS", os.path.join(BUILD, "fs", "shiftfs"))
SHIFTCTL = os.environ.get("SHIFTCTL", os.path.join(BUILD, "shiftctl", "shiftctl"))
# An unprivileged host user the tests may act as (created by scripts/deps.sh).
TEST_USER = os.environ.get("SHIFTFS_TEST_USER", "shiftfs-test")


def need(cond, why):
    """Skip locally, fail in CI, when a test's precondition is missing."""
    if cond:
        return
    if MUST:
        pytest.fail("required capability missing (SHIFTFS_TEST_MUST_MOUNT=1): " + why)
    pytest.skip(why)


def need_test_hooks():
    """The fault-injection hooks exist only in -DSHIFT_TEST_HOOKS=ON builds."""
    need(os.environ.get("SHIFT_TEST_HOOKS", "1") == "1",
         "needs a build configured with -DSHIFT_TEST_HOOKS=ON")


def pytest_sessionstart(session):
    from journal_sweep import Sweep
    session.shiftfs_journal_sweep = Sweep()


def pytest_sessionfinish(session, exitstatus):
    # Journals of trees the tests made and removed (journal_sweep.py).
    sweep = getattr(session, "shiftfs_journal_sweep", None)
    if sweep:
        factory = getattr(session.config, "_tmp_path_factory", None)
        sweep.finish(factory.getbasetemp() if factory else None)
    # In CI a skip is a failure even when it came from a plain pytest.skip.
    if MUST and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter and reporter.stats.get("skipped"):
            session.exitstatus = 1


def _unoctal(field):
    """mountinfo's \\ooo escapes undone, bytes -> str (os.fsdecode)."""
    return os.fsdecode(re.sub(rb"\\([0-7]{3})",
                              lambda m: bytes([int(m.group(1), 8)]), field))


def mountinfo():
    """/proc/self/mountinfo as lists of fields (str, escapes undone).

    Read as bytes: another test's mount point may have any name, bytes that
    are not UTF-8 included (they come back as os.fsdecode's surrogates).
    """
    with open("/proc/self/mountinfo", "rb") as f:
        return [[_unoctal(x) for x in line.split()] for line in f]


def is_mounted(path):
    path = os.path.realpath(path)
    return any(fields[4] == path for fields in mountinfo())


def wait_for_mount(proc, path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_mounted(path):
            return
        if proc.poll() is not None:
            raise RuntimeError("shiftfs exited with %d before mounting %s" % (proc.returncode, path))
        time.sleep(0.02)
    raise TimeoutError("%s not mounted after %.0fs" % (path, timeout))


def umount(path, proc=None, timeout=10.0):
    if is_mounted(path):
        r = subprocess.run(["fusermount3", "-u", "-z", path], capture_output=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)
    if proc is not None:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Mount:
    """A running shiftfs daemon (foreground, stderr captured)."""

    def __init__(self, src, mnt, options, extra_args=(), user=None, expect_log=None):
        self.src, self.mnt = str(src), str(mnt)
        self.log_path = os.path.join(os.path.dirname(self.mnt), os.path.basename(self.mnt) + ".log")
        self.expect_log = re.compile(expect_log) if expect_log else None
        cmd = [SHIFTFS, self.src, self.mnt, "-f"]
        if options:
            cmd += ["-o", options]
        cmd += list(extra_args)
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_mount(self.proc, self.mnt)
        except Exception:
            self.stop(check_log=False)
            raise RuntimeError("mount failed; daemon said: " + self.output())

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, check_log=True):
        umount(self.mnt, self.proc)
        self.log.close()
        if check_log:
            bad = [l for l in self.output().splitlines()
                   if re.search(r"error|warning", l, re.I)
                   and not (self.expect_log and self.expect_log.search(l))]
            assert not bad, "daemon logged: %s" % bad


@pytest.fixture
def shiftfs_mount(tmp_path):
    """Factory: shiftfs_mount(src, mnt, "uidmap=...,gidmap=...") -> Mount.

    Unmounts every mount it started at teardown and checks its log.
    """
    mounts = []

    def start(src, mnt, options, **kw):
        m = Mount(src, mnt, options, **kw)
        mounts.append(m)
        return m

    yield start
    errors = []
    for m in reversed(mounts):
        try:
            m.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


@pytest.fixture
def dirs(tmp_path):
    """(src, mnt): fresh source and mount point directories."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    os.chmod(tmp_path, 0o755)
    return src, mnt


def need_root_and_fuse():
    need(os.geteuid() == 0, "needs root")
    need(os.path.exists("/dev/fuse"), "needs /dev/fuse")
    need(shutil.which("fusermount3") is not None, "needs fusermount3 (fuse3)")
    need(os.path.exists(SHIFTFS), "shiftfs not built at " + SHIFTFS)


def run_as(user, cmd, **kw):
    """Run cmd (a list) as a host user via runuser; returns CompletedProcess."""
    need(shutil.which("runuser") is not None, "needs runuser")
    return subprocess.run(["runuser", "-u", user, "--"] + cmd, capture_output=True, text=True, **kw)


def shiftctl(*args, check=False, **kw):
    """Run shiftctl; returns CompletedProcess with text output."""
    r = subprocess.run([SHIFTCTL] + [str(a) for a in args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("shiftctl %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r
