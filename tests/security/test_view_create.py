# SPDX-License-Identifier: GPL-2.0-or-later
"""A CREATE that finds the name already there (issue 10, item 3).

The kernel sends FUSE CREATE only because its dentry for the name was
negative, so it checked nothing about a file that appeared there since. The
daemon used to fall back to a plain open of that file with its own
privileges: user B read and overwrote a root-only 0600 file, truncated it,
and a FIFO there blocked a worker. Now an existing name is never opened by
CREATE: the daemon answers ESTALE, the VFS looks the name up again and does
its own permission check and a normal OPEN.

Every case caches a negative dentry first (cache=always: a day of entry
timeout), then root creates the file natively in SRC, then the attacker
(shiftfs-atk, a separate host user) opens it through the mount; the same
open is also run natively on SRC and the results must be equal.
"""
import json
import os
import stat
import subprocess
import sys

import pytest

from attack import ATTACKER, as_host_user, race, uid_of
from conftest import need_root_and_fuse
from fs_util import as_user, scratch_fixture

FIXTURES = (scratch_fixture,)

O = {"RDWR_CREAT": os.O_RDWR | os.O_CREAT,
     "WRONLY_CREAT_TRUNC": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
     "RDONLY_CREAT": os.O_RDONLY | os.O_CREAT,
     "RDWR_CREAT_EXCL": os.O_RDWR | os.O_CREAT | os.O_EXCL}


@pytest.fixture
def shared(scratch, shiftfs_mount):
    """An identity mount with a 1777 directory shared/ and a day-long
    entry (and negative entry) timeout."""
    need_root_and_fuse()
    uid_of(ATTACKER)
    os.mkdir(scratch.p("src", "shared"))
    os.chmod(scratch.p("src", "shared"), 0o1777)
    shiftfs_mount(scratch.src, scratch.mnt, "identity,cache=always")
    return scratch


def _negative(path):
    """The attacker stats path through the mount: ENOENT, now cached."""
    r = as_user("step('st', os.stat, %r)" % path, user=ATTACKER)
    assert r["st"] == ("err", "ENOENT"), r


def _open_as_attacker(path, flags, data=None):
    """The attacker opens path with flags (mode 0644): ('ok', content read
    or None) or ('err', errno name); writes data if given."""
    code = r"""
def go(p, fl, data):
    fd = os.open(p, fl, 0o644)
    try:
        st = os.fstat(fd)
        out = None
        if (fl & 3) != os.O_WRONLY:
            out = os.read(fd, 100).decode('latin-1')
        if data is not None:
            os.write(fd, data.encode())
        return [st.st_uid, out]
    finally:
        os.close(fd)
step('open', go, %r, %d, %r)
""" % (path, flags, data)
    return as_user(code, user=ATTACKER)["open"]


def _plant_file(path, mode, content="secret\n"):
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, mode)


@pytest.mark.parametrize("flags", ["RDWR_CREAT", "WRONLY_CREAT_TRUNC",
                                   "RDONLY_CREAT"])
def test_create_over_root_0600_file_is_refused(shared, flags):
    """B's O_CREAT open of a root 0600 file that appeared after B's
    negative lookup: EACCES as natively, nothing read, written or truncated."""
    s = shared
    name = "secret-" + flags
    mnt_path, src_path = s.p("mnt", "shared", name), s.p("src", "shared", name)
    _negative(mnt_path)
    _plant_file(src_path, 0o600)
    got = _open_as_attacker(mnt_path, O[flags], data="owned\n")
    native = _open_as_attacker(src_path, O[flags], data="owned\n")
    assert native == ("err", "EACCES")
    assert got == native
    with open(src_path) as f:
        assert f.read() == "secret\n"
    st = os.stat(src_path)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)


def test_create_over_existing_excl_is_eexist(shared):
    s = shared
    mnt_path, src_path = s.p("mnt", "shared", "x"), s.p("src", "shared", "x")
    _negative(mnt_path)
    _plant_file(src_path, 0o666)
    assert _open_as_attacker(mnt_path, O["RDWR_CREAT_EXCL"]) == \
        ("err", "EEXIST")
    with open(src_path) as f:
        assert f.read() == "secret\n"


