# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftfs-idmap-helper used the way it is meant to be: ordinary users
mount their own directories as kernel idmapped mounts, within their own
ids, directly and through `shiftctl mount`; status and umount handle the
mounts. (tests/security/test_helper_abuse.py plays the attacker.)"""
import os
import shutil
import subprocess

from conftest import mountinfo, need
from helper_util import (HELPER_BUILT, STATE, helper_bin,  # noqa: F401
                         helper_tree, ids, mount_opts, mounts_under,
                         run_helper, shiftctl_as, subid, xdg_dir)

MAPPED = "shiftfs-mapped"   # has /etc/subuid and /etc/subgid ranges
PLAIN = "shiftfs-test"      # has none


def as_view(uid, gid, cmd):
    """cmd as view ids that have no account (root drops to them)."""
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                           "--clear-groups"] + cmd,
                          capture_output=True, text=True, timeout=60)


def test_rootless_owner_mode_through_shiftctl(helper_bin, helper_tree):
    """The issue's command: shiftctl mount --rootless --user 1000 as the
    user gives a kernel idmapped mount, the line says so; container uid
    1000 (view 500999) writes and the file lands as the user on disk;
    status shows it; umount takes it down."""
    t = helper_tree(MAPPED)
    sub = subid(MAPPED, "/etc/subuid")
    need(sub is not None, "shiftfs-mapped needs an /etc/subuid entry")
    gsub = subid(MAPPED, "/etc/subgid")
    xdg = xdg_dir(t)
    with open(os.path.join(t.src, "mine"), "w") as f:
        f.write("data\n")
    os.chown(os.path.join(t.src, "mine"), t.uid, t.gid)
    view_u, view_g = sub[0] + 999, gsub[0] + 999

    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", t.src, t.mnt],
                    xdg)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        "shiftctl: mounted %s at %s with idmap (via shiftfs-idmap-helper: "
        "kernel idmapped mount, zero overhead); uid map %d:%d:1, gid map "
        "%d:%d:1" % (t.src, t.mnt, t.uid, view_u, t.gid, view_g)), r.stdout
    opts = mount_opts(t.mnt)
    assert opts and "idmapped" in opts and "nosuid" in opts \
        and "nodev" in opts, opts
    st = os.stat(os.path.join(t.mnt, "mine"))
    assert (st.st_uid, st.st_gid) == (view_u, view_g)

    w = as_view(view_u, view_g, ["sh", "-c", "echo new > %s/new" % t.mnt])
    assert w.returncode == 0, w.stderr
    st = os.stat(os.path.join(t.src, "new"))
    assert (st.st_uid, st.st_gid) == (t.uid, t.gid)

    s = shiftctl_as(MAPPED, helper_bin, ["status", t.mnt], xdg)
    assert s.returncode == 0, s.stderr
    assert "backend idmap (via shiftfs-idmap-helper)" in s.stdout, s.stdout
    mid = [f[0] for f in mountinfo() if f[4] == t.mnt][0]
    with open(os.path.join(STATE, str(t.uid))) as f:
        assert mid in [x.split(" ")[0] for x in f.read().splitlines()]

    u = shiftctl_as(MAPPED, helper_bin, ["umount", t.mnt], xdg)
    assert u.returncode == 0, u.stderr
    assert u.stdout.strip() == "shiftctl: unmounted %s (idmap)" % t.mnt
    assert mounts_under(t.root) == []
    rec = os.path.join(STATE, str(t.uid))
    if os.path.exists(rec):  # other mounts of this user may be recorded
        with open(rec) as f:
            assert mid not in [x.split(" ")[0] for x in f.read().splitlines()]


def test_whole_range_shuffled_within_own_ids(helper_bin, helper_tree):
    """A rootless-style map that uses all of the user's ids on both sides:
    disk uid(USER) <-> view first subordinate id and back, the rest
    identity. Owners are shuffled as the map says, nothing else is mapped
    (a root-owned file shows as the overflow id)."""
    t = helper_tree(MAPPED)
    sub, gsub = subid(MAPPED, "/etc/subuid"), subid(MAPPED, "/etc/subgid")
    need(sub and gsub, "shiftfs-mapped needs subordinate ranges")
    s0, n = sub
    g0, gn = gsub
    for name, owner in (("user", (t.uid, t.gid)), ("sub", (s0, g0)),
                        ("sub5", (s0 + 5, g0 + 5)), ("root", (0, 0))):
        p = os.path.join(t.src, name)
        open(p, "w").close()
        os.chown(p, *owner)
    umap = "%d:%d:1,%d:%d:1,%d:%d:%d" % (t.uid, s0, s0, t.uid, s0 + 1,
                                         s0 + 1, n - 1)
    gmap = "%d:%d:1,%d:%d:1,%d:%d:%d" % (t.gid, g0, g0, t.gid, g0 + 1,
                                         g0 + 1, gn - 1)
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=" + umap,
                                        "--gidmap=" + gmap, t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    owners = {name: (os.stat(os.path.join(t.mnt, name)).st_uid,
                     os.stat(os.path.join(t.mnt, name)).st_gid)
              for name in ("user", "sub", "sub5", "root")}
    assert owners == {"user": (s0, g0), "sub": (t.uid, t.gid),
                      "sub5": (s0 + 5, g0 + 5), "root": (65534, 65534)}
    u = run_helper(helper_bin, MAPPED, ["umount", t.mnt])
    assert u.returncode == 0, u.stderr
    assert mounts_under(t.root) == []


def test_owner_mode_of_a_user_without_subordinate_ids(helper_bin,
                                                      helper_tree):
    """shiftfs-test has no /etc/subuid entry: its own uid and primary gid
    are its whole set, and an owner-mode mount within them works, read-only
    on request."""
    t = helper_tree(PLAIN)
    uid, gid = ids(PLAIN)
    p = os.path.join(t.src, "f")
    with open(p, "w") as f:
        f.write("x\n")
    os.chown(p, uid, gid)
    r = run_helper(helper_bin, PLAIN, ["mount", "--read-only",
                                       "--uidmap=%d:%d:1" % (uid, uid),
                                       "--gidmap=%d:%d:1" % (gid, gid),
                                       t.src, t.mnt])
    assert r.returncode == 0, r.stderr
    opts = mount_opts(t.mnt)
    assert "ro" in opts and "idmapped" in opts, opts
    st = os.stat(os.path.join(t.mnt, "f"))
    assert (st.st_uid, st.st_gid) == (uid, gid)
    w = subprocess.run(["runuser", "-u", PLAIN, "--", "touch",
                        os.path.join(t.mnt, "g")], capture_output=True,
                       text=True)
    assert w.returncode != 0 and "Read-only file system" in w.stderr
    u = run_helper(helper_bin, PLAIN, ["umount", t.mnt])
    assert u.returncode == 0, u.stderr
    assert mounts_under(t.root) == []


def test_auto_falls_back_to_fuse_when_the_helper_refuses(helper_bin,
                                                         helper_tree):
    """The plain rootless layout maps disk 0 (root) to the user: not the
    user's id, so the helper refuses and auto mounts with FUSE, saying
    the helper's reason; --backend=idmap fails with it."""
    t = helper_tree(MAPPED)
    xdg = xdg_dir(t)
    r = shiftctl_as(MAPPED, helper_bin, ["mount", "--backend=idmap",
                                         "--rootless", t.src, t.mnt], xdg)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "shiftctl: idmapped mount of %s at %s failed: shiftfs-idmap-helper: "
        "uid map range 0:%d:1: disk id 0 is not one of yours (%d, %d-%d)" % (
            t.src, t.mnt, t.uid, t.uid, subid(MAPPED, "/etc/subuid")[0],
            sum(subid(MAPPED, "/etc/subuid")) - 1))
    assert mounts_under(t.root) == []
    r = shiftctl_as(MAPPED, helper_bin, ["mount", "--rootless", t.src, t.mnt],
                    xdg)
    assert r.returncode == 0, r.stderr
    assert " with fuse (shiftfs daemon pid " in r.stdout
    assert "shiftfs-idmap-helper: uid map range 0:%d:1: disk id 0 is not " \
        "one of yours" % t.uid in r.stdout
    u = shiftctl_as(MAPPED, helper_bin, ["umount", t.mnt], xdg)
    assert u.returncode == 0, u.stderr


