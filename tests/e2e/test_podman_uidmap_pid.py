# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 4: rootful podman with --uidmap/--gidmap. The map comes from
the running container itself (`--pid=` its init process): a volume
written by a rootful container (owners 0, 999, 1000) is migrated with
`shiftctl shift --pid=PID` and shown with `shiftctl mount --pid=PID`;
containers with the same --uidmap see the original owners in both."""
import os
import shutil

from e2e_util import (Podman, assert_denied, make_rootfs, need_verb, owner,
                      scenario, shift_mount, shiftctl)

from test_docker_userns_remap import CREATE, EXPECT, LOOK, WRITE

BASE = 200000
UIDMAP = ["--uidmap", f"0:{BASE}:65536", "--gidmap", f"0:{BASE}:65536"]


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    for d, dirs, files in os.walk(src):
        for n in [""] + dirs + files:
            s = os.path.join(d, n)
            os.lchown(os.path.join(dst, os.path.relpath(s, src)), *owner(s))


def test_podman_uidmap_pid():
    with scenario("4-podman-uidmap-pid") as sc:
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        pm = Podman(sc)
        vol_a = sc.mkdir("vol-a")
        pm.run(rootfs, CREATE, volumes=[f"{vol_a}:/data"], check=True)
        assert owner(os.path.join(vol_a, "pg")) == (999, 999)
        # Mounted below with an idmapped mount that gives the container disk
        # uid 0: only where a planted setuid file cannot run natively
        # (docs/SECURITY.md), here under a directory only root can enter.
        vol_b = os.path.join(sc.mkdir("root-only", mode=0o700), "vol-b")
        copy_tree(vol_a, vol_b)

        # The running container whose map we take.
        cid = pm.cmd("run", "-d", "--network=none", "--ulimit",
                     "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                     *UIDMAP, "--rootfs", rootfs, "sleep", "600").stdout
        cid = cid.strip()
        pid = pm.cmd("inspect", "-f", "{{.State.Pid}}", cid).stdout.strip()
        with open(f"/proc/{pid}/uid_map") as f:
            assert f.read().split() == ["0", str(BASE), "65536"]

        p = pm.run(rootfs, LOOK, volumes=[f"{vol_a}:/data"], extra=UIDMAP)
        assert "/data/pg 65534:65534" in p.stdout, p.stdout + p.stderr
        p = pm.run(rootfs, WRITE, user=999, volumes=[f"{vol_a}:/data"],
                   extra=UIDMAP)
        assert_denied(p, "--uidmap container on a rootful volume")
        sc.rec.add("plain bind mount", p.stdout.split()[0], "999:999",
                   "Permission denied")

        need_verb("shift")
        shiftctl("shift", f"--pid={pid}",
                 f"--journal={sc.path('shift.journal')}", vol_a)
        assert owner(os.path.join(vol_a, "app")) == (BASE + 1000, BASE + 1000)
        p = pm.run(rootfs, LOOK, volumes=[f"{vol_a}:/data"], extra=UIDMAP,
                   check=True)
        assert p.stdout.split("\n")[:5] == EXPECT, p.stdout
        p = pm.run(rootfs, WRITE, user=999, volumes=[f"{vol_a}:/data"],
                   extra=UIDMAP)
        assert "write=ok" in p.stdout, p.stdout + p.stderr
        new = os.path.join(vol_a, "pg/new-by-999")
        assert owner(new) == (BASE + 999, BASE + 999)
        sc.rec.add("after shiftctl shift --pid", p.stdout.split()[0], "%d:%d" % owner(new),
                   "owners 0/999/1000 seen; write ok")

        need_verb("mount")
        for backend in ("idmap", "fuse"):
            mnt = sc.mkdir(f"mnt-{backend}")
            shift_mount(sc, f"--pid={pid}", f"--backend={backend}", vol_b,
                        mnt)
            p = pm.run(rootfs, LOOK, volumes=[f"{mnt}:/data"], extra=UIDMAP,
                       check=True)
            assert p.stdout.split("\n")[:5] == EXPECT, p.stdout
            p = pm.run(rootfs, WRITE, user=999, volumes=[f"{mnt}:/data"],
                       extra=UIDMAP)
            assert "write=ok" in p.stdout, p.stdout + p.stderr
            new = os.path.join(vol_b, "pg/new-by-999")
            assert owner(new) == (999, 999), owner(new)
            sc.rec.add(f"shiftctl mount --pid --backend={backend}", p.stdout.split()[0],
                       "%d:%d" % owner(new),
                       "owners 0/999/1000 seen; write ok")
            shiftctl("umount", mnt)
            os.unlink(new)
