# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs-idmap-helper against a hostile local user (docs/SECURITY.md,
"The unprivileged idmap helper"). Every abuse is played for real by a host
user running the helper with its file capabilities, and each asserts the
refusal (exit status and message) and that nothing got mounted
(mountinfo). The last tests check what a helper mount is: nosuid, nodev.
"""
import os
import shutil
import subprocess
import tempfile
import textwrap
import time

import pytest

from attack import ATTACKER, MAPPED, VICTIM, as_host_user, race
from conftest import mountinfo, need
from helper_util import (CONF, HELPER_BUILT, STATE, helper_bin,  # noqa: F401
                         helper_tree, ids, mounts_under, policy, run_helper,
                         subid)

PLAIN = "shiftfs-test"


@pytest.fixture
def caller(helper_tree):
    """shiftfs-mapped's tree, and its set A: (uid, sub start, count),
    (gid, sub start, count)."""
    t = helper_tree(MAPPED)
    su, sg = subid(MAPPED, "/etc/subuid"), subid(MAPPED, "/etc/subgid")
    need(su and sg, "shiftfs-mapped needs subordinate ranges")
    t.a_uid = (t.uid,) + su
    t.a_gid = (t.gid,) + sg
    return t


def own_maps(t):
    return ["--uidmap=%d:%d:1" % (t.uid, t.a_uid[1] + 999),
            "--gidmap=%d:%d:1" % (t.gid, t.a_gid[1] + 999)]


def refused(r, text, t=None, code=1):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert text in r.stderr, r.stderr
    if t is not None:
        assert mounts_under(t.root) == []


def a_text(a):
    return "%d, %d-%d" % (a[0], a[1], a[1] + a[2] - 1)


def out_of_a(t):
    """Ids outside the caller's set A, by what they are."""
    vuid = ids(VICTIM)[0]
    other = None
    with open("/etc/subuid") as f:  # any other user's range
        for line in f:
            p = line.strip().split(":")
            if len(p) == 3 and p[0] not in (MAPPED, str(t.uid)):
                other = (int(p[1]), int(p[2]))
                break
    need(other is not None, "needs another user's /etc/subuid entry "
         "(scripts/deps-e2e.sh adds some)")
    s0, n = t.a_uid[1], t.a_uid[2]
    return {"root": 0, "other-user": vuid, "other-subuid": other[0] + 10,
            "one-past-end": s0 + n, "one-before-start": s0 - 1}


@pytest.mark.parametrize("side", ["disk", "view"])
@pytest.mark.parametrize("what", ["root", "other-user", "other-subuid",
                                  "one-past-end", "one-before-start"])
def test_uid_map_outside_own_ids_refused(helper_bin, caller, side, what):
    t = caller
    bad = out_of_a(t)[what]
    good = t.a_uid[1] + 999
    rng = (bad, good) if side == "disk" else (t.uid, bad)
    # one legitimate range first: the bad one is named, not the first
    umap = "%d:%d:1,%d:%d:1" % (t.a_uid[1], t.a_uid[1], rng[0], rng[1])
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=" + umap,
                                        own_maps(t)[1], t.src, t.mnt])
    refused(r, "uid map range %d:%d:1: %s id %d is not one of yours (%s)" % (
        rng[0], rng[1], side, bad, a_text(t.a_uid)), t)


def test_range_running_one_past_the_end_refused(helper_bin, caller):
    """A range starting inside A and ending one id after it."""
    t = caller
    s0, n = t.a_uid[1], t.a_uid[2]
    r = run_helper(helper_bin, MAPPED, [
        "mount", "--uidmap=%d:%d:%d" % (s0, s0, n + 1), own_maps(t)[1],
        t.src, t.mnt])
    refused(r, "uid map range %d:%d:%d: disk id %d is not one of yours" % (
        s0, s0, n + 1, s0 + n), t)


@pytest.mark.parametrize("side", ["disk", "view"])
def test_gid_map_outside_own_ids_refused(helper_bin, caller, side):
    """Gids: the primary gid and /etc/subgid, nothing else (gid 0 here)."""
    t = caller
    rng = (0, t.gid) if side == "disk" else (t.gid, 0)
    r = run_helper(helper_bin, MAPPED, [
        "mount", own_maps(t)[0], "--gidmap=%d:%d:1" % rng, t.src, t.mnt])
    refused(r, "gid map range %d:%d:1: %s id 0 is not one of yours (%s)" % (
        rng[0], rng[1], side, a_text(t.a_gid)), t)


