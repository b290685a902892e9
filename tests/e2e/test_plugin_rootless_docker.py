# SPDX-License-Identifier: GPL-2.0-or-later
"""The volume plugin with rootless docker (dockerd-rootless.sh through
rootlesskit, as the e2e user): the plugin runs as the user, `shiftctl
plugin install --user` writes the spec file rootless docker reads
(~/.local/lib/docker/plugins/shiftfs.spec: its own /run is private to
rootlesskit) and says what docker 20.10, which reads specs only from
/etc/docker/plugins, needs: that command is run as printed. The mounts the plugin makes under the user's
XDG_RUNTIME_DIR reach rootlesskit's mount namespace. A container running
as 1000 writes into the user's directory as the user; a second container
shares the mount; the plugin SIGKILLed and restarted while a container
runs reattaches; the mount goes with the last container; `volume rm`
keeps the data; another user's directory is refused. Then docker-compose
with `driver: shiftfs` and `driver_opts`, up and down twice, and
`plugin uninstall --user` removing exactly what install wrote."""
import json
import os
import time
import uuid

from e2e_util import (ROOTLESS_USER, Dockerd, gid_of, log, make_rootfs,
                      owner, parse_probe, rootfs_tar, scenario, sh,
                      shiftctl, subid_start, uid_of)
from plugin_util import PROBE, Plugin, shifted_mounts

COMPOSE = """services:
  app:
    image: {img}
    user: "1000:1000"
    network_mode: none
    volumes:
      # an empty directory: docker would copy the image's /data into it
      # and chown it to the image's owner, which the map does not show
      - type: volume
        source: data
        target: /data
        volume:
          nocopy: true
    command: sh -c 'echo up >>/data/compose.log; stat -c "%u:%g" /data; sleep 300'
volumes:
  data:
    driver: shiftfs
    driver_opts:
      source: "{data}"
      user: "1000"
"""


