# SPDX-License-Identifier: GPL-2.0-or-later
"""O_DIRECT writes and buffered reads of the same file agree.

An asynchronous O_DIRECT write (io_submit) to a file that another process
reads buffered meanwhile: once io_getevents() reports it complete, a
buffered read of the range returns the written bytes, under every cache setting and
with identity and shifting maps (the kernel's FUSE client does not
invalidate the cached pages after an async direct write; the daemon does it
before it replies). A synchronous O_DIRECT write and a buffered write read
back through an O_DIRECT fd are checked too.
"""
import os
import subprocess
import sys
import time

import pytest

from aio_util import Aio, aligned_buffer
from conftest import need_root_and_fuse
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)
SIZE = 1 << 20
CHUNK = 64 << 10

READER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    os.pread(fd, 1 << 20, 0)
"""

MOUNTS = {
    "identity": "identity",
    "shifted": "map=100000:0:65536",
    "shifted-always": "map=100000:0:65536,cache=always",
    "shifted-never": "map=100000:0:65536,cache=never",
    "shifted-writeback": "map=100000:0:65536,cache=always,writeback",
    "shifted-single-threaded": ("map=100000:0:65536", ["-s"]),
}


@pytest.fixture(params=sorted(MOUNTS))
def mnt(request, scratch, shiftfs_mount):
    need_root_and_fuse()
    os.chown(scratch.src, 100000, 100000)
    path = os.path.join(scratch.src, "f")
    with open(path, "wb") as f:
        f.write(b"A" * SIZE)
    os.chown(path, 100000, 100000)
    opts, args = MOUNTS[request.param], []
    if isinstance(opts, tuple):
        opts, args = opts
    shiftfs_mount(scratch.src, scratch.mnt, opts, extra_args=args)
    return os.path.join(scratch.mnt, "f")


def test_buffered_read_after_async_direct_write(mnt):
    """A second process reads the file buffered all along (it refills the
    page cache while a write is in flight); each write, once complete,
    must be what a buffered read of its range returns."""
    reader = subprocess.Popen([sys.executable, "-c", READER, mnt, "3.0"])
    aio = Aio()
    buffered = os.open(mnt, os.O_RDONLY)
    direct = os.open(mnt, os.O_RDWR | os.O_DIRECT)
    stale, n = [], 0
    try:
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for off in range(0, SIZE, CHUNK):
                byte = bytes([ord("a") + n % 26])
                n += 1
                assert aio.pwrite(direct, aligned_buffer(byte * CHUNK),
                                  off) == CHUNK
                got = os.pread(buffered, CHUNK, off)
                if got != byte * CHUNK:
                    stale.append((off, got[:1], byte))
    finally:
        os.close(direct)
        os.close(buffered)
        aio.close()
        reader.wait(timeout=30)
    assert n > 200
    assert not stale, "%d of %d buffered reads stale (offset, got, " \
        "wrote): %s" % (len(stale), n, stale[:5])


def test_buffered_read_after_sync_direct_write(mnt):
    buffered = os.open(mnt, os.O_RDONLY)
    direct = os.open(mnt, os.O_RDWR | os.O_DIRECT)
    try:
        assert len(os.pread(buffered, SIZE, 0)) == SIZE
        os.pwrite(direct, aligned_buffer(b"S" * CHUNK), CHUNK)
        assert os.pread(buffered, CHUNK, CHUNK) == b"S" * CHUNK
    finally:
        os.close(direct)
        os.close(buffered)


def test_direct_read_after_buffered_write(mnt):
    buffered = os.open(mnt, os.O_RDWR)
    direct = os.open(mnt, os.O_RDONLY | os.O_DIRECT)
    try:
        os.pwrite(buffered, b"W" * CHUNK, 2 * CHUNK)
        buf = aligned_buffer(b"\0" * CHUNK)
        assert os.preadv(direct, [buf], 2 * CHUNK) == CHUNK
        assert bytes(buf) == b"W" * CHUNK
    finally:
        os.close(direct)
        os.close(buffered)