def victim_dir(t, name, mode=0o755):
    p = os.path.join(t.root, name)
    os.mkdir(p)
    os.chmod(p, mode)
    os.chown(p, *ids(VICTIM))
    return p


def test_src_owned_by_someone_else_refused(helper_bin, caller):
    t = caller
    v = victim_dir(t, "victim")
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [v, t.mnt])
    refused(r, "%s: refused: owned by uid %d, which is not one of yours" % (
        v, ids(VICTIM)[0]), t)


def test_mnt_owned_by_someone_else_refused(helper_bin, caller):
    t = caller
    v = victim_dir(t, "victim", 0o777)
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [t.src, v])
    refused(r, "%s: refused: owned by uid %d, not by you" % (
        v, ids(VICTIM)[0]), t)


def test_mnt_inside_another_users_tree_refused(helper_bin, caller):
    """The caller's own directory, made inside shiftfs-victim's 0777 one."""
    t = caller
    v = victim_dir(t, "victim", 0o777)
    m = os.path.join(v, "mine")
    as_host_user(MAPPED, ["mkdir", m])
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [t.src, m])
    refused(r, "%s: refused: inside %s, which belongs to uid %d" % (
        m, v, ids(VICTIM)[0]), t)


@pytest.mark.parametrize("which", ["src", "mnt", "parent"])
def test_symlinks_refused(helper_bin, caller, which):
    """SRC or MNT a symlink to the caller's own directory, or a symlink on
    the way: refused (the helper resolves nothing itself)."""
    t = caller
    link = os.path.join(t.top, "link")
    as_host_user(MAPPED, ["ln", "-s", t.src if which == "src" else
                          (t.mnt if which == "mnt" else t.top), link])
    if which == "parent":
        src, mnt = t.src, os.path.join(link, "mnt")
    else:
        src = link if which == "src" else t.src
        mnt = link if which == "mnt" else t.mnt
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [src, mnt])
    refused(r, "has a symlink, \"..\" or \".\" on it, or changed while it "
            "was opened", t)


def test_dotdot_refused(helper_bin, caller):
    t = caller
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [
        os.path.join(t.mnt, "..", "src"), t.mnt])
    refused(r, "has a symlink, \"..\" or \".\" on it", t)


@pytest.mark.parametrize("src,mnt,why", [
    ("/proc", None, "/proc: refused: the system directory /proc"),
    ("/", None, "/: refused: "),
    (None, "/", "/: refused: "),
    (None, "/proc/self", "/proc/self: refused: inside the system directory"),
])
def test_system_paths_refused(helper_bin, caller, src, mnt, why):
    t = caller
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + [
        src or t.src, mnt or t.mnt])
    refused(r, why, t)


def test_directory_under_etc_refused(helper_bin, caller):
    """The caller's own directory, but under /etc: refused as SRC and MNT."""
    t = caller
    d = "/etc/idh-test-%d" % os.getpid()
    os.mkdir(d)
    try:
        os.chown(d, t.uid, t.gid)
        for args in ([d, t.mnt], [t.src, d]):
            r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) + args)
            refused(r, "%s: refused: inside the system directory /etc" % d, t)
            assert mounts_under(d) == []
    finally:
        os.rmdir(d)


SWAP = textwrap.dedent("""\
    import ctypes, os, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
    while time.time() < end:
        libc.renameat2(-100, a, -100, b, 2)   # RENAME_EXCHANGE
    """)