def test_help_version_and_usage(helper_bin):
    r = run_helper(helper_bin, PLAIN, ["--help"])
    assert r.returncode == 0
    assert r.stdout.startswith("Usage:\n shiftfs-idmap-helper mount ")
    assert r.stdout.rstrip().endswith(
        "For more details see shiftfs-idmap-helper(8).")
    r = run_helper(helper_bin, PLAIN, ["--version"])
    assert r.returncode == 0 and r.stdout.startswith("shiftfs-idmap-helper ")
    r = run_helper(helper_bin, PLAIN, ["frobnicate"])
    assert r.returncode == 2
    assert r.stderr == ("shiftfs-idmap-helper: unknown command \"frobnicate\"\n"
                        "Try 'shiftfs-idmap-helper --help'.\n")
    r = run_helper(helper_bin, PLAIN, ["mount", "/a", "/b"])
    assert r.returncode == 2
    assert "need --uidmap=SPEC and --gidmap=SPEC" in r.stderr


def test_filesystem_without_idmapping_falls_back_to_fuse(helper_bin,
                                                         helper_tree):
    """SRC on a FUSE filesystem (bindfs, run by the user), which does not
    support idmapped mounts: the helper says so with exit status 3 and
    auto mounts with FUSE, giving that reason."""
    need(shutil.which("bindfs") is not None, "needs bindfs")
    t = helper_tree(MAPPED)
    fuse = os.path.join(t.top, "fuse")
    os.mkdir(fuse)
    os.chown(fuse, t.uid, t.gid)
    b = subprocess.run(["runuser", "-u", MAPPED, "--", "bindfs", t.src, fuse],
                       capture_output=True, text=True, timeout=30)
    assert b.returncode == 0, b.stderr
    r = run_helper(helper_bin, MAPPED, ["mount", "--uidmap=%d:%d:1" % (
        t.uid, t.uid), "--gidmap=%d:%d:1" % (t.gid, t.gid), fuse, t.mnt])
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith(
        "shiftfs-idmap-helper: %s: the source filesystem (or a submount) "
        "does not support idmapped mounts" % fuse), r.stderr
    assert t.mnt not in mounts_under(t.root)
    xdg = xdg_dir(t)
    m = shiftctl_as(MAPPED, helper_bin, ["mount", "--rootless", "--user",
                                         "1000", fuse, t.mnt], xdg)
    assert m.returncode == 0, m.stderr
    assert " with fuse (shiftfs daemon pid " in m.stdout
    assert "shiftfs-idmap-helper: %s: the source filesystem (or a submount) "\
        "does not support idmapped mounts" % fuse in m.stdout, m.stdout
    u = shiftctl_as(MAPPED, helper_bin, ["umount", t.mnt], xdg)
    assert u.returncode == 0, u.stderr


