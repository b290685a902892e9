# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 6: POSIX ACLs (access and default) and a setuid-root binary
inside a rootful volume survive both routes, shift on disk and a shifted
mount (idmap and FUSE), as seen from inside a rootful podman container
with --uidmap: getfacl in the container shows the container's ids, the
ACL grants USER 1000 what it granted before, and the setuid binary is
still 4755 root:root."""
import os
import shutil

from e2e_util import (Podman, assert_denied, make_rootfs, need_verb, owner,
                      scenario, sh, shift_mount, shiftctl)

from test_podman_uidmap_pid import copy_tree

BASE = 200000
MAP = f"0:{BASE}:65536"
UIDMAP = ["--uidmap", MAP, "--gidmap", MAP]

LOOK = ("getfacl -n /data/secret.txt /data/shared 2>/dev/null | "
        "grep -v '^#' | grep .; "
        "stat -c 'tool %a %u:%g' /data/tool; "
        "cat /data/secret.txt && echo read=ok")
WRITE = ("id -u && touch /data/shared/new && echo write=ok && "
         "getfacl -n /data/shared/new 2>/dev/null | grep '^user:1000'")


def build_tree(vol):
    """The volume as a rootful container left it (disk ids = container
    ids): root's secret readable by uid 1000 through an ACL entry, a
    shared dir with a default ACL for 1000, a setuid-root tool."""
    with open(os.path.join(vol, "secret.txt"), "w") as f:
        f.write("s3cret\n")
    os.chmod(os.path.join(vol, "secret.txt"), 0o600)
    sh(["setfacl", "-m", "u:1000:rw", os.path.join(vol, "secret.txt")])
    os.mkdir(os.path.join(vol, "shared"), 0o755)
    sh(["setfacl", "-m", "u:1000:rwx,d:u:1000:rwx,g:999:rx",
        os.path.join(vol, "shared")])
    tool = os.path.join(vol, "tool")
    shutil.copy(shutil.which("busybox"), tool)
    os.chmod(tool, 0o4755)


def check_inside(sc, pm, rootfs, vol, route, disk):
    p = pm.run(rootfs, LOOK, user=1000, volumes=[f"{vol}:/data"],
               extra=UIDMAP, check=True)
    out = p.stdout
    assert "user:1000:rw-" in out, f"{route}: access ACL lost:\n{out}"
    assert "default:user:1000:rwx" in out, f"{route}: default ACL:\n{out}"
    assert "group:999:r-x" in out, f"{route}: group entry:\n{out}"
    assert "tool 4755 0:0" in out, f"{route}: setuid binary:\n{out}"
    assert "read=ok" in out, f"{route}: the ACL no longer grants:\n{out}"
    p = pm.run(rootfs, WRITE, user=1000, volumes=[f"{vol}:/data"],
               extra=UIDMAP)
    assert "write=ok" in p.stdout, p.stdout + p.stderr
    assert "user:1000:rwx" in p.stdout, \
        f"{route}: default ACL not inherited:\n{p.stdout}"
    sc.rec.add(route, p.stdout.split()[0], "%d:%d" % owner(os.path.join(disk, "shared",
                                                          "new")),
               "ACLs and setuid intact; write ok")


def test_acl_and_setuid_survive():
    with scenario("6-acl-setuid") as sc:
        rootfs = make_rootfs(sc.path("rootfs"))
        pm = Podman(sc)
        vol_a = sc.mkdir("vol-a")
        build_tree(vol_a)
        # The second copy is mounted with an idmapped mount whose map gives
        # the container disk uid 0: shiftctl makes it only where a setuid
        # file planted through it cannot run natively (docs/SECURITY.md),
        # here a directory only root can enter, as the man page advises.
        vol_b = os.path.join(sc.mkdir("root-only", mode=0o700), "vol-b")
        copy_tree(vol_a, vol_b)
        sh(["sh", "-c", f"cd {vol_a} && getfacl -Rn . | "
            f"(cd {vol_b} && setfacl --restore=-)"])
        os.chmod(os.path.join(vol_b, "tool"), 0o4755)

        p = pm.run(rootfs, LOOK, user=1000, volumes=[f"{vol_a}:/data"],
                   extra=UIDMAP)
        assert_denied(p, "ACL entry for unshifted uid 1000")
        uid_in = pm.run(rootfs, "id -u", user=1000, extra=UIDMAP,
                        check=True).stdout.strip()
        sc.rec.add("plain bind mount", uid_in, "0:0", "Permission denied")

        need_verb("shift")
        shiftctl("shift", f"--map={MAP}",
                 f"--journal={sc.path('shift.journal')}", vol_a)
        acl = sh(["getfacl", "-n", os.path.join(vol_a, "secret.txt")]).stdout
        assert f"user:{BASE + 1000}:rw-" in acl, acl
        st = os.stat(os.path.join(vol_a, "tool"))
        assert (st.st_mode & 0o7777, st.st_uid) == (0o4755, BASE), \
            "setuid bit or owner lost on disk"
        check_inside(sc, pm, rootfs, vol_a, "after shiftctl shift --map",
                     vol_a)

        need_verb("mount")
        for backend in ("idmap", "fuse"):
            mnt = sc.mkdir(f"mnt-{backend}")
            shift_mount(sc, f"--map={MAP}", f"--backend={backend}", vol_b,
                        mnt)
            check_inside(sc, pm, rootfs, mnt,
                         f"shiftctl mount --map --backend={backend}", vol_b)
            new = os.path.join(vol_b, "shared/new")
            acl = sh(["getfacl", "-n", new]).stdout
            assert "user:1000:rwx" in acl, \
                f"on disk the inherited ACL keeps the container's id:\n{acl}"
            shiftctl("umount", mnt)
            os.unlink(new)