@pytest.mark.parametrize("which", ["src", "mnt"])
def test_swap_race_never_lands_elsewhere(helper_bin, caller, which):
    """The caller (attacker) exchanges SRC or MNT with a symlink to
    shiftfs-victim's directory in a loop for ~6 s while calling the helper
    again and again: every mount that succeeds is of the caller's SRC on
    the caller's MNT; none shows or covers the victim's directory."""
    t = caller
    v = victim_dir(t, "victim", 0o777)
    with open(os.path.join(v, "secret"), "w") as f:
        f.write("victim's\n")
    target = t.src if which == "src" else t.mnt
    evil = os.path.join(t.top, "evil")
    as_host_user(MAPPED, ["ln", "-s", v, evil])
    swapper = subprocess.Popen(["runuser", "-u", MAPPED, "--", "/usr/bin/python3",
                                "-c", SWAP, target, evil, "6"])
    ok = refused_n = 0
    deadline = time.monotonic() + 6
    real = os.stat(target)
    try:
        while time.monotonic() < deadline:
            r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                           [t.src, t.mnt])
            # one read of mountinfo: the loop renames while we look
            ents = [f for f in mountinfo() if f[4].startswith(t.root + "/")]
            here = [f[4] for f in ents]
            if r.returncode == 0:
                ok += 1
                # On the caller's own directory (which the loop may have
                # renamed to "evil" since; the victim's is "victim"),
                # showing the caller's SRC (perhaps renamed to "evil").
                assert len(here) == 1 and here[0] in (t.mnt, evil), here
                assert ents[0][3] in (t.src, evil), ents[0]
                u = run_helper(helper_bin, MAPPED, ["umount", here[0]])
                for _ in range(100):  # renamed under us: root cleans up
                    left = mounts_under(t.root)
                    if u.returncode == 0 or not left:
                        break
                    subprocess.run(["umount", "-l", left[0]],
                                   capture_output=True)
            else:
                refused_n += 1
                assert here == [], r.stderr
    finally:
        swapper.wait(timeout=30)
    assert mounts_under(v) == []
    assert os.lstat(v).st_uid == ids(VICTIM)[0]
    st = os.stat(os.path.join(t.top, "mnt" if which == "mnt" else "src"),
                 follow_symlinks=False)
    assert real.st_ino in (st.st_ino, os.lstat(evil).st_ino)
    assert refused_n > 0, "the race never hit (ok=%d)" % ok


def test_unmount_of_another_users_mount_refused(helper_bin, caller):
    t = caller
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    for user in (PLAIN, ATTACKER):
        u = run_helper(helper_bin, user, ["umount", t.mnt])
        refused(u, "%s: refused: not a mount this helper made for you" %
                t.mnt)
        assert mounts_under(t.root) == [t.mnt]
    u = run_helper(helper_bin, MAPPED, ["umount", t.mnt])
    assert u.returncode == 0, u.stderr
    assert mounts_under(t.root) == []


def test_unmount_of_a_non_helper_mount_refused(helper_bin, caller):
    """Root's mounts on the caller's own directory (a tmpfs, and an
    idmapped mount made by root) are not the helper's to take down."""
    t = caller
    subprocess.run(["mount", "-t", "tmpfs", "idh-tmpfs", t.mnt], check=True)
    try:
        u = run_helper(helper_bin, MAPPED, ["umount", t.mnt])
        refused(u, "%s: refused: not a mount this helper made for you" %
                t.mnt)
        assert mounts_under(t.root) == [t.mnt]
    finally:
        subprocess.run(["umount", t.mnt])
    m2 = os.path.join(t.top, "m2")
    as_host_user(MAPPED, ["mkdir", m2])
    subprocess.run(["mount", "--bind", "-o", "X-mount.idmap=u:%d:%d:1 g:%d:%d:1"
                    % (t.uid, t.a_uid[1], t.gid, t.a_gid[1]), t.src, m2],
                   check=True)
    try:
        u = run_helper(helper_bin, MAPPED, ["umount", m2])
        refused(u, "%s: refused: not a mount this helper made for you" % m2)
        assert m2 in mounts_under(t.root)
    finally:
        subprocess.run(["umount", m2])


def test_more_mounts_than_policy_allows_refused(helper_bin, caller, policy):
    t = caller
    held = 0  # the user's helper mounts that exist already (none in CI)
    if os.path.exists(os.path.join(STATE, str(t.uid))):
        live = {f[0] for f in mountinfo()}
        with open(os.path.join(STATE, str(t.uid))) as f:
            held = sum(x.split(" ")[0] in live for x in f.read().splitlines())
    policy("# test\nmax-mounts = %d\n" % (held + 2))
    mnts = []
    for i in range(3):
        m = os.path.join(t.top, "m%d" % i)
        as_host_user(MAPPED, ["mkdir", m])
        mnts.append(m)
    for m in mnts[:2]:
        r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                       [t.src, m])
        assert r.returncode == 0, r.stderr
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, mnts[2]])
    refused(r, "refused: you have %d helper mounts, the most allowed "
            "(max-mounts = %d in %s)" % (held + 2, held + 2, CONF))
    assert sorted(mounts_under(t.root)) == mnts[:2]
    # one unmounted: room for one more
    assert run_helper(helper_bin, MAPPED, ["umount", mnts[0]]).returncode == 0
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, mnts[2]])
    assert r.returncode == 0, r.stderr


