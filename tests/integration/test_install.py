# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: what `cmake --install` puts on a system, and that it works from
there: binaries, a manual page for every verb `shiftctl --help` lists,
bash and zsh completion, the mount.fuse.shiftfs helper that mount(8) runs
for type fuse.shiftfs (also for fstab lines), and that a build with the
test hooks refuses to install. The Debian package of the same install,
installed with dpkg and used through mount(8) itself, is tests/package.
"""
import os
import re
import subprocess

import pytest

from conftest import BUILD, SHIFTCTL, is_mounted, need, need_root_and_fuse, \
    umount
from fs_util import scratch_fixture
from install_util import SOURCE, release_build, verbs

FIXTURES = (scratch_fixture,)


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The release build installed under a temporary prefix."""
    d = release_build()
    p = str(tmp_path_factory.mktemp("prefix"))
    os.chmod(p, 0o755)
    r = subprocess.run(["cmake", "--install", d, "--prefix", p],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return p


def test_every_verb_has_a_page():
    """In the tree: docs/shiftctl-VERB.1 for each verb, lint-clean."""
    for v in verbs(SHIFTCTL):
        page = os.path.join(SOURCE, "docs", "shiftctl-%s.1" % v)
        assert os.path.exists(page), "no manual page for verb " + v
        r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", page],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(["man", "-l", page], capture_output=True,
                           text=True, env=dict(os.environ, MANPAGER="cat",
                                               MANWIDTH="80"))
        assert r.returncode == 0
        assert "SHIFTCTL-%s(1)" % v.upper() in r.stdout
        # NAME names the page
        assert re.search(r"\bshiftctl-%s\s+-\s" % v, r.stdout), r.stdout


def test_layout(prefix):
    p = lambda *a: os.path.join(prefix, *a)  # noqa: E731
    # install_manifest.txt lists every file, so the README's uninstall
    # (xargs rm < install_manifest.txt) leaves nothing
    with open(os.path.join(release_build(), "install_manifest.txt")) as f:
        manifest = set(f.read().split())
    files = {os.path.join(d, n) for d, _, ns in os.walk(prefix) for n in ns}
    assert files == manifest
    for f in ("bin/shiftctl", "bin/shiftfs", "sbin/mount.fuse.shiftfs"):
        assert os.access(p(f), os.X_OK), f
    for f in ("share/bash-completion/completions/shiftctl",
              "share/zsh/vendor-completions/_shiftctl",
              "share/doc/shiftfs/LICENSE", "share/doc/shiftfs/CHANGELOG.md",
              "share/doc/shiftfs/README.md", "share/man/man1/shiftctl.1",
              "share/man/man8/shiftfs.8"):
        assert os.path.isfile(p(f)), f
    r = subprocess.run([p("bin/shiftctl"), "--version"], capture_output=True,
                       text=True)
    assert r.stdout == "shiftctl 0.1.0\n"
    r = subprocess.run([p("bin/shiftfs"), "--version"], capture_output=True,
                       text=True)
    assert r.stdout.startswith("shiftfs 0.1.0\n")


def test_man_finds_every_page(prefix):
    """`man shiftctl-VERB` finds the installed page for every verb (MANPATH
    as for a prefix outside man's default path)."""
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"),
               MANPAGER="cat", MANWIDTH="80")
    for page in ["shiftctl"] + ["shiftctl-" + v for v in verbs(SHIFTCTL)]:
        r = subprocess.run(["man", page], capture_output=True, text=True,
                           env=env)
        assert r.returncode == 0, (page, r.stderr)
        assert page.upper() + "(1)" in r.stdout
    r = subprocess.run(["man", "8", "shiftfs"], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0 and "SHIFTFS(8)" in r.stdout


def test_installed_bash_completion(prefix):
    comp = os.path.join(prefix, "share/bash-completion/completions/shiftctl")
    r = subprocess.run(
        ["bash", "-c", '. "$1"; COMP_WORDS=(shiftctl mou); COMP_CWORD=1; '
         '_shiftctl; echo "${COMPREPLY[*]}"; complete -p shiftctl', "bash",
         comp], capture_output=True, text=True,
        env=dict(os.environ, PATH=os.path.join(prefix, "bin") + ":/usr/bin:/bin"))
    assert r.stdout == "mount\ncomplete -F _shiftctl shiftctl\n", r.stderr


def test_mount_helper(prefix, scratch):
    """mount.fuse.shiftfs as mount(8) runs it: no PATH in the environment,
    SRC MNT -o OPTS -t fuse.shiftfs, the options of an fstab line (commas
    between map ranges) plus the suid,dev mount(8) adds."""
    need_root_and_fuse()
    s = scratch
    os.chown(s.src, 65536, 65536)
    helper = os.path.join(prefix, "sbin", "mount.fuse.shiftfs")
    r = subprocess.run(
        ["env", "-i", helper, s.src, s.mnt, "-o",
         "rw,map=0:100000:65536,65536:1000:1,nosuid,nodev,nofail",
         "-t", "fuse.shiftfs"], capture_output=True, text=True, timeout=30)
    try:
        assert r.returncode == 0, r.stderr
        assert is_mounted(s.mnt)
        st = os.stat(s.mnt)
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        with open("/proc/self/mountinfo", errors="surrogateescape") as f:
            line = [x for x in f if " %s " % s.mnt in x][0]
        assert " fuse.shiftfs " in line and "nosuid" in line
        # the daemon that serves it is the installed one
        pids = subprocess.run(["pgrep", "-f", "^shiftfs %s %s " % (
            s.src, s.mnt)], capture_output=True, text=True).stdout.split()
        assert len(pids) == 1
        assert os.readlink("/proc/%s/exe" % pids[0]) == os.path.join(
            prefix, "bin", "shiftfs")
    finally:
        umount(s.mnt)
    r = subprocess.run(["env", "-i", helper], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr == "usage: mount.fuse.shiftfs SRC MNT [-o OPTS]\n"


def test_hooks_build_refuses_install(tmp_path):
    """The test suite's own build has the fault-injection hooks: it must
    not be installable."""
    need(os.environ.get("SHIFT_TEST_HOOKS", "1") == "1",
         "a build configured with -DSHIFT_TEST_HOOKS=ON")
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix",
                        str(tmp_path / "p")], capture_output=True, text=True)
    assert r.returncode != 0
    assert "this build has SHIFT_TEST_HOOKS=ON" in r.stderr
    assert not os.path.exists(tmp_path / "p" / "bin")
