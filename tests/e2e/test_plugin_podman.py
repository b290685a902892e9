# SPDX-License-Identifier: GPL-2.0-or-later
"""The volume plugin with podman, rootful (no user namespace: the
plugin's default map is ids as they are) and rootless (the plugin runs
as the user: its default map is the user's rootless layout, the socket
and mount points under the user's XDG_RUNTIME_DIR). podman finds the
plugin through [engine.volume_plugins] in containers.conf. `podman
volume create --driver shiftfs -o source=DIR -o user=1000` gives a
container running as 1000 the host user's directory as its own; a second
container shares the mount; it goes with the last container; `volume rm`
leaves the data; a source owned by someone else is refused.

The containers run from an imported image, not --rootfs: podman 4.3
never unmounts a named volume of a --rootfs container (its storage is
"already unmounted", and the volumes' unmount comes after that check), so
a plugin's Unmount would never come."""
import json
import os
import uuid

from e2e_util import (ROOTFUL_ULIMITS, ROOTLESS_USER, Podman, gid_of,
                      make_rootfs, owner,
                      parse_probe, rootfs_tar, scenario, subid_start, uid_of)
from plugin_util import PROBE, Plugin, shifted_mounts, unmount_volumes


def podman_with_plugin(sc, pm, socket):
    """pm reads a containers.conf naming the plugin's socket."""
    conf = sc.path(f"containers-{uuid.uuid4().hex[:4]}.conf")
    with open(conf, "w") as f:
        f.write('[engine.volume_plugins]\nshiftfs = "%s"\n' % socket)
    os.chmod(conf, 0o644)
    pm.env["CONTAINERS_CONF"] = conf


def scenario_body(sc, pm, pl, data, mnt, vol, expect_owner, rootfs):
    tag = vol.split("-")[0]
    tar = rootfs_tar(rootfs, sc.path(f"rootfs-{tag}.tar"))
    pm.cmd("import", tar, "e2e-busybox:latest")
    img = "localhost/e2e-busybox:latest"
    extra = ROOTFUL_ULIMITS if pm.user is None else []
    p = pm.cmd("volume", "create", "--driver", "shiftfs", "-o", "bogus=1",
               "-o", f"source={data}", f"{tag}-bad", check=False)
    assert p.returncode != 0 and "unknown option bogus" in p.stderr, \
        p.stderr
    pm.cmd("volume", "create", "--driver", "shiftfs", "-o",
           f"source={data}", "-o", "user=1000", vol)
    assert shifted_mounts(mnt) == []
    pm.cmd("run", "-d", "--name", f"{tag}-c1", "--network=none", *extra,
           "--user", "1000", "-v", f"{vol}:/data", img, "sleep", "300")
    assert shifted_mounts(mnt) == [mnt]
    p = pm.cmd("run", "--rm", "--network=none", *extra, "--user", "1000",
               "-v", f"{vol}:/data", "-e", "NAME=from-c2", img, "sh", "-c",
               PROBE)
    r = parse_probe(p.stdout)
    assert r["uid"] == "1000" and r["data_owner"] == "1000:1000", p.stdout
    assert r["write"] == "ok", p.stdout
    new = os.path.join(data, "from-c2")
    assert owner(new) == expect_owner, owner(new)
    assert shifted_mounts(mnt) == [mnt], "one mount for both containers"
    with open(os.path.join(pl.state, "volumes.json")) as f:
        m = json.load(f)["volumes"][vol]["mount"]
    how = f"{m['backend']}, uid map {m['uid_map_spec']}"
    pm.cmd("rm", "-f", "-t", "0", f"{tag}-c1")
    assert shifted_mounts(mnt) == [], "mounted after the last container"
    pm.cmd("volume", "rm", vol)
    assert sorted(os.listdir(data)) == ["from-c2", "kept"]
    return r["uid"], "%d:%d" % owner(new), how


def make_data(sc, uid, gid):
    data = sc.mkdir("data", uid, gid, 0o755)
    with open(os.path.join(data, "kept"), "w") as f:
        f.write("the user's data\n")
    os.chown(os.path.join(data, "kept"), uid, gid)
    return data


def test_plugin_rootful_podman():
    with scenario("plugin-podman-rootful") as sc:
        tag = "e2e" + uuid.uuid4().hex[:6]
        private = "/run/shiftfs/private"
        sc.on_cleanup(unmount_volumes, private, tag)
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        uid, gid = uid_of(ROOTLESS_USER), gid_of(ROOTLESS_USER)
        data = make_data(sc, uid, gid)
        socket = sc.path("plugin.sock")
        pl = Plugin(sc, socket, sc.path("plugin-state"))
        pm = Podman(sc)
        podman_with_plugin(sc, pm, socket)
        vol = f"{tag}-vol"
        inside, host, how = scenario_body(
            sc, pm, pl, data, os.path.join(private, "volume-" + vol), vol,
            (uid, gid), rootfs)
        sc.rec.add("podman volume create --driver shiftfs -o user=1000; "
                   "run --user 1000 (rootful, ids as they are)", inside,
                   host, f"write ok; one mount shared ({how}); data kept")


def test_plugin_rootless_podman():
    with scenario("plugin-podman-rootless") as sc:
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        data = make_data(sc, uid, gid)
        pm = Podman(sc, user=user)
        state = sc.mkdir("plugin-state", uid, gid, 0o700)
        socket = os.path.join(pm.run_dir, "shiftfs", "shiftfs.sock")
        pl = Plugin(sc, socket, state, user=user, env=pm.env)
        assert owner(socket) == (uid, gid)
        assert oct(os.stat(socket).st_mode & 0o777) == "0o600"
        podman_with_plugin(sc, pm, socket)
        tag = "e2e" + uuid.uuid4().hex[:6]

        # someone else's directory: refused, named
        other = sc.mkdir("other", 0, 0, 0o755)
        p = pm.cmd("volume", "create", "--driver", "shiftfs", "-o",
                   f"source={other}", "-o", "user=1000", f"{tag}-other",
                   check=False)
        assert p.returncode != 0, p.stdout
        assert f"source={other} is owned by uid 0, not by the plugin's " \
            f"user (uid {uid})" in p.stderr, p.stderr
        sc.rec.add("volume create -o source=(root's dir), rootless plugin",
                   "-", "0:0", "refused: owned by uid 0")

        vol = f"{tag}-vol"
        mnt = os.path.join(pm.run_dir, "shiftfs", "private", "volume-" + vol)
        inside, host, how = scenario_body(sc, pm, pl, data, mnt, vol,
                                          (uid, gid), rootfs)
        sc.rec.add(f"podman volume create --driver shiftfs -o user=1000; "
                   f"run --user 1000 (rootless, subuid base "
                   f"{subid_start(user)})", inside, host,
                   f"write ok; one mount shared ({how}); data kept")
