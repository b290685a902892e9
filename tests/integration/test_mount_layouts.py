# SPDX-License-Identifier: GPL-2.0-or-later
"""shiftctl mount: every map source on both backends.

For each layout (rootless, userns-remap, a live process's maps, explicit,
owner mode) and each backend (kernel idmapped mount, shiftfs FUSE), mount a
tree whose files belong to several disk ids, then check that:
  - shiftctl says which backend it used and prints the map it applied;
  - the map it recorded is the layout's (computed here independently);
  - every file under MNT shows view owners = the map applied to its disk
    owners (unmapped: the overflow id), with modes unchanged;
  - a file created through the mount by a view user lands on disk with
    that user's disk ids.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import need_root_and_fuse
from mount_util import (OVERFLOW_GID, OVERFLOW_UID, Map, make_tree, mount_entry,  # noqa: F401
                        mounts, state_of, host_user, walk, world_tmp)

BACKENDS = ["idmap", "fuse"]
LAYOUTS = ["rootless", "userns-remap", "pid", "explicit", "owner"]



def suid_ok(backend):
    """SRC here is in a world-traversable scratch dir and the maps give a
    view id disk uid 0: the idmap backend needs the administrator's
    override (the rule itself is tested in tests/security)."""
    return ["--allow-suid-src"] if backend == "idmap" else []


@pytest.fixture
def subid_files(world_tmp):
    su = os.path.join(world_tmp, "subuid")
    sg = os.path.join(world_tmp, "subgid")
    name = host_user().pw_name
    with open(su, "w") as f:
        f.write("# test ranges\n%s:200000:65536\n" % name)
    with open(sg, "w") as f:
        f.write("%s:300000:65536\n" % name)
    return su, sg


@pytest.fixture
def userns_proc():
    """A process in a new user namespace whose maps we write as root."""
    p = subprocess.Popen(["unshare", "--user", "sleep", "600"])
    try:
        mine = os.readlink("/proc/self/ns/user")
        for _ in range(500):
            if os.readlink("/proc/%d/ns/user" % p.pid) != mine:
                break
            time.sleep(0.01)
        with open("/proc/%d/uid_map" % p.pid, "w") as f:
            f.write("0 400000 65536\n")
        with open("/proc/%d/gid_map" % p.pid, "w") as f:
            f.write("0 410000 65536\n")
        yield p.pid
    finally:
        p.kill()
        p.wait()


def layout_args(layout, subid, pid, src):
    """(shiftctl arguments, expected uid ranges, expected gid ranges)."""
    su, sg = subid
    u = host_user()
    files = ["--subuid-file", su, "--subgid-file", sg]
    if layout == "rootless":
        return (["--rootless=" + u.pw_name] + files,
                [(0, u.pw_uid, 1), (1, 200000, 65536)],
                [(0, u.pw_gid, 1), (1, 300000, 65536)])
    if layout == "userns-remap":
        return (["--userns-remap=" + u.pw_name] + files,
                [(0, 200000, 65536)], [(0, 300000, 65536)])
    if layout == "pid":
        return (["--pid=%d" % pid], [(0, 400000, 65536)],
                [(0, 410000, 65536)])
    if layout == "explicit":
        return (["--uid-map=0:100000:1000,1000:1000:1",
                 "--gid-map=0:110000:70001"],
                [(0, 100000, 1000), (1000, 1000, 1)], [(0, 110000, 70001)])
    # Owner mode: SRC belongs to 5:6, container user 1000 under rootless.
    os.chown(src, 5, 6)
    return (["--rootless=" + u.pw_name, "--user=1000"] + files,
            [(5, 200000 + 999, 1)], [(6, 300000 + 999, 1)])


def check_view(src, mnt, umap, gmap):
    paths = walk(src)
    assert walk(mnt) == paths
    for rel in paths:
        s = os.lstat(os.path.join(src, rel))
        m = os.lstat(os.path.join(mnt, rel))
        assert (m.st_uid, m.st_gid) == (umap.view(s.st_uid), gmap.view(s.st_gid)), rel
        assert m.st_mode == s.st_mode, rel
        assert m.st_size == s.st_size, rel


def create_as_view(mnt, src, umap, gmap):
    """Create pub/new as the view ids of disk 5:6; check its disk owner."""
    vu, vg = umap.view(5), gmap.view(6)
    r = subprocess.run(["setpriv", "--reuid=%d" % vu, "--regid=%d" % vg,
                        "--clear-groups", "sh", "-c",
                        "echo x > %s/pub/new" % mnt],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    st = os.lstat(os.path.join(src, "pub", "new"))
    assert (st.st_uid, st.st_gid) == (5, 6)
    st = os.lstat(os.path.join(mnt, "pub", "new"))
    assert (st.st_uid, st.st_gid) == (vu, vg)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_backend(layout, backend, world_tmp, mounts, subid_files,
                        request):
    need_root_and_fuse()
    pid = request.getfixturevalue("userns_proc") if layout == "pid" else 0
    src, mnt = os.path.join(world_tmp, "src"), os.path.join(world_tmp, "mnt")
    os.mkdir(src)
    os.mkdir(mnt)
    make_tree(src, with_acl=False)
    pub = os.path.join(src, "pub")
    os.mkdir(pub)
    os.chmod(pub, 0o1777)
    args, uexp, gexp = layout_args(layout, subid_files, pid, src)
    os.chown(pub, 5, 6)

    r = mounts.mount("--backend=" + backend, *suid_ok(backend), "--json", *args, src, mnt)
    rec = json.loads(r.stdout)
    assert rec["backend"] == backend
    assert [(i["disk"], i["view"], i["count"]) for i in rec["uid_map"]] == uexp
    assert [(i["disk"], i["view"], i["count"]) for i in rec["gid_map"]] == gexp
    e = mount_entry(mnt)
    if backend == "idmap":
        assert "idmapped" in e["opts"].split(",")
    else:
        assert e["fstype"] == "fuse.shiftfs" and e["source"] == src
    umap, gmap = Map(uexp, OVERFLOW_UID), Map(gexp, OVERFLOW_GID)
    check_view(src, mnt, umap, gmap)
    create_as_view(mnt, src, umap, gmap)


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_line_names_backend_and_map(backend, world_tmp, mounts):
    need_root_and_fuse()
    src, mnt = os.path.join(world_tmp, "src"), os.path.join(world_tmp, "mnt")
    os.mkdir(src)
    os.mkdir(mnt)
    r = mounts.mount("--backend=" + backend, *suid_ok(backend), "--map=0:100000:65536", src, mnt)
    out = r.stdout.strip().splitlines()
    assert len(out) == 1, r.stdout
    assert out[0].startswith("shiftctl: mounted %s at %s with %s (" % (src, mnt, backend))
    assert out[0].endswith("uid map 0:100000:65536, gid map 0:100000:65536")
    if backend == "idmap":
        assert "kernel idmapped mount" in out[0]
    else:
        pid = state_of(mnt)["pid"]
        assert "shiftfs daemon pid %d" % pid in out[0]
        with open("/proc/%d/comm" % pid) as f:
            assert f.read().strip() == "shiftfs"


def test_read_only_both_backends(world_tmp, mounts):
    need_root_and_fuse()
    src = os.path.join(world_tmp, "src")
    os.mkdir(src)
    for backend in BACKENDS:
        mnt = os.path.join(world_tmp, "mnt-" + backend)
        os.mkdir(mnt)
        mounts.mount("--backend=" + backend, *suid_ok(backend), "--read-only",
                     "--map=0:100000:65536", src, mnt)
        assert "ro" in mount_entry(mnt)["opts"].split(",")
        with pytest.raises(OSError) as ei:
            open(os.path.join(mnt, "x"), "w")
        assert ei.value.errno == 30  # EROFS
        assert state_of(mnt)["read_only"] is True