def test_policy_who_may_use_it(helper_bin, helper_tree, policy):
    """allow = subuid lets shiftfs-mapped in and keeps shiftfs-test (no
    entry) out unless an allow-group names its group; allow = none keeps
    everyone out; a policy file others can write is not trusted."""
    mapped, plain = helper_tree(MAPPED), helper_tree(PLAIN)
    pu, pg = ids(PLAIN)
    pm = ["--uidmap=%d:%d:1" % (pu, pu), "--gidmap=%d:%d:1" % (pg, pg)]
    mu, mg = ids(MAPPED)
    mm = ["--uidmap=%d:%d:1" % (mu, mu), "--gidmap=%d:%d:1" % (mg, mg)]

    policy("allow = subuid\n")
    r = run_helper(helper_bin, PLAIN, ["mount"] + pm + [plain.src, plain.mnt])
    refused(r, "%s: user %s may not use the helper (allow = subuid, and no "
            "/etc/subuid entry)" % (CONF, PLAIN), plain)
    r = run_helper(helper_bin, MAPPED, ["mount"] + mm +
                   [mapped.src, mapped.mnt])
    assert r.returncode == 0, r.stderr
    assert run_helper(helper_bin, MAPPED, ["umount", mapped.mnt]).returncode == 0

    policy("allow = subuid\nallow-group = %s\n" % PLAIN)
    r = run_helper(helper_bin, PLAIN, ["mount"] + pm + [plain.src, plain.mnt])
    assert r.returncode == 0, r.stderr
    assert run_helper(helper_bin, PLAIN, ["umount", plain.mnt]).returncode == 0

    policy("allow = none\n")
    r = run_helper(helper_bin, MAPPED, ["mount"] + mm +
                   [mapped.src, mapped.mnt])
    refused(r, "%s: the helper is disabled (allow = none)" % CONF, mapped)

    policy("allow = all\n", mode=0o600)  # root's alone: still read
    r = run_helper(helper_bin, MAPPED, ["mount"] + mm +
                   [mapped.src, mapped.mnt])
    assert r.returncode == 0, r.stderr
    assert run_helper(helper_bin, MAPPED, ["umount", mapped.mnt]).returncode == 0

    policy("allow = all\n", mode=0o666)
    r = run_helper(helper_bin, MAPPED, ["mount"] + mm +
                   [mapped.src, mapped.mnt])
    refused(r, "%s: not a regular file owned by root and writable only by "
            "root" % CONF, mapped)

    policy("allow = everyone\n")
    r = run_helper(helper_bin, MAPPED, ["mount"] + mm +
                   [mapped.src, mapped.mnt])
    refused(r, "%s:1: allow is all, subuid, group or none" % CONF, mapped)


PRELOAD_C = """
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void hit(void)
{
	close(open("%s", O_CREAT | O_WRONLY, 0666));
}
"""


def test_hostile_environment_is_ignored(helper_bin, caller, tmp_path):
    """LD_PRELOAD, LD_LIBRARY_PATH, PATH, locale and gconv variables: the
    loader ignores the first (the binary has file capabilities: AT_SECURE)
    and the helper clears the rest before it parses anything; the mount
    is the same as with a clean environment."""
    t = caller
    need(subprocess.run(["cc", "--version"], capture_output=True).returncode
         == 0, "needs a C compiler")
    mk = os.path.join(t.root, "marker")
    os.mkdir(mk)
    os.chmod(mk, 0o777)  # so that the library could create the marker
    marker = os.path.join(mk, "preloaded")
    so = os.path.join(t.root, "evil.so")
    csrc = tmp_path / "evil.c"
    csrc.write_text(PRELOAD_C % marker)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, str(csrc)], check=True)
    os.chmod(so, 0o755)
    # (not t.root 0777: the caller could rename top, and the mount with it)
    # the library works where it is honoured
    subprocess.run(["runuser", "-u", MAPPED, "--", "env", "LD_PRELOAD=" + so,
                    "/bin/true"], check=True)
    assert os.path.exists(marker)
    os.unlink(marker)
    env = {"LD_PRELOAD": so, "LD_LIBRARY_PATH": t.root, "PATH": t.root,
           "LC_ALL": "xx_XX.UTF-8", "LANGUAGE": "xx", "LOCPATH": t.root,
           "GCONV_PATH": t.root, "NLSPATH": t.root + "/%N", "IFS": "/",
           "MALLOC_CHECK_": "3", "TZ": t.root + "/tz"}
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, t.mnt], env=env)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(marker)
    assert mounts_under(t.root) == [t.mnt]
    r = run_helper(helper_bin, MAPPED, ["umount", t.mnt], env=env)
    assert r.returncode == 0, r.stderr
    # a refusal reads the same in any locale
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=0:0:1",
                                        own_maps(t)[1], t.src, t.mnt], env=env)
    refused(r, "uid map range 0:0:1: disk id 0 is not one of yours", t)
    assert not os.path.exists(marker)


