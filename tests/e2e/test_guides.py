# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a user guide (docs/guide-*.md, named by $SHIFT_E2E_GUIDE) as a test,
so the guides cannot rot.

The guide conventions (also stated at the end of each guide):
- Every fenced block whose info string is exactly `sh` is executed, in
  order, with bash -euo pipefail. Other blocks (yaml, console, text) are
  not run; a yaml file the guide needs is written by an `sh` block.
- The first line of a block says who runs it: `# as root` or `# as you`
  (the unprivileged user who runs the rootless engine). A block whose
  first line is `# settings` is not run by itself: it is put in front of
  every other block. Settings are written `: "${NAME:=default}"`, so the
  test can substitute its own values through the environment.
- `(expect: TEXT)` on the first line: the block must succeed and print
  TEXT. `(expect failure: TEXT)`: it must fail and print TEXT.

What the test substitutes: `you` is the test user shiftfs-e2e with a
private HOME and XDG_RUNTIME_DIR; the engines are private instances
(rootless docker through rootlesskit, podman with private storage, see
e2e_util.py) reached through DOCKER_HOST / CONTAINERS_CONF; IMAGE is the
busybox rootfs imported as an image; the data directories are in the
scenario's tmp dir, prepared as the guide's "Before you start" says. The
machine has no container networking: the daemons run with --bridge=none,
podman with netns "none", and the compose project gets a
compose.override.yaml with network_mode: none.
"""
import os
import re
import subprocess

from e2e_util import (ROOTLESS_USER, SHIFTCTL, SHIFTFS, SYS_PATH, Dockerd,
                      stop_pid, gid_of, log, make_rootfs, rootfs_tar, scenario,
                      sh, shiftctl, uid_of, verb_available)

import pytest

GUIDE = os.environ.get("SHIFT_E2E_GUIDE", "")
FIRST = re.compile(r"^#\s*(settings|as root|as you)\s*(?:\((expect(?: "
                   r"failure)?): (.*)\))?\s*$")


def parse_guide(path):
    """[(who, expect, text, body, line)] of the executed blocks."""
    blocks, cur, start, info = [], None, 0, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if cur is None:
                m = re.match(r"^```(\S*)\s*$", line)
                if m:
                    cur, start, info = [], n, m.group(1)
            elif line.startswith("```"):
                if info == "sh":
                    m = FIRST.match(cur[0].rstrip("\n")) if cur else None
                    if not m:
                        pytest.fail(f"{path}:{start}: an sh block must "
                                    "start with '# settings', '# as root' "
                                    "or '# as you'")
                    blocks.append((m.group(1), m.group(2), m.group(3),
                                   "".join(cur), start))
                cur = None
            else:
                cur.append(line)
    if cur is not None:
        pytest.fail(f"{path}:{start}: unterminated code block")
    return blocks


def bin_dir(sc):
    """A PATH directory with shiftctl and shiftfs of this build, and the
    docker client that matches Debian's dockerd first."""
    d = sc.mkdir("bin")
    for name, target in (("shiftctl", SHIFTCTL), ("shiftfs", SHIFTFS),
                         ("docker", "/usr/bin/docker")):
        os.symlink(os.path.abspath(target) if os.path.exists(target)
                   else target, os.path.join(d, name))
    return d


def podman_confs(sc, tag, user=None):
    """containers.conf and storage.conf for this machine's quirks: runc
    (crun refuses the hybrid cgroup layout), cgroupfs, no network, and
    rootful ulimits root may not raise."""
    base = sc.mkdir(f"pc-{tag}")
    conf = os.path.join(base, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\nnetns = "none"\n'
                'default_ulimits = ["nofile=1024:1024", '
                '"nproc=1024:1024"]\n'
                '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
                'events_logger = "file"\n')
    storage = os.path.join(base, "storage.conf")
    st = sc.mkdir(f"ps-{tag}")
    if user:
        os.chown(st, uid_of(user), gid_of(user))
    with open(storage, "w") as f:
        f.write(f'[storage]\ndriver = "vfs"\nrunroot = "{st}/rr"\n'
                f'graphroot = "{st}/g"\n')
    return {"CONTAINERS_CONF": conf, "CONTAINERS_STORAGE_CONF": storage}