def test_helper_without_its_capabilities_says_so(helper_tree):
    """The build tree's helper has no capabilities: it says how it must be
    installed, and shiftctl mount falls back to FUSE giving that reason."""
    t = helper_tree(MAPPED)
    need(os.path.exists(HELPER_BUILT), "helper not built")
    r = run_helper(HELPER_BUILT, MAPPED, ["--help"])
    assert r.returncode == 1
    assert r.stderr == ("shiftfs-idmap-helper: not installed with its "
                        "capabilities (setcap cap_sys_admin,cap_setuid,"
                        "cap_setgid+ep), nor setuid root\n")
    xdg = xdg_dir(t)
    m = shiftctl_as(MAPPED, HELPER_BUILT, ["mount", "--rootless", "--user",
                                           "1000", t.src, t.mnt], xdg)
    assert m.returncode == 0, m.stderr
    assert "with fuse (shiftfs daemon pid " in m.stdout
    assert "shiftfs-idmap-helper: not installed with its capabilities" \
        in m.stdout, m.stdout
    u = shiftctl_as(MAPPED, HELPER_BUILT, ["umount", t.mnt], xdg)
    assert u.returncode == 0, u.stderr


# --- where MNT may be: the mount-boundary rule (after the red team) -------

def own_runtime_dir(t, mode=0o700):
    """A /run/user/UID-like directory: a tmpfs mounted by root whose root
    is the user's own (mode 0700, as systemd's pam_systemd makes it)."""
    d = os.path.join(t.root, "run-user", str(t.uid))
    os.makedirs(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=%o,uid=%d,gid=%d,"
                        "size=1m,nosuid,nodev" % (mode, t.uid, t.gid),
                        "tmpfs-idh2", d], capture_output=True, text=True)
    need(r.returncode == 0, "cannot mount a tmpfs: " + r.stderr)
    return d


