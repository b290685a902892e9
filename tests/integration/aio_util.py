# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux native AIO (io_setup/io_submit/io_getevents) through ctypes and raw
syscalls, for the O_DIRECT tests: no libaio needed. x86_64 and aarch64."""
import ctypes
import ctypes.util
import mmap
import os
import platform
import struct

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.syscall.restype = ctypes.c_long

_NR = {"x86_64": (206, 208, 209, 207), "aarch64": (0, 4, 2, 1)}
NR_SETUP, NR_GETEVENTS, NR_SUBMIT, NR_DESTROY = _NR[platform.machine()]
IOCB_CMD_PWRITE = 1


def _sys(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


class Aio:
    """One AIO context; pwrite() submits one write and waits for it."""

    def __init__(self, depth=8):
        self.ctx = ctypes.c_ulong(0)
        _sys(NR_SETUP, ctypes.c_uint(depth), ctypes.byref(self.ctx))

    def pwrite(self, fd, buf, offset):
        """buf: an aligned buffer (aligned_buffer()); returns bytes done."""
        addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        iocb = ctypes.create_string_buffer(struct.pack(
            "<QIIHhIQQqQII", 1, 0, 0, IOCB_CMD_PWRITE, 0, fd, addr,
            len(buf), offset, 0, 0, 0), 64)
        ptrs = (ctypes.c_void_p * 1)(ctypes.addressof(iocb))
        _sys(NR_SUBMIT, self.ctx, ctypes.c_long(1), ptrs)
        ev = ctypes.create_string_buffer(32)
        while _sys(NR_GETEVENTS, self.ctx, ctypes.c_long(1), ctypes.c_long(1),
                   ev, None) < 1:
            pass
        res = struct.unpack_from("<QQqq", ev.raw)[2]
        if res < 0:
            raise OSError(-res, os.strerror(-res))
        return res

    def close(self):
        _sys(NR_DESTROY, self.ctx)


def aligned_buffer(data):
    """An mmap'd (page-aligned) copy of data, for O_DIRECT."""
    m = mmap.mmap(-1, len(data))
    m[:] = data
    return m