def test_plugin_rootless_docker_and_compose():
    with scenario("plugin-docker-rootless") as sc:
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        home = sc.mkdir("home", uid, gid, 0o700)
        cfg = os.path.join(home, ".config")
        share = os.path.join(home, ".local", "share")
        env_x = {"HOME": home}
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        dk = Dockerd(sc, "rootless", rootless_user=user, extra_env=env_x)
        img = dk.import_rootfs(rootfs_tar(rootfs, sc.path("rootfs.tar")))
        env = dict(dk.env)

        # install --user: the spec file where rootless docker looks
        p = shiftctl("plugin", "install", "--user", user=user, env=env)
        xdg = env["XDG_RUNTIME_DIR"]
        sock = os.path.join(xdg, "shiftfs", "shiftfs.sock")
        spec = os.path.join(home, ".local/lib/docker/plugins/shiftfs.spec")
        assert f"wrote {spec} (rootless docker's plugin spec)" in p.stdout, \
            p.stdout
        with open(spec) as f:
            assert f.read() == f"unix://{sock}\n"
        written = [ln.split()[2] for ln in p.stdout.splitlines()
                   if " wrote " in ln]
        assert len(written) == 4, p.stdout
        assert os.path.join(cfg, "systemd/user/shiftfs-plugin.socket") in \
            written
        note = [ln for ln in p.stdout.splitlines() if "before 23.0" in ln]
        assert len(note) == 1, p.stdout
        etc_spec = "/etc/docker/plugins/shiftfs.spec"
        assert not os.path.exists(etc_spec), f"{etc_spec} left by someone"
        if not os.path.isdir(os.path.dirname(etc_spec)):
            sc.on_cleanup(os.rmdir, os.path.dirname(etc_spec))
        sc.on_cleanup(os.unlink, etc_spec)
        sh(["bash", "-c", note[0].split("there, as root: ", 1)[1]])

        pl = Plugin(sc, sock, os.path.join(share, "shiftfs", "plugin"),
                    user=user, env=env)
        tag = "e2e" + uuid.uuid4().hex[:6]
        other = sc.mkdir("other", 0, 0, 0o755)
        p = dk.cmd("volume", "create", "-d", "shiftfs", "-o",
                   f"source={other}", "-o", "user=1000", f"{tag}-x",
                   check=False)
        assert p.returncode != 0
        assert f"source={other} is owned by uid 0, not by the plugin's " \
            f"user (uid {uid})" in p.stderr, p.stderr

        data = sc.mkdir("data", uid, gid, 0o755)
        with open(os.path.join(data, "kept"), "w") as f:
            f.write("the user's data\n")
        os.chown(os.path.join(data, "kept"), uid, gid)
        vol = f"{tag}-vol"
        mnt = os.path.join(xdg, "shiftfs", "private", "volume-" + vol)
        dk.cmd("volume", "create", "-d", "shiftfs", "-o", f"source={data}",
               "-o", "user=1000", vol)
        dk.cmd("run", "-d", "--name", f"{tag}-c1", "--network=none",
               "--user", "1000", "-v", f"{vol}:/data", img, "sleep", "300")
        assert shifted_mounts(mnt) == [mnt]
        p = dk.run(img, PROBE, user=1000, volumes=[f"{vol}:/data"],
                   extra=["-e", "NAME=from-c2"], check=True)
        r = parse_probe(p.stdout)
        assert r["uid"] == "1000" and r["data_owner"] == "1000:1000", \
            p.stdout
        assert r["write"] == "ok", p.stdout
        new = os.path.join(data, "from-c2")
        assert owner(new) == (uid, gid)
        assert shifted_mounts(mnt) == [mnt]
        st = json.loads(dk.cmd("volume", "inspect", vol).stdout)[0]["Status"]
        sc.rec.add(f"rootless docker: volume create -d shiftfs -o user=1000"
                   f"; run --user 1000 (subuid base {subid_start(user)})",
                   r["uid"], "%d:%d" % owner(new),
                   f"write ok; one mount shared ({st['backend']}, uid map "
                   f"{st['uid_map']})")

        pl.kill()
        pl.restart()
        p = dk.run(img, PROBE, user=1000, volumes=[f"{vol}:/data"],
                   extra=["-e", "NAME=after-restart"], check=True)
        assert parse_probe(p.stdout)["write"] == "ok", p.stdout
        assert shifted_mounts(mnt) == [mnt], "mounted twice after restart"
        dk.cmd("rm", "-f", f"{tag}-c1")
        assert shifted_mounts(mnt) == []
        dk.cmd("volume", "rm", vol)
        assert sorted(os.listdir(data)) == ["after-restart", "from-c2", "kept"]
        sc.rec.add("rootless docker: plugin SIGKILLed + restarted, last "
                   "container stopped, volume rm", "1000",
                   "%d:%d" % owner(os.path.join(data, "after-restart")),
                   "one mount; unmounted; data kept")

        # docker-compose: driver shiftfs with driver_opts, up/down twice
        proj = sc.mkdir("proj", uid, gid, 0o755)
        cdata = sc.mkdir("compose-data", uid, gid, 0o755)
        with open(os.path.join(proj, "compose.yaml"), "w") as f:
            f.write(COMPOSE.format(img=img, data=cdata))
        compose = ["docker-compose", "-p", tag, "-f",
                   os.path.join(proj, "compose.yaml")]
        cvol = f"{tag}_data"
        cmnt = os.path.join(xdg, "shiftfs", "private", "volume-" + cvol)
        done = []  # down -v ran: cleanup need not (docker would retry
        #            the stopped plugin for half a minute)
        sc.on_cleanup(lambda: done or sh(compose + ["down", "-v", "-t", "0"],
                                         user=user, env=env, check=False))
        for round_ in (1, 2):
            sh(compose + ["up", "-d"], user=user, env=env)
            for _ in range(100):
                if os.path.exists(os.path.join(cdata, "compose.log")) and \
                        open(os.path.join(cdata, "compose.log")).read() \
                        .count("up") == round_:
                    break
                time.sleep(0.1)
            logs = sh(compose + ["logs", "app"], user=user, env=env).stdout
            log(logs)
            assert "1000:1000" in logs, logs
            assert shifted_mounts(cmnt) == [cmnt]
            sh(compose + ["down", "-t", "0"], user=user, env=env)
            assert shifted_mounts(cmnt) == [], f"round {round_}: mounted " \
                "after compose down"
        with open(os.path.join(cdata, "compose.log")) as f:
            assert f.read() == "up\nup\n"
        assert owner(os.path.join(cdata, "compose.log")) == (uid, gid)
        sh(compose + ["down", "-v", "-t", "0"], user=user, env=env)
        done.append(True)
        assert os.path.exists(os.path.join(cdata, "compose.log"))
        sc.rec.add("docker-compose driver: shiftfs, driver_opts "
                   "source/user=1000: up/down twice, down -v", "1000",
                   "%d:%d" % owner(os.path.join(cdata, "compose.log")),
                   "written both times; unmounted at down; data kept")
        sc.rec.engine("docker-compose", ["docker-compose", "version"])

        pl.stop()
        p = shiftctl("plugin", "uninstall", "--user", user=user, env=env)
        removed = [ln.split()[2] for ln in p.stdout.splitlines()
                   if " removed " in ln]
        assert sorted(removed) == sorted(written), p.stdout
        assert not any(os.path.exists(w) for w in written)
