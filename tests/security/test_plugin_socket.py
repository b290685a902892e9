# SPDX-License-Identifier: GPL-2.0-or-later
"""Whoever can talk to the plugin's socket can mount (docs/SECURITY.md,
the volume plugin): a root plugin's socket is root's alone, as docker's
own is, and a user's plugin answers only that user. Played for real: the
attacker (another host user) connects and is refused by the kernel; the
plugin's own user, beside it, is served. A user's plugin refuses a source
its user does not own, so it cannot be made to show (and write through)
someone else's directory, and volume names cannot climb out of the
plugin's mount point directory."""
import os
import pathlib
import uuid

from attack import ATTACKER, VICTIM, as_host_user, gid_of, uid_of
from conftest import need
from mount_util import world_tmp  # noqa: F401 (fixture)
from plugin_util import Serve, call

CONNECT = ("import socket,sys; s=socket.socket(socket.AF_UNIX); "
           "s.connect(sys.argv[1]); s.sendall(b'POST /Plugin.Activate "
           "HTTP/1.0\\r\\nContent-Length: 0\\r\\n\\r\\n'); "
           "print(s.recv(4096).decode())")


def test_root_plugin_socket_refuses_other_users(tmp_path):
    need(os.geteuid() == 0, "needs root")
    os.chmod(tmp_path, 0o755)
    s = Serve(str(tmp_path / "p.sock"), str(tmp_path / "st"))
    try:
        p = as_host_user(ATTACKER, ["python3", "-c", CONNECT, s.sock])
        assert p.returncode != 0
        assert "PermissionError" in p.stderr, p.stderr
        # legitimate: root (docker) is served
        assert call(s.sock, "/Plugin.Activate")[0] == 200
    finally:
        s.stop()


def test_user_plugin_serves_only_its_user(world_tmp):
    need(os.geteuid() == 0, "needs root to play two users")
    user_plugin(pathlib.Path(world_tmp))


def user_plugin(tmp_path):
    uid, gid = uid_of(VICTIM), gid_of(VICTIM)
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    os.chown(xdg, uid, gid)
    st = tmp_path / "st"
    st.mkdir(mode=0o700)
    os.chown(st, uid, gid)
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chown(mine, uid, gid)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, uid_of(ATTACKER), gid_of(ATTACKER))
    sock = str(xdg / "shiftfs.sock")
    s = Serve(sock, str(st / "state"), user=VICTIM,
              env={"XDG_RUNTIME_DIR": str(xdg), "HOME": str(tmp_path)})
    try:
        assert os.stat(sock).st_uid == uid
        assert os.stat(sock).st_mode & 0o777 == 0o600
        p = as_host_user(ATTACKER, ["python3", "-c", CONNECT, sock])
        assert p.returncode != 0 and "PermissionError" in p.stderr, \
            p.stdout + p.stderr
        p = as_host_user(VICTIM, ["python3", "-c", CONNECT, sock])
        assert p.returncode == 0 and "VolumeDriver" in p.stdout, p.stderr
        tag = "sec" + uuid.uuid4().hex[:6]
        st_, rep = call(sock, "/VolumeDriver.Create",
                        {"Name": tag, "Opts": {"source": str(theirs),
                                               "user": "0"}})
        assert st_ == 500
        assert rep["Err"] == (
            f"source={theirs} is owned by uid {uid_of(ATTACKER)}, not by "
            f"the plugin's user (uid {uid}): a plugin that is not root "
            "serves only its user's directories"), rep
        # a symlink to it is judged by what it points to
        link = mine / "link"
        os.symlink(theirs, link)
        st_, rep = call(sock, "/VolumeDriver.Create",
                        {"Name": tag, "Opts": {"source": str(link)}})
        assert st_ == 500 and "is owned by uid" in rep["Err"], rep
        os.unlink(link)
        for bad in ("../escape", "a/b", ".hidden"):
            st_, rep = call(sock, "/VolumeDriver.Create",
                            {"Name": bad, "Opts": {"source": str(mine)}})
            assert (st_, rep["Err"]) == (500, "bad volume name")
        # legitimate: its own directory (the victim has no subordinate
        # ids: an explicit map of its own uid)
        st_, rep = call(sock, "/VolumeDriver.Create",
                        {"Name": tag, "Opts": {"source": str(mine),
                                               "map": f"{uid}:0:1"}})
        assert (st_, rep) == (200, {"Err": ""})
    finally:
        s.stop()
