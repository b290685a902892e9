# SPDX-License-Identifier: GPL-2.0-or-later
"""Every fix shiftctl doctor prints runs as printed, from a fresh shell, and
does what doctor says: each shiftctl line (mount, chown, shift) is executed
exactly as doctor printed it, then doctor is run again (on the mount point
for a mount, on the tree for chown and shift) and must exit 0. A fix doctor
judged unable to fix the tree is not offered, and every fix says how many
of the denied entries it fixes. Doctor run by the creator of an owner-mode
mount judges the container's USER on that mount, not the caller. (The
podman run / docker run lines are executed by
tests/e2e/test_doctor_fixes_e2e.py, with the engines.)"""
import contextlib
import json
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile

import pytest

from chown_util import remove_default_journals
from conftest import SHIFTCTL, SHIFTFS, is_mounted, need_root_and_fuse

USER = "shiftfs-mapped"  # /etc/subuid: 500000:65536 (scripts/deps.sh)


@pytest.fixture
def scratch():
    """A 0755 scratch dir other users can reach; mounts under it undone."""
    top = tempfile.mkdtemp(prefix="doctor-fixes.")
    os.chmod(top, 0o755)
    made = []
    yield top, made
    for mnt, user, xdg in reversed(made):
        if user is None:  # a directory the test made: gone when empty
            with contextlib.suppress(OSError):
                os.rmdir(mnt)
            continue
        if is_mounted(mnt):
            fresh_shell("shiftctl umount --lazy " + shlex.quote(mnt),
                        user=user, xdg=xdg)
        while is_mounted(mnt):
            if subprocess.run(["umount", "-l", mnt],
                              capture_output=True).returncode != 0:
                break
        if mnt.startswith("/srv/shiftfs/"):
            shutil.rmtree(mnt, ignore_errors=True)
    for root, dirs, _ in os.walk(top):
        for d in dirs:
            if is_mounted(os.path.join(root, d)):
                subprocess.run(["umount", "-l", os.path.join(root, d)],
                               capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


BINDIR = []


@pytest.fixture(scope="module", autouse=True)
def _bindir():
    yield
    for d in BINDIR:
        shutil.rmtree(d, ignore_errors=True)


def bindir():
    """A directory holding `shiftctl` and `shiftfs` for a fresh shell's
    PATH, as an installed system has them."""
    if not BINDIR:
        d = tempfile.mkdtemp(prefix="doctor-fixes-bin.")
        os.chmod(d, 0o755)
        os.symlink(os.path.abspath(SHIFTCTL), os.path.join(d, "shiftctl"))
        os.symlink(os.path.abspath(SHIFTFS), os.path.join(d, "shiftfs"))
        BINDIR.append(d)
    return BINDIR[0]


def fresh_env(user, xdg):
    pw = pwd.getpwnam(user)
    env = {"PATH": bindir() + ":/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": pw.pw_dir, "USER": user, "LOGNAME": user,
           "SHIFTFS": os.path.abspath(SHIFTFS)}
    if xdg:
        env["XDG_RUNTIME_DIR"] = xdg
    return env


def fresh_shell(line, user="root", xdg=None):
    """Run one command line as pasted into a fresh login-less shell of
    user: sh -c LINE with a clean environment (env -i)."""
    env = fresh_env(user, xdg)
    argv = ["env", "-i"] + ["%s=%s" % kv for kv in env.items()] + \
        ["sh", "-c", line]
    if user != "root":
        argv = ["runuser", "-u", user, "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, cwd="/",
                          timeout=120)


def doctor(path, *args, user="root", xdg=None):
    """doctor --json and the text report, as user; (exit, doc, text)."""
    base = "shiftctl doctor %s %s -q" % (
        shlex.quote(str(path)), " ".join(shlex.quote(a) for a in args))
    j = fresh_shell(base + " --json", user=user, xdg=xdg)
    t = fresh_shell(base, user=user, xdg=xdg)
    assert j.returncode == t.returncode, (j.stderr, t.stderr)
    assert j.returncode in (0, 1), j.stdout + j.stderr
    return t.returncode, json.loads(j.stdout), t.stdout + t.stderr


def fix(doc, kind):
    got = [f for f in doc["fixes"] if f["kind"] == kind]
    assert got, "no %s fix in %s" % (kind, [f["kind"] for f in doc["fixes"]])
    return got[0]


def shiftctl_line(f):
    lines = [c for c in f["commands"] if c.startswith("shiftctl ")]
    assert len(lines) == 1, f["commands"]
    return lines[0]


def tree(top, name, owner, dmode=0o700, fmode=0o600, extra=()):
    """top/name with a sub directory and two files, all owned by owner."""
    t = os.path.join(top, name)
    os.makedirs(os.path.join(t, "sub"))
    for p in (os.path.join(t, "f"), os.path.join(t, "sub", "g")):
        with open(p, "w") as fh:
            fh.write("data\n")
        os.chown(p, *owner)
        os.chmod(p, fmode)
    for p in (os.path.join(t, "sub"), t):
        os.chown(p, *owner)
        os.chmod(p, dmode)
    for rel, o in extra:
        os.chown(os.path.join(t, rel), *o)
    return t


def check_counts(doc, text):
    """Every fix says how many of the denied entries it fixes."""
    denied = doc["denied"]
    assert denied > 0
    for k, f in enumerate(doc["fixes"]):
        assert f["remaining"] is not None, f
        assert f["fixes"] == denied - f["remaining"], f
        assert f["fixes"] > 0 or any(
            c.startswith(("chmod", "setfacl")) for c in f["commands"]), f
        line = [ln for ln in text.splitlines()
                if ln.startswith("  %d. " % (k + 1))][0]
        if f["remaining"] == 0:
            assert "(fixes all %d denied entr" % denied in line, line
        else:
            assert "(fixes %d of the %d denied entries)" % (
                f["fixes"], denied) in line, line


def test_root_mount_fix_creates_parents(scratch):
    """As root the mount fix names /srv/shiftfs/NAME; pasted as printed it
    creates /srv/shiftfs too when missing, and doctor on the mount then
    exits 0."""
    need_root_and_fuse()
    top, made = scratch
    if not os.path.exists("/srv/shiftfs"):
        made.insert(0, ("/srv/shiftfs", None, None))  # rmdir'ed if empty
    # The default mount point is named after the tree: a unique name.
    name = "pg-" + os.path.basename(top).split(".", 1)[1]
    t = tree(top, name, (0, 0))
    code, doc, text = doctor(t, "--rootless=" + USER, "--user=1000")
    assert code == 1 and "lacks rw access to 4 of 4 entries" in text
    check_counts(doc, text)
    f = fix(doc, "mount")
    assert f["remaining"] == 0 and doc["fixes"][0]["kind"] == "mount"
    line = shiftctl_line(f)
    mnt = "/srv/shiftfs/" + name
    assert line.endswith(" --mkdir %s %s" % (t, mnt)), line
    assert line in text
    made.append((mnt, "root", None))
    r = fresh_shell(line)
    assert r.returncode == 0, r.stderr
    assert is_mounted(mnt)
    code, doc2, text2 = doctor(mnt, "--rootless=" + USER, "--user=1000")
    assert code == 0, text2
    assert "Nothing needs changing" in text2
    assert doc2["mount"]["read_from_source"] == t


def test_mkdir_creates_missing_parents(scratch):
    """--target deep under missing directories: the printed mount creates
    each one (0755, root's) and mounts; doctor there exits 0."""
    need_root_and_fuse()
    top, made = scratch
    t = tree(top, "vol", (0, 0))
    mnt = os.path.join(top, "a", "b", "view")
    code, doc, text = doctor(t, "--rootless=" + USER, "--user=1000",
                             "--target=" + mnt)
    line = shiftctl_line(fix(doc, "mount"))
    made.append((mnt, "root", None))
    r = fresh_shell(line)
    assert r.returncode == 0, r.stderr
    for d in (os.path.join(top, "a"), os.path.join(top, "a", "b")):
        st = os.lstat(d)
        assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o755), d
    code, _, text2 = doctor(mnt, "--rootless=" + USER, "--user=1000")
    assert code == 0, text2


