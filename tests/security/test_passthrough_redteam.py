# SPDX-License-Identifier: GPL-2.0-or-later
"""Red team of FUSE passthrough (fs/passthrough.c, SECURITY.md rule 2b)."""
import errno
import os
import shutil
import subprocess
import sys
import time

import pytest

from attack import write_after
from conftest import need_root_and_fuse
from fs_util import cost, scratch_fixture

FIXTURES = (scratch_fixture,)
MAP = "map=100000:0:65536"
ATTACKER = 2000
VICTIM = 1000

HOLD = r"""
import os, sys, time
path, flag, ready, done = sys.argv[1:5]
fd = os.open(path, int(flag))
open(ready, "w").close()
deadline = time.monotonic() + 15
while not os.path.exists(done) and time.monotonic() < deadline:
    time.sleep(0.01)
os.close(fd)
"""


class Holder:
    """A process of uid that holds path open with flags until stopped."""

    def __init__(self, uid, path, flags, tmp):
        self.ready = os.path.join(tmp, "ready-%d" % id(self))
        self.done = os.path.join(tmp, "done-%d" % id(self))
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
             "--clear-groups", "--inh-caps=-all", "--",
             sys.executable, "-c", HOLD, path, str(flags), self.ready,
             self.done], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ready):
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "holder did not open"
            time.sleep(0.01)

    def stop(self):
        open(self.done, "w").close()
        assert self.proc.wait(timeout=20) == 0, self.proc.stderr.read()


@pytest.fixture
def side(scratch, shiftfs_mount):
    """(source, mount, sync dir): disk 100000+ shown as view 0+."""
    need_root_and_fuse()
    tmp = os.path.join(os.path.dirname(scratch.src), "sync")
    os.mkdir(tmp)
    os.chmod(tmp, 0o1777)
    os.chown(scratch.src, 100000, 100000)
    os.chmod(scratch.src, 0o1777)
    m = shiftfs_mount(scratch.src, scratch.mnt, MAP)
    yield scratch.src, m, tmp
    shutil.rmtree(tmp, ignore_errors=True)


def victims_program(src, name="prog"):
    """A victim-owned 0755 executable in the source (a copy of true)."""
    p = os.path.join(src, name)
    shutil.copyfile(shutil.which("true"), p)
    os.chown(p, 100000 + VICTIM, 100000 + VICTIM)
    os.chmod(p, 0o755)
    return p


def run_native(p):
    """Exec p on the host as its owner: 0, or the errno of execve."""
    try:
        return subprocess.run(
            ["setpriv", "--reuid=%d" % (100000 + VICTIM),
             "--regid=%d" % (100000 + VICTIM), "--clear-groups", p],
            capture_output=True).returncode and -1
    except OSError as e:
        return e.errno


def exec_errno(p):
    try:
        subprocess.run([p], check=True)
        return 0
    except OSError as e:
        return e.errno


def test_a_readers_open_does_not_keep_the_victims_file_busy(side):
    """The victim writes its program through the mount (a passthrough
    open: its file becomes the backing file); a user who may only read it
    opens it read-only meanwhile and keeps that fd. Natively a reader
    never stops the owner from running the program once the writer is
    closed; through the mount the daemon's O_RDWR backing file lives
    as long as any open of the inode, so execve on the host gets
    ETXTBSY for as long as the reader likes."""
    src, m, tmp = side
    p = victims_program(src)
    mp = os.path.join(m.mnt, "prog")
    w = os.open(mp, os.O_WRONLY)
    reader = Holder(ATTACKER, mp, os.O_RDONLY, tmp)
    try:
        os.close(w)
        time.sleep(0.3)  # the RELEASE of the writer
        assert exec_errno(p) == 0, "the source's program is busy"
    finally:
        reader.stop()
    time.sleep(0.3)
    assert exec_errno(p) == 0


