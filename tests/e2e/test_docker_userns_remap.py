# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 3: docker with --userns-remap. A volume written by a rootful
container (owners 0, 999, 1000) looks like nobody's to remapped
containers. Migrated in place with `shiftctl shift --userns-remap=...`,
or shown through `shiftctl mount --userns-remap=...`, the container sees
its original owners again and writes as them."""
import os
import shutil

from e2e_util import (REMAP_USER, Dockerd, assert_denied, make_rootfs,
                      need_verb, owner, rootfs_tar, scenario, shift_mount,
                      shiftctl, subid_start)

CREATE = ("mkdir -p /data/pg /data/app && echo root > /data/root.txt && "
          "echo pg > /data/pg/PG_VERSION && echo app > /data/app/state && "
          "chown -R 999:999 /data/pg && chown -R 1000:1000 /data/app && "
          "chmod 700 /data/pg && chmod 755 /data/app")
LOOK = ("stat -c '%n %u:%g' /data/root.txt /data/pg /data/pg/PG_VERSION "
        "/data/app /data/app/state")
EXPECT = ["/data/root.txt 0:0", "/data/pg 999:999",
          "/data/pg/PG_VERSION 999:999", "/data/app 1000:1000",
          "/data/app/state 1000:1000"]
WRITE = "id -u; touch /data/pg/new-by-999 && echo write=ok"


def test_docker_userns_remap():
    with scenario("3-docker-userns-remap") as sc:
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        dk = Dockerd(sc, "remap", userns_remap=REMAP_USER)
        img = dk.import_rootfs(rootfs_tar(rootfs, sc.path("rootfs.tar")))
        base = subid_start(REMAP_USER)

        vol_a = sc.mkdir("vol-a")
        p = dk.run(img, CREATE, volumes=[f"{vol_a}:/data"],
                   extra=["--userns=host"], check=True)
        assert owner(os.path.join(vol_a, "pg")) == (999, 999)
        assert owner(os.path.join(vol_a, "app")) == (1000, 1000)
        # The second copy is mounted with an idmapped mount whose map gives
        # the container disk uid 0: shiftctl makes it only where a setuid
        # file planted through it cannot run natively (docs/SECURITY.md),
        # here a directory only root can enter, as the man page advises.
        vol_b = os.path.join(sc.mkdir("root-only", mode=0o700), "vol-b")
        shutil.copytree(vol_a, vol_b, symlinks=True)
        shutil.copystat(vol_a, vol_b)
        for d, dirs, files in os.walk(vol_a):
            for n in [""] + dirs + files:
                s = os.path.join(d, n)
                t = os.path.join(vol_b, os.path.relpath(s, vol_a))
                os.lchown(t, *owner(s))

        # Baseline: the remapped container sees nobody's files.
        p = dk.run(img, LOOK, volumes=[f"{vol_a}:/data"], check=False)
        assert "/data/pg 65534:65534" in p.stdout, p.stdout + p.stderr
        p = dk.run(img, WRITE, user=999, volumes=[f"{vol_a}:/data"])
        assert_denied(p, "remapped container on a rootful volume")
        sc.rec.add("plain bind mount", p.stdout.split()[0], "999:999",
                   "Permission denied")

        need_verb("shift")
        shiftctl("shift", f"--userns-remap={REMAP_USER}",
                 f"--journal={sc.path('shift.journal')}", vol_a)
        assert owner(os.path.join(vol_a, "pg")) == (base + 999, base + 999)
        assert owner(os.path.join(vol_a, "root.txt")) == (base, base)
        p = dk.run(img, LOOK, volumes=[f"{vol_a}:/data"], check=True)
        assert p.stdout.split("\n")[:5] == EXPECT, p.stdout
        p = dk.run(img, WRITE, user=999, volumes=[f"{vol_a}:/data"])
        assert "write=ok" in p.stdout, p.stdout + p.stderr
        new = os.path.join(vol_a, "pg/new-by-999")
        assert owner(new) == (base + 999, base + 999)
        sc.rec.add("after shiftctl shift --userns-remap", p.stdout.split()[0],
                   "%d:%d" % owner(new), "owners 0/999/1000 seen; write ok")

        need_verb("mount")
        for backend in ("idmap", "fuse"):
            mnt = sc.mkdir(f"mnt-{backend}")
            shift_mount(sc, f"--userns-remap={REMAP_USER}",
                        f"--backend={backend}", vol_b, mnt)
            p = dk.run(img, LOOK, volumes=[f"{mnt}:/data"], check=True)
            assert p.stdout.split("\n")[:5] == EXPECT, p.stdout
            p = dk.run(img, WRITE, user=999, volumes=[f"{mnt}:/data"])
            assert "write=ok" in p.stdout, p.stdout + p.stderr
            new = os.path.join(vol_b, "pg/new-by-999")
            assert owner(new) == (999, 999), \
                f"on disk the new file keeps the rootful owner: {owner(new)}"
            sc.rec.add(f"shiftctl mount --userns-remap --backend={backend}",
                       p.stdout.split()[0], "%d:%d" % owner(new),
                       "owners 0/999/1000 seen; write ok")
            shiftctl("umount", mnt)
            os.unlink(new)