def stop_rootless_podman(xdg):
    """The guide's rootless podman pause process (it keeps the user
    namespace of every rootless container of this XDG_RUNTIME_DIR)."""
    pidf = os.path.join(xdg, "libpod/tmp/pause.pid")
    if os.path.exists(pidf):
        with open(pidf) as f:
            stop_pid(int(f.read().strip()))


def run_block(sc, who, body, settings, env_root, env_you, line):
    script = "set -euo pipefail\n" + settings + body
    if who == "as root":
        env = dict(env_root)
        argv = ["bash", "-c", script]
        cwd = sc.dir
    else:
        env = dict(env_you)
        argv = ["runuser", "-u", ROOTLESS_USER, "--", "env", "-i"] + \
            [f"{k}={v}" for k, v in env.items()] + ["bash", "-c", script]
        env = {"PATH": SYS_PATH}
        cwd = env_you["HOME"]
    p = subprocess.run(argv, capture_output=True, text=True, env=env,
                       cwd=cwd, timeout=300)
    log(f"block at line {line} ({who}) exit {p.returncode}\n"
        f"{p.stdout}{p.stderr}")
    return p


def prepare(sc, name, env, you):
    """The guide's 'Before you start' state, and its settings values."""
    uid, gid = uid_of(you), gid_of(you)
    if name == "bitcoin-rootless-docker":
        data = sc.mkdir("home/bitcoin-data", uid, gid, 0o755)
        os.makedirs(os.path.join(data, "blocks"))
        with open(os.path.join(data, "bitcoin.conf"), "w") as f:
            f.write("server=1\n")
        for p in (data + "/blocks", data + "/bitcoin.conf"):
            os.chown(p, uid, gid)
        env.update(DATA=data, MNT=sc.path("home/.local/share/shiftfs/"
                                          "bitcoin-data"))
    elif name == "postgres-rootful-to-rootless-podman":
        data = sc.mkdir("pgdata", 999, 999, 0o700)
        for n in ("PG_VERSION", "postgresql.conf"):
            with open(os.path.join(data, n), "w") as f:
                f.write("16\n")
            os.chown(os.path.join(data, n), 999, 999)
            os.chmod(os.path.join(data, n), 0o600)
        os.makedirs(os.path.join(data, "base"), 0o700)
        os.chown(os.path.join(data, "base"), 999, 999)
        env.update(PGDATA_HOST=data, MNT=sc.path("pgdata-rootless"))
    elif name == "compose":
        proj = sc.mkdir("home/app", uid, gid, 0o755)
        # This machine has no container networking (rootless docker runs
        # with rootlesskit --net=host): compose reads this override
        # beside the guide's compose.yaml, so it creates no network.
        override = os.path.join(proj, "compose.override.yaml")
        with open(override, "w") as f:
            f.write("services:\n  app:\n    network_mode: none\n")
        os.chown(override, uid, gid)
        env.update(PROJECT=proj)
    elif name == "volume-plugin":
        data = sc.mkdir("home/data", uid, gid, 0o755)
        with open(os.path.join(data, "notes.txt"), "w") as f:
            f.write("mine\n")
        os.chown(os.path.join(data, "notes.txt"), uid, gid)
        proj = sc.mkdir("home/app", uid, gid, 0o755)
        # no container networking here (see the compose guide above)
        override = os.path.join(proj, "compose.override.yaml")
        with open(override, "w") as f:
            f.write("services:\n  app:\n    network_mode: none\n")
        os.chown(override, uid, gid)
        env.update(DATA=data, PROJECT=proj, MYHOME=env["HOME"])
        pidf = os.path.join(env["XDG_RUNTIME_DIR"], "shiftfs-plugin.pid")
        sc.on_cleanup(lambda: os.path.exists(pidf) and
                      stop_pid(int(open(pidf).read().strip())))
        # the spec rootless docker 20.10 reads: the guide copies it there
        # and removes it; cleanup too, should a block fail before that
        spec = "/etc/docker/plugins/shiftfs.spec"
        assert not os.path.exists(spec), f"{spec} left by someone"
        if not os.path.isdir(os.path.dirname(spec)):
            sc.on_cleanup(lambda: os.path.isdir(os.path.dirname(spec)) and
                          not os.listdir(os.path.dirname(spec)) and
                          os.rmdir(os.path.dirname(spec)))
        sc.on_cleanup(lambda: os.path.exists(spec) and os.unlink(spec))
    else:
        pytest.fail(f"no preparation known for guide {name}")