def test_the_writers_own_open_still_passes_through_and_keeps_it_busy(side):
    """The legitimate side: while the victim's own write open lives its
    program is busy for execve (natively too), its writes are passed
    through (no WRITE request), a reader sees them, and once the writer
    and the reader are closed the program runs."""
    src, m, tmp = side
    p = victims_program(src)
    mp = os.path.join(m.mnt, "prog")
    with open(p, "rb") as f:
        image = f.read()

    def write():
        w = os.open(mp, os.O_WRONLY)
        try:
            assert exec_errno(p) == errno.ETXTBSY
            os.pwrite(w, image[:64], 0)
            with open(mp, "rb") as r:
                assert r.read(64) == image[:64]
        finally:
            os.close(w)
    c = cost(m, write)
    assert "WRITE" not in c and c.get("OPEN") == 2, c
    assert exec_errno(p) == 0


def attack(path, owner_step, tmp):
    """Open path for writing as ATTACKER, let owner_step() run, write."""
    write_after(ATTACKER, path, owner_step, tmp)


@pytest.mark.parametrize("gid", [0, VICTIM])
def test_setgid_of_a_group_the_writer_is_not_in_dies_at_the_write(
        scratch, shiftfs_mount, gid):
    """A 0666 file of group gid; the attacker (in no group) opens it for
    writing, root makes it 2666, the attacker writes: natively the write
    clears S_ISGID (setattr_should_drop_sgid: the writer is not in the
    group). A passthrough write is checked with the credentials of the
    registering thread: root's fsgid 0 is in group 0, so there the bit
    stayed. (An identity map: group 0 is nobody's privilege there.)"""
    need_root_and_fuse()
    src = scratch.src
    native = os.path.join(os.path.dirname(src), "native-sgid")
    tmp = os.path.join(os.path.dirname(src), "sync-sgid")
    for d in (native, tmp, src):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o1777)
    m = shiftfs_mount(src, scratch.mnt, "map=0:0:200000")
    results = []
    try:
        for top, path_of in ((native, lambda n: os.path.join(native, n)),
                             (src, lambda n: os.path.join(m.mnt, n))):
            f = os.path.join(top, "g")
            with open(f, "wb") as fh:
                fh.write(b"harmless")
            os.chown(f, VICTIM, gid)
            os.chmod(f, 0o666)
            c = cost(m, lambda: attack(path_of("g"),
                                       lambda: os.chmod(f, 0o2666), tmp))
            if top == src:
                assert "WRITE" not in c, ("not passed through", c)
            with open(f, "rb") as fh:
                assert fh.read() == b"evilless"
            results.append(oct(os.stat(f).st_mode & 0o7777))
    finally:
        shutil.rmtree(native, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    assert results[0] == "0o666", results
    assert results[1] == results[0], (
        "through the mount %s, natively %s" % (results[1], results[0]))


def thread_creds(pid):
    """{tid: (CapEff, Groups, Gid line, Uid line)} of every thread of
    pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                lines = dict(l.split(":", 1) for l in f if ":" in l)
        except FileNotFoundError:
            continue
        out[tid] = (lines["CapEff"].strip(), lines["Groups"].strip(),
                    lines["Gid"].strip(), lines["Uid"].strip())
    return out


def test_workers_get_their_credentials_back_after_registering(side):
    """Every registration changes the worker's credentials for a moment
    (CAP_FSETID, CAP_SYS_RESOURCE, groups, fsgid, fsuid): afterwards
    every thread of the daemon
    has the main thread's again, or a later daemon write would kill what
    a root caller keeps, and a create would get a wrong group."""
    src, m, tmp = side
    want = thread_creds(m.proc.pid)[str(m.proc.pid)]
    for i in range(8):
        p = os.path.join(m.mnt, "f%d" % i)
        with open(p, "wb") as f:  # a create: registers
            f.write(b"x")
        fd = os.open(p, os.O_WRONLY)  # an open: registers again
        os.close(fd)
    got = thread_creds(m.proc.pid)
    assert all(v == want for v in got.values()), (want, got)
