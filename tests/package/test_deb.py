# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: the Debian package, built from the tree, installed on this
machine with dpkg, used as a user would, purged.

One test, in order (each step needs the previous): cpack -G DEB in a build
without test hooks, dpkg -i, `shiftctl --version` and `-V` on a verb,
`man shiftctl` and a verb's page, `mount -t fuse.shiftfs` through mount(8)
(which finds /sbin/mount.fuse.shiftfs), an fstab line mounted with
`mount -T FSTAB MNT`, `shiftctl mount`/`status`/`umount` with the installed
binaries, the installed bash completion, the postinst's capabilities on
shiftfs-idmap-helper when the package ships it; then dpkg --purge leaves
none of the package's files behind.
"""
import glob
import json
import os
import subprocess

import pytest

from conftest import is_mounted, need, need_root_and_fuse, umount
from fs_util import Scratch
from install_util import release_build


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "shiftfs")
    return r.returncode == 0 and "ok installed" in r.stdout


@pytest.fixture
def scratch():
    s = Scratch("shiftfs-pkg")
    yield s
    s.cleanup()


def test_deb(scratch):
    need_root_and_fuse()
    need(not installed(), "no shiftfs package installed already (the test "
         "installs and purges its own)")
    d = release_build()
    for old in glob.glob(os.path.join(d, "package", "*.deb")):
        os.unlink(old)
    r = run("cpack", "-G", "DEB", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = glob.glob(os.path.join(d, "package", "shiftfs_*.deb"))
    assert len(debs) == 1
    deb = debs[0]
    info = run("dpkg-deb", "-f", deb, "Package", "Version", "Depends").stdout
    assert "Package: shiftfs\n" in info and "Version: 0.1.0\n" in info
    assert "fuse3" in info and "libfuse3-3" in info
    files = run("dpkg-deb", "-c", deb).stdout
    for f in ("./usr/bin/shiftctl", "./usr/bin/shiftfs",
              "./usr/sbin/mount.fuse.shiftfs",
              "./usr/share/man/man1/shiftctl-undo.1",
              "./usr/share/bash-completion/completions/shiftctl",
              "./usr/share/zsh/vendor-completions/_shiftctl"):
        assert f in files, f

    s = scratch
    r = run("dpkg", "-i", deb)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        use_installed(s, files)
    finally:
        for m in (s.mnt,):
            if is_mounted(m):
                umount(m)
        r = run("dpkg", "--purge", "shiftfs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not installed()
    for f in ("/usr/bin/shiftctl", "/usr/bin/shiftfs",
              "/usr/sbin/mount.fuse.shiftfs",
              "/usr/share/man/man1/shiftctl.1"):
        assert not os.path.exists(f), f


def use_installed(s, files):
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin",
               MANPAGER="cat", MANWIDTH="80")
    r = run("shiftctl", "--version", env=env)
    assert r.stdout == "shiftctl 0.1.0\n"
    assert run("shiftctl", "mount", "-V", env=env).stdout == "shiftctl 0.1.0\n"
    assert run("shiftfs", "-V", env=env).stdout.startswith("shiftfs 0.1.0\n")
    for page, title in (("shiftctl", "SHIFTCTL(1)"),
                        ("shiftctl-undo", "SHIFTCTL-UNDO(1)"),
                        ("shiftfs", "SHIFTFS(8)")):
        r = run("man", page, env=env)
        assert r.returncode == 0 and title in r.stdout, (page, r.stderr)

    # mount(8): type fuse.shiftfs, commas between the map's ranges
    os.chown(s.src, 65536, 65536)
    opts = "map=0:100000:65536,65536:1000:1,nosuid,nodev"
    r = run("mount", "-t", "fuse.shiftfs", s.src, s.mnt, "-o", opts, env=env)
    assert r.returncode == 0, r.stderr
    assert is_mounted(s.mnt)
    assert (os.stat(s.mnt).st_uid, os.stat(s.mnt).st_gid) == (1000, 1000)
    r = run("umount", s.mnt)
    assert r.returncode == 0, r.stderr

    # an fstab line, mounted by its mount point
    fstab = s.p("fstab")
    with open(fstab, "w") as f:
        f.write("%s %s fuse.shiftfs %s,ro,nofail 0 0\n" % (s.src, s.mnt, opts))
    r = run("mount", "-T", fstab, s.mnt, env=env)
    assert r.returncode == 0, r.stderr
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        line = [x for x in f if " %s " % s.mnt in x][0]
    assert " ro," in line and "nosuid" in line and " fuse.shiftfs " in line
    assert os.stat(s.mnt).st_uid == 1000
    assert run("umount", s.mnt).returncode == 0

    # shiftctl mount with the installed daemon
    r = run("shiftctl", "mount", "--map=0:100000:65536", "--backend=fuse",
            "-r", s.src, s.mnt, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("shiftctl: mounted %s at %s with fuse" % (
        s.src, s.mnt)) and r.stdout.endswith(", read-only\n")
    r = run("shiftctl", "status", s.mnt, env=env)
    assert r.returncode == 0 and "backend fuse" in r.stdout
    r = run("shiftctl", "status", "--json", s.mnt, env=env)
    pid = json.loads(r.stdout)[0]["pid"]
    assert os.readlink("/proc/%d/exe" % pid) == "/usr/bin/shiftfs"
    r = run("shiftctl", "umount", s.mnt, env=env)
    assert r.returncode == 0, r.stderr

    # the installed bash completion, as bash-completion loads it
    r = run("bash", "-c", ". /usr/share/bash-completion/completions/shiftctl;"
            " COMP_WORDS=(shiftctl un); COMP_CWORD=1; _shiftctl;"
            ' echo "${COMPREPLY[*]}"', env=env)
    assert r.stdout == "undo\n", r.stderr

    # postinst: the idmap helper (when shipped) gets its capabilities
    helper = "/usr/libexec/shiftfs/shiftfs-idmap-helper"
    if "." + helper in files:
        r = run("getcap", helper)
        assert "cap_setgid,cap_setuid,cap_sys_admin=ep" in r.stdout, r.stdout
        assert not os.stat(helper).st_mode & 0o4000


def test_postinst_setcap(tmp_path):
    """The postinst gives shiftfs-idmap-helper exactly its three file
    capabilities (a .deb carries none) and drops a setuid bit a staging
    install without setcap left; without the helper it does nothing."""
    need(os.geteuid() == 0, "root (setcap)")
    d = release_build()
    with open(os.path.join(d, "packaging", "postinst")) as f:
        script = f.read()
    real = "/usr/libexec/shiftfs/shiftfs-idmap-helper"
    assert "helper=%s\n" % real in script
    fake = tmp_path / "shiftfs-idmap-helper"
    fake.write_bytes(open("/bin/true", "rb").read())
    os.chmod(fake, 0o4755)
    test_script = tmp_path / "postinst"
    test_script.write_text(script.replace(real, str(fake)))
    r = run("sh", str(test_script), "configure")
    assert r.returncode == 0, r.stderr
    assert "cap_setgid,cap_setuid,cap_sys_admin=ep" in run(
        "getcap", str(fake)).stdout
    assert os.stat(fake).st_mode & 0o7777 == 0o755
    os.unlink(fake)
    r = run("sh", str(test_script), "configure")
    assert r.returncode == 0 and r.stderr == ""
