# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the shiftctl chown/shift/undo tests: trees with every kind of
inode and metadata, a full metadata dump to compare byte for byte, maps."""
import os
import socket
import stat
import struct
import subprocess

import pytest

from conftest import SHIFTCTL, need

XATTR_CAPS = "security.capability"
ACL_ACCESS = "system.posix_acl_access"
ACL_DEFAULT = "system.posix_acl_default"


def need_root():
    need(os.geteuid() == 0, "chown tests need root")
    need(os.path.exists(SHIFTCTL), "shiftctl not built at " + SHIFTCTL)


def caps_v2(effective=True, bit=13):
    """A raw security.capability v2 value (cap_net_raw by default)."""
    return struct.pack("<IIIII", 0x02000000 | (1 if effective else 0), 1 << bit, 0, 0, 0)


def caps_v3(rootid, bit=13):
    return struct.pack("<IIIIII", 0x03000000 | 1, 1 << bit, 0, 0, 0, rootid)


def caps_rootid(raw):
    if raw is None or len(raw) != 24:
        return None
    return struct.unpack("<IIIIII", raw)[5]


def acl_blob(entries):
    """Raw system.posix_acl_* value from (tag, perm, id) tuples, sorted as
    the kernel wants them. Tags: 1 USER_OBJ 2 USER 4 GROUP_OBJ 8 GROUP
    16 MASK 32 OTHER."""
    out = struct.pack("<I", 2)
    for tag, perm, ident in sorted(entries, key=lambda e: (e[0], e[2])):
        out += struct.pack("<HHI", tag, perm, ident if tag in (2, 8) else 0xFFFFFFFF)
    return out


def acl_entries(raw):
    """(tag, perm, id) tuples of a raw ACL value."""
    if raw is None:
        return None
    (ver,) = struct.unpack_from("<I", raw)
    assert ver == 2
    return [struct.unpack_from("<HHI", raw, 4 + 8 * i) for i in range((len(raw) - 4) // 8)]


def set_acl(path, name, entries):
    os.setxattr(path, name, acl_blob(entries), follow_symlinks=False)


def make_tree(root, uid=0, gid=0, special=True):
    """A tree with every inode type and every kind of metadata that chown
    must keep. Returns a dict of notable paths."""
    os.makedirs(root, exist_ok=True)
    j = lambda *p: os.path.join(root, *p)
    os.makedirs(j("d1", "d2", "d3"))
    os.makedirs(j("other"))
    with open(j("file"), "w") as f:
        f.write("data")
    with open(j("d1", "d2", "deep"), "w") as f:
        f.write("deep")
    os.link(j("file"), j("d1", "hardlink"))
    os.link(j("file"), j("d1", "d2", "d3", "hardlink2"))
    os.symlink("file", j("symlink"))
    os.symlink("/etc", j("to_etc"))
    os.symlink("/etc/passwd", j("d1", "to_passwd"))
    os.symlink("loop_b", j("loop_a"))
    os.symlink("loop_a", j("loop_b"))
    os.mkfifo(j("fifo"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(j("sock"))
    s.close()
    os.mknod(j("chardev"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    for name, mode in (("suid", 0o4755), ("sgid", 0o2755), ("both", 0o6711)):
        with open(j(name), "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(j(name), mode)
    os.mkdir(j("sgiddir"))
    os.chmod(j("sgiddir"), 0o2775)
    with open(j("capfile"), "w") as f:
        f.write("x")
    os.setxattr(j("capfile"), XATTR_CAPS, caps_v2())
    with open(j("capsuid"), "w") as f:
        f.write("x")
    os.chmod(j("capsuid"), 0o4755)
    os.setxattr(j("capsuid"), XATTR_CAPS, caps_v2())
    with open(j("xattrs"), "w") as f:
        f.write("x")
    os.setxattr(j("xattrs"), "user.note", b"keep me\x00\xff")
    os.setxattr(j("xattrs"), "trusted.t", b"trusted")
    with open(j("acl"), "w") as f:
        f.write("x")
    os.mkdir(j("acldir"))
    os.mkdir(j("unreadable"))
    with open(j("unreadable", "inside"), "w") as f:
        f.write("x")
    os.chmod(j("unreadable"), 0)
    os.chmod(j("d1", "d2", "deep"), 0)
    for weird in (b"new\nline", b"bad\xff\xfeutf8", b"tab\there", b" lead space"):
        with open(os.path.join(os.fsencode(root), weird), "w") as f:
            f.write("w")
    os.mkdir(os.path.join(os.fsencode(root), b"dir\nwith\nnewlines"))
    with open(os.path.join(os.fsencode(root), b"dir\nwith\nnewlines", b"f\x80"), "w") as f:
        f.write("w")
    # Set owners of everything, then ACLs (owner-independent entries too).
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), uid, gid, follow_symlinks=False)
    os.chown(root, uid, gid)
    # chown cleared setid bits and caps: put them back after.
    for name, mode in (("suid", 0o4755), ("sgid", 0o2755), ("both", 0o6711), ("capsuid", 0o4755)):
        os.chmod(j(name), mode)
    os.chmod(j("sgiddir"), 0o2775)
    os.setxattr(j("capfile"), XATTR_CAPS, caps_v2())
    os.setxattr(j("capsuid"), XATTR_CAPS, caps_v2())
    return {"root": root, "j": j}


def add_acls(j, ids):
    """Access ACL with named user/group entries for each (uid, gid) in ids
    on 'acl', and access + default ACLs on 'acldir'."""
    ents = [(1, 6, 0), (4, 4, 0), (16, 7, 0), (32, 4, 0)]
    for u, g in ids:
        ents += [(2, 6, u), (8, 4, g)]
    set_acl(j("acl"), ACL_ACCESS, ents)
    set_acl(j("acldir"), ACL_ACCESS, ents)
    set_acl(j("acldir"), ACL_DEFAULT, ents)


def dump(root):
    """Full metadata of a tree: path -> (type, uid, gid, mode, mtime_ns,
    size, rdev, sorted raw xattrs). Does not follow symlinks."""
    out = {}
    root_b = os.fsencode(root)

    def one(p):
        st = os.lstat(p)
        xs = {}
        try:
            names = os.listxattr(p, follow_symlinks=False)
        except OSError:
            names = []
        for n in sorted(names):
            xs[n] = os.getxattr(p, n, follow_symlinks=False)
        rel = os.fsdecode(os.path.relpath(p, root_b))
        out[rel] = (stat.S_IFMT(st.st_mode), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode),
                    st.st_mtime_ns, st.st_size if not stat.S_ISDIR(st.st_mode) else 0,
                    st.st_rdev, tuple(xs.items()))

    one(root_b)
    for dirpath, dirnames, filenames in os.walk(root_b):
        for n in dirnames + filenames:
            one(os.path.join(dirpath, n))
    return out


def diff(a, b, limit=10):
    """Human-readable differences between two dumps."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            lines.append("%r: %r != %r" % (k, a.get(k), b.get(k)))
            if len(lines) >= limit:
                break
    return "\n".join(lines)


