# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl plugin serve at the protocol level, no engine: the requests
docker and podman send (HTTP POST, JSON, a unix socket), answered as
they expect; options refused with the option named and nothing created;
mounts made on the first Mount and undone on the last Unmount, counted
by request ID; the state file surviving a SIGKILL and the restarted
plugin reattaching instead of mounting twice; a dead shiftfs daemon
remounted on the next Mount; Remove never touching the data; socket
activation; install/uninstall writing and removing exactly their files."""
import json
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest

from conftest import SHIFTCTL, is_mounted, need
from mount_util import run_shiftctl
from plugin_util import Serve, call

PRIVATE = "/run/shiftfs/private"


@pytest.fixture
def plugin(tmp_path):
    need(os.geteuid() == 0, "the root plugin needs root")
    need(os.path.exists("/dev/fuse"), "needs /dev/fuse")
    os.chmod(tmp_path, 0o755)
    src = tmp_path / "src"
    src.mkdir()
    (src / "kept").write_text("data\n")
    s = Serve(str(tmp_path / "p.sock"), str(tmp_path / "state"))
    s.src = str(src)
    s.tag = "it" + uuid.uuid4().hex[:8]
    yield s
    s.stop()
    # SIGTERM ends it cleanly (and, in the ASan build, without a leak)
    assert s.proc.returncode == 0, s.text()
    assert "Sanitizer" not in s.text(), s.text()
    for n in os.listdir(PRIVATE) if os.path.isdir(PRIVATE) else []:
        if n.startswith("volume-" + s.tag):
            p = os.path.join(PRIVATE, n)
            subprocess.run([SHIFTCTL, "umount", p], capture_output=True)
            subprocess.run(["umount", "-l", p], capture_output=True)
            os.rmdir(p)


def create(p, name, **opts):
    return call(p.sock, "/VolumeDriver.Create", {"Name": name, "Opts": opts})


def mnt_of(p, name):
    return os.path.join(PRIVATE, "volume-" + name)


def state(p):
    with open(os.path.join(p.state, "volumes.json")) as f:
        return json.load(f)["volumes"]


def test_activate_and_capabilities(plugin):
    assert call(plugin.sock, "/Plugin.Activate") == \
        (200, {"Implements": ["VolumeDriver"]})
    assert call(plugin.sock, "/VolumeDriver.Capabilities", {}) == \
        (200, {"Capabilities": {"Scope": "local"}})
    st, rep = call(plugin.sock, "/VolumeDriver.Nope", {})
    assert st == 500 and rep["Err"] == "unknown request /VolumeDriver.Nope"


def test_socket_is_the_plugin_users_only(plugin):
    st = os.stat(plugin.sock)
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)


@pytest.mark.parametrize("opts,err", [
    ({}, "option source=DIR is required (the directory to show in the "
         "volume)"),
    ({"source": "relative/dir"}, "option source=relative/dir: give an "
                                 "absolute path"),
    ({"source": "/nonexistent/x"}, "source=/nonexistent/x: No such file "
                                   "or directory"),
    ({"source": "SRC", "bogus": "1"}, "unknown option bogus (options: "
     "source, user, image, rootless, userns-remap, map, ro, backend)"),
    ({"source": "SRC", "backend": "nfs"}, "option backend=nfs: takes "
                                          "auto, idmap or fuse"),
    ({"source": "SRC", "ro": "maybe"}, "option ro=maybe: takes true or "
                                       "false"),
    ({"source": "SRC", "rootless": "", "map": "0:0:1"},
     "give one map source"),
    ({"source": "SRC", "user": "nosuchuser"}, "option user=nosuchuser: "),
    ({"source": "SRC", "map": "0:0"}, "map"),
    ({"source": "/etc/hosts"}, "source=/etc/hosts: not a directory"),
])
def test_create_refuses_bad_options(plugin, opts, err):
    opts = {k: (plugin.src if v == "SRC" else v) for k, v in opts.items()}
    st, rep = create(plugin, plugin.tag + "-bad", **opts)
    assert st == 500, rep
    assert err in rep["Err"], rep
    assert "\n" not in rep["Err"]
    assert call(plugin.sock, "/VolumeDriver.List", {}) == \
        (200, {"Volumes": [], "Err": ""})
    assert state(plugin) == {}


def test_mount_refcount_and_unmount(plugin):
    name = plugin.tag + "-v"
    assert create(plugin, name, source=plugin.src, user="1000") == \
        (200, {"Err": ""})
    mnt = mnt_of(plugin, name)
    assert not is_mounted(mnt), "mounted at Create"
    st, rep = call(plugin.sock, "/VolumeDriver.Mount",
                   {"Name": name, "ID": "a"})
    assert (st, rep) == (200, {"Mountpoint": mnt, "Err": ""})
    assert is_mounted(mnt)
    st0 = os.stat(os.path.join(mnt, "kept"))
    assert (st0.st_uid, st0.st_gid) == (1000, 1000)
    assert call(plugin.sock, "/VolumeDriver.Mount",
                {"Name": name, "ID": "b"})[1]["Mountpoint"] == mnt
    rec = state(plugin)[name]
    assert rec["refs"] == ["a", "b"]
    st, rep = call(plugin.sock, "/VolumeDriver.Get", {"Name": name})
    assert rep["Volume"]["Status"]["refs"] == 2
    assert rep["Volume"]["Status"]["uid_map"] == "0:1000:1"
    assert call(plugin.sock, "/VolumeDriver.Path", {"Name": name}) == \
        (200, {"Mountpoint": mnt, "Err": ""})
    # in use: Remove refused
    st, rep = call(plugin.sock, "/VolumeDriver.Remove", {"Name": name})
    assert st == 500 and "is in use by 2 container(s)" in rep["Err"]
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "a"})
    assert is_mounted(mnt), "unmounted while b still uses it"
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "b"})
    assert not is_mounted(mnt)
    assert call(plugin.sock, "/VolumeDriver.Remove", {"Name": name}) == \
        (200, {"Err": ""})
    assert os.listdir(plugin.src) == ["kept"]
    assert not os.path.exists(mnt)
    assert state(plugin) == {}


def test_restart_reattaches_no_double_mount(plugin):
    name = plugin.tag + "-r"
    create(plugin, name, source=plugin.src, user="1000")
    call(plugin.sock, "/VolumeDriver.Mount", {"Name": name, "ID": "a"})
    mnt = mnt_of(plugin, name)
    first = state(plugin)[name]["mount"]["mount_id"]
    plugin.kill(signal.SIGKILL)
    plugin.start()
    assert state(plugin)[name]["refs"] == ["a"], "references lost"
    call(plugin.sock, "/VolumeDriver.Mount", {"Name": name, "ID": "b"})
    assert state(plugin)[name]["mount"]["mount_id"] == first
    assert sum(1 for ln in open("/proc/self/mountinfo", errors="surrogateescape")
               if ln.split()[4] == mnt) == 1, "mounted twice"
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "a"})
    assert is_mounted(mnt)
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "b"})
    assert not is_mounted(mnt)


def test_restart_forgets_mounts_that_are_gone(plugin):
    name = plugin.tag + "-g"
    create(plugin, name, source=plugin.src, user="1000")
    call(plugin.sock, "/VolumeDriver.Mount", {"Name": name, "ID": "a"})
    plugin.kill(signal.SIGKILL)
    assert run_shiftctl(["umount", mnt_of(plugin, name)]).returncode == 0
    plugin.start()
    v = state(plugin)[name]
    assert v["mount"] is None and v["refs"] == []
    st, rep = call(plugin.sock, "/VolumeDriver.Mount",
                   {"Name": name, "ID": "b"})
    assert rep["Err"] == "" and is_mounted(mnt_of(plugin, name))
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "b"})


def test_dead_daemon_is_remounted(plugin):
    name = plugin.tag + "-d"
    create(plugin, name, source=plugin.src, user="1000", backend="fuse")
    call(plugin.sock, "/VolumeDriver.Mount", {"Name": name, "ID": "a"})
    mnt = mnt_of(plugin, name)
    pid = state(plugin)[name]["mount"]["pid"]
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(OSError):
        for _ in range(50):
            os.stat(os.path.join(mnt, "kept"))
            time.sleep(0.1)
    st, rep = call(plugin.sock, "/VolumeDriver.Mount",
                   {"Name": name, "ID": "b"})
    assert rep == {"Mountpoint": mnt, "Err": ""}, rep
    assert state(plugin)[name]["mount"]["pid"] != pid
    assert os.stat(os.path.join(mnt, "kept")).st_uid == 1000
    assert sum(1 for ln in open("/proc/self/mountinfo", errors="surrogateescape")
               if ln.split()[4] == mnt) == 1
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "b"})
    assert not is_mounted(mnt)


def test_read_only_volume(plugin):
    name = plugin.tag + "-ro"
    create(plugin, name, source=plugin.src, user="1000", ro="")
    call(plugin.sock, "/VolumeDriver.Mount", {"Name": name, "ID": "a"})
    with pytest.raises(OSError) as e:
        open(os.path.join(mnt_of(plugin, name), "new"), "w")
    assert e.value.errno == 30  # EROFS
    call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "a"})


def test_create_twice(plugin):
    name = plugin.tag + "-t"
    assert create(plugin, name, source=plugin.src)[1] == {"Err": ""}
    assert create(plugin, name, source=plugin.src)[1] == {"Err": ""}
    st, rep = create(plugin, name, source=plugin.src, user="5")
    assert st == 500 and "exists with other options" in rep["Err"]


def test_bad_requests(plugin):
    c = socket.socket(socket.AF_UNIX)
    c.connect(plugin.sock)
    c.sendall(b"POST /VolumeDriver.Create HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 5\r\n\r\n{nope")
    reply = c.recv(4096).decode()
    c.close()
    assert reply.startswith("HTTP/1.1 400"), reply
    assert "bad JSON in request" in reply
    st, rep = call(plugin.sock, "/VolumeDriver.Mount", {"Name": "nosuch"})
    assert st == 500 and rep["Err"] == "no such volume: nosuch"
    st, rep = create(plugin, "../x", source=plugin.src)
    assert st == 500 and rep["Err"] == "bad volume name"


def test_socket_activation(tmp_path):
    """LISTEN_FDS=1: systemd's socket is fd 3; serve binds nothing."""
    need(os.geteuid() == 0, "needs root")
    path = str(tmp_path / "act.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    ls.listen(4)
    os.dup2(ls.fileno(), 3) if ls.fileno() != 3 else None
    s = Serve(str(tmp_path / "unused.sock"), str(tmp_path / "st"),
              wrap=["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
                    "sh"], pass_fds=(3,))
    try:
        assert call(path, "/Plugin.Activate")[1] == \
            {"Implements": ["VolumeDriver"]}
        assert not os.path.exists(tmp_path / "unused.sock")
    finally:
        s.stop()
        ls.close()


def test_second_serve_on_a_live_socket_refused(plugin, tmp_path):
    p = subprocess.run([SHIFTCTL, "plugin", "serve",
                        f"--socket={plugin.sock}",
                        f"--state-dir={tmp_path}/st2"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert p.stderr == f"shiftctl: {plugin.sock}: another plugin is " \
        "serving there\n"
    assert call(plugin.sock, "/Plugin.Activate")[0] == 200


def test_propagation_problem_is_named(tmp_path):
    need(os.geteuid() == 0, "needs root")
    s = Serve(str(tmp_path / "p.sock"), str(tmp_path / "st"),
              wrap=["unshare", "-m", "--propagation", "private"])
    try:
        assert "which is not shared: mounts made there will not reach " \
            "rootlesskit's or podman's mount namespaces" in s.text()
        assert "mount --make-rshared" in s.text()
    finally:
        s.stop()


def test_install_uninstall_exactly(tmp_path):
    need(os.geteuid() == 0, "needs root")
    root = str(tmp_path / "root")
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run([SHIFTCTL, "plugin", "install", f"--root={root}",
                        "--serve-args=--userns-remap=dockremap"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    wrote = [ln.split()[2] for ln in p.stdout.splitlines()
             if " wrote " in ln]
    assert sorted(wrote) == sorted([
        f"{root}/etc/systemd/system/shiftfs-plugin.socket",
        f"{root}/etc/systemd/system/shiftfs-plugin.service",
        f"{root}/etc/containers/containers.conf.d/shiftfs-plugin.conf"])
    with open(wrote[1] if wrote[1].endswith(".service") else wrote[0]) as f:
        unit = f.read()
    assert f"ExecStart={os.path.realpath(SHIFTCTL)} plugin serve " \
        "--userns-remap=dockremap\n" in unit
    conf = open(f"{root}/etc/containers/containers.conf.d/"
                "shiftfs-plugin.conf").read()
    assert 'shiftfs = "/run/docker/plugins/shiftfs.sock"' in conf
    # a file of the admin's beside ours is not touched
    mine = f"{root}/etc/systemd/system/other.service"
    open(mine, "w").write("x")
    p = subprocess.run([SHIFTCTL, "plugin", "uninstall", f"--root={root}"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    removed = [ln.split()[2] for ln in p.stdout.splitlines()
               if " removed " in ln]
    assert sorted(removed) == sorted(wrote)
    assert os.listdir(f"{root}/etc/systemd/system") == ["other.service"]


def test_install_refuses_to_overwrite(tmp_path):
    need(os.geteuid() == 0, "needs root")
    root = str(tmp_path / "root")
    d = f"{root}/etc/containers/containers.conf.d"
    os.makedirs(d)
    open(f"{d}/shiftfs-plugin.conf", "w").write("# the admin's\n")
    p = subprocess.run([SHIFTCTL, "plugin", "install", f"--root={root}"],
                       capture_output=True, text=True,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert p.returncode == 1
    assert p.stderr == f"shiftctl: {d}/shiftfs-plugin.conf exists with " \
        "other content: not overwriting it (move it away, or uninstall " \
        "first)\n"
    assert not os.path.exists(f"{root}/etc/systemd")
    assert open(f"{d}/shiftfs-plugin.conf").read() == "# the admin's\n"


def test_help_and_usage():
    p = subprocess.run([SHIFTCTL, "plugin", "--help"], capture_output=True,
                       text=True)
    assert p.returncode == 0 and "shiftctl-plugin(1)" in p.stdout
    assert "--socket=PATH" in p.stdout and "--user" in p.stdout
    p = subprocess.run([SHIFTCTL, "plugin", "frob"], capture_output=True,
                       text=True)
    assert p.returncode == 2
    assert p.stderr.startswith("shiftctl plugin: unknown subcommand 'frob'")


def test_idmap_backend(plugin, tmp_path):
    """As root on a filesystem that has idmapped mounts (tmpfs), the
    volume is a kernel idmapped mount, unmounted on the last Unmount."""
    tm = tmp_path / "tm"
    tm.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid", "tmpfs", str(tm)],
                   check=True)
    try:
        src = tm / "src"
        src.mkdir()
        os.chown(src, 4242, 4242)
        name = plugin.tag + "-i"
        assert create(plugin, name, source=str(src), user="1000",
                      backend="idmap") == (200, {"Err": ""})
        st, rep = call(plugin.sock, "/VolumeDriver.Mount",
                       {"Name": name, "ID": "a"})
        assert rep["Err"] == "", rep
        mnt = mnt_of(plugin, name)
        rec = state(plugin)[name]["mount"]
        assert rec["backend"] == "idmap" and rec["uid_map_spec"] == \
            "4242:1000:1", rec
        assert os.stat(mnt).st_uid == 1000
        call(plugin.sock, "/VolumeDriver.Unmount", {"Name": name, "ID": "a"})
        assert not is_mounted(mnt)
    finally:
        subprocess.run(["umount", "-l", str(tm)])


def test_private_name_mounted_again(plugin):
    """What the plugin's second Mount of a volume needs from the mount
    engine: `shiftctl mount --private SRC NAME` again once NAME was
    unmounted (its directory is still there)."""
    name = "volume-" + plugin.tag + "-cli"
    mnt = os.path.join(PRIVATE, name)
    for _ in range(2):
        r = run_shiftctl(["mount", "--map=0:0:65536", "--private",
                          plugin.src, name])
        assert r.returncode == 0, r.stderr
        assert is_mounted(mnt)
        assert run_shiftctl(["umount", mnt]).returncode == 0
