# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl shift: every owner, named ACL entry and v3 capability root id
through the map; unmappable ids reported and kept; --strict; --reverse;
undo to the exact original."""
import json
import os
import stat

import pytest

from chown_util import (ACL_ACCESS, ACL_DEFAULT, XATTR_CAPS, acl_entries, add_acls, caps_rootid,
                        caps_v3, diff, dump, make_tree, need_root, run)

MAP = "--map=0:100000:65536"
UNMAPPED = 70000


@pytest.fixture
def tree(tmp_path):
    """A rootful volume: owners 0 and 1000, ACL entries for 1000/2000,
    a v3 capability whose root id is container uid 1000."""
    need_root()
    t = make_tree(str(tmp_path / "vol"), 0, 0)
    j = t["j"]
    os.chown(j("d1"), 1000, 1000)
    os.chown(j("d1", "d2", "deep"), 1000, 2000)
    os.chown(j("symlink"), 1000, 1000, follow_symlinks=False)
    add_acls(j, [(1000, 2000), (2000, 1000)])
    with open(j("cap3"), "w") as f:
        f.write("x")
    os.chown(j("cap3"), 1000, 1000)
    os.setxattr(j("cap3"), XATTR_CAPS, caps_v3(1000))
    t["jdir"] = str(tmp_path / "journals")
    os.mkdir(t["jdir"])
    return t


def shift(t, *extra, journal="j"):
    args = ["shift", MAP] + list(extra)
    if journal:
        args.append("--journal=" + os.path.join(t["jdir"], journal))
    return run(*(args + [t["root"]]))


def test_shift_translates_everything_and_undo(tree):
    t, j = tree, tree["j"]
    before = dump(t["root"])
    r = shift(t, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["unmappable"] == 0 and doc["errors"] == 0
    after = dump(t["root"])
    for path, b in before.items():
        a = after[path]
        assert (a[1], a[2]) == (b[1] + 100000, b[2] + 100000), path
        assert (a[0], a[3], a[4], a[5], a[6]) == (b[0], b[3], b[4], b[5], b[6]), path
    assert stat.S_IMODE(os.stat(j("both")).st_mode) == 0o6711
    assert caps_rootid(os.getxattr(j("cap3"), XATTR_CAPS)) == 101000
    for p, name in (("acl", ACL_ACCESS), ("acldir", ACL_ACCESS), ("acldir", ACL_DEFAULT)):
        named = sorted((tag, ident) for tag, _, ident in acl_entries(os.getxattr(j(p), name))
                       if tag in (2, 8))
        assert named == [(2, 101000), (2, 102000), (8, 101000), (8, 102000)], (p, name)
    assert doc["acl_changed"] == 3 and doc["caps_restored"] == 3
    r = run("undo", os.path.join(t["jdir"], "j"))
    assert r.returncode == 0, r.stderr
    assert dump(t["root"]) == before, diff(before, dump(t["root"]))


def test_unmappable_reported_and_kept(tree):
    t, j = tree, tree["j"]
    os.chown(j("other"), UNMAPPED, 0)
    r = shift(t, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["unmappable"] == 1
    assert "other: owner %d:0 has no image under the map" % UNMAPPED in r.stderr
    st = os.lstat(j("other"))
    assert (st.st_uid, st.st_gid) == (UNMAPPED, 100000)
    assert os.lstat(j("file")).st_uid == 100000


def test_strict_changes_nothing(tree):
    t, j = tree, tree["j"]
    os.chown(j("d1", "d2", "d3"), UNMAPPED, UNMAPPED)
    before = dump(t["root"])
    r = shift(t, "--strict")
    assert r.returncode == 1
    assert "nothing changed" in r.stderr
    assert dump(t["root"]) == before
    assert not os.path.exists(os.path.join(t["jdir"], "j"))


def test_reverse_round_trip(tree):
    t = tree
    before = dump(t["root"])
    assert shift(t).returncode == 0
    r = shift(t, "--reverse", "--json", journal="back")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["unmappable"] == 0
    assert dump(t["root"]) == before, diff(before, dump(t["root"]))


def test_shift_dry_run_counts(tree):
    t = tree
    before = dump(t["root"])
    r = shift(t, "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert dump(t["root"]) == before
    pairs = {(o["from"], o["to"]): o["count"] for o in doc["owners"]}
    assert pairs[("1000:2000", "101000:102000")] == 1
    assert pairs[("1000:1000", "101000:101000")] == 3
    assert doc["changed"] == doc["inodes_visited"] == sum(pairs.values())