def test_closed_stdio_fds(helper_bin, caller):
    """Run with fds 0, 1 and 2 closed: the helper opens /dev/null on them,
    so its records and the new mount's files never become its stdout or
    stderr; the mount works and the record stays well-formed, and a
    refusal writes nothing anywhere."""
    t = caller
    rec = os.path.join(STATE, str(t.uid))
    before = []
    if os.path.exists(rec):  # other mounts of this user may be recorded
        with open(rec) as f:
            before = f.read().splitlines()
    args = " ".join(["mount"] + own_maps(t) + [t.src, t.mnt])
    sh = "exec %s %s <&- >&- 2>&-" % (helper_bin, args)
    r = subprocess.run(["runuser", "-u", MAPPED, "--", "sh", "-c", sh],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert mounts_under(t.root) == [t.mnt]
    with open(rec) as f:
        lines = f.read().splitlines()
    assert len(lines) == len(before) + 1
    assert all(len(x.split(" ")) == 2 and all(y.isdigit() for y in
                                              x.split(" ")) for x in lines)
    sh = "exec %s mount --uidmap=0:0:1 --gidmap=0:0:1 %s %s <&- >&- 2>&-" % (
        helper_bin, t.src, t.top)
    r = subprocess.run(["runuser", "-u", MAPPED, "--", "sh", "-c", sh],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    with open(rec) as f:
        assert f.read().splitlines() == lines
    sh = "exec %s umount %s <&- >&- 2>&-" % (helper_bin, t.mnt)
    r = subprocess.run(["runuser", "-u", MAPPED, "--", "sh", "-c", sh],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert mounts_under(t.root) == []


def test_argv_at_the_parsers_limits(helper_bin, caller):
    """Every word count and length at and past its limit: past it is a
    usage error (status 2) naming the limit, and nothing is mounted; at
    it the helper goes on to its real checks."""
    t = caller
    maps = own_maps(t)
    cases = [
        ([], "no command"),
        (["mount"] + maps + [t.src, t.mnt, "--read-only", "--", "x", "y"],
         "more than 8 arguments"),
        (["mount"] + maps + [t.src, t.mnt, "extra"], "too many arguments"),
        (["mount"] + maps + [t.src], "need SRC and MNT"),
        (["mount"] + maps + ["/" + "a" * 4095, t.mnt],
         "SRC is longer than 4095 bytes"),
        (["mount", "--uidmap=" + "1" * 16385, maps[1], t.src, t.mnt],
         "--uidmap is longer than 16384 bytes"),
        (["mount", maps[0], maps[0], maps[1], t.src, t.mnt],
         "--uidmap given twice"),
        (["mount", "--uidmap=", maps[1], t.src, t.mnt], "--uidmap is empty"),
        (["mount", "--uidmap", maps[1], t.src, t.mnt],
         "unknown option \"--uidmap\""),
        (["mount"] + maps + ["src", t.mnt], "SRC must be an absolute path"),
        (["umount", "--read-only", t.mnt], "unknown option \"--read-only\""),
        (["--help", "x"], "--help takes no arguments"),
        (["mount", "--uidmap=" + ",".join("%d:%d:1" % (i, i)
                                          for i in range(341)),
          maps[1], t.src, t.mnt], "--uidmap: "),
    ]
    for args, msg in cases:
        r = run_helper(helper_bin, MAPPED, args)
        refused(r, msg, t, code=2)
    # 4095 bytes exactly is parsed; the path then does not exist
    long_path = "/" + "a" * 4094
    r = run_helper(helper_bin, MAPPED, ["mount"] + maps + [long_path, t.mnt])
    assert r.returncode == 1 and "File name too long" in r.stderr, r.stderr
    # 340 ranges parse, and are then judged range by range (the last one
    # is outside A and named); 200 fit in the kernel's one-page map write
    many = ["%d:%d:1" % (t.a_uid[1] + i, t.a_uid[1] + i) for i in range(339)]
    bad = "%d:%d:1" % (t.a_uid[1] + t.a_uid[2], t.a_uid[1] + 339)
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=" + ",".join(
        many + [bad]), maps[1], t.src, t.mnt])
    refused(r, "uid map range %s: disk id %d is not one of yours" % (
        bad, t.a_uid[1] + t.a_uid[2]), t)
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=" + ",".join(
        many[:200]), maps[1], t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    assert run_helper(helper_bin, MAPPED, ["umount", t.mnt]).returncode == 0