def test_mkdir_never_follows_a_symlink(scratch):
    """A symlink among the parents --mkdir would create is not followed
    into a place the refusal check did not see."""
    need_root_and_fuse()
    top, made = scratch
    src = tree(top, "vol", (0, 0))
    os.symlink("/etc", os.path.join(top, "lnk"))
    r = fresh_shell("shiftctl mount --map=0:100000:65536 --mkdir %s %s" % (
        src, os.path.join(top, "lnk", "new", "view")))
    assert r.returncode == 1
    assert "refusing to mount onto /etc/new/view: it is inside the " \
        "system directory /etc" in r.stderr
    assert not os.path.exists("/etc/new")
    r = fresh_shell("shiftctl mount --map=0:100000:65536 --mkdir %s %s" % (
        src, os.path.join(top, "x", "..", "y")))
    assert r.returncode == 1 and "'..' after a directory that does not " \
        "exist" in r.stderr
    assert not os.path.exists(os.path.join(top, "x"))


def test_chown_fix_as_printed(scratch):
    need_root_and_fuse()
    top, _ = scratch
    t = tree(top, "data", (0, 0))
    code, doc, text = doctor(t, "--rootless=" + USER, "--user=1000")
    check_counts(doc, text)
    line = shiftctl_line(fix(doc, "chown"))
    assert line in text
    try:
        r = fresh_shell(line)
        assert r.returncode == 0, r.stderr
        code, _, text2 = doctor(t, "--rootless=" + USER, "--user=1000")
        assert code == 0, text2
    finally:
        remove_default_journals(t)


