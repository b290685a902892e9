# SPDX-License-Identifier: GPL-2.0-or-later
"""Journals the tests leave behind, removed at the end of a pytest session.

`shiftctl chown`/`shift` run without --journal (as a user or a guide runs
them) write to the default directory: /var/lib/shiftctl/journal for root,
~/.local/state/shiftctl for a user. Tests that know their journal remove it
themselves (chown_util.remove_default_journals); this sweep catches the
rest. It removes only journals that appeared during this session and whose
tree (the path recorded in the journal) is gone or lies in this session's
pytest temporary directory, so a journal of another tree, or of another run
going on at the same time, stays.
"""
import os
import pwd
import re
import struct
import time

ROOT_DIR = "/var/lib/shiftctl/journal"
USERS = ("shiftfs-test", "shiftfs-atk", "shiftfs-victim", "shiftfs-mapped",
         "shiftfs-e2e", "shiftfs-remap")


def journal_dirs():
    dirs = [ROOT_DIR]
    for u in USERS:
        try:
            home = pwd.getpwnam(u).pw_dir
        except KeyError:
            continue
        dirs.append(os.path.join(home, ".local", "state", "shiftctl"))
    return dirs


def journals():
    found = set()
    for d in journal_dirs():
        try:
            names = os.listdir(d)
        except OSError:
            continue
        found.update(os.path.join(d, n) for n in names
                     if n.endswith(".journal"))
    return found


def tree_of(path):
    """The tree path recorded in a journal's header (None if unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError:
        return None
    if not head.startswith(b"SHIFTJNL"):
        return None
    # The path is stored after its length (4 bytes, little-endian).
    for m in re.finditer(rb"/", head):
        p = m.start()
        if p < 4:
            continue
        n = struct.unpack("<I", head[p - 4:p])[0]
        if 1 <= n <= 4096 and p + n <= len(head) and \
                b"\x00" not in head[p:p + n]:
            return os.fsdecode(head[p:p + n])
    return None


class Sweep:
    def __init__(self):
        self.before = journals()
        self.since = time.time() - 1

    def finish(self, basetemp=None):
        removed = []
        base = os.path.realpath(str(basetemp)) + "/" if basetemp else None
        for j in sorted(journals() - self.before):
            try:
                if os.stat(j).st_mtime < self.since:
                    continue
            except OSError:
                continue
            tree = tree_of(j)
            if tree and (not os.path.exists(tree) or base and
                         os.path.realpath(tree).startswith(base)):
                os.unlink(j)
                removed.append(j)
        return removed
