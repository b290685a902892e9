# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13, items 6 and 9 (undo's part): undo PATH undoes the newest run
of the tree that was not undone yet, by the journals' sequence numbers
(not their whole-second mtimes); undo of an undone journal says so and
exits 0 without a walk; counts add up."""
import json
import os
import struct
import zlib

import pytest

from chown_util import journal_from, need_root, remove_default_journals
from conftest import shiftctl

MAP = "--map=0:100000:65536"
OWNER = 1002


def owners(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_uid, st.st_gid)
    return out


@pytest.fixture
def vol(tmp_path):
    need_root()
    v = tmp_path / "vol"
    v.mkdir()
    for n in ("a", "b"):
        (v / n).write_text(n)
    (v / "d").mkdir()
    (v / "d" / "c").write_text("c")
    for d, dirs, files in os.walk(v):
        for n in dirs + files:
            os.lchown(os.path.join(d, n), OWNER, OWNER)
    os.lchown(v, OWNER, OWNER)
    yield str(v)
    remove_default_journals(str(v))


def test_undo_path_undoes_the_newest_run_every_time(vol):
    for i in range(5):
        before = owners(vol)
        r = shiftctl("chown", MAP, "--user=1000", vol)
        assert r.returncode == 0, r.stderr
        j1 = journal_from(r.stderr)
        r = shiftctl("undo", vol)
        assert r.returncode == 0, r.stderr
        assert "undoing with journal: %s" % j1 in r.stderr
        assert owners(vol) == before
        # A new file, then a second run, in the same second.
        new = os.path.join(vol, "new%d" % i)
        with open(new, "w") as f:
            f.write("x")
        os.lchown(new, OWNER, OWNER)
        before = owners(vol)
        r = shiftctl("chown", MAP, "--user=1000", vol)
        assert r.returncode == 0, r.stderr
        j2 = journal_from(r.stderr)
        assert j2 != j1
        assert os.lstat(new).st_uid == 100000 + 1000
        r = shiftctl("undo", vol)
        assert r.returncode == 0, r.stderr
        assert "undoing with journal: %s" % j2 in r.stderr, (i, r.stderr)
        assert owners(vol) == before, "run %d: the newest run was left" % i
        # Both runs are undone now: undo PATH says so and changes nothing.
        r = shiftctl("undo", vol)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == (
            "undo: %s: nothing to undo: every journal of this tree was "
            "already undone (the newest: %s)" % (vol, j2))
        assert "0 restored" not in r.stdout
        assert owners(vol) == before


def test_undo_of_an_undone_journal(vol):
    r = shiftctl("chown", MAP, "--user=1000", vol)
    j = journal_from(r.stderr)
    assert shiftctl("undo", j).returncode == 0
    for extra in ([], ["--dry-run"]):
        r = shiftctl("undo", *extra, j)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ("undo: journal %s: the run was already "
                                    "undone; nothing to do" % j)
        assert "restored" not in r.stdout and "undoing" not in r.stderr
    r = shiftctl("undo", "--json", j)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["already_undone"] is True and doc["journal"] == j


def test_undo_stacked_runs_one_by_one(vol):
    """chown, then shift on top: undo PATH takes the shift back first,
    then the chown."""
    orig = owners(vol)
    r = shiftctl("chown", MAP, "--user=1000", vol)
    assert r.returncode == 0
    mid = owners(vol)
    r = shiftctl("shift", "--map=0:1:200000", vol)
    assert r.returncode == 0, r.stderr
    assert owners(vol) != mid
    assert shiftctl("undo", vol).returncode == 0
    assert owners(vol) == mid
    assert shiftctl("undo", vol).returncode == 0
    assert owners(vol) == orig
    assert "nothing to undo" in shiftctl("undo", vol).stdout


def strip_seq(path):
    """Rewrite the journal at path as format 2 before the SEQ1 extension:
    the header without its sequence number (CRC recomputed)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack_from("<I", data, 12)
    pos = 16 + 6 * 4 + 16 + 8
    for _ in range(2):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4 + 12 * n
    (plen,) = struct.unpack_from("<I", data, pos)
    pos += 4 + plen
    assert data[pos:pos + 4] == b"SEQ1"
    new_len = (pos + 4 + 7) & ~7
    head = bytearray(data[:pos]) + bytes(new_len - pos)
    struct.pack_into("<I", head, 12, new_len)
    struct.pack_into("<I", head, new_len - 4, zlib.crc32(bytes(head[:-4])))
    with open(path, "wb") as f:
        f.write(bytes(head) + data[hlen:])


def test_journals_without_seq_still_work(vol):
    """A journal written before the sequence number (format 2 without the
    SEQ1 extension) still loads and is undone; a new run is newer."""
    orig = owners(vol)
    r = shiftctl("chown", MAP, "--user=1000", vol)
    old = journal_from(r.stderr)
    strip_seq(old)
    r = shiftctl("undo", "--dry-run", old)
    assert r.returncode == 0, r.stderr
    r = shiftctl("undo", vol)
    assert r.returncode == 0, r.stderr
    assert "undoing with journal: %s" % old in r.stderr
    assert owners(vol) == orig
    r = shiftctl("chown", MAP, "--user=1000", vol)
    new = journal_from(r.stderr)
    r = shiftctl("undo", vol)
    assert "undoing with journal: %s" % new in r.stderr
    assert owners(vol) == orig