def test_shift_fix_as_printed(scratch):
    """A tree of container ids (copied from an image): shift, as printed."""
    need_root_and_fuse()
    top, _ = scratch
    t = tree(top, "img", (1000, 1000), dmode=0o755, fmode=0o644,
             extra=[("f", (0, 0))])
    os.chmod(os.path.join(t, "f"), 0o666)  # the container's root's, rw
    code, doc, text = doctor(t, "--rootless=" + USER, "--user=1000")
    assert code == 1
    check_counts(doc, text)
    f = fix(doc, "shift")
    assert f["remaining"] == 0
    try:
        r = fresh_shell(shiftctl_line(f))
        assert r.returncode == 0, r.stderr
        code, _, text2 = doctor(t, "--rootless=" + USER, "--user=1000")
        assert code == 0, text2
    finally:
        remove_default_journals(t)


def test_keep_id_not_offered_for_a_tree_it_cannot_fix(scratch):
    """keep-id maps the podman user's own uid: a root-owned tree stays
    root's, so it is not offered, as root for a rootless layout nor as the
    user; the user's own mount is not offered either (its daemon would
    reach root's files with the user's rights), and chown says it needs
    root."""
    need_root_and_fuse()
    top, _ = scratch
    t = tree(top, "rootowned", (0, 0), dmode=0o755, fmode=0o644)
    code, doc, text = doctor(t, "--rootless=" + USER, "--user=1000",
                             "--engine=podman")
    assert code == 1
    kinds = [f["kind"] for f in doc["fixes"]]
    assert "podman-keep-id" not in kinds and "keep-id" not in text
    check_counts(doc, text)
    xdg = user_xdg(top)
    code, doc, text = doctor(t, "--rootless", "--user=1000",
                             "--engine=podman", user=USER, xdg=xdg)
    assert code == 1
    kinds = [f["kind"] for f in doc["fixes"]]
    assert kinds == ["chown"], kinds
    assert "it needs root (CAP_CHOWN): run it as root" in text
    check_counts(doc, text)
    # ... and so it does, then doctor as the user exits 0.
    line = shiftctl_line(fix(doc, "chown"))
    assert "--rootless=%s " % USER in line
    try:
        r = fresh_shell(line)
        assert r.returncode == 0, r.stderr
        code, _, text2 = doctor(t, "--rootless", "--user=1000",
                                "--engine=podman", user=USER, xdg=xdg)
        assert code == 0, text2
    finally:
        remove_default_journals(t)