def test_private_and_doctor_paths_in_own_runtime_tmpfs(helper_bin,
                                                       helper_tree):
    """The paths shiftctl itself uses for a rootless user lie below
    directories the user can rename ($XDG_RUNTIME_DIR/shiftfs/...), but in
    a tmpfs whose root is the user's own 0700 directory: the helper mounts
    there. --private NAME ($XDG_RUNTIME_DIR/shiftfs/private/NAME) and
    doctor's $XDG_RUNTIME_DIR/shiftfs/vol go through the helper; the
    mounts stay inside that tmpfs when its directories are renamed."""
    t = helper_tree(MAPPED)
    xdg = own_runtime_dir(t)
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", "--private",
                     t.src, "vol1"], xdg)
    assert r.returncode == 0, r.stderr
    priv = os.path.join(xdg, "shiftfs", "private", "vol1")
    assert (" at %s with idmap (via shiftfs-idmap-helper: kernel idmapped "
            "mount, zero overhead)" % priv) in r.stdout, r.stdout
    assert "idmapped" in mount_opts(priv)

    vol = os.path.join(xdg, "shiftfs", "vol")
    mk = subprocess.run(["runuser", "-u", MAPPED, "--", "mkdir", vol],
                        capture_output=True, text=True)
    assert mk.returncode == 0, mk.stderr
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", t.src, vol],
                    xdg)
    assert r.returncode == 0, r.stderr
    assert " with idmap (via shiftfs-idmap-helper" in r.stdout, r.stdout

    # the user renames their own directory: the mounts move with it, and
    # only inside the tmpfs (a rename out of it is EXDEV)
    mv = subprocess.run(["runuser", "-u", MAPPED, "--", "/usr/bin/python3",
                         "-c", "import os, sys; os.rename(*sys.argv[1:])",
                         os.path.join(xdg, "shiftfs"),
                         os.path.join(t.top, "moved")],
                        capture_output=True, text=True)
    assert "Invalid cross-device link" in mv.stderr, mv.stderr
    assert sorted(mounts_under(t.root)) == sorted([xdg, priv, vol])

    for m in (vol, priv):
        u = shiftctl_as(MAPPED, helper_bin, ["umount", m], xdg)
        assert u.returncode == 0, u.stderr
    assert mounts_under(t.root) == [xdg]


def test_home_layout_mounts_and_nested_dir_falls_back_with_the_reason(
        helper_bin, helper_tree):
    """The issue's command (shiftctl mount --rootless --user 1000 ~/data
    ~/mnt; top plays ~ in a root-owned directory) mounts through the
    helper. ~/a/mnt (a is renamable, on a filesystem whose root is not the
    user's) is refused by the helper saying why and what to use; auto
    mounts it with FUSE and says that reason."""
    t = helper_tree(MAPPED)
    xdg = xdg_dir(t)
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", t.src, t.mnt],
                    xdg)
    assert r.returncode == 0, r.stderr
    assert " with idmap (via shiftfs-idmap-helper" in r.stdout, r.stdout
    assert shiftctl_as(MAPPED, helper_bin, ["umount", t.mnt],
                       xdg).returncode == 0

    a = os.path.join(t.top, "a")
    nested = os.path.join(a, "mnt")
    mk = subprocess.run(["runuser", "-u", MAPPED, "--", "mkdir", "-p",
                         nested], capture_output=True, text=True)
    assert mk.returncode == 0, mk.stderr
    fsroot = subprocess.run(["findmnt", "-n", "-o", "TARGET", "-T", t.root],
                            capture_output=True, text=True).stdout.strip()
    why = ("shiftfs-idmap-helper: %s: refused: you can rename %s, which "
           "would move the mount anywhere you can write on the filesystem "
           "mounted at %s (its root belongs to uid 0); mount where you "
           "cannot rename any directory above MNT (like ~/mnt), or inside "
           "a mount whose root is your own 0700 directory (like "
           "/run/user/%d)" % (nested, a, fsroot, t.uid))
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--backend=idmap", "--rootless", "--user",
                     "1000", t.src, nested], xdg)
    assert r.returncode == 1
    assert r.stderr.strip() == ("shiftctl: idmapped mount of %s at %s "
                                "failed: %s" % (t.src, nested, why))
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", t.src, nested],
                    xdg)
    assert r.returncode == 0, r.stderr
    assert " with fuse (shiftfs daemon pid " in r.stdout, r.stdout
    assert why in r.stdout, r.stdout
    u = shiftctl_as(MAPPED, helper_bin, ["umount", nested], xdg)
    assert u.returncode == 0, u.stderr
    assert mounts_under(t.root) == []


