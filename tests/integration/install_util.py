# SPDX-License-Identifier: GPL-2.0-or-later
"""A build to install: the test build has the fault-injection hooks and
refuses to install, so the install and package tests configure one
without them (prefix /usr, no tests) beside it, in SHIFT_BUILD_DIR/release,
and build it (incrementally: fast after the first time)."""
import os
import subprocess

from conftest import BUILD

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def release_build():
    d = os.path.join(os.path.abspath(BUILD), "release")
    r = subprocess.run(["cmake", "-S", SOURCE, "-B", d,
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        "-DCMAKE_INSTALL_PREFIX=/usr", "-DBUILD_TESTING=OFF",
                        "-DSHIFT_TEST_HOOKS=OFF", "-DSHIFT_SANITIZE=OFF"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", d, "-j", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr
    return d


def verbs(shiftctl):
    out = subprocess.run([shiftctl, "--help"], capture_output=True,
                         text=True, check=True).stdout
    out = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in out.splitlines()]
