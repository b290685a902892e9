# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl chown and undo: every inode type and kind of metadata, mounts,
symlinks, odd names, dry run, JSON, refusals and bad input."""
import json
import os
import stat
import subprocess

import pytest

from chown_util import (ACL_ACCESS, ACL_DEFAULT, SYS_JOURNALS, XATTR_CAPS, acl_entries, add_acls, caps_rootid,
                        caps_v3, diff, dump, journal_from, make_tree, need_root,
                        remove_default_journals, run, subid_files,
                        tmpfs_mount)  # noqa: F401 (fixture)

OWNER = 5000          # host owner of the volume before
CUID, CGID = 1000, 1000
HUID, HGID = 100999, 300999   # container 1000 under the test subuid/subgid


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


def chown(t, *extra, user="1000", journal="j"):
    args = ["chown", "--user=" + user] + t["map"]
    if journal:
        args.append("--journal=" + os.path.join(t["jdir"], journal))
    return run(*(args + list(extra) + [t["root"]]))


def test_chown_every_inode_and_undo(tree):
    t, j = tree, tree["j"]
    before = dump(t["root"])
    etc = os.stat("/etc")
    r = chown(t)
    assert r.returncode == 0, r.stderr
    jpath = os.path.join(t["jdir"], "j")
    assert journal_from(r.stderr) == jpath and os.path.getsize(jpath) > 0
    after = dump(t["root"])
    assert set(after) == set(before)
    for path, (typ, uid, gid, mode, mtime, size, rdev, xs) in after.items():
        b = before[path]
        assert (uid, gid) == (HUID, HGID), path
        # Modes (setuid/setgid included), mtimes, sizes, devices stay.
        assert (typ, mode, mtime, size, rdev) == (b[0], b[3], b[4], b[5], b[6]), path
        xb, xa = dict(b[7]), dict(xs)
        assert set(xa) == set(xb), path
        for name in xb:
            if name not in (ACL_ACCESS, ACL_DEFAULT, XATTR_CAPS):
                assert xa[name] == xb[name], (path, name)
    assert stat.S_IMODE(os.stat(j("suid")).st_mode) == 0o4755
    assert stat.S_IMODE(os.stat(j("both")).st_mode) == 0o6711
    assert stat.S_IMODE(os.stat(j("sgiddir")).st_mode) == 0o2775
    # Capabilities survive the chown; a v3 root id moves with the owner.
    assert os.getxattr(j("capfile"), XATTR_CAPS) == dict(before["capfile"][7])[XATTR_CAPS]
    assert os.getxattr(j("capsuid"), XATTR_CAPS)
    assert stat.S_IMODE(os.stat(j("capsuid")).st_mode) == 0o4755
    assert caps_rootid(os.getxattr(j("cap3"), XATTR_CAPS)) == HUID
    # Named ACL entries of the old owner move; others stay.
    for p, name in (("acl", ACL_ACCESS), ("acldir", ACL_ACCESS), ("acldir", ACL_DEFAULT)):
        ents = acl_entries(os.getxattr(j(p), name))
        named = sorted((tag, ident) for tag, _, ident in ents if tag in (2, 8))
        assert named == sorted([(2, HUID), (8, HGID), (2, 1234), (8, 4321)]), (p, name, named)
    # Symlinks were chowned themselves, never followed.
    st = os.stat("/etc")
    assert (st.st_uid, st.st_gid, st.st_ctime_ns) == (etc.st_uid, etc.st_gid, etc.st_ctime_ns)
    assert os.lstat(j("to_etc")).st_uid == HUID
    assert "2 hard links" in r.stdout, r.stdout

    r = run("undo", jpath)
    assert r.returncode == 0, r.stderr
    assert dump(t["root"]) == before, diff(before, dump(t["root"]))


def test_second_run_is_noop(tree):
    t = tree
    assert chown(t).returncode == 0
    changed = dump(t["root"])
    r = chown(t, "--json", journal="j2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["changed"] == 0 and doc["skipped_correct"] == doc["inodes_visited"] > 20
    assert doc["journal"] is None
    assert not os.path.exists(os.path.join(t["jdir"], "j2")), "no-op run kept a journal"
    assert dump(t["root"]) == changed


def test_default_journal_dir_and_resume_by_path(tree):
    t = tree
    try:
        r = run("chown", "--user=1000", *t["map"], t["root"])
        assert r.returncode == 0, r.stderr
        jpath = journal_from(r.stderr)
        assert jpath.startswith(SYS_JOURNALS + "/chown-"), jpath
        # A finished run: resume by PATH finds no unfinished journal.
        r2 = run("chown", "--resume", t["root"])
        assert r2.returncode == 1 and "no unfinished chown journal" in r2.stderr
        r3 = run("undo", t["root"])   # newest journal of that tree
        assert r3.returncode == 0, r3.stderr
        assert os.lstat(t["j"]("file")).st_uid == OWNER
    finally:
        remove_default_journals(t["root"])


def test_dry_run(tree):
    t = tree
    before = dump(t["root"])
    r = chown(t, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert dump(t["root"]) == before
    assert not os.path.exists(os.path.join(t["jdir"], "j"))
    n = len(before) - 2  # hard links counted once
    assert "%d:%d -> %d:%d  %d" % (OWNER, OWNER, HUID, HGID, n) in r.stdout, r.stdout
    assert "would change" in r.stdout
    assert "new\\nline: %d:%d -> " % (OWNER, OWNER) in r.stdout
    assert "bad\\xff\\xfeutf8" in r.stdout


def test_from_limits_the_change(tree):
    t, j = tree, tree["j"]
    os.chown(j("other"), 7777, 7777)
    os.chown(j("fifo"), OWNER, 8888)
    r = chown(t, "--from=%d:%d" % (OWNER, OWNER), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["other_owner"] == 2
    assert os.lstat(j("other")).st_uid == 7777
    assert (os.lstat(j("fifo")).st_uid, os.lstat(j("fifo")).st_gid) == (OWNER, 8888)
    assert os.lstat(j("file")).st_uid == HUID


def test_names_from_container_passwd(tree, tmp_path):
    t, j = tree, tree["j"]
    pw, gr = tmp_path / "passwd", tmp_path / "group"
    pw.write_text("root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n")
    gr.write_text("root:x:0:\nwww-data:x:33:\nstaff:x:50:\n")
    r = chown(t, "--passwd", pw, "--group", gr, user="www-data")
    assert r.returncode == 0, r.stderr
    assert (os.lstat(j("file")).st_uid, os.lstat(j("file")).st_gid) == (100032, 300032)
    r = chown(t, "--passwd", pw, "--group", gr, user="www-data:staff", journal="j2")
    assert r.returncode == 0, r.stderr
    assert os.lstat(j("file")).st_gid == 300049
    r = chown(t, "--passwd", pw, "--group", gr, user="nosuchuser", journal="j3")
    assert r.returncode == 1 and "nosuchuser" in r.stderr and len(r.stderr.splitlines()) == 1
    # A name with no container passwd given is not looked up on the host.
    r = chown(t, user="root", journal="j4")
    assert r.returncode == 1 and "--rootfs" in r.stderr, r.stderr


def test_nested_mount_not_crossed_unless_asked(tree, tmpfs_mount):
    t, j = tree, tree["j"]
    inner = tmpfs_mount(j("d1", "mnt"))
    with open(os.path.join(inner, "in_tmpfs"), "w") as f:
        f.write("x")
    os.chown(inner, OWNER, OWNER)
    os.chown(os.path.join(inner, "in_tmpfs"), OWNER, OWNER)
    r = chown(t)
    assert r.returncode == 0, r.stderr
    assert "mount point" in r.stderr
    assert os.stat(os.path.join(inner, "in_tmpfs")).st_uid == OWNER
    assert os.stat(inner).st_uid == OWNER
    assert os.lstat(j("d1", "d2", "deep")).st_uid == HUID
    r = chown(t, "--cross-mounts", journal="j2")
    assert r.returncode == 0, r.stderr
    assert os.stat(os.path.join(inner, "in_tmpfs")).st_uid == HUID
    assert os.stat(inner).st_uid == HUID


def test_bind_mount_and_readonly_mount(tree, tmpfs_mount):
    """A bind mount of the same filesystem is another mount too; a
    read-only filesystem is skipped with a message even with
    --cross-mounts."""
    t, j = tree, tree["j"]
    os.mkdir(j("other", "bind"))
    subprocess.run(["mount", "--bind", j("d1"), j("other", "bind")], check=True)
    try:
        ro = tmpfs_mount(j("d1", "d2", "ro"))
        with open(os.path.join(ro, "f"), "w") as f:
            f.write("x")
        subprocess.run(["mount", "-o", "remount,ro", ro], check=True)
        r = chown(t, "--json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["mounts_skipped"] == 2 and doc["hard_links"] == 2, doc
        assert "other/bind: mount point" in r.stderr
        assert os.stat(j("other", "bind")).st_uid == HUID  # it is d1, changed once
        assert run("undo", os.path.join(t["jdir"], "j")).returncode == 0
        # Entered: every inode still changed once (the bind mount shows d1's
        # inodes a second time), the read-only filesystem still skipped.
        r = chown(t, "--cross-mounts", "--json", journal="j2")
        assert r.returncode == 0, r.stderr
        assert "d2/ro: read-only filesystem, not entered" in r.stderr, r.stderr
        assert os.stat(os.path.join(ro, "f")).st_uid == 0
        assert json.loads(r.stdout)["changed"] == doc["changed"]
    finally:
        subprocess.run(["umount", "-l", j("other", "bind")])


def test_single_file_path(tree):
    t, j = tree, tree["j"]
    r = run("chown", "--user=1000", *t["map"], "--journal=" + os.path.join(t["jdir"], "f"), j("suid"))
    assert r.returncode == 0, r.stderr
    st = os.lstat(j("suid"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (HUID, 0o4755)
    assert os.lstat(j("file")).st_uid == OWNER
    assert run("undo", os.path.join(t["jdir"], "f")).returncode == 0
    assert os.lstat(j("suid")).st_uid == OWNER


def test_json_summary(tree):
    t = tree
    r = chown(t, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for k in ("inodes_visited", "changed", "skipped_correct", "unmappable", "hard_links",
              "acl_changed", "caps_restored", "errors", "journal", "elapsed_s"):
        assert k in doc, k
    assert doc["hard_links"] == 2 and doc["errors"] == 0 and doc["unmappable"] == 0
    assert doc["acl_changed"] == 3 and doc["caps_restored"] == 3
    assert doc["changed"] == doc["inodes_visited"]
    assert doc["journal"] == os.path.join(t["jdir"], "j")
    assert doc["owners"] == [{"from": "%d:%d" % (OWNER, OWNER), "to": "%d:%d" % (HUID, HGID),
                              "count": doc["changed"]}]


@pytest.mark.parametrize("path", ["/", "/etc", "/usr", "/var", "/home", "/root", "/proc/1"])
def test_refuses_system_and_home_dirs(path, tmp_path):
    need_root()
    r = run("chown", "--user=0", *subid_files(tmp_path), "--dry-run", path)
    assert r.returncode == 1, (path, r.stdout[:200])
    assert "refusing" in r.stderr and len(r.stderr.splitlines()) == 1


def test_bad_input(tree, tmp_path):
    t = tree
    r = run("chown", "--user=1000", *t["map"], str(tmp_path / "missing"))
    assert r.returncode == 1 and "No such file" in r.stderr
    r = run("chown", *t["map"], t["root"])
    assert r.returncode == 2 and "--user" in r.stderr
    r = run("chown", "--user=1000", "--bogus", t["root"])
    assert r.returncode == 2
    r = run("shift", "--map=0:100000:65536", t["j"]("file"))
    assert r.returncode == 1 and "not a directory" in r.stderr
    # The journal may not live inside the tree it protects.
    r = run("chown", "--user=1000", *t["map"], "--journal=" + t["j"]("d1", "j"), t["root"])
    assert r.returncode == 1 and "inside the tree" in r.stderr
    assert os.lstat(t["j"]("file")).st_uid == OWNER
    # Unreadable / garbage journals.
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello, not a journal at all" * 10)
    r = run("undo", junk)
    assert r.returncode == 1 and "not a shiftctl journal" in r.stderr
    r = run("undo", tmp_path / "nojournal")
    assert r.returncode == 1 and "cannot read journal" in r.stderr
    r = run("chown", "--resume", junk)
    assert r.returncode == 1 and "not a shiftctl journal" in r.stderr


def test_journal_of_another_tree(tree, tmp_path):
    t = tree
    assert chown(t).returncode == 0
    jpath = os.path.join(t["jdir"], "j")
    other = tmp_path / "other"
    other.mkdir()
    r = run("chown", "--resume=" + jpath, other)
    assert r.returncode == 1 and "another tree" in r.stderr, r.stderr
    # The tree replaced by another directory at the same path.
    os.rename(t["root"], str(tmp_path / "moved"))
    os.mkdir(t["root"])
    r = run("undo", jpath)
    assert r.returncode == 1 and "another tree" in r.stderr, r.stderr


def test_enospc_journal_stops_before_changing(tmp_path, tmpfs_mount):
    need_root()
    root = tmp_path / "big"
    root.mkdir()
    for d in range(30):
        os.mkdir(root / ("d%d" % d))
        for f in range(100):
            p = root / ("d%d" % d) / ("f%d" % f)
            p.write_text("x")
            os.chown(p, OWNER, OWNER)
    before = dump(str(root))
    jdir = tmpfs_mount(tmp_path / "tiny", "64k")
    jpath = os.path.join(jdir, "j")
    r = run("chown", "--user=1000", *subid_files(tmp_path), "--journal=" + jpath, root)
    assert r.returncode == 1
    errs = [l for l in r.stderr.splitlines() if "cannot write journal" in l]
    assert len(errs) == 1 and jpath in errs[0] and "No space left" in errs[0], r.stderr
    # Nothing was changed without its journal: undo restores the rest.
    after = dump(str(root))
    changed = [k for k in after if after[k][1] != OWNER]
    r = run("undo", jpath)
    assert r.returncode == 0, r.stderr
    assert dump(str(root)) == before
    assert len(changed) < len(after)
