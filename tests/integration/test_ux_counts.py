# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 9: counts that add up. chown --dry-run counts the ACLs,
capabilities and setuid/setgid bits the real run restores; undo --dry-run
counts what undo would restore (an already restored tree: nothing, and no
"1002:1002 -> 1002:1002" lines); an undo that finds the tree as journalled
counts it as already correct; text counts use one format (1,234)."""
import json
import os
import re

import pytest

from chown_util import (add_acls, caps_v3, journal_from, make_tree,
                        need_root, run, subid_files, XATTR_CAPS)

OWNER = 5000
KEYS = ("changed", "skipped_correct", "acl_changed", "caps_restored",
        "setid_restored", "inodes_visited", "unmappable", "errors")


@pytest.fixture
def tree(tmp_path):
    need_root()
    t = make_tree(str(tmp_path / "vol"), OWNER, OWNER)
    add_acls(t["j"], [(OWNER, OWNER), (1234, 4321)])
    with open(t["j"]("cap3"), "w") as f:
        f.write("x")
    os.chown(t["j"]("cap3"), OWNER, OWNER)
    os.setxattr(t["j"]("cap3"), XATTR_CAPS, caps_v3(OWNER))
    t["jdir"] = str(tmp_path / "journals")
    os.mkdir(t["jdir"])
    t["map"] = subid_files(tmp_path)
    return t


def counts(r):
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return {k: doc[k] for k in KEYS}


def summary(r):
    return [l for l in r.stdout.splitlines()
            if re.match(r"^(chown|shift|undo)( \(dry run\))?: ", l)][-1]


@pytest.mark.parametrize("verb", ["chown", "shift"])
def test_dry_run_counts_what_the_run_does(tree, verb):
    t = tree
    args = ([verb, "--user=1000"] if verb == "chown" else [verb]) + t["map"]
    j = os.path.join(t["jdir"], "j")
    dry = counts(run(*args, "--dry-run", "--json", t["root"]))
    real = counts(run(*args, "--json", "--journal=" + j, t["root"]))
    assert real["acl_changed"] >= 2 and real["caps_restored"] >= 2 and \
        real["setid_restored"] >= 3, real
    assert dry == real
    # The text summary says the same numbers.
    udry = counts(run("undo", "--dry-run", "--json", j))
    ureal = counts(run("undo", "--json", j))
    assert udry == ureal, (udry, ureal)
    assert ureal["acl_changed"] >= 2 and ureal["caps_restored"] >= 2 and \
        ureal["setid_restored"] >= 3, ureal


def test_undo_dry_run_of_a_restored_tree_lists_nothing(tree):
    t = tree
    j = os.path.join(t["jdir"], "j")
    r = run("chown", "--user=1000", *t["map"], "--journal=" + j, t["root"])
    assert r.returncode == 0, r.stderr
    # The owners put back by hand (as a failed undo's retry might find).
    for d, dirs, files in os.walk(t["root"]):
        for n in dirs + files:
            os.lchown(os.path.join(d, n), OWNER, OWNER)
    os.lchown(t["root"], OWNER, OWNER)
    r = run("undo", "--dry-run", j)
    assert r.returncode == 0, r.stderr
    assert "%d:%d -> %d:%d" % (OWNER, OWNER, OWNER, OWNER) not in r.stdout
    doc = counts(run("undo", "--dry-run", "--json", j))
    assert doc["changed"] == 0
    assert doc["skipped_correct"] > 0
    r = run("undo", j)
    assert r.returncode == 0, r.stderr
    line = summary(r)
    assert " 0 restored, " in line and " 0 already correct" not in line, line


def test_one_number_format(tmp_path):
    need_root()
    v = tmp_path / "vol"
    v.mkdir()
    for i in range(1200):
        (v / ("f%d" % i)).write_text("")
    jd = tmp_path / "j"
    jd.mkdir()
    r = run("chown", "--map=0:100000:65536", "--user=1000",
            "--journal=%s" % (jd / "j"), v)
    assert r.returncode == 0, r.stderr
    line = summary(r)
    assert line.startswith("chown: 1,201 inodes: 1,201 changed, "), line
    assert "  0:0 -> 101000:101000  1,201" in r.stdout, r.stdout
    doc = counts(run("undo", "--dry-run", "--json", jd / "j"))
    assert doc["changed"] == 1201       # JSON: plain numbers
