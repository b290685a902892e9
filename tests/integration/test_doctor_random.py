# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl doctor against the kernel on random trees: random owners
(mapped and unmapped), modes (setgid, sticky), ACLs with named users and
groups and random masks, nested directories; for several container users
(with supplementary groups, and container root), every verdict of doctor
--json must equal what a process with those ids does in a user namespace
with the same map. Fixed seeds, so a failure is reproducible."""
import os
import random

import pytest

from doctor_util import compare_with_kernel, doctor_json, make_tree, vol_root  # noqa: F401

SEEDS = [int(s) for s in os.environ.get("DOCTOR_SEEDS", "1,2,3,4,5,6").split(",")]
BASE = 100000
MAP = [(0, BASE, 65536)]
# Container users: (uid, gid, supplementary groups incl. primary)
USERS = [(1000, 1000, [1000]), (2000, 2000, [2000, 3000, 4000]), (0, 0, [0]),
         (3000, 3000, [3000])]
# Host ids owners and ACL entries are drawn from: the users' host ids,
# their groups', other mapped ids, and unmapped ids.
IDS = [BASE + i for i in (0, 1000, 2000, 3000, 4000, 5000)] + [0, 4242]


def rand_acl(rng):
    perm = lambda: "".join(c if rng.random() < 0.5 else "-" for c in "rwx")
    parts = ["u::" + perm()]
    for _ in range(rng.randint(0, 2)):
        parts.append("u:%d:%s" % (rng.choice(IDS), perm()))
    parts.append("g::" + perm())
    for _ in range(rng.randint(0, 2)):
        parts.append("g:%d:%s" % (rng.choice(IDS), perm()))
    parts.append("m::" + perm())
    parts.append("o::" + perm())
    # Duplicate qualifiers are refused by setfacl: keep the first.
    seen, out = set(), []
    for p in parts:
        key = p.rsplit(":", 1)[0]
        if key not in seen:
            seen.add(key)
            out.append(p)
    return ",".join(out)


def rand_tree(rng, n=40):
    spec = [(".", "dir", rng.choice(IDS), rng.choice(IDS), 0o755 | rng.choice([0, 0o1000]), None)]
    dirs = ["."]
    for i in range(n):
        parent = rng.choice(dirs)
        rel = ("e%d" % i) if parent == "." else "%s/e%d" % (parent, i)
        kind = "dir" if rng.random() < 0.3 else "file"
        mode = rng.randrange(0o1000)
        if kind == "dir":
            # Mostly searchable, so that deeper entries get judged too.
            if rng.random() < 0.8:
                mode |= 0o111
            if rng.random() < 0.3:
                mode |= 0o1000
            dirs.append(rel)
        acl = rand_acl(rng) if rng.random() < 0.4 else None
        spec.append((rel, kind, rng.choice(IDS), rng.choice(IDS), mode, acl))
    return spec


@pytest.mark.parametrize("seed", SEEDS)
def test_random_tree_matches_kernel(vol_root, tmp_path, seed):
    rng = random.Random(seed)
    vol = os.path.join(vol_root, "vol")
    os.mkdir(vol)
    make_tree(vol, rand_tree(rng))
    group = tmp_path / "group"
    passwd = tmp_path / "passwd"
    passwd.write_text("".join("u%d:x:%d:%d::/:/bin/sh\n" % (u, u, g) for u, g, _ in USERS))
    lines = {}
    for u, g, groups in USERS:
        for s in groups:
            if s != g:
                lines.setdefault(s, []).append("u%d" % u)
    group.write_text("".join("g%d:x:%d:%s\n" % (g, g, ",".join(lines.get(g, [])))
                             for g in sorted({x for _, _, gs in USERS for x in gs})))
    judged = 0
    for u, g, groups in USERS:
        _, doc = doctor_json(vol, "--user=u%d" % u, "--map=0:%d:65536" % BASE,
                             "--passwd=%s" % passwd, "--group=%s" % group, "--need=rwx")
        assert sorted(doc["user"]["groups"]) == sorted(groups)
        bad = compare_with_kernel(doc, vol, MAP, MAP, u, g, groups)
        assert not bad, "seed %d user %d: (path, what, doctor, kernel) %s" % (seed, u, bad)
        judged += sum(1 for e in doc["entries"] if e["reachable"])
    assert judged > 40  # the comparison really covered entries
