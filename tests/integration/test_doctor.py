# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl doctor: verdicts for known trees (modes, ACLs and their mask,
sticky directories, unmapped owners, container root), each checked twice:
against the value the kernel's rules give (written down here), and against
what really happens when a process with the container's ids tries the
access in a user namespace with the same map."""
import json
import os

import pytest

from conftest import shiftctl
from doctor_util import (compare_with_kernel, doctor_json, entries_by_path,
                         make_tree, vol_root)  # noqa: F401 (fixture)

BASE = 100000
MAP = [(0, BASE, 65536)]
SPEC = "0:%d:65536" % BASE
UNMAPPED = 5000          # a host id outside the map: the overflow id inside


def h(c):
    """Host id of container id c under MAP."""
    return BASE + c


# Container users: alice 1000:1000, bob 2000:2000 with supplementary group
# staff 3000, root 0:0.
USERS = {
    "alice": (1000, 1000, [1000]),
    "bob": (2000, 2000, [2000, 3000]),
    "root": (0, 0, [0]),
}

TREE = [
    (".", "dir", h(1000), h(1000), 0o755, None),
    ("owner_ro", "file", h(1000), h(1000), 0o444, None),
    ("other_rw", "file", UNMAPPED, UNMAPPED, 0o666, None),
    ("unmapped_600", "file", UNMAPPED, UNMAPPED, 0o600, None),
    ("mapped_600", "file", h(2000), h(2000), 0o600, None),
    # "other" would allow rw, but alice is a named user and the mask cuts w.
    ("acl_mask_denies", "file", h(5000), h(5000), 0,
     "u::rw-,u:%d:rw-,g::---,m::r--,o::rw-" % h(1000)),
    # Modes alone (0660-looking, alice is "other" ---) would deny; the
    # named-user entry grants rw.
    ("acl_user_grants", "file", h(5000), h(5000), 0,
     "u::rw-,u:%d:rw-,g::---,m::rw-,o::---" % h(1000)),
    ("acl_group_grants", "file", h(5000), h(5000), 0,
     "u::rw-,g::---,g:%d:rw-,m::rw-,o::---" % h(3000)),
    # A mask of --- makes the kernel skip the ACL: named user falls to other.
    ("acl_mask_zero", "file", h(5000), h(5000), 0,
     "u::rw-,u:%d:rw-,g::---,m::---,o::r--" % h(1000)),
    # bob is in the owning group (---), so other's r-- does not apply.
    ("group_denies", "file", h(5000), h(3000), 0o604, None),
    ("exec_me", "file", h(1000), h(1000), 0o755, None),
    ("noexec_dir", "dir", h(1000), h(1000), 0o644, None),
    ("noexec_dir/inner", "file", h(1000), h(1000), 0o666, None),
    ("sticky", "dir", h(1000), h(1000), 0o1777, None),
    ("sticky/bobs", "file", h(2000), h(2000), 0o666, None),
    ("sticky/nobodys", "file", UNMAPPED, UNMAPPED, 0o666, None),
    ("unmapped_dir", "dir", UNMAPPED, UNMAPPED, 0o700, None),
    ("unmapped_dir/f", "file", UNMAPPED, UNMAPPED, 0o666, None),
]

# (user, path) -> expected (reachable, read, write, delete) by the kernel's
# rules; None: not asserted here (still compared with the kernel).
EXPECT = {
    ("alice", "owner_ro"): (True, True, False, True),
    ("root", "owner_ro"): (True, True, True, True),
    ("alice", "other_rw"): (True, True, True, True),
    ("root", "unmapped_600"): (True, False, False, True),
    ("alice", "unmapped_600"): (True, False, False, True),
    ("root", "mapped_600"): (True, True, True, True),
    ("bob", "mapped_600"): (True, True, True, None),
    ("alice", "acl_mask_denies"): (True, True, False, True),
    ("bob", "acl_mask_denies"): (True, True, True, None),
    ("alice", "acl_user_grants"): (True, True, True, True),
    ("bob", "acl_user_grants"): (True, False, False, None),
    ("bob", "acl_group_grants"): (True, True, True, None),
    ("alice", "acl_group_grants"): (True, False, False, True),
    ("alice", "acl_mask_zero"): (True, True, False, True),
    ("bob", "group_denies"): (True, False, False, None),
    ("alice", "group_denies"): (True, True, False, True),
    ("alice", "noexec_dir/inner"): (False, None, None, None),
    ("root", "noexec_dir/inner"): (True, True, True, True),
    ("alice", "sticky/bobs"): (True, True, True, True),  # alice owns the dir
    ("bob", "sticky/bobs"): (True, True, True, True),
    ("bob", "sticky/nobodys"): (True, True, True, False),
    ("root", "sticky/nobodys"): (True, True, True, False),  # no CAP_FOWNER
    ("root", "unmapped_dir/f"): (False, None, None, None),
}


@pytest.fixture
def world(vol_root, tmp_path):
    vol = os.path.join(vol_root, "vol")
    os.mkdir(vol)
    make_tree(vol, TREE)
    passwd = tmp_path / "passwd"
    group = tmp_path / "group"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\n"
                      "alice:x:1000:1000::/home/alice:/bin/sh\n"
                      "bob:x:2000:2000::/home/bob:/bin/sh\n")
    group.write_text("root:x:0:\nalice:x:1000:\nbob:x:2000:\nstaff:x:3000:bob\n")
    return vol, ["--map=" + SPEC, "--passwd=%s" % passwd, "--group=%s" % group]


@pytest.mark.parametrize("user", sorted(USERS))
def test_verdicts_match_rules_and_kernel(world, user):
    vol, args = world
    uid, gid, groups = USERS[user]
    code, doc = doctor_json(vol, "--user=" + user, *args)
    assert doc["user"]["uid"] == uid and doc["user"]["host_uid"] == h(uid)
    assert sorted(doc["user"]["groups"]) == sorted(groups)
    assert sorted(doc["user"]["host_groups"]) == sorted(h(g) for g in groups)
    ents = entries_by_path(doc, vol)
    for (u, rel), want in EXPECT.items():
        if u != user:
            continue
        e = ents[os.path.join(vol, rel)]
        got = (e["reachable"], e["read"], e["write"], e["delete"])
        for w, g, what in zip(want, got, ("reachable", "read", "write", "delete")):
            if w is not None and want[0]:
                assert g == w, "%s %s: %s is %s, expected %s (%s)" % (
                    user, rel, what, g, w, e["reasons"])
            elif what == "reachable":
                assert g == w, "%s %s: reachable %s" % (user, rel, g)
    # Not everything is accessible to anyone here: exit 1, and the JSON
    # verdict says so.
    assert code == 1 and doc["ok"] is False
    bad = compare_with_kernel(doc, vol, MAP, MAP, uid, gid, groups)
    assert not bad, "doctor and the kernel disagree (path, what, doctor, kernel): %s" % bad


def test_reasons_name_the_mask_and_overflow(world):
    vol, args = world
    _, doc = doctor_json(vol, "--user=alice", *args)
    ents = entries_by_path(doc, vol)
    why = " ".join(r["reason"] for r in ents[os.path.join(vol, "acl_mask_denies")]["reasons"])
    assert "mask r--" in why and str(h(1000)) in why
    _, doc = doctor_json(vol, "--user=root", *args)
    ents = entries_by_path(doc, vol)
    e = ents[os.path.join(vol, "unmapped_600")]
    assert e["container_uid"] is None and not e["read"]
    assert any("not mapped" in r["reason"] for r in e["reasons"])
    # Owners summary: the unmapped host id appears as the overflow id.
    own = {(o["disk_uid"], o["disk_gid"]): o for o in doc["owners"]}
    assert own[(UNMAPPED, UNMAPPED)]["shown_uid"] == doc["map"]["overflow_uid"] == 65534
    assert own[(h(1000), h(1000))]["shown_uid"] == 1000


def test_sticky_text_output(world):
    vol, args = world
    r = shiftctl("doctor", vol, "--user=bob", *args)
    assert r.returncode == 1
    assert "sticky" in r.stdout
    assert "cannot delete or rename" in r.stdout


def test_need_levels_and_exit_codes(vol_root):
    vol = os.path.join(vol_root, "v")
    os.mkdir(vol)
    make_tree(vol, [(".", "dir", h(1000), h(1000), 0o755, None),
                    ("a", "file", h(1000), h(1000), 0o644, None),
                    ("ro", "file", h(7), h(7), 0o644, None)])
    base = [vol, "--map=" + SPEC, "--user=1000"]
    r = shiftctl("doctor", *base, "--need=r")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Nothing needs changing" in r.stdout
    r = shiftctl("doctor", *base)           # default rw: "ro" is not writable
    assert r.returncode == 1
    assert "lacks rw access to 1 of 3" in r.stdout
    r = shiftctl("doctor", *base, "--need=rwx")
    assert r.returncode == 1
    assert shiftctl("doctor", *base, "--need=x").returncode == 2
    assert shiftctl("doctor", vol, "--map=" + SPEC).returncode == 2   # no --user
    assert shiftctl("doctor", "--user=1", "--map=" + SPEC).returncode == 2
    assert shiftctl("doctor", *base, "extra").returncode == 2
    assert shiftctl("doctor", *base, "--max-files=zero").returncode == 2
    # A user that owns everything needs nothing.
    os.chown(os.path.join(vol, "ro"), h(1000), h(1000))
    r = shiftctl("doctor", vol, "--map=" + SPEC, "--user=1000", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["ok"] is True and doc["fixes"] == []
    # Only denied entries are listed by default.
    assert doc["denied"] == 0 and doc["entries"] == [] and doc["scanned"] == 3


def test_max_files_stops_and_fails(vol_root):
    vol = os.path.join(vol_root, "many")
    os.mkdir(vol)
    spec = [(".", "dir", h(1000), h(1000), 0o755, None)]
    spec += [("f%03d" % i, "file", h(1000), h(1000), 0o644, None) for i in range(50)]
    make_tree(vol, spec)
    code, doc = doctor_json(vol, "--map=" + SPEC, "--user=1000", "--max-files=10")
    assert doc["scanned"] == 10 and doc["complete"] is False
    assert code == 1   # the whole tree was not checked
    assert any("--max-files" in n for n in doc["notes"])
    code, doc = doctor_json(vol, "--map=" + SPEC, "--user=1000")
    assert doc["scanned"] == 51 and doc["complete"] and code == 0


def test_grouped_counts(vol_root):
    vol = os.path.join(vol_root, "g")
    os.mkdir(vol)
    spec = [(".", "dir", h(0), h(0), 0o755, None)]
    spec += [("w%02d" % i, "file", h(0), h(0), 0o644, None) for i in range(12)]
    spec += [("n%02d" % i, "file", 4242, 4242, 0o640, None) for i in range(5)]
    make_tree(vol, spec)
    r = shiftctl("doctor", vol, "--map=" + SPEC, "--user=1000")
    assert r.returncode == 1
    assert "13 entries owned by host %d:%d appear in the container as 0:0 (root:root)" % (h(0), h(0)) in r.stdout
    assert "USER 1000 cannot write 13 of them" in r.stdout
    assert "5 entries owned by host 4242:4242 appear in the container as 65534:65534" in r.stdout
    assert "cannot read 5 of them" in r.stdout
