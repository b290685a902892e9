# SPDX-License-Identifier: GPL-2.0-or-later
"""Talking to `shiftctl plugin serve` the way docker and podman do: HTTP
POST with a JSON body over a unix socket (python's http.client)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

from conftest import SHIFTCTL, SHIFTFS


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path_)


def call(sock, endpoint, body=None):
    """(HTTP status, parsed JSON reply) of one request."""
    c = UnixHTTP(sock)
    try:
        c.request("POST", endpoint,
                  "" if body is None else json.dumps(body),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


class Serve:
    """One `shiftctl plugin serve` (as root, or USER through runuser)."""

    def __init__(self, sock, state, args=(), user=None, env=None,
                 wrap=(), pass_fds=()):
        self.sock, self.state, self.user = sock, state, user
        self.args, self.env, self.wrap = list(args), dict(env or {}), wrap
        self.pass_fds = pass_fds
        self.log = state + ".log"
        self.start()

    def start(self, wait=True):
        argv = [SHIFTCTL, "plugin", "serve", f"--socket={self.sock}",
                f"--state-dir={self.state}"] + self.args
        env = dict(self.env, SHIFTFS=SHIFTFS)
        if self.user:
            argv = ["runuser", "-u", self.user, "--", "env"] + \
                [f"{k}={v}" for k, v in env.items()] + argv
        argv = list(self.wrap) + argv
        self.mark = os.path.getsize(self.log) if \
            os.path.exists(self.log) else 0
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **env),
                                     pass_fds=self.pass_fds,
                                     start_new_session=True)
        if not wait:
            return
        end = time.monotonic() + 10
        while "serving the volume plugin protocol" not in self.text():
            assert self.proc.poll() is None and time.monotonic() < end, \
                "serve did not start:\n" + self.text()
            time.sleep(0.05)

    def text(self):
        with open(self.log) as f:
            return f.read()[self.mark:]

    def pid(self):
        if not self.user:
            return self.proc.pid
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else self.proc.pid

    def kill(self, sig=signal.SIGKILL):
        os.kill(self.pid(), sig)
        self.proc.wait(timeout=20)
        self.logf.close()

    def stop(self):
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
        elif not self.logf.closed:
            self.logf.close()
