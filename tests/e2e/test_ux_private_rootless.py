# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, item 8: shiftctl mount --private, as root, for a rootless
layout: the mount point is reachable by the layout's user (whose rootless
podman binds it into the container) and by nobody else: not another host
user, not the container's own subordinate ids on the host. Beside it: a
--private mount for a map that is not a user's rootless layout stays under
root's 0700 /run/shiftfs/private."""
import os
import subprocess

from e2e_util import (PROBE, ROOTLESS_USER, Podman, gid_of, make_rootfs,
                      need_verb, owner, parse_probe, scenario, shiftctl,
                      subid_start, uid_of)

OTHER_USER = "shiftfs-test"


def acl_text(path):
    return subprocess.run(["getfacl", "-cpn", path], capture_output=True,
                          text=True, check=True).stdout


def denied(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return p.returncode != 0 and "Permission denied" in p.stderr


def test_private_mount_for_rootless_podman():
    with scenario("ux-private") as sc:
        need_verb("mount")
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"))
        pm = Podman(sc, user=user)
        vol = sc.mkdir("vol", uid, gid, 0o755)
        with open(os.path.join(vol, "hello"), "w") as f:
            f.write("hello\n")
        os.chown(os.path.join(vol, "hello"), uid, gid)
        name = "ux-" + os.path.basename(sc.dir).replace(".", "-")
        base = "/run/shiftfs/private-uid-%d" % uid
        mnt = os.path.join(base, name)

        def cleanup():
            shiftctl("umount", mnt, check=False)
            subprocess.run(["umount", "-l", mnt], capture_output=True)
            if os.path.isdir(mnt) and not os.path.ismount(mnt):
                os.rmdir(mnt)
        sc.on_cleanup(cleanup)
        p = shiftctl("mount", "--rootless=%s" % user, "--user=1000",
                     "--private", vol, name)
        assert "shiftctl: bind %s into the container" % mnt in \
            p.stdout.splitlines(), p.stdout

        # The directory: root's, 0700, one ACL entry: search for the user.
        st = os.lstat(base)
        assert (st.st_uid, st.st_gid) == (0, 0)
        acl = acl_text(base)
        assert acl.split() == ["user::rwx", "user:%d:--x" % uid, "group::---",
                               "mask::--x", "other::---"], acl

        # The user's rootless podman binds it and the container works.
        p = pm.run(rootfs, PROBE + "; cat /data/hello", user=1000,
                   volumes=[f"{mnt}:/data"], check=True)
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "1000:1000", p.stdout
        assert r["write"] == "ok", p.stdout
        assert "hello" in p.stdout
        new = os.path.join(vol, "written-by-container")
        assert owner(new) == (uid, gid), owner(new)
        sc.rec.add("shiftctl mount --private (root, rootless layout)",
                   r["uid"], "%d:%d" % owner(new), "write ok")

        # Nobody else reaches it by path: another host user, and the host
        # uid the container's user 1000 runs as.
        assert denied(["runuser", "-u", OTHER_USER, "--", "ls", mnt])
        view = subid_start(user) + 999
        assert denied(["setpriv", "--reuid=%d" % view, "--regid=%d" % view,
                       "--clear-groups", "ls", mnt])
        # Not even the user can list the directory or add to it.
        assert denied(["runuser", "-u", user, "--", "ls", base])
        assert denied(["runuser", "-u", user, "--", "mkdir",
                       os.path.join(base, "x")])
        shiftctl("umount", mnt)


def test_private_mount_for_another_map_stays_root_only():
    with scenario("ux-private-root") as sc:
        need_verb("mount")
        vol = sc.mkdir("vol", 0, 0, 0o755)
        name = "ux-" + os.path.basename(sc.dir).replace(".", "-")
        mnt = "/run/shiftfs/private/" + name
        sc.on_cleanup(lambda: (shiftctl("umount", mnt, check=False),
                               subprocess.run(["umount", "-l", mnt],
                                              capture_output=True)))
        p = shiftctl("mount", "--map=0:100000:65536", "--private", vol,
                     name)
        assert "bind %s into the container" % mnt in p.stdout, p.stdout
        st = os.lstat("/run/shiftfs/private")
        assert st.st_uid == 0 and st.st_mode & 0o777 == 0o700
        assert denied(["runuser", "-u", ROOTLESS_USER, "--", "ls", mnt])
        shiftctl("umount", mnt)
