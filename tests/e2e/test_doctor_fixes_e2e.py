# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario: every command shiftctl doctor prints, executed as printed with
the real engines. The shiftctl lines run in a fresh shell (env -i) exactly
as doctor printed them; the `podman run` / `docker run` lines are run as
printed too, with two changes the test's private engines need: their
global options (private storage, the test's daemon socket) right after
the program name, and IMAGE replaced by the test's busybox image and a
probe that lists every entry below /data USER cannot read or write. After
each fix doctor is run again and exits 0."""
import os
import pwd
import shlex
import shutil
import tempfile
import json

from e2e_util import (REMAP_USER, ROOTLESS_USER, SHIFTCTL, SHIFTFS,
                      Dockerd, Podman, gid_of, log, make_rootfs, need_verb,
                      rootfs_tar, scenario, sh, subid_start, uid_of)

# Prints "denied PATH" for every entry USER cannot read and write, then
# "probe=done" (busybox test -r/-w ask the kernel, as USER).
CHECK = ('for p in $(find /data); do '
         '[ -r "$p" ] && [ -w "$p" ] || echo "denied $p"; done; '
         'touch /data/new-by-container && echo write=ok; echo probe=done')


def bindir(sc):
    d = sc.path("bin")
    if not os.path.isdir(d):
        os.makedirs(d)
        os.chmod(d, 0o755)
        os.symlink(os.path.abspath(SHIFTCTL), os.path.join(d, "shiftctl"))
        os.symlink(os.path.abspath(SHIFTFS), os.path.join(d, "shiftfs"))
    return d


def fresh(sc, line, user="root", env=None, check=True):
    """LINE in a fresh sh -c of user, with only HOME, PATH, USER (and
    XDG_RUNTIME_DIR from env) set."""
    e = {"HOME": pwd.getpwnam(user).pw_dir, "USER": user,
         "PATH": bindir(sc) + ":/usr/sbin:/usr/bin:/sbin:/bin",
         "SHIFTFS": os.path.abspath(SHIFTFS)}
    for k in ("XDG_RUNTIME_DIR", "DOCKER_HOST"):
        if env and k in env:
            e[k] = env[k]
    argv = ["env", "-i"] + [f"{k}={v}" for k, v in e.items()] + \
        ["sh", "-c", line]
    p = sh(argv, user=None if user == "root" else user, check=False,
           timeout=300)
    log(f"$ {line}\n{p.stdout}{p.stderr}")
    if check:
        assert p.returncode == 0, f"{line}: {p.stdout}{p.stderr}"
    return p


def doctor(sc, path, *args, user="root", env=None):
    base = "shiftctl doctor %s %s -q" % (
        shlex.quote(path), " ".join(shlex.quote(a) for a in args))
    j = fresh(sc, base + " --json", user=user, env=env, check=False)
    t = fresh(sc, base, user=user, env=env, check=False)
    assert j.returncode == t.returncode and j.returncode in (0, 1), \
        j.stdout + j.stderr
    return j.returncode, json.loads(j.stdout), t.stdout


def fix(doc, kind):
    got = [f for f in doc["fixes"] if f["kind"] == kind]
    assert got, [f["kind"] for f in doc["fixes"]]
    return got[0]


def line_of(f, prog):
    got = [c for c in f["commands"] if c.startswith(prog + " ")]
    assert len(got) == 1, f["commands"]
    return got[0]


def engine_line(line, glob, image):
    """The printed engine line with the test engine's global options after
    the program and IMAGE replaced by image + the probe."""
    w = shlex.split(line, comments=True)
    assert w.count("IMAGE") == 1 and w[-1] == "IMAGE", line
    assert w[1] == "run", line
    return " ".join(shlex.quote(x) for x in
                    [w[0]] + glob + ["run", "--rm", "--network=none"] +
                    w[2:-1] + image + ["sh", "-c", CHECK])


def assert_probe_ok(p):
    assert "probe=done" in p.stdout and "write=ok" in p.stdout, \
        p.stdout + p.stderr
    assert "denied" not in p.stdout, p.stdout


def make_vol(sc, name, uid, gid):
    v = sc.path(name)
    os.makedirs(os.path.join(v, "sub"))
    for f in ("f", "sub/g"):
        with open(os.path.join(v, f), "w") as fh:
            fh.write("data\n")
    for p in (os.path.join(v, "f"), os.path.join(v, "sub", "g")):
        os.chown(p, uid, gid)
        os.chmod(p, 0o600)
    for p in (os.path.join(v, "sub"), v):
        os.chown(p, uid, gid)
        os.chmod(p, 0o700)
    return v


def test_doctor_fixes_rootless_podman():
    """Rootless podman, a volume of the host user's (0700): the mount,
    keep-id and chown fixes, each executed as printed, each then passes
    the container probe and doctor exits 0."""
    with scenario("doctor-fixes-podman") as sc:
        need_verb("doctor")
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        pm = Podman(sc, user=user)
        image = ["--rootfs", rootfs]
        vol = make_vol(sc, "vol", uid, gid)
        dargs = ("--rootless", "--user=1000", "--engine=podman")
        code, doc, text = doctor(sc, vol, *dargs, user=user, env=pm.env)
        assert code == 1 and "lacks rw access to 4 of 4 entries" in text
        kinds = [f["kind"] for f in doc["fixes"]]
        assert kinds == ["mount", "chown", "podman-keep-id"], kinds
        for f in doc["fixes"]:
            assert f["fixes"] == 4, f
        assert "(fixes all 4 denied entries)" in text

        # 1. the owner-mode mount, as the user, from a fresh shell
        f = fix(doc, "mount")
        mline = line_of(f, "shiftctl")
        mnt = os.path.join(pm.run_dir, "shiftfs", "vol")
        assert mline.endswith(" " + mnt), mline
        sc.on_cleanup(lambda: fresh(sc, "shiftctl umount " + mnt,
                                    user=user, env=pm.env, check=False))
        fresh(sc, mline, user=user, env=pm.env)
        p = fresh(sc, engine_line(line_of(f, "podman"), pm.glob, image),
                  user=user, env=pm.env, check=False)
        assert_probe_ok(p)
        code, _, text2 = doctor(sc, mnt, *dargs, user=user, env=pm.env)
        assert code == 0, text2
        fresh(sc, "shiftctl umount " + shlex.quote(mnt), user=user,
              env=pm.env)
        os.unlink(os.path.join(vol, "new-by-container"))

        # 2. keep-id: nothing changes on disk, the container can
        f = fix(doc, "podman-keep-id")
        p = fresh(sc, engine_line(line_of(f, "podman"), pm.glob, image),
                  user=user, env=pm.env, check=False)
        assert_probe_ok(p)
        os.unlink(os.path.join(vol, "new-by-container"))

        # 3. chown: it says it needs root; as root, as printed
        f = fix(doc, "chown")
        assert "it needs root (CAP_CHOWN): run it as root" in f["summary"]
        cline = line_of(f, "shiftctl")
        try:
            fresh(sc, cline)
            p = fresh(sc, engine_line(line_of(f, "podman"), pm.glob, image),
                      user=user, env=pm.env, check=False)
            assert_probe_ok(p)
            # The tree is no longer the user's (0700): root asks, for
            # the user's layout.
            code, _, text3 = doctor(sc, vol, "--rootless=" + user,
                                    "--user=1000", "--engine=podman")
            assert code == 0, text3
            host = subid_start(user) + 999
            assert os.lstat(vol).st_uid == host
        finally:
            remove_journals(vol)


def remove_journals(root):
    d = "/var/lib/shiftctl/journal"
    if not os.path.isdir(d):
        return
    st = os.stat(root)
    tag = "-%x-%d-" % (st.st_dev, st.st_ino)
    for n in os.listdir(d):
        if tag in n and n.endswith(".journal"):
            os.unlink(os.path.join(d, n))


def test_doctor_fixes_docker_userns_remap():
    """Rootful docker with userns-remap, a root-owned volume: the mount
    and chown fixes as printed (root), the docker run lines as printed,
    then doctor exits 0."""
    with scenario("doctor-fixes-docker") as sc:
        need_verb("doctor")
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        dk = Dockerd(sc, "remap", userns_remap=REMAP_USER)
        tag = dk.import_rootfs(rootfs_tar(rootfs, sc.path("rootfs.tar")))
        glob = ["-H", "unix://" + dk.sock]
        os.makedirs(sc.path("private"), mode=0o700)
        vol = make_vol(sc, "private/vol", 0, 0)
        dargs = ("--userns-remap=" + REMAP_USER, "--user=1000",
                 "--engine=docker")
        mnt = sc.path("m", "view")
        code, doc, text = doctor(sc, vol, *dargs, "--target=" + mnt)
        assert code == 1 and "lacks rw access to 4 of 4 entries" in text
        kinds = [f["kind"] for f in doc["fixes"]]
        assert kinds[:2] == ["mount", "chown"], kinds

        f = fix(doc, "mount")
        fresh(sc, line_of(f, "shiftctl"))
        p = fresh(sc, engine_line(line_of(f, "docker"), glob, [tag]),
                  check=False)
        assert_probe_ok(p)
        code, _, text2 = doctor(sc, mnt, *dargs)
        assert code == 0, text2
        fresh(sc, "shiftctl umount " + shlex.quote(mnt))
        os.unlink(os.path.join(vol, "new-by-container"))

        f = fix(doc, "chown")
        try:
            fresh(sc, line_of(f, "shiftctl"))
            p = fresh(sc, engine_line(line_of(f, "docker"), glob, [tag]),
                      check=False)
            assert_probe_ok(p)
            code, _, text3 = doctor(sc, vol, *dargs)
            assert code == 0, text3
        finally:
            remove_journals(vol)

        # A tree of the container's own ids (copied from an image): the
        # shift, then its docker line, as printed.
        img = make_vol(sc, "private/img", 1000, 1000)
        os.chown(os.path.join(img, "f"), 0, 0)
        os.chmod(os.path.join(img, "f"), 0o666)
        code, doc, text = doctor(sc, img, *dargs)
        assert code == 1
        f = fix(doc, "shift")
        assert f["remaining"] == 0 and f["fixes"] == doc["denied"], f
        try:
            fresh(sc, line_of(f, "shiftctl"))
            p = fresh(sc, engine_line(line_of(f, "docker"), glob, [tag]),
                      check=False)
            assert_probe_ok(p)
            code, _, text4 = doctor(sc, img, *dargs)
            assert code == 0, text4
        finally:
            remove_journals(img)


def test_doctor_fixes_root_for_a_rootless_podman_user():
    """Root diagnoses a root-owned volume for a rootless podman user: the
    mount fix as printed (root), the podman line says whose it is and runs
    as that user, doctor on the mount exits 0; no keep-id fix (it cannot
    give root's files to USER)."""
    with scenario("doctor-fixes-root-rootless") as sc:
        need_verb("doctor")
        user = ROOTLESS_USER
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        pm = Podman(sc, user=user)
        image = ["--rootfs", rootfs]
        os.makedirs(sc.path("private"), mode=0o700)
        vol = make_vol(sc, "private/vol", 0, 0)
        mnt = sc.path("m", "view")
        dargs = ("--rootless=" + user, "--user=1000", "--engine=podman")
        code, doc, text = doctor(sc, vol, *dargs, "--target=" + mnt)
        assert code == 1
        kinds = [f["kind"] for f in doc["fixes"]]
        assert kinds == ["mount", "chown"], kinds
        f = fix(doc, "mount")
        pline = line_of(f, "podman")
        assert pline.endswith("   # as %s: the rootless engine's user" %
                              user), pline
        sc.on_cleanup(lambda: fresh(sc, "shiftctl umount " + mnt,
                                    check=False))
        fresh(sc, line_of(f, "shiftctl"))
        p = fresh(sc, engine_line(pline, pm.glob, image), user=user,
                  env=pm.env, check=False)
        assert_probe_ok(p)
        code, _, text2 = doctor(sc, mnt, *dargs)
        assert code == 0, text2


def test_doctor_fixes_rootless_docker():
    """Rootless docker found from DOCKER_HOST, a volume of the user's own:
    the mount fix and its docker line run exactly as printed (the user's
    DOCKER_HOST names the daemon), then doctor on the mount exits 0."""
    with scenario("doctor-fixes-rootless-docker") as sc:
        need_verb("doctor")
        user = ROOTLESS_USER
        uid, gid = uid_of(user), gid_of(user)
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        dk = Dockerd(sc, "rootless", rootless_user=user)
        tar = rootfs_tar(rootfs, sc.path("rootfs.tar"))
        tag = dk.import_rootfs(tar)
        vol = make_vol(sc, "vol", uid, gid)
        env = {"XDG_RUNTIME_DIR": dk.env["XDG_RUNTIME_DIR"],
               "DOCKER_HOST": dk.env["DOCKER_HOST"]}
        code, doc, text = doctor(sc, vol, "--user=1000", user=user, env=env)
        assert code == 1 and "Engine: rootless docker (from DOCKER_HOST=" \
            in text, text
        kinds = [f["kind"] for f in doc["fixes"]]
        assert kinds == ["mount", "chown"], kinds
        f = fix(doc, "mount")
        mnt = os.path.join(env["XDG_RUNTIME_DIR"], "shiftfs", "vol")
        assert line_of(f, "shiftctl").endswith(" " + mnt)
        sc.on_cleanup(lambda: fresh(sc, "shiftctl umount " + mnt,
                                    user=user, env=env, check=False))
        fresh(sc, line_of(f, "shiftctl"), user=user, env=env)
        p = fresh(sc, engine_line(line_of(f, "docker"), [], [tag]),
                  user=user, env=env, check=False)
        assert_probe_ok(p)
        code, _, text2 = doctor(sc, mnt, "--user=1000", user=user, env=env)
        assert code == 0, text2
