# SPDX-License-Identifier: GPL-2.0-or-later
"""The volume plugin under test (shiftctl plugin serve), started as the
engine's user with private state, and what the plugin scenarios share."""
import os
import signal
import subprocess
import time

import pytest

from e2e_util import SHIFTCTL, SYS_PATH, log, mounts_under, stop_pid

# What the container does with its volume at /data.
PROBE = ('echo "uid=$(id -u)"; echo "data_owner=$(stat -c %u:%g /data)"; '
         'if echo hi >/data/"$NAME" 2>/tmp/err; then echo write=ok; '
         'else echo "write=$(cat /tmp/err)"; fi')


class Plugin:
    """shiftctl plugin serve on SOCKET as USER (None: root), its state in
    STATE, its log in the scenario's dir. Stopped at cleanup."""

    def __init__(self, sc, socket, state, user=None, env=None, args=()):
        self.sc, self.socket, self.state = sc, socket, state
        self.user, self.args = user, list(args)
        self.env = dict(env or {})
        self.env.setdefault("PATH", SYS_PATH)
        self.log_path = sc.path(f"plugin-{len(os.listdir(sc.dir))}.log")
        self.proc = None
        self.start()
        sc.on_cleanup(self.stop)

    def start(self):
        argv = [SHIFTCTL, "plugin", "serve", f"--socket={self.socket}",
                f"--state-dir={self.state}"] + self.args
        if self.user:
            argv = ["runuser", "-u", self.user, "--", "env"] + \
                [f"{k}={v}" for k, v in self.env.items()] + argv
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd="/",
                                     env=None if self.user else
                                     dict(os.environ, **self.env),
                                     start_new_session=True)
        end = time.monotonic() + 10
        while not self.serving():
            if self.proc.poll() is not None or time.monotonic() > end:
                pytest.fail("plugin did not start:\n" + self.text())
            time.sleep(0.05)

    def serving(self):
        with open(self.log_path) as f:
            return "serving the volume plugin protocol" in \
                f.read()[self._mark():]

    def _mark(self):
        return getattr(self, "mark", 0)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def pid(self):
        """The serve process itself (below runuser for a user)."""
        if not self.user:
            return self.proc.pid
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else self.proc.pid

    def kill(self):
        """SIGKILL mid-run: no cleanup of its own."""
        os.kill(self.pid(), signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.logf.close()

    def restart(self):
        self.mark = os.path.getsize(self.log_path)
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_pid(self.pid())
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop_pid(self.proc.pid)
        if not self.logf.closed:
            self.logf.close()
        log("plugin log:\n" + self.text()[-4000:])


def shifted_mounts(where):
    """The shifted mounts (fuse.shiftfs or idmapped) at or below WHERE."""
    res = []
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        for line in f:
            parts = line.split()
            mp = parts[4]
            fstype = parts[parts.index("-") + 1]
            if (mp == where or mp.startswith(where.rstrip("/") + "/")) and \
                    (fstype == "fuse.shiftfs" or "idmapped" in parts[5]):
                res.append(mp)
    return res


def unmount_volumes(base, prefix):
    """Leave no plugin mount of this scenario behind (mount points
    outside its dir: /run/shiftfs/private/volume-PREFIX*)."""
    for mp in mounts_under(base):
        if os.path.basename(mp).startswith("volume-" + prefix):
            subprocess.run([SHIFTCTL, "umount", mp], capture_output=True)
            subprocess.run(["umount", "-l", mp], capture_output=True)
    if os.path.isdir(base):
        for n in os.listdir(base):
            if n.startswith("volume-" + prefix):
                try:
                    os.rmdir(os.path.join(base, n))
                except OSError:
                    pass
