# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 7: owner mode locks the host owner out of their own files
through the mount (by design); an ordinary user who mounts so is told in
one line, and root is not."""
import os
import subprocess

from conftest import need_root_and_fuse
from mount_util import host_user, mounts, world_tmp  # noqa: F401


def make_tree(world_tmp, u):
    src, mnt, run = (os.path.join(world_tmp, n) for n in ("src", "mnt", "run"))
    for d in (src, mnt, run):
        os.mkdir(d)
        os.chown(d, u.pw_uid, u.pw_gid)
    os.chmod(run, 0o700)
    f = os.path.join(src, "secret")
    with open(f, "w") as fh:
        fh.write("mine\n")
    os.chown(f, u.pw_uid, u.pw_gid)
    os.chmod(f, 0o600)
    su = os.path.join(world_tmp, "subuid")
    with open(su, "w") as fh:
        fh.write("%s:200000:65536\n" % u.pw_name)
    env = {"XDG_RUNTIME_DIR": run, "SHIFTCTL_SUBUID": su,
           "SHIFTCTL_SUBGID": su}
    return src, mnt, env


def test_owner_mode_says_the_owner_is_locked_out(world_tmp, mounts):
    need_root_and_fuse()
    u = host_user()
    src, mnt, env = make_tree(world_tmp, u)
    r = mounts.mount("--user=1000", src, mnt, user=u.pw_name, env=env)
    view = 200000 + 1000 - 1
    note = ("shiftctl: note: owner mode: through %s the files of uid %d are "
            "container user uid %d's, and you (uid %d) get only what others "
            "may; use %s itself (shiftctl-mount(1), Owner mode)" % (
                mnt, u.pw_uid, view, u.pw_uid, src))
    assert note in r.stderr.splitlines(), r.stderr
    # What the note says is what the user meets.
    c = subprocess.run(["runuser", "-u", u.pw_name, "--", "cat",
                        os.path.join(mnt, "secret")],
                       capture_output=True, text=True)
    assert c.returncode != 0 and "Permission denied" in c.stderr
    c = subprocess.run(["runuser", "-u", u.pw_name, "--", "cat",
                        os.path.join(src, "secret")],
                       capture_output=True, text=True)
    assert c.stdout == "mine\n"


def test_no_note_without_owner_mode_or_as_root(world_tmp, mounts):
    need_root_and_fuse()
    u = host_user()
    src, mnt, env = make_tree(world_tmp, u)
    r = mounts.mount("--map=%d:%d:1" % (u.pw_uid, u.pw_uid), src, mnt,
                     user=u.pw_name, env=env)
    assert "owner mode" not in r.stderr
    mnt2 = os.path.join(world_tmp, "mnt2")
    os.mkdir(mnt2)
    r = mounts.mount("--user=1000", "--rootless=%s" % u.pw_name,
                     "--subuid-file=%s" % env["SHIFTCTL_SUBUID"],
                     "--subgid-file=%s" % env["SHIFTCTL_SUBUID"], src, mnt2)
    assert "note: owner mode" not in r.stderr


def test_root_through_sudo_is_told_for_the_sudo_user(world_tmp, mounts):
    """sudo shiftctl mount --user=1000 ... on the user's own directory: the
    user who ran sudo is the one locked out, and is told."""
    need_root_and_fuse()
    u = host_user()
    src, mnt, env = make_tree(world_tmp, u)
    su = env["SHIFTCTL_SUBUID"]
    sudo = {"SUDO_USER": u.pw_name, "SUDO_UID": str(u.pw_uid)}
    r = mounts.mount("--user=1000", "--subuid-file=%s" % su,
                     "--subgid-file=%s" % su, src, mnt, env=sudo)
    assert ("shiftctl: run through sudo: using the rootless layout of %s "
            "(SUDO_USER); --rootless=USER names another user" % u.pw_name) \
        in r.stderr.splitlines()
    view = 200000 + 1000 - 1
    assert ("shiftctl: note: owner mode: through %s the files of uid %d are "
            "container user uid %d's, and you (uid %d) get only what others "
            "may; use %s itself (shiftctl-mount(1), Owner mode)" % (
                mnt, u.pw_uid, view, u.pw_uid, src)) in r.stderr.splitlines()