def test_create_over_existing_file_the_caller_may_open(shared):
    """Legitimate: the file appeared and B may open it (0666): B's O_CREAT
    open succeeds on the existing file, reads and writes it, as natively."""
    s = shared
    mnt_path, src_path = s.p("mnt", "shared", "pub"), s.p("src", "shared", "pub")
    _negative(mnt_path)
    _plant_file(src_path, 0o666, content="public\n")
    assert _open_as_attacker(mnt_path, O["RDWR_CREAT"], data="more\n") == \
        ("ok", [0, "public\n"])
    with open(src_path) as f:
        assert f.read() == "public\nmore\n"
    # O_TRUNC on a file B may write: truncated, as natively.
    _negative(s.p("mnt", "shared", "pub2"))
    _plant_file(s.p("src", "shared", "pub2"), 0o666, content="public\n")
    assert _open_as_attacker(s.p("mnt", "shared", "pub2"),
                             O["WRONLY_CREAT_TRUNC"]) == ("ok", [0, None])
    assert os.path.getsize(s.p("src", "shared", "pub2")) == 0


def test_create_new_file_still_owned_by_caller(shared):
    s = shared
    got = _open_as_attacker(s.p("mnt", "shared", "new"), O["RDWR_CREAT"],
                            data="mine\n")
    assert got == ("ok", [uid_of(ATTACKER), ""])
    st = os.stat(s.p("src", "shared", "new"))
    assert st.st_uid == uid_of(ATTACKER)
    with open(s.p("src", "shared", "new")) as f:
        assert f.read() == "mine\n"


def _mount_responsive(s):
    r = subprocess.run(["stat", s.p("mnt", "shared")], capture_output=True,
                       timeout=10)
    assert r.returncode == 0


def test_create_over_planted_fifo(shared):
    """A FIFO that appeared after the negative lookup: a root 0600 FIFO is
    refused (EACCES, no worker blocks); a 0666 FIFO opened O_RDWR|O_CREAT
    opens as natively (the kernel's pipe, no daemon open)."""
    s = shared
    mnt_path, src_path = s.p("mnt", "shared", "fifo"), s.p("src", "shared", "fifo")
    _negative(mnt_path)
    os.mkfifo(src_path, 0o600)
    os.chmod(src_path, 0o600)
    assert _open_as_attacker(mnt_path, O["WRONLY_CREAT_TRUNC"]) == \
        ("err", "EACCES")
    _mount_responsive(s)

    mnt2, src2 = s.p("mnt", "shared", "fifo2"), s.p("src", "shared", "fifo2")
    _negative(mnt2)
    os.mkfifo(src2)
    os.chmod(src2, 0o666)
    code = r"""
def go(p):
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
import stat
step('open', go, %r)
""" % mnt2
    assert as_user(code, user=ATTACKER)["open"] == ("ok", True)
    _mount_responsive(s)


RACER = r"""
import json, os, sys, time
p, end, me = sys.argv[1], time.monotonic() + float(sys.argv[2]), os.getuid()
out = {"opens": 0, "own": 0, "stolen": 0, "errors": {}}
while time.monotonic() < end:
    try:
        os.stat(p)
    except OSError:
        pass
    try:
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        n = os.strerror(e.errno)
        out["errors"][n] = out["errors"].get(n, 0) + 1
        continue
    out["opens"] += 1
    st = os.fstat(fd)
    data = os.read(fd, 100)
    if st.st_uid != me or b"secret" in data:
        out["stolen"] += 1
    else:
        out["own"] += 1
    os.close(fd)
print(json.dumps(out))
"""


def test_create_race_against_root_recreating(shared):
    """Bounded race (8 s): root keeps unlinking and re-creating a 0600
    secret in SRC while B loops stat + O_RDWR|O_CREAT opens of the name
    through the mount. B may create its own file when the name is free,
    but never opens root's."""
    s = shared
    mnt_path, src_path = s.p("mnt", "shared", "hot"), s.p("src", "shared", "hot")
    rounds = [0]

    def recreate():
        try:
            os.unlink(src_path)
        except FileNotFoundError:
            pass
        fd = os.open(src_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"secret\n")
        os.close(fd)
        rounds[0] += 1

    with race(recreate, seconds=10.0) as r:
        res = as_host_user(ATTACKER, [sys.executable, "-c", RACER, mnt_path,
                                      "8"], timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert r.rounds > 100, (r.rounds, r.errors)
    assert out["stolen"] == 0, out
    # The attacker did get through sometimes (its own file): the race ran.
    assert out["opens"] + sum(out["errors"].values()) > 100, out
    _mount_responsive(s)