def test_guide():
    if not GUIDE:
        pytest.fail("set SHIFT_E2E_GUIDE to a docs/guide-*.md file")
    name = re.sub(r"^guide-|\.md$", "", os.path.basename(GUIDE))
    blocks = parse_guide(GUIDE)
    assert blocks, f"{GUIDE} has no executable sh blocks"
    you = ROOTLESS_USER
    with scenario("guide-" + name) as sc:
        bindir = bin_dir(sc)
        home = sc.mkdir("home", uid_of(you), gid_of(you), 0o755)
        xdg = sc.mkdir("xdg", uid_of(you), gid_of(you), 0o700)
        path = f"{bindir}:{SYS_PATH}"
        common = {"ME": you, "LANG": "C.UTF-8"}
        env_you = dict(common, HOME=home, XDG_RUNTIME_DIR=xdg, USER=you,
                       LOGNAME=you, PATH=path)
        env_root = dict(os.environ, **common)
        env_root["PATH"] = path
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        tar = rootfs_tar(rootfs, sc.path("rootfs.tar"))
        engine = "podman" if "podman" in name else "docker"
        if engine == "docker":
            dk = Dockerd(sc, "rootless", rootless_user=you)
            image = dk.import_rootfs(tar)
            env_you["DOCKER_HOST"] = dk.env["DOCKER_HOST"]
            sc.rec.engine("docker-compose", ["docker-compose", "version"])
        else:
            env_root.update(podman_confs(sc, "root"))
            env_you.update(podman_confs(sc, "you", you))
            for env, user in ((env_root, None), (env_you, you)):
                e = {k: env[k] for k in ("CONTAINERS_CONF",
                                         "CONTAINERS_STORAGE_CONF")}
                if user:
                    e.update(HOME=home, XDG_RUNTIME_DIR=xdg, PATH=path)
                sh(["podman", "import", tar, "e2e-busybox:latest"],
                   user=user, env=e)
            image = "localhost/e2e-busybox:latest"
            sc.rec.engine("podman", ["podman", "--version"])
            sc.rec.engine("runc", ["runc", "--version"])
            sc.on_cleanup(stop_rootless_podman, xdg)
        env_you["IMAGE"] = env_root["IMAGE"] = image
        prepare(sc, name, env_you, you)
        for k in ("DATA", "MNT", "PGDATA_HOST", "PROJECT", "MYHOME"):
            if k in env_you:
                env_root[k] = env_you[k]

        settings = "".join(b[3] for b in blocks if b[0] == "settings")
        # For developing a guide only: skip blocks that use a verb not
        # built yet. The test still fails at the end when it skipped any.
        skip_verb = os.environ.get("SHIFT_E2E_GUIDE_DEV_SKIP", "")
        done, skipped = 0, []
        for who, expect, want, body, line in blocks:
            if who == "settings":
                continue
            if skip_verb and f"shiftctl {skip_verb}" in body:
                skipped.append(line)
                continue
            p = run_block(sc, who, body, settings, env_root, env_you, line)
            out = p.stdout + p.stderr
            where = f"{GUIDE}:{line} ({who})"
            missing = [v for v in ("mount", "chown", "shift", "undo",
                                   "doctor", "umount")
                       if f"shiftctl {v}" in body and not verb_available(v)]
            if missing:
                where += f" [shiftctl verbs not built: {missing}]"
            if expect == "expect failure":
                assert p.returncode != 0, f"{where} should fail:\n{out}"
            else:
                assert p.returncode == 0, \
                    f"{where} failed (exit {p.returncode}):\n{out}"
            if want:
                assert want in out, f"{where}: expected '{want}' in:\n{out}"
            done += 1
        assert not skipped, f"blocks at lines {skipped} were skipped"
        sc.rec.add(f"{done} command blocks", "-", "-", "all ran as written")
        # leave nothing mounted by the guide behind (cleanup also checks)
        for k in ("MNT",):
            if k in env_you:
                shiftctl("umount", env_you[k], check=False)