def user_xdg(top):
    """A fresh XDG_RUNTIME_DIR of USER's (0700, empty)."""
    pw = pwd.getpwnam(USER)
    xdg = os.path.join(top, "xdg")
    os.mkdir(xdg, 0o700)
    os.chown(xdg, pw.pw_uid, pw.pw_gid)
    return xdg


def test_rootless_mount_fix_then_doctor_as_its_creator(scratch):
    """Rootless, fresh XDG_RUNTIME_DIR: the mount fix creates
    $XDG_RUNTIME_DIR/shiftfs/NAME and mounts; the creator cannot read its
    own data through the owner-mode mount (by design), and doctor, run by
    that creator there, judges USER and exits 0."""
    need_root_and_fuse()
    top, made = scratch
    pw = pwd.getpwnam(USER)
    t = tree(top, "vol", (pw.pw_uid, pw.pw_gid))
    xdg = user_xdg(top)
    code, doc, text = doctor(t, "--rootless", "--user=1000",
                             "--engine=podman", user=USER, xdg=xdg)
    assert code == 1
    check_counts(doc, text)
    kinds = [f["kind"] for f in doc["fixes"]]
    assert kinds[0] == "mount" and "podman-keep-id" in kinds, kinds
    line = shiftctl_line(fix(doc, "mount"))
    mnt = os.path.join(xdg, "shiftfs", "vol")
    assert line.endswith(" --mkdir %s %s" % (t, mnt)), line
    made.append((mnt, USER, xdg))
    r = fresh_shell(line, user=USER, xdg=xdg)
    assert r.returncode == 0, r.stderr
    assert is_mounted(mnt)
    ls = fresh_shell("ls " + shlex.quote(mnt), user=USER, xdg=xdg)
    assert ls.returncode != 0 and "Permission denied" in ls.stderr
    code, doc2, text2 = doctor(mnt, "--rootless", "--user=1000",
                               "--engine=podman", user=USER, xdg=xdg)
    assert code == 0, text2
    assert "could not read everything" not in text2
    assert "judged as USER sees the mount, not with your own rights" in text2
    assert doc2["mount"]["read_from_source"] == t
    # The verdict is USER's: an entry USER cannot write through the mount
    # is found, though the caller can read the source.
    os.chmod(os.path.join(t, "sub", "g"), 0o400)
    code, doc3, text3 = doctor(mnt, "--rootless", "--user=1000",
                               "--engine=podman", user=USER, xdg=xdg)
    assert code == 1
    assert "lacks rw access to 1 of 4 entries" in text3
    assert "sub/g: write:" in text3
    assert [(o["disk_uid"], o["entries"]) for o in doc3["owners"]] == \
        [(500999, 4)]


def test_root_idmapped_mount_doctor_judges_user(scratch):
    """As root on its own idmapped owner-mode mount: doctor reads the
    source through the record and shows the owners the mount shows."""
    need_root_and_fuse()
    top, made = scratch
    # Reachable only by root: the idmapped mount is chosen.
    os.mkdir(os.path.join(top, "private"), 0o700)
    t = tree(os.path.join(top, "private"), "vol", (1234, 1234))
    mnt = os.path.join(top, "m", "view")
    code, doc, _ = doctor(t, "--rootless=" + USER, "--user=1000",
                          "--target=" + mnt)
    made.append((mnt, "root", None))
    r = fresh_shell(shiftctl_line(fix(doc, "mount")))
    assert r.returncode == 0 and "with idmap" in r.stdout, r.stdout
    code, doc2, text2 = doctor(mnt, "--rootless=" + USER, "--user=1000")
    assert code == 0, text2
    assert [(o["disk_uid"], o["entries"]) for o in doc2["owners"]] == \
        [(500999, 4)]
    assert doc2["mount"]["read_from_source"] == t


