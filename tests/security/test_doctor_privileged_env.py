# SPDX-License-Identifier: GPL-2.0-or-later
"""issue 11 item 9 ($SHIFTCTL_SUBUID / $SHIFTCTL_SUBGID): under `sudo -E` or
env_keep a user's environment reaches root's shiftctl. The variables steer
only an unprivileged run; as root they are ignored and /etc/subuid and
/etc/subgid are read (the --subuid-file/--subgid-file options remain: the
administrator's choice on the command line)."""
import json
import os
import subprocess

from attack import ATTACKER, MAPPED, as_host_user, subid_start, uid_of
from conftest import SHIFTCTL, need
from fs_util import Scratch


def forged(s):
    """The attacker's files: MAPPED's subordinate range moved onto host
    root (0) and onto the attacker's own uid."""
    su, sg = s.p("subuid"), s.p("subgid")
    for p in (su, sg):
        with open(p, "w") as f:
            f.write("%s:0:100\n" % MAPPED)
        os.chown(p, uid_of(ATTACKER), uid_of(ATTACKER))
        os.chmod(p, 0o644)
    return su, sg


def test_root_ignores_forged_env():
    need(os.geteuid() == 0, "needs root")
    start = subid_start(MAPPED)
    need(start is not None, "%s has no /etc/subuid line" % MAPPED)
    s = Scratch("shiftfs-env")
    try:
        su, sg = forged(s)
        env = dict(os.environ, SHIFTCTL_SUBUID=su, SHIFTCTL_SUBGID=sg)
        r = subprocess.run([SHIFTCTL, "map", "--rootless=" + MAPPED, "--json"],
                           capture_output=True, text=True, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["uid_map"][1]["view"] == start, doc
        assert doc["gid_map"][1]["view"] == subid_start(MAPPED, "/etc/subgid")
        # doctor computes the same map the same way.
        r = subprocess.run([SHIFTCTL, "doctor", s.src, "--user=1",
                            "--rootless=" + MAPPED, "--json"],
                           capture_output=True, text=True, env=env, timeout=30)
        doc = json.loads(r.stdout)
        assert doc["user"]["host_uid"] == start, doc["user"]
        # The administrator's explicit option is still honoured.
        r = subprocess.run([SHIFTCTL, "map", "--rootless=" + MAPPED, "--json",
                            "--subuid-file", su, "--subgid-file", sg],
                           capture_output=True, text=True, env=env, timeout=30)
        assert json.loads(r.stdout)["uid_map"][1]["view"] == 0
    finally:
        s.cleanup()


def test_unprivileged_run_honours_env():
    """The legitimate use: a user points their own run at other files."""
    need(os.geteuid() == 0, "needs root to set up the users")
    s = Scratch("shiftfs-env")
    try:
        su, sg = forged(s)
        with open(su, "w") as f:
            f.write("%s:700000:65536\n" % ATTACKER)
        with open(sg, "w") as f:
            f.write("%s:700000:65536\n" % ATTACKER)
        r = as_host_user(ATTACKER, ["env", "SHIFTCTL_SUBUID=" + su,
                                    "SHIFTCTL_SUBGID=" + sg, SHIFTCTL, "map",
                                    "--rootless", "--json"])
        need("Permission denied" not in r.stderr,
             "shiftctl binary not reachable by " + ATTACKER)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["uid_map"][1]["view"] == 700000
    finally:
        s.cleanup()
