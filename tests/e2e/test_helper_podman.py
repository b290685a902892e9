# SPDX-License-Identifier: GPL-2.0-or-later
"""Rootless podman through shiftfs-idmap-helper: the rootless user mounts
its own volume with `shiftctl mount --rootless --user 1000` and no
privilege of its own, gets a kernel idmapped mount (the line says so), and
its container's uid 1000 writes through it; the file lands on the host
owned by the user, as the map says. umount takes it down."""
import os
import shutil
import subprocess
import tempfile

from e2e_util import (PROBE, ROOTLESS_USER, Podman, make_rootfs, need_verb,
                      owner, parse_probe, scenario, gid_of, shift_mount,
                      shiftctl, subid_start, uid_of, BUILD_DIR, SHIFTCTL)

BUILT = os.path.join(BUILD_DIR or os.path.dirname(os.path.dirname(SHIFTCTL)),
                     "helper", "shiftfs-idmap-helper")


def install_helper(sc):
    """The build's helper, setcap'd in a root-owned directory."""
    assert os.path.exists(BUILT), BUILT
    assert shutil.which("setcap"), "setcap (libcap2-bin) missing"
    d = tempfile.mkdtemp(prefix="idh-e2e-bin.")
    os.chmod(d, 0o755)
    sc.on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    h = os.path.join(d, "shiftfs-idmap-helper")
    shutil.copy(BUILT, h)
    subprocess.run(["setcap", "cap_sys_admin,cap_setuid,cap_setgid+ep", h],
                   check=True)
    return h


def test_rootless_podman_through_the_helper():
    with scenario("helper-podman") as sc:
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        first = subid_start(user)
        need_verb("mount")
        rootfs = make_rootfs(sc.path("rootfs"))
        pm = Podman(sc, user=user)
        env = dict(pm.env, SHIFTCTL_IDMAP_HELPER=install_helper(sc))

        vol = sc.mkdir("vol", uid, gid, 0o755)
        with open(os.path.join(vol, "hello"), "w") as f:
            f.write("hello\n")
        os.chown(os.path.join(vol, "hello"), uid, gid)
        mnt = sc.mkdir("mnt-helper", uid, gid, 0o755)
        p = shift_mount(sc, "--rootless", "--user", "1000", vol, mnt,
                        user=user, env=env)
        assert p.stdout.startswith(
            "shiftctl: mounted %s at %s with idmap (via shiftfs-idmap-helper:"
            " kernel idmapped mount, zero overhead); uid map %d:%d:1, gid map"
            " %d:%d:1" % (vol, mnt, uid, first + 999, gid,
                          subid_start(user, "/etc/subgid") + 999)), p.stdout

        p = pm.run(rootfs, PROBE + "; cat /data/hello", user=1000,
                   volumes=[f"{mnt}:/data"], check=True)
        r = parse_probe(p.stdout)
        assert r["uid"] == "1000", p.stdout
        assert r["data_owner"] == "1000:1000", p.stdout
        assert r["write"] == "ok", p.stdout
        assert "hello" in p.stdout
        new = os.path.join(vol, "written-by-container")
        assert owner(new) == (uid, gid), \
            f"new file should belong to the host user, is {owner(new)}"
        sc.rec.add("shiftctl mount via shiftfs-idmap-helper", r["uid"],
                   "%d:%d" % owner(new), "write ok")

        s = shiftctl("status", mnt, user=user, env=env)
        assert "backend idmap (via shiftfs-idmap-helper)" in s.stdout
        shiftctl("umount", mnt, user=user, env=env)
        with open("/proc/self/mountinfo", errors="surrogateescape") as f:
            assert not any(line.split()[4] == mnt for line in f)