def test_setuid_binary_in_a_helper_mount_does_not_run_setuid(helper_bin,
                                                             caller):
    """A root-owned setuid copy of id(1) in the caller's SRC (natively it
    runs as root) and a setuid one the caller makes through the mount:
    run through the helper mount by shiftfs-atk, both run as shiftfs-atk
    (nosuid), and a device node there cannot be opened (nodev)."""
    t = caller
    rootsh = os.path.join(t.src, "rootid")
    subprocess.run(["cp", "/usr/bin/id", rootsh], check=True)
    os.chmod(rootsh, 0o4755)
    os.chmod(t.src, 0o755)
    dev = os.path.join(t.src, "null")
    os.mknod(dev, 0o20666, os.makedev(1, 3))
    os.chmod(dev, 0o666)
    atk = ids(ATTACKER)[0]
    native = as_host_user(ATTACKER, [rootsh, "-u"])
    assert native.stdout.strip() == "0"  # the test can fail
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    view = t.a_uid[1] + 999
    mine = os.path.join(t.mnt, "myid")
    c = subprocess.run(["setpriv", "--reuid=%d" % view, "--regid=%d" %
                        (t.a_gid[1] + 999), "--clear-groups", "sh", "-c",
                        "cp /usr/bin/id %s && chmod 4755 %s" % (mine, mine)],
                       capture_output=True, text=True)
    assert c.returncode == 0, c.stderr
    assert os.stat(mine).st_mode & 0o4000
    for prog in (os.path.join(t.mnt, "rootid"), mine):
        r = as_host_user(ATTACKER, [prog, "-u"])
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(atk), (prog, r.stdout)
    w = as_host_user(ATTACKER, ["sh", "-c", "echo x > %s/null" % t.mnt])
    assert w.returncode != 0 and "Permission denied" in w.stderr, w.stderr
    n = as_host_user(ATTACKER, ["sh", "-c", "echo x > %s" % dev])
    assert n.returncode == 0, n.stderr  # natively the node works
    assert run_helper(helper_bin, MAPPED, ["umount", t.mnt]).returncode == 0


def test_setuid_root_install_behaves_the_same(caller, tmp_path):
    """Installed setuid root (where setcap is missing) the helper becomes
    the caller keeping the same three capabilities: a map outside A is
    refused the same way, the caller's own mount works, and what it
    creates is the caller's (no root-owned records or mounts leak)."""
    t = caller
    d = tempfile.mkdtemp(prefix="idh-suid.")
    try:
        os.chmod(d, 0o755)
        h = os.path.join(d, "shiftfs-idmap-helper")
        shutil.copy(HELPER_BUILT, h)
        os.chmod(h, 0o4755)
        r = run_helper(h, MAPPED, ["mount", "--uidmap=0:0:1", own_maps(t)[1],
                                   t.src, t.mnt])
        refused(r, "uid map range 0:0:1: disk id 0 is not one of yours", t)
        v = victim_dir(t, "victim", 0o777)
        r = run_helper(h, MAPPED, ["mount"] + own_maps(t) + [t.src, v])
        refused(r, "%s: refused: owned by uid %d, not by you" % (
            v, ids(VICTIM)[0]), t)
        r = run_helper(h, MAPPED, ["mount"] + own_maps(t) + [t.src, t.mnt])
        assert r.returncode == 0, r.stderr
        assert mounts_under(t.root) == [t.mnt]
        assert run_helper(h, MAPPED, ["umount", t.mnt]).returncode == 0
        assert mounts_under(t.root) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_legitimate_mount_beside_the_attacks(helper_bin, caller):
    """What the refusals above leave working: the caller's own SRC on its
    own MNT with its own ids, mounted and unmounted."""
    t = caller
    r = run_helper(helper_bin, MAPPED, ["mount"] + own_maps(t) +
                   [t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    assert mounts_under(t.root) == [t.mnt]
    assert run_helper(helper_bin, MAPPED, ["umount", t.mnt]).returncode == 0
    assert mounts_under(t.root) == []
