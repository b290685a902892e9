# SPDX-License-Identifier: GPL-2.0-or-later
"""The volume plugin with rootful docker under --userns-remap: `docker
volume create -d shiftfs -o source=DIR -o user=1000` gives a container
running as 1000 the host user's directory as its own; a second container
shares the one mount, which goes when the last container stops; `volume
rm` leaves the data. The plugin killed with SIGKILL while a container
runs and restarted reattaches (no second mount) and unmounts cleanly.
Bad options, a missing source and a missing required option are refused
through `docker volume create` with the option named."""
import json
import os
import uuid

from e2e_util import (REMAP_USER, ROOTLESS_USER, Dockerd, gid_of, make_rootfs,
                      owner, parse_probe, rootfs_tar, scenario, subid_start,
                      uid_of)
from plugin_util import PROBE, Plugin, shifted_mounts, unmount_volumes

PRIVATE = "/run/shiftfs/private"
SOCKET = "/run/docker/plugins/shiftfs.sock"


def test_plugin_rootful_docker_userns_remap():
    with scenario("plugin-docker-userns-remap") as sc:
        tag = "e2e" + uuid.uuid4().hex[:6]
        sc.on_cleanup(unmount_volumes, PRIVATE, tag)
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        dk = Dockerd(sc, "plugin", userns_remap=REMAP_USER)
        img = dk.import_rootfs(rootfs_tar(rootfs, sc.path("rootfs.tar")))
        uid, gid = uid_of(ROOTLESS_USER), gid_of(ROOTLESS_USER)
        data = sc.mkdir("data", uid, gid, 0o755)
        with open(os.path.join(data, "kept"), "w") as f:
            f.write("the user's data\n")
        pl = Plugin(sc, SOCKET, sc.path("plugin-state"),
                    args=[f"--userns-remap={REMAP_USER}", "--engine=docker"],
                    env={"DOCKER_HOST": dk.env["DOCKER_HOST"]})
        assert oct(os.stat(SOCKET).st_mode & 0o777) == "0o600"

        # Refusals name the option; nothing is created.
        for opts, want in (
                (["-o", "bogus=1", "-o", f"source={data}"],
                 "unknown option bogus"),
                (["-o", "source=/nonexistent/dir", "-o", "user=1000"],
                 "source=/nonexistent/dir: No such file or directory"),
                (["-o", "user=1000"], "option source=DIR is required"),
                (["-o", f"source={data}", "-o", "backend=magic"],
                 "option backend=magic: takes auto, idmap or fuse")):
            p = dk.cmd("volume", "create", "-d", "shiftfs", *opts,
                       f"{tag}-bad", check=False)
            assert p.returncode != 0, p.stdout
            assert want in p.stderr, p.stderr
            assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert f"{tag}-bad" not in dk.cmd("volume", "ls", "-q").stdout
        sc.rec.add("docker volume create -o bogus=1", "-", "-",
                   "refused: unknown option bogus (nothing created)")

        vol = f"{tag}-vol"
        mnt = os.path.join(PRIVATE, "volume-" + vol)
        dk.cmd("volume", "create", "-d", "shiftfs", "-o", f"source={data}",
               "-o", "user=1000", vol)
        assert shifted_mounts(mnt) == [], "mounted before any container"

        # The first container keeps it mounted; a second one shares it.
        dk.cmd("run", "-d", "--name", f"{tag}-c1", "--network=none",
               "--user", "1000", "-v", f"{vol}:/data", img, "sleep", "300")
        assert shifted_mounts(mnt) == [mnt]
        p = dk.run(img, PROBE, user=1000, volumes=[f"{vol}:/data"],
                   extra=["-e", "NAME=from-c2"], check=True)
        r = parse_probe(p.stdout)
        assert r["uid"] == "1000" and r["data_owner"] == "1000:1000", \
            p.stdout
        assert r["write"] == "ok", p.stdout
        assert owner(os.path.join(data, "from-c2")) == (uid, gid)
        assert shifted_mounts(mnt) == [mnt], "one mount for both"
        st = json.loads(dk.cmd("volume", "inspect", vol).stdout)[0]["Status"]
        assert st["mounted"] and st["refs"] == 1, st
        sc.rec.add(f"docker volume create -d shiftfs -o user=1000 "
                   f"(userns-remap {REMAP_USER}, base "
                   f"{subid_start(REMAP_USER)}); run --user 1000",
                   r["uid"], "%d:%d" % owner(os.path.join(data, "from-c2")),
                   f"write ok; one mount shared ({st['backend']}, uid map "
                   f"{st['uid_map']})")

        # SIGKILL the plugin while c1 runs; restarted, it reattaches.
        pl.kill()
        pl.restart()
        p = dk.run(img, PROBE, user=1000, volumes=[f"{vol}:/data"],
                   extra=["-e", "NAME=after-restart"], check=True)
        assert parse_probe(p.stdout)["write"] == "ok", p.stdout
        assert shifted_mounts(mnt) == [mnt], "mounted twice after restart"
        dk.cmd("rm", "-f", f"{tag}-c1")
        assert shifted_mounts(mnt) == [], "still mounted after the last " \
            "container stopped"
        sc.rec.add("plugin SIGKILLed and restarted while a container ran",
                   "1000", "%d:%d" % owner(os.path.join(data,
                                                        "after-restart")),
                   "reattached: one mount; unmounted after the last stop")

        dk.cmd("volume", "rm", vol)
        assert sorted(os.listdir(data)) == ["after-restart", "from-c2",
                                            "kept"]
        assert not os.path.exists(mnt)
        sc.rec.add("docker volume rm", "-", "%d:%d" % owner(data),
                   "data left as it was")

        # image=NAME: the map is for the image's USER (a name, resolved
        # in the image's /etc/passwd), and `docker run` needs no --user.
        dk.cmd("import", "--change", "USER user",
               sc.path("rootfs.tar"), "e2e-busybox:user")
        ivol = f"{tag}-img"
        dk.cmd("volume", "create", "-d", "shiftfs", "-o", f"source={data}",
               "-o", "image=e2e-busybox:user", ivol)
        p = dk.run("e2e-busybox:user", PROBE, volumes=[f"{ivol}:/data"],
                   extra=["-e", "NAME=from-image-user"], check=True)
        r = parse_probe(p.stdout)
        assert r["uid"] == "1000" and r["data_owner"] == "1000:1000", \
            p.stdout
        assert r["write"] == "ok", p.stdout
        assert owner(os.path.join(data, "from-image-user")) == (uid, gid)
        p = dk.cmd("volume", "create", "-d", "shiftfs", "-o",
                   f"source={data}", "-o", "image=no-such-image", f"{tag}-ni",
                   check=False)
        assert "docker image inspect no-such-image failed" in p.stderr, \
            p.stderr
        dk.cmd("volume", "rm", ivol)
        sc.rec.add("volume create -o image=IMG (USER user); run IMG",
                   r["uid"], "%d:%d" % owner(os.path.join(
                       data, "from-image-user")), "write ok")