def test_remount_fix_alone_on_a_read_only_mount(scratch):
    """A read-only bind mount of a tree USER owns: only the remount is
    offered (a mount or chown fixes none of the writes), it fixes all,
    and run as printed doctor then exits 0."""
    need_root_and_fuse()
    top, made = scratch
    t = tree(top, "data", (1000, 1000))
    ro = os.path.join(top, "ro")
    os.mkdir(ro)
    subprocess.run(["mount", "--bind", "-o", "ro", t, ro], check=True)
    made.append((ro, "root", None))
    code, doc, text = doctor(ro, "--rootful", "--engine=docker",
                             "--user=1000")
    assert code == 1
    assert [f["kind"] for f in doc["fixes"]] == ["remount"], doc["fixes"]
    check_counts(doc, text)
    r = fresh_shell(doc["fixes"][0]["commands"][0])
    assert r.returncode == 0, r.stderr
    code, _, text2 = doctor(ro, "--rootful", "--engine=docker",
                            "--user=1000")
    assert code == 0, text2


def test_mount_fix_then_its_chmod(scratch):
    """A file the owner's own bits deny: the mount fixes the others, its
    chmod line the rest; both run as printed, doctor on the mount exits
    0. A file with no x bit is no cause for a chmod when USER needs rw."""
    need_root_and_fuse()
    top, made = scratch
    t = tree(top, "data", (0, 0))
    os.chmod(os.path.join(t, "f"), 0)
    mnt = os.path.join(top, "view")
    code, doc, text = doctor(t, "--rootful", "--engine=docker",
                             "--user=1000", "--target=" + mnt)
    assert code == 1
    check_counts(doc, text)
    f = fix(doc, "mount")
    assert f["fixes"] == 3 and f["remaining"] == 1
    chmod = [c for c in f["commands"] if c.startswith("chmod ")]
    assert chmod == ["chmod -R u+rwX %s   # then: the owner's own mode "
                     "bits deny 1 entry" % t], f["commands"]
    made.append((mnt, "root", None))
    for line in (shiftctl_line(f), chmod[0]):
        r = fresh_shell(line)
        assert r.returncode == 0, (line, r.stderr)
    code, _, text2 = doctor(mnt, "--rootful", "--engine=docker",
                            "--user=1000")
    assert code == 0, text2


def test_doctor_on_a_shifted_mount_without_a_record(scratch):
    """Another user's owner-mode mount: no record of the caller's names it
    and the caller cannot read it; doctor says so, and what to do."""
    need_root_and_fuse()
    top, made = scratch
    pw = pwd.getpwnam(USER)
    t = tree(top, "vol", (pw.pw_uid, pw.pw_gid))
    xdg = user_xdg(top)
    mnt = os.path.join(top, "view")
    os.mkdir(mnt)
    os.chown(mnt, pw.pw_uid, pw.pw_gid)
    made.append((mnt, USER, xdg))
    r = fresh_shell("shiftctl mount --rootless --user=1000 %s %s" % (t, mnt),
                    user=USER, xdg=xdg)
    assert r.returncode == 0, r.stderr
    other = "shiftfs-test"
    r = fresh_shell("shiftctl doctor %s --rootless=%s --user=1000 -q" % (
        mnt, USER), user=other)
    assert r.returncode == 1
    assert ("shiftctl: %s: Permission denied: it is on the shifted mount "
            "%s, which shows its owners as the container sees them, and "
            "no record of yours names that mount" % (mnt, mnt)) in r.stderr
    assert "run doctor as the user who mounted it, or on its source" in \
        r.stderr
