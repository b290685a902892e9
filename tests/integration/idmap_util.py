# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel's own idmapped mount of a tree, made directly (open_tree,
mount_setattr(MOUNT_ATTR_IDMAP), move_mount), without shiftctl: the
benchmark the FUSE backend is compared with ("nobody gets more through
shiftfs than through the kernel's idmapped mount of the same tree and map").

Maps are lists of (disk, view, count), as shiftfs's map= takes them: for an
idmapped mount they are the uid_map lines "inside outside count" of the
user namespace attached to the mount.
"""
import ctypes
import ctypes.util
import os
import subprocess

import pytest

from conftest import need
from fs_util import UsernsProcess

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.syscall.restype = ctypes.c_long

SYS_open_tree, SYS_move_mount, SYS_mount_setattr = 428, 429, 442
OPEN_TREE_CLONE = 1
AT_EMPTY_PATH, AT_RECURSIVE, AT_FDCWD = 0x1000, 0x8000, -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_IDMAP = 0x00100000


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _sys(*a):
    r = _libc.syscall(*a)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def _lines(ranges):
    return "".join("%d %d %d\n" % r for r in ranges)


def idmap_mount(src, mnt, uid_ranges, gid_ranges=None):
    """Mount src at mnt through the kernel's idmapped mount with these maps."""
    p = UsernsProcess(_lines(uid_ranges), _lines(gid_ranges or uid_ranges))
    try:
        nsfd = os.open("/proc/%d/ns/user" % p.pid, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        p.stop()
    try:
        tree = _sys(ctypes.c_long(SYS_open_tree), ctypes.c_int(AT_FDCWD),
                    ctypes.c_char_p(os.fsencode(src)),
                    ctypes.c_uint(OPEN_TREE_CLONE | os.O_CLOEXEC))
        try:
            attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, nsfd)
            _sys(ctypes.c_long(SYS_mount_setattr), ctypes.c_int(tree),
                 ctypes.c_char_p(b""), ctypes.c_uint(AT_EMPTY_PATH),
                 ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
            _sys(ctypes.c_long(SYS_move_mount), ctypes.c_int(tree),
                 ctypes.c_char_p(b""), ctypes.c_int(AT_FDCWD),
                 ctypes.c_char_p(os.fsencode(mnt)),
                 ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH))
        finally:
            os.close(tree)
    finally:
        os.close(nsfd)


@pytest.fixture
def idmapped():
    """idmapped(src, mnt, uid_ranges, gid_ranges=None); unmounted at the end."""
    made = []

    def mount(src, mnt, uid_ranges, gid_ranges=None):
        need(os.geteuid() == 0, "idmapped mounts need root")
        idmap_mount(src, mnt, uid_ranges, gid_ranges)
        made.append(mnt)
        return mnt
    yield mount
    for mnt in reversed(made):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
