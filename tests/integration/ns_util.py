# SPDX-License-Identifier: GPL-2.0-or-later
"""A mount namespace of the test process's own, for tests that decide what
/run/user/UID and /tmp/shiftfs-UID are (shiftctl's XDG_RUNTIME_DIR
fallbacks): a session's or another test's directories on the host change
nothing there, and what those tests create or remove stays out of the
host's view, so tests running beside them (ctest -j) are not disturbed."""
import ctypes
import os
import subprocess

import pytest

CLONE_NEWNS = 0x00020000


def _enter():
    """A new mount namespace for this (single-threaded) process, with /
    private in it; returns the function that moves the process back."""
    libc = ctypes.CDLL(None, use_errno=True)
    host = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    cwd = os.getcwd()

    def back():
        if libc.setns(host, CLONE_NEWNS) != 0:
            pytest.fail("setns(host mount namespace): %s" %
                        os.strerror(ctypes.get_errno()))
        os.close(host)
        os.chdir(cwd)  # setns moved it to the namespace's root

    if libc.unshare(CLONE_NEWNS) != 0:
        pytest.fail("unshare(CLONE_NEWNS): %s" %
                    os.strerror(ctypes.get_errno()))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    return back


def _empty_tmpfs(path, mode):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=%o" % mode,
                    "shiftfs-test-" + os.path.basename(path), path],
                   check=True)


def private_run_shiftfs():
    """The same, with only an empty root-owned tmpfs on /run/shiftfs:
    root's shiftctl state is then this test's alone (a root `shiftctl
    status` of another test drops stale records it sees there)."""
    back = _enter()
    _empty_tmpfs("/run/shiftfs", 0o755)
    return back


def private_run_user_and_tmp():
    """Move this (single-threaded) process into a new mount namespace with
    an empty tmpfs on /run/user and a copy-on-write /tmp (an overlay whose
    lower layer is the host's /tmp, so the build tree and scratch dirs
    stay visible). Returns a function that moves the process back (so
    the next test file of the same pytest run sees the host again)."""
    back = _enter()
    _empty_tmpfs("/run/user", 0o755)
    scratch = "/run/user/.tmp-cow"  # on that tmpfs: gone with the namespace
    os.makedirs(scratch + "/upper")
    os.makedirs(scratch + "/work")
    os.chmod(scratch + "/upper", 0o1777)
    subprocess.run(["mount", "-t", "overlay", "-o",
                    "lowerdir=/tmp,upperdir=%s/upper,workdir=%s/work" % (
                        scratch, scratch), "shiftfs-test-tmp", "/tmp"],
                   check=True)
    return back