def subid_files(tmp_path, start=100000, count=65536, user="root"):
    su, sg = tmp_path / "subuid", tmp_path / "subgid"
    su.write_text("%s:%d:%d\n" % (user, start, count))
    sg.write_text("%s:%d:%d\n" % (user, start + 200000, count))
    return ["--rootless=" + user, "--subuid-file", str(su), "--subgid-file", str(sg)]


def run(*args, env=None, **kw):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([SHIFTCTL] + [str(a) for a in args], capture_output=True, text=True,
                          env=e, errors="replace", **kw)


def journal_from(stderr):
    for line in stderr.splitlines():
        if "journal: " in line:
            return line.split("journal: ", 1)[1].split(" (")[0].strip()
    return None


@pytest.fixture
def tmpfs_mount():
    """Factory: tmpfs_mount(path, size) mounts a tmpfs; unmounted at teardown."""
    mounted = []

    def mount(path, size="1m"):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", str(path)], check=True)
        mounted.append(str(path))
        return path

    yield mount
    for p in reversed(mounted):
        subprocess.run(["umount", "-l", p], capture_output=True)


SYS_JOURNALS = "/var/lib/shiftctl/journal"


def remove_default_journals(root):
    """Delete the default-directory journals of the tree at root only (by
    the device and inode in their names): other runs may be using that
    directory at the same time."""
    if not os.path.isdir(SYS_JOURNALS):
        return
    st = os.stat(root)
    tag = "-%x-%d-" % (st.st_dev, st.st_ino)
    for n in os.listdir(SYS_JOURNALS):
        if tag in n and n.endswith(".journal"):
            os.unlink(os.path.join(SYS_JOURNALS, n))


@pytest.fixture
def ext4_image():
    """Factory: ext4_image(size_mib) makes an ext4 filesystem in a file,
    loop-mounts it at a fresh 0755 directory under /tmp (reachable by other
    host users and by user namespaces) and returns the mount point, whose
    root is root:root 0755. ext4 reuses a freed inode number at once (tmpfs
    does not), and has birth times and generations. Unmounted at teardown."""
    import shutil
    import tempfile
    made = []

    def make(size_mib=64, inode_size=256, features=None):
        """inode_size=128 with features="^metadata_csum": an ext4 without
        birth times and with whole-second timestamps (as ext2/ext3)."""
        need(shutil.which("mkfs.ext4") is not None, "mkfs.ext4 missing (e2fsprogs)")
        top = tempfile.mkdtemp(prefix="shiftfs-ext4.", dir="/tmp")
        os.chmod(top, 0o755)
        img, mnt = os.path.join(top, "img"), os.path.join(top, "mnt")
        with open(img, "wb") as f:
            f.truncate(size_mib << 20)
        opts = ["-O", features] if features else []
        subprocess.run(["mkfs.ext4", "-q", "-F", "-I", str(inode_size)] + opts + [img],
                       check=True, capture_output=True)
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-o", "loop", img, mnt], capture_output=True, text=True)
        need(r.returncode == 0, "cannot loop-mount an ext4 image: " + r.stderr.strip())
        made.append((top, mnt))
        shutil.rmtree(os.path.join(mnt, "lost+found"), ignore_errors=True)
        os.chmod(mnt, 0o755)
        return mnt

    yield make
    for top, mnt in reversed(made):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