def test_user_volume_plugin_mounts_through_the_helper(helper_bin,
                                                      helper_tree):
    """shiftctl plugin serve run by the user (backend=auto, the volume's
    mount point under $XDG_RUNTIME_DIR/shiftfs/private in the user's own
    0700 tmpfs): the first Mount is a kernel idmapped mount made by the
    helper (no daemon recorded), the last Unmount takes it down through
    the helper."""
    from plugin_util import Serve, call
    t = helper_tree(MAPPED)
    xdg = own_runtime_dir(t)
    sock = os.path.join(xdg, "p.sock")
    s = Serve(sock, os.path.join(xdg, "state"), user=MAPPED,
              env={"XDG_RUNTIME_DIR": xdg,
                   "SHIFTCTL_IDMAP_HELPER": helper_bin})
    try:
        assert call(sock, "/VolumeDriver.Create",
                    {"Name": "hv", "Opts": {"source": t.src, "user": "1000",
                                            "rootless": ""}}) == \
            (200, {"Err": ""})
        st, rep = call(sock, "/VolumeDriver.Mount", {"Name": "hv", "ID": "a"})
        mnt = os.path.join(xdg, "shiftfs", "private", "volume-hv")
        assert (st, rep) == (200, {"Mountpoint": mnt, "Err": ""}), s.text()
        opts = mount_opts(mnt)
        assert opts and "idmapped" in opts and "nosuid" in opts, opts
        with open(os.path.join(xdg, "state", "volumes.json")) as f:
            assert '"backend": "idmap"' in f.read().replace('":"', '": "')
        assert call(sock, "/VolumeDriver.Unmount",
                    {"Name": "hv", "ID": "a"}) == (200, {"Err": ""})
        assert mount_opts(mnt) is None
        assert call(sock, "/VolumeDriver.Remove", {"Name": "hv"}) == \
            (200, {"Err": ""})
    finally:
        s.stop()
    assert s.proc.returncode == 0, s.text()
    assert mounts_under(t.root) == [xdg]


def test_status_of_a_helper_mount_active_then_stale(helper_bin, helper_tree):
    """status shows a helper mount active with no daemon (never DEAD: it
    has none); once it is gone without shiftctl umount (root unmounted
    it), status lists it STALE once and drops the record."""
    import json
    t = helper_tree(MAPPED)
    xdg = xdg_dir(t)
    r = shiftctl_as(MAPPED, helper_bin,
                    ["mount", "--rootless", "--user", "1000", t.src, t.mnt],
                    xdg)
    assert r.returncode == 0, r.stderr
    s = shiftctl_as(MAPPED, helper_bin, ["status", "--json"], xdg)
    assert s.returncode == 0, s.stderr
    [o] = [x for x in json.loads(s.stdout) if x["mountpoint"] == t.mnt]
    assert o["state"] == "active" and o["backend"] == "idmap", o
    assert o.get("helper") is True and not o.get("pid"), o
    subprocess.run(["umount", t.mnt], check=True)
    s = shiftctl_as(MAPPED, helper_bin, ["status"], xdg)
    assert s.returncode == 0, s.stderr
    assert ("%s: %s, backend idmap, STALE: not mounted any more (unmounted "
            "without shiftctl umount): its record was removed\n" % (
                t.mnt, t.src)) in s.stdout, s.stdout
    s = shiftctl_as(MAPPED, helper_bin, ["status"], xdg)
    assert t.mnt not in s.stdout, s.stdout
