# SPDX-License-Identifier: GPL-2.0-or-later
"""Privileges a write kills: exactly what the native filesystem does.

A write, truncate (by path and by fd), fallocate, punch-hole or zero-range
on a setuid, setgid (with and without group execute) or capable file must
leave the same mode bits and the same security.capability through shiftfs
as on the native directory beside it, for each kind of caller: a host user
who owns the file, one in its group, one who is neither, root (who holds
CAP_FSETID and keeps setuid/setgid natively, but not capabilities) and root
without CAP_FSETID (setpriv --bounding-set=-fsetid), in the file's group.

The map is the identity map (the privilege guard, for maps that shift, is
in tests/security/test_view_setuid.py) and a map shifting disk 100000+ to
view 0+ with the files owned by mapped ids, so the guard has nothing to
add and native is again the reference (view root has CAP_FSETID there).
"""
import grp
import json
import os
import subprocess
import sys

import pytest

from conftest import TEST_USER, need, need_root_and_fuse
from fs_util import fcaps_v2, scratch_fixture, user_ids

FIXTURES = (scratch_fixture,)
CAPS = "security.capability"
GROUP_USER = "shiftfs-victim"  # put in the file's group for "group" cases

OPS = ["write", "truncate", "ftruncate", "fallocate", "punch", "zero"]

# (name, mode, has caps)
FILES = [("m6666", 0o6666, False), ("m2666", 0o2666, False),
         ("m4766", 0o4766, False), ("m2776", 0o2776, False),
         ("m6777", 0o6777, False), ("m4755", 0o4755, False),
         ("m2755", 0o2755, False), ("cap0666", 0o666, True),
         ("cap4777", 0o4777, True)]

ACTOR = r"""
import ctypes, ctypes.util, json, os, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]
def falloc(path, mode):
    fd = os.open(path, os.O_WRONLY)
    try:
        if libc.fallocate(fd, mode, 0, 8192) < 0:
            e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)
def write(p):
    fd = os.open(p, os.O_WRONLY)
    try: os.pwrite(fd, b"y" * 100, 10)
    finally: os.close(fd)
def ftrunc(p):
    fd = os.open(p, os.O_WRONLY)
    try: os.ftruncate(fd, 50)
    finally: os.close(fd)
ops = {"write": write, "truncate": lambda p: os.truncate(p, 40),
       "ftruncate": ftrunc, "fallocate": lambda p: falloc(p, 0),
       "punch": lambda p: falloc(p, 3), "zero": lambda p: falloc(p, 0x10)}
out = {}
for path, op in json.loads(sys.argv[1]):
    try:
        ops[op](path); out[path] = "ok"
    except OSError as e:
        out[path] = e.strerror
print(json.dumps(out))
"""


def run_actor(user, jobs):
    cmd = [sys.executable, "-c", ACTOR, json.dumps(jobs)]
    if user == "root-nofsetid":
        cmd = ["setpriv", "--bounding-set=-fsetid", "--"] + cmd
    elif user != "root":
        cmd = ["runuser", "-u", user, "--"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, cwd="/",
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def state(path):
    try:
        caps = os.getxattr(path, CAPS, follow_symlinks=False) != b""
    except OSError:
        caps = False
    return (oct(os.lstat(path).st_mode & 0o7777), caps)


def make_files(top, uid, gid, shift):
    """One file per (op, file kind, actor) under top; returns the jobs."""
    jobs = {}
    for actor, owner, group in ACTORS(uid, gid):
        for op in OPS:
            for name, mode, caps in FILES:
                p = os.path.join(top, "%s.%s.%s" % (actor, op, name))
                with open(p, "wb") as f:
                    f.write(b"x" * 4096)
                os.chown(p, owner + shift, group + shift)
                os.chmod(p, mode)
                if caps:
                    os.setxattr(p, CAPS, fcaps_v2())
                jobs.setdefault(actor, []).append((p, op))
    return jobs


def ACTORS(uid, gid):
    victim_gid = user_ids(GROUP_USER)[1]
    # (actor, file owner uid, file group)
    return [("owner", uid, gid),       # TEST_USER owns it
            ("group", 0, victim_gid),  # TEST_USER is in the group
            ("other", 0, 0),           # TEST_USER is neither
            ("root", uid, gid),        # root is neither, has CAP_FSETID
            ("rootnocap", uid, 0)]     # root without CAP_FSETID, in group 0


def actor_user(actor):
    return {"root": "root", "rootnocap": "root-nofsetid"}.get(actor,
                                                              TEST_USER)


@pytest.fixture
def group_member():
    """TEST_USER joins GROUP_USER's group for the test (supplementary)."""
    need_root_and_fuse()
    user_ids(GROUP_USER)
    gname = grp.getgrgid(user_ids(GROUP_USER)[1]).gr_name
    was = TEST_USER in grp.getgrnam(gname).gr_mem
    if not was:
        subprocess.run(["gpasswd", "-a", TEST_USER, gname], check=True,
                       capture_output=True)
    yield
    if not was:
        subprocess.run(["gpasswd", "-d", TEST_USER, gname], check=True,
                       capture_output=True)


def compare(native_top, mnt_top, src_top, uid, gid, shift):
    native_jobs = make_files(native_top, uid, gid, 0)
    mnt_jobs = make_files(src_top, uid, gid, shift)
    diffs = []
    for actor, jobs in native_jobs.items():
        user = actor_user(actor)
        nres = run_actor(user, jobs)
        mjobs = [(p.replace(src_top, mnt_top), op) for p, op in
                 mnt_jobs[actor]]
        mres = run_actor(user, mjobs)
        for (np, op), (mp, _) in zip(jobs, mjobs):
            sp = mp.replace(mnt_top, src_top)
            want = (nres[np],) + state(np)
            got = (mres[mp],) + state(sp)
            if want != got:
                diffs.append("%s: native %s, shiftfs %s" %
                             (os.path.basename(np), want, got))
    assert not diffs, "\n".join(diffs)


def test_killpriv_identity_matches_native(scratch, shiftfs_mount,
                                          group_member):
    uid, gid = user_ids()
    native = scratch.p("native")
    os.mkdir(native)
    shiftfs_mount(scratch.src, scratch.mnt, "identity")
    compare(native, scratch.mnt, scratch.src, uid, gid, 0)


def test_killpriv_shifted_matches_native(scratch, shiftfs_mount,
                                         group_member):
    """Files of mapped disk ids (disk 100000+N shown as N)."""
    uid, gid = user_ids()
    need(uid < 65536, "test user's uid must be below 65536")
    native = scratch.p("native")
    os.mkdir(native)
    os.chown(scratch.src, 100000, 100000)
    shiftfs_mount(scratch.src, scratch.mnt, "map=100000:0:65536")
    compare(native, scratch.mnt, scratch.src, uid, gid, 100000)
