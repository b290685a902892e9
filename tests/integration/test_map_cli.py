# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl map from the outside: output, JSON, translation, errors, exits."""
import json
import os
import pwd

import pytest

from conftest import need, shiftctl


@pytest.fixture
def subfiles(tmp_path):
    su = tmp_path / "subuid"
    sg = tmp_path / "subgid"
    su.write_text("# comment\n\nroot:100000:65536\nroot:300000:10\n")
    sg.write_text("root:200000:65536\n")
    return su, sg


def test_rootless_text(subfiles):
    su, sg = subfiles
    r = shiftctl("map", "--rootless=root", "--subuid-file", su, "--subgid-file", sg)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if not l.startswith("#")]
    assert lines == ["0 0 1", "1 100000 65536", "65537 300000 10",
                     "0 0 1", "1 200000 65536"]


def test_only_uid_is_proc_form(subfiles):
    su, sg = subfiles
    r = shiftctl("map", "--rootless=0", "--subuid-file", su, "--subgid-file", sg, "--only=uid")
    assert r.stdout == "0 0 1\n1 100000 65536\n65537 300000 10\n"


def test_env_ignored_when_privileged(subfiles):
    """$SHIFTCTL_SUBUID/$SHIFTCTL_SUBGID steer only an unprivileged run: as
    root (sudo -E) they are ignored and /etc/subuid, /etc/subgid are read;
    the --subuid-file/--subgid-file options are the administrator's way."""
    need(os.geteuid() == 0, "needs root")
    su, sg = subfiles
    env = dict(os.environ, SHIFTCTL_SUBUID=str(su), SHIFTCTL_SUBGID=str(sg))
    r = shiftctl("map", "--rootless=root", "--only=gid", env=env)
    assert r.returncode == 1 and "/etc/sub" in r.stderr, (r.stdout, r.stderr)
    r = shiftctl("map", "--rootless=root", "--only=gid", "--subuid-file", su,
                 "--subgid-file", sg, env=env)
    assert r.returncode == 0 and r.stdout == "0 0 1\n1 200000 65536\n"


def test_json(subfiles):
    su, sg = subfiles
    r = shiftctl("map", "--rootless=root", "--subuid-file", su, "--subgid-file", sg, "--json")
    doc = json.loads(r.stdout)
    assert doc["layout"] == "rootless"
    assert doc["uid_map"][1] == {"disk": 1, "view": 100000, "count": 65536}
    assert doc["gid_map"][1]["view"] == 200000
    assert doc["overflow_uid"] == int(open("/proc/sys/kernel/overflowuid").read())


def test_userns_remap(subfiles):
    su, sg = subfiles
    r = shiftctl("map", "--userns-remap=root", "--subuid-file", su, "--subgid-file", sg, "--only=uid")
    assert r.stdout == "0 100000 65536\n65536 300000 10\n"


def test_pid_self():
    r = shiftctl("map", "--pid=1", "--only=uid")
    assert r.returncode == 0
    assert r.stdout.split() == open("/proc/1/uid_map").read().split()


def test_translate_and_reverse():
    r = shiftctl("map", "--map=0:100000:65536", "--translate=1000")
    assert r.returncode == 0
    assert "disk uid 1000 -> view uid 101000" in r.stdout
    r = shiftctl("map", "--map=0:100000:65536", "--translate=101000", "--reverse", "--json")
    assert json.loads(r.stdout)["gid"] == {"view": 101000, "disk": 1000, "mapped": True}
    r = shiftctl("map", "--map=0:100000:65536", "--translate=70000")
    assert r.returncode == 1 and "65534" in r.stdout and "overflow" in r.stdout
    r = shiftctl("map", "--map=0:100000:65536", "--translate=5", "--reverse")
    assert r.returncode == 1 and "EOVERFLOW" in r.stdout


def test_owner_mode(subfiles):
    su, sg = subfiles
    r = shiftctl("map", "--rootless=root", "--subuid-file", su, "--subgid-file", sg,
                 "--user=1000", "--owner=0:0", "--only=uid")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0 100999 1\n"


@pytest.mark.parametrize("spec,msg", [
    ("0:100000:0", "count 0"),
    ("+5:1:1", "not a number"),
    ("-1:1:1", "not a number"),
    ("1:1:1x", "trailing"),
    ("0:0:10,5:100:1", "overlaps"),
    ("0:0:10,100:5:1", "view side"),
    ("4294967295:0:2", "past"),
    ("1:2", "DISK:VIEW:COUNT"),
    ("", "empty"),
])
def test_bad_specs_one_line_exit_1(spec, msg):
    r = shiftctl("map", "--map=" + spec)
    assert r.returncode == 1
    assert msg in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""


def test_missing_subuid_entry_names_user_and_file(tmp_path):
    su = tmp_path / "subuid"
    su.write_text("someoneelse:100000:65536\n")
    r = shiftctl("map", "--rootless=root", "--subuid-file", su, "--subgid-file", su)
    assert r.returncode == 1
    assert r.stderr.strip() == "shiftctl: no entry for user root in %s" % su


def test_malformed_subuid_line_names_line(tmp_path):
    su = tmp_path / "subuid"
    su.write_text("# ok\nroot:100000:65536\nroot:abc:5\n")
    r = shiftctl("map", "--rootless=root", "--subuid-file", su, "--subgid-file", su)
    assert r.returncode == 1 and "%s:3" % su in r.stderr and "abc" in r.stderr


def test_missing_file(tmp_path):
    r = shiftctl("map", "--rootless=root", "--subuid-file", tmp_path / "nope")
    assert r.returncode == 1 and "No such file" in r.stderr and "nope" in r.stderr


@pytest.mark.parametrize("args", [
    ["--bogus"], ["--rootless", "--pid=1"], ["--pid=abc"], ["--pid=0"],
    ["--reverse"], ["--only=foo"], ["extra"], ["--user=1"],
])
def test_usage_errors_exit_2(args):
    r = shiftctl("map", *args)
    assert r.returncode == 2, r.stderr
    assert "Try 'shiftctl map --help'" in r.stderr


def test_help_and_version():
    r = shiftctl("map", "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout and "shiftctl(1)" in r.stdout
    r = shiftctl("--version")
    assert r.returncode == 0 and r.stdout.startswith("shiftctl ")
    r = shiftctl("frobnicate")
    assert r.returncode == 2


def test_pid_gone():
    r = shiftctl("map", "--pid=999999999")
    assert r.returncode == 1
    assert r.stderr.strip() == "shiftctl: /proc/999999999/uid_map: no such process"
