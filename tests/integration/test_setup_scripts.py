# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: the setup scripts and what the tests leave on the system.

- The demo prints every command so that it can be pasted as printed: no
  temporary --subuid-file= paths, arguments quoted; the printed map
  commands, run again from a shell, print what the demo showed.
- deps.sh says each change it makes (and nothing when there is none);
  undo-setup.sh takes recorded changes back, the users only with --all.
- Journals that chown/shift runs without --journal leave in the default
  directory are removed at the end of the pytest session that made them
  (journal_sweep.py), here played with a real pytest session.
"""
import os
import pwd
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

from conftest import BUILD, SHIFTCTL, need, need_root_and_fuse
from install_util import SOURCE
import journal_sweep

SCRIPTS = os.path.join(SOURCE, "scripts")


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def test_demo_commands_paste():
    need_root_and_fuse()
    r = run("bash", os.path.join(SCRIPTS, "demo.sh"), os.path.abspath(BUILD),
            timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    cmds = [l[2:] for l in out.splitlines() if l.startswith("$ ")]
    assert len(cmds) >= 10
    assert "--subuid-file" not in out and "--subgid-file" not in out
    for c in cmds:
        shlex.split(c)  # quoting is whole
    setpriv = [c for c in cmds if c.startswith("setpriv ")][0]
    argv = shlex.split(setpriv)
    assert argv[-4:-1] == ["-c", 'echo new >"$1"', "sh"]
    # the map commands, pasted into a shell after the demo, print the same
    blocks = out.split("\n$ ")
    for b in blocks[1:]:
        cmd, _, shown = b.partition("\n")
        if " map " not in cmd:
            continue
        again = run("sh", "-c", cmd, cwd="/")
        assert again.returncode == 0, (cmd, again.stderr)
        assert shown.startswith(again.stdout), (cmd, again.stdout, shown)
    assert "remove them with: userdel alice; sed -i '/^alice:/d' " \
        "/etc/subuid /etc/subgid" in out


def test_deps_says_nothing_when_nothing_changes():
    need(os.geteuid() == 0, "root (deps.sh)")
    env = dict(os.environ, SHIFTFS_SETUP_RECORD="/dev/null/none")
    r = run("bash", os.path.join(SCRIPTS, "deps.sh"), env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    # everything is in place already (this machine ran it): not one change
    assert r.stdout == "", r.stdout


def test_setup_changes_said_and_undone(tmp_path):
    need(os.geteuid() == 0, "root (useradd)")
    user = "shiftfs-undo-t"
    subprocess.run(["userdel", user], capture_output=True)
    record = tmp_path / "changes"
    conf = tmp_path / "fuse.conf"
    conf.write_text("# test\n")
    env = dict(os.environ, SHIFTFS_SETUP_RECORD=str(record))
    script = textwrap.dedent('''
        . "$1/setup-changes.sh"
        setup_user t %(u)s none "a test"
        setup_user t %(u)s none "a test"
        setup_subid t %(u)s 900000
        echo user_allow_other >>"$2"
        setup_changed t "fuse_conf $2" "added user_allow_other to $2"
    ''' % {"u": user})
    try:
        r = run("bash", "-c", script, "bash", SCRIPTS, str(conf), env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == [
            "t: changed the system: created user %s (a test)" % user,
            "t: changed the system: added %s:900000:65536 to /etc/subuid"
            % user,
            "t: changed the system: added %s:900000:65536 to /etc/subgid"
            % user,
            "t: changed the system: added user_allow_other to %s" % conf]
        pwd.getpwnam(user)
        r = run("bash", os.path.join(SCRIPTS, "undo-setup.sh"), env=env)
        assert r.returncode == 0, r.stderr
        assert "removed user_allow_other from %s" % conf in r.stdout
        assert "left in place for the next run: users %s" % user in r.stdout
        assert "bash scripts/undo-setup.sh --all" in r.stdout
        assert conf.read_text() == "# test\n"
        pwd.getpwnam(user)  # kept without --all
        r = run("bash", os.path.join(SCRIPTS, "undo-setup.sh"), "--all",
                env=env)
        assert r.returncode == 0, r.stderr
        assert "removed user %s" % user in r.stdout
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f) as fh:
                assert not re.search("^%s:" % user, fh.read(), re.M)
        assert not record.exists()
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        for f in ("/etc/subuid", "/etc/subgid"):
            subprocess.run(["sed", "-i", "/^%s:/d" % user, f])


SESSION_TEST = '''
import os, subprocess

def test_leaves_a_journal(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("x")
    r = subprocess.run([%r, "chown", "--map=0:100000:65536", "--user=0",
                        "-q", str(vol)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    open(%r, "w").write(r.stderr)
'''


def test_session_removes_its_journals(tmp_path):
    """A pytest session whose test ran chown without --journal (and did not
    clean up) leaves no journal behind; a journal of a tree that still
    exists outside the session stays."""
    need(os.geteuid() == 0, "root (chown)")
    keep = tmp_path / "keep"
    keep.mkdir()
    r = run(SHIFTCTL, "chown", "--map=0:100000:65536", "--user=0", "-q",
            str(keep))
    assert r.returncode == 0, r.stderr
    kept = [j for j in journal_sweep.journals()
            if journal_sweep.tree_of(j) == str(keep)]
    assert len(kept) == 1
    before = journal_sweep.journals()
    test = tmp_path / "test_session.py"
    log = tmp_path / "stderr"
    test.write_text(SESSION_TEST % (SHIFTCTL, str(log)))
    here = os.path.dirname(os.path.abspath(__file__))
    r = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "conftest", "--rootdir", str(tmp_path), str(test),
            env=dict(os.environ, PYTHONPATH=here), cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    made = log.read_text()
    assert "journal: /var/lib/shiftctl/journal/chown-" in made
    path = made.split("journal: ", 1)[1].split()[0]
    assert not os.path.exists(path)
    assert journal_sweep.journals() - before == set()
    try:
        assert os.path.exists(kept[0])  # not this session's: stays
    finally:
        os.unlink(kept[0])
