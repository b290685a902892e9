# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 1: rootless podman, container --user 1000, a volume owned by
the host user. A plain bind mount gives "Permission denied"; through
`shiftctl mount --rootless --user 1000` (FUSE as the user, and the idmap
backend set up by root) the container writes, and its files land on the
host owned by the host user."""
import os

from e2e_util import (PROBE, ROOTLESS_USER, Podman, assert_denied, make_rootfs,
                      need_verb, owner, parse_probe, scenario, gid_of, shift_mount,
                      shiftctl, subid_start, uid_of)


def test_rootless_podman_user_1000():
    with scenario("1-rootless-podman") as sc:
        user = ROOTLESS_USER
        uid = uid_of(user)
        gid = gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"))
        pm = Podman(sc, user=user)
        umap = pm.unshare_uid_map()
        first = subid_start(user)
        assert umap.split() == ["0", str(uid), "1", "1", str(first),
                                "65536"], umap

        vol = sc.mkdir("vol", uid, gid, 0o755)
        with open(os.path.join(vol, "hello"), "w") as f:
            f.write("hello\n")
        os.chown(os.path.join(vol, "hello"), uid, gid)

        # Baseline: the plain bind mount.
        p = pm.run(rootfs, PROBE, user=1000, volumes=[f"{vol}:/data"])
        r = parse_probe(p.stdout)
        assert r["uid"] == "1000", p.stdout
        assert r["data_owner"] == "0:0", \
            f"host user's volume should look root-owned: {p.stdout}"
        assert_denied(p, "plain bind mount")
        sc.rec.add("plain bind mount", r["uid"], f"{uid}:{gid}",
                   "Permission denied")

        need_verb("mount")
        need_verb("umount")

        # FUSE backend, mounted by the user itself, no privilege.
        mnt = sc.mkdir("mnt-fuse", uid, gid, 0o755)
        shift_mount(sc, "--rootless", "--user", "1000", "--backend=fuse",
                    "-o", "allow_other", vol, mnt, user=user,
                    env=pm.env)
        p = pm.run(rootfs, PROBE + "; cat /data/hello", user=1000,
                   volumes=[f"{mnt}:/data"], check=True)
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "1000:1000", p.stdout
        assert r["write"] == "ok", p.stdout
        assert "hello" in p.stdout
        new = os.path.join(vol, "written-by-container")
        assert owner(new) == (uid, gid), \
            f"new file should belong to the host user, is {owner(new)}"
        sc.rec.add("shiftctl mount --backend=fuse", r["uid"],
                   "%d:%d" % owner(new), "write ok")
        shiftctl("umount", mnt, user=user, env=pm.env)
        os.unlink(new)

        # idmap backend: root sets the mount up for the user's container.
        mnt2 = sc.mkdir("mnt-idmap", uid, gid, 0o755)
        shift_mount(sc, f"--rootless={user}", "--user", "1000",
                    "--backend=idmap", vol, mnt2)
        p = pm.run(rootfs, PROBE, user=1000, volumes=[f"{mnt2}:/data"],
                   check=True)
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "1000:1000", p.stdout
        assert r["write"] == "ok", p.stdout
        assert owner(new) == (uid, gid), owner(new)
        sc.rec.add("shiftctl mount --backend=idmap", r["uid"],
                   "%d:%d" % owner(new), "write ok")
        shiftctl("umount", mnt2)
