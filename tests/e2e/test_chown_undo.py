# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 2: the volume of scenario 1, fixed on disk instead of by a
mount: `shiftctl chown --user 1000` makes the rootless podman container's
USER 1000 own it and write to it; `shiftctl undo` gives the host user its
files back exactly as they were."""
import os

from e2e_util import (PROBE, ROOTLESS_USER, Podman, assert_denied, gid_of,
                      make_rootfs, need_verb, owner, parse_probe, scenario,
                      shiftctl, subid_start, uid_of)


def metadata(root):
    res = {}
    for d, dirs, files in os.walk(root):
        for n in [""] + dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            res[os.path.relpath(p, root)] = (st.st_uid, st.st_gid,
                                             st.st_mode, st.st_mtime_ns)
    return res


def test_chown_then_undo():
    with scenario("2-chown-undo") as sc:
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"))
        pm = Podman(sc, user=user)
        vol = sc.mkdir("vol", uid, gid, 0o755)
        os.makedirs(os.path.join(vol, "sub/deeper"))
        for rel in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
            with open(os.path.join(vol, rel), "w") as f:
                f.write(rel)
        os.chmod(os.path.join(vol, "sub/b.txt"), 0o640)
        for d, dirs, files in os.walk(vol):
            for n in dirs + files:
                os.lchown(os.path.join(d, n), uid, gid)
        before = metadata(vol)

        p = pm.run(rootfs, PROBE, user=1000, volumes=[f"{vol}:/data"])
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "0:0", p.stdout
        assert_denied(p, "plain bind mount")
        sc.rec.add("plain bind mount", r["uid"], f"{uid}:{gid}",
                   "Permission denied")

        need_verb("chown")
        need_verb("undo")
        journal = sc.path("chown.journal")
        shiftctl("chown", f"--rootless={user}", "--user=1000",
                 f"--journal={journal}", vol)
        host_1000 = subid_start(user) + 999
        for rel in before:
            assert owner(os.path.join(vol, rel)) == (host_1000, host_1000), rel

        p = pm.run(rootfs, PROBE + "; mkdir /data/sub/new && "
                   "echo more >> /data/sub/b.txt && echo append=ok",
                   user=1000, volumes=[f"{vol}:/data"])
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "1000:1000", p.stdout
        assert r["write"] == "ok" and r.get("append") == "ok", \
            p.stdout + p.stderr
        new = os.path.join(vol, "written-by-container")
        assert owner(new) == (host_1000, host_1000)
        sc.rec.add("after shiftctl chown --user=1000", r["uid"],
                   "%d:%d" % owner(new), "write ok")

        shiftctl("undo", journal)
        after = metadata(vol)
        for rel, (u, g, mode, mtime) in before.items():
            if rel in (".", "sub"):  # the container created entries here
                assert after[rel][:3] == (u, g, mode), rel
            elif rel == "sub/b.txt":  # and appended to this one
                assert after[rel][:3] == (u, g, mode), rel
            else:
                assert after[rel] == (u, g, mode, mtime), rel
        # The container's own new files keep the container's owner.
        assert owner(new) == (host_1000, host_1000)
        p = pm.run(rootfs, PROBE, user=1000, volumes=[f"{vol}:/data"])
        r = parse_probe(p.stdout)
        assert r["data_owner"] == "0:0", p.stdout
        sc.rec.add("after shiftctl undo", r["uid"], "%d:%d" % owner(vol),
                   "host view restored (container sees 0:0)")
