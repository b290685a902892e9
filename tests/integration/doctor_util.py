# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the shiftctl doctor tests: build trees with known owners,
modes and ACLs, and try accesses for real as a process with a container's
ids inside a real user namespace with a given map.

Why not `unshare --map-users`: util-linux 2.38 writes multi-range maps
through newuidmap/newgidmap, which check /etc/subuid even for root, so the
tests would have to edit the system's /etc/subuid. Instead a child unshares
CLONE_NEWUSER itself and this (root) process writes /proc/PID/uid_map and
gid_map directly, as a container runtime does. The child then sets its
groups, gid and uid inside the namespace and execs the probe, so that the
probe's capabilities are exactly those of a process with that uid there
(full in the namespace for uid 0, none otherwise).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import need, shiftctl

CHILD = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    sys.stderr.write("unshare(CLONE_NEWUSER): errno %d\n" % ctypes.get_errno())
    sys.exit(3)
sys.stdout.write("ready\n")
sys.stdout.flush()
cfg = json.loads(sys.stdin.readline())
os.setgroups(cfg["groups"])
os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
os.execv(sys.executable, [sys.executable, "-c", cfg["probe"], json.dumps(cfg["items"])])
"""

# Runs inside the namespace with the container's ids: tries every access
# for real and prints one JSON object {path: {...}}.
PROBE = r"""
import errno, json, os, sys
items = json.loads(sys.argv[1])
out = {}

def attempt(fn):
    try:
        fn()
        return True
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return False
        raise

def opener(path, flags):
    def f():
        os.close(os.open(path, flags))
    return f

for it in items:
    p, kind = it["path"], it["type"]
    r = {}
    try:
        st = os.lstat(p)
        r["reachable"] = True
        r["uid"], r["gid"] = st.st_uid, st.st_gid
    except OSError as e:
        if e.errno != errno.EACCES:
            raise
        r["reachable"] = False
        out[p] = r
        continue
    if kind == "dir":
        r["read"] = attempt(opener(p, os.O_RDONLY | os.O_DIRECTORY))
        def search():
            try:
                os.lstat(os.path.join(p, ".doctor-no-such-entry"))
            except FileNotFoundError:
                pass
        r["exec"] = attempt(search)
        probe = os.path.join(p, ".doctor-probe-%d" % os.getpid())
        def create():
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        r["write"] = attempt(create)
    elif kind == "file":
        r["read"] = attempt(opener(p, os.O_RDONLY))
        r["write"] = attempt(opener(p, os.O_WRONLY))
        r["exec"] = os.access(p, os.X_OK)
    if it.get("delete"):
        moved = p + ".doctor-moved"
        ok = attempt(lambda: os.rename(p, moved))
        if ok:
            os.rename(moved, p)
        r["delete"] = ok
    out[p] = r
print(json.dumps(out))
"""


def ns_probe(uid_map, gid_map, uid, gid, groups, items):
    """Try items in a user namespace whose maps are uid_map/gid_map (lists of
    (inside, outside, count)) as container uid/gid with supplementary
    groups. items: [{"path": abs, "type": "dir"|"file"|..., "delete": bool}].
    Returns {path: {"reachable", "read", "write", "exec", "delete", "uid",
    "gid"}}."""
    need(os.geteuid() == 0, "needs root to write user namespace maps")
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        if line != "ready\n":
            child.wait(timeout=10)
            raise RuntimeError("namespace child failed: " + child.stderr.read())
        for name, m in (("uid_map", uid_map), ("gid_map", gid_map)):
            with open("/proc/%d/%s" % (child.pid, name), "w") as f:
                f.write("".join("%d %d %d\n" % r for r in m))
        cfg = {"uid": uid, "gid": gid, "groups": list(groups), "probe": PROBE, "items": items}
        out, err = child.communicate(json.dumps(cfg) + "\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, "probe failed: " + err
    return json.loads(out)


@pytest.fixture
def vol_root():
    """A fresh directory under /tmp that processes in a user namespace can
    reach (pytest's own tmp dirs are 0700 root, which no container passes)."""
    d = tempfile.mkdtemp(prefix="doctor-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    # Restore what the tests may have taken away, then remove.
    subprocess.run(["chmod", "-R", "u+rwx", d], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


def make_tree(root, spec):
    """spec: list of (relpath, kind, uid, gid, mode, acl) in creation order;
    kind "dir" or "file"; acl a setfacl --set text (sets the mode bits
    from the ACL) or None. Parents are created before children; owners and
    modes of directories are applied last, so that restrictive directories
    can still be filled."""
    need(shutil.which("setfacl") is not None, "needs setfacl (acl package)")
    dirs = []
    for rel, kind, uid, gid, mode, acl in spec:
        p = os.path.join(root, rel) if rel != "." else root
        if kind == "dir":
            if rel != ".":
                os.mkdir(p)
            dirs.append((p, uid, gid, mode, acl))
            continue
        with open(p, "w") as f:
            f.write("data of %s\n" % rel)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        if acl:
            subprocess.run(["setfacl", "--set", acl, p], check=True)
    for p, uid, gid, mode, acl in reversed(dirs):
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        if acl:
            subprocess.run(["setfacl", "--set", acl, p], check=True)


def doctor_json(path, *args):
    """Run shiftctl doctor --json --list=all; returns (exit code, doc)."""
    r = shiftctl("doctor", path, "--json", "--list=all", *args)
    assert r.returncode in (0, 1), "doctor failed (%d): %s" % (r.returncode, r.stderr)
    return r.returncode, json.loads(r.stdout)


def entries_by_path(doc, root):
    out = {}
    for e in doc["entries"]:
        p = root if e["path"] == "." else os.path.join(root, e["path"])
        out[p] = e
    return out


def compare_with_kernel(doc, root, uid_map, gid_map, uid, gid, groups):
    """Every verdict of doc (doctor --json --list=all for root) against what
    the kernel does for a process with these container ids in a user
    namespace with these maps. Returns the list of disagreements."""
    ents = entries_by_path(doc, root)
    items = []
    for p, e in ents.items():
        if e["type"] not in ("dir", "file"):
            continue
        items.append({"path": p, "type": e["type"],
                      "delete": p != root and e["delete"] is not None})
    real = ns_probe(uid_map, gid_map, uid, gid, groups, items)
    bad = []
    for p, e in ents.items():
        if p not in real:
            continue
        r = real[p]
        if e["reachable"] != r["reachable"]:
            bad.append((p, "reachable", e["reachable"], r["reachable"]))
            continue
        if not r["reachable"]:
            continue
        # How the container sees the owner: doctor's mapped id, or the
        # overflow id when unmapped.
        shown_uid = e["container_uid"] if e["container_uid"] is not None else doc["map"]["overflow_uid"]
        shown_gid = e["container_gid"] if e["container_gid"] is not None else doc["map"]["overflow_gid"]
        if (shown_uid, shown_gid) != (r["uid"], r["gid"]):
            bad.append((p, "owner", (shown_uid, shown_gid), (r["uid"], r["gid"])))
        for k in ("read", "write", "exec", "delete"):
            if k in r and e[k] != r[k]:
                bad.append((p, k, e[k], r[k]))
    return bad
