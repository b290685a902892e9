#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Benchmark in-place chown of a large tree (not a test; run as root).

On a fresh journaled ext4 image on a loop device (see shared BENCH-NOTES:
the root filesystem here has no journal), generate a tree of --size inodes
(default 1,000,000: files, directories, symlinks, hard links, some with
ACLs and setuid bits), warm the caches with one untimed walk, then time in
one run, each under /usr/bin/time -v after a sync and an untimed walk
(same warm start for every target):

  chown -R UID:GID              (coreutils)
  find -exec chown UID:GID {} + (after resetting the tree to 0:0)
  shiftctl chown --user=1000    (rootless map -> 100999:300999)
  shiftctl chown --user=1000    again: the no-op run
  shiftctl undo JOURNAL

and print seconds, files/s and peak RSS as a Markdown table (and JSON with
--json). The shiftctl journal lives on the same ext4 image, outside the
tree. Needs: e2fsprogs, util-linux (losetup), time (/usr/bin/time).

  sudo bench/chown/run.py --size 100000
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SHIFTCTL = os.path.join(HERE, "..", "..", "build", "shiftctl", "shiftctl")
HUID, HGID = 100999, 300999


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def acl_blob(uid):
    import struct
    ents = [(1, 6, 0xFFFFFFFF), (2, 4, uid), (4, 4, 0xFFFFFFFF), (16, 6, 0xFFFFFFFF),
            (32, 4, 0xFFFFFFFF)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in ents)


def generate(root, size):
    """About `size` inodes in leaf directories of 100 entries: 88 files
    (every 500th setuid, every 1000th with an ACL), 6 symlinks, 6 hard
    links. Returns (inodes, names, setuid paths)."""
    os.mkdir(root)
    inodes = names = 1
    setuid = []
    acl = acl_blob(0)
    leaf = 0
    while inodes < size:
        mid = os.path.join(root, "m%04d" % (leaf // 100))
        if leaf % 100 == 0:
            os.mkdir(mid)
            inodes += 1
            names += 1
        d = os.path.join(mid, "l%03d" % (leaf % 100))
        os.mkdir(d)
        inodes += 1
        names += 1
        for i in range(88):
            p = os.path.join(d, "f%02d" % i)
            fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
            os.close(fd)
            n = inodes + i
            if n % 500 == 0:
                os.chmod(p, 0o4755)
                setuid.append(p)
            if n % 1000 == 7:
                os.setxattr(p, "system.posix_acl_access", acl)
        for i in range(6):
            os.symlink("f%02d" % i, os.path.join(d, "s%d" % i))
            os.link(os.path.join(d, "f%02d" % (10 + i)), os.path.join(d, "h%d" % i))
        inodes += 94
        names += 100
        leaf += 1
    return inodes, names, setuid


def timed(label, cmd, results, files, env=None, warm=None):
    if warm:
        # Same start for every target: dirty metadata written back, the
        # tree's dentries and inodes in the cache.
        sh("sync")
        sh("find", warm, stdout=subprocess.DEVNULL)
    out = tempfile.NamedTemporaryFile(prefix="time.", delete=False)
    out.close()
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-v", "-o", out.name] + [str(c) for c in cmd],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.monotonic() - t0
    with open(out.name) as f:
        tv = f.read()
    os.unlink(out.name)
    if r.returncode != 0:
        sys.exit("%s failed (%d): %s" % (label, r.returncode, r.stderr[-2000:]))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    results.append({"target": label, "seconds": round(wall, 3),
                    "files_per_s": round(files / wall) if wall > 0 else None,
                    "peak_rss_mib": round(rss / 1024, 1)})
    print("  %-28s %8.2f s  %10.0f files/s  %7.1f MiB" % (label, wall, files / wall, rss / 1024),
          file=sys.stderr)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="inodes in the tree")
    ap.add_argument("--shiftctl", default=os.environ.get("SHIFTCTL", DEFAULT_SHIFTCTL))
    ap.add_argument("--workdir", default="/var/tmp/shiftctl-bench")
    ap.add_argument("--threads", type=int, default=0, help="shiftctl --threads (0: default)")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (loop device, chown)")
    for tool in ("/usr/bin/time", "mkfs.ext4", "losetup"):
        if not shutil.which(tool):
            sys.exit("missing %s (apt-get install time e2fsprogs util-linux)" % tool)
    shiftctl = os.path.abspath(args.shiftctl)
    os.makedirs(args.workdir, exist_ok=True)
    img = os.path.join(args.workdir, "ext4.img")
    mnt = os.path.join(args.workdir, "mnt")
    os.makedirs(mnt, exist_ok=True)
    nr_inodes = int(args.size * 1.3) + 10000
    img_mib = max(512, args.size * 600 // (1 << 20) + 512)
    loop = None
    try:
        with open(img, "wb") as f:
            f.truncate(img_mib << 20)
        sh("mkfs.ext4", "-q", "-F", "-N", nr_inodes, "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
        loop = subprocess.run(["losetup", "--direct-io=on", "-f", "--show", img], check=True,
                              capture_output=True, text=True).stdout.strip()
        sh("mount", loop, mnt)
        tree = os.path.join(mnt, "tree")
        print("generating %d inodes in %s ..." % (args.size, tree), file=sys.stderr)
        t0 = time.monotonic()
        inodes, names, setuid = generate(tree, args.size)
        print("  %d inodes, %d names, %d setuid, %.1f s" % (inodes, names, len(setuid),
                                                            time.monotonic() - t0), file=sys.stderr)
        su = os.path.join(args.workdir, "subuid")
        sg = os.path.join(args.workdir, "subgid")
        with open(su, "w") as f:
            f.write("root:100000:65536\n")
        with open(sg, "w") as f:
            f.write("root:300000:65536\n")
        mapargs = ["--rootless=root", "--subuid-file", su, "--subgid-file", sg]
        sh("sync")
        sh("find", tree, stdout=subprocess.DEVNULL)   # warm the caches once, untimed
        res = []
        owner = "%d:%d" % (HUID, HGID)
        timed("chown -R", ["chown", "-R", owner, tree], res, inodes, warm=tree)
        sh("chown", "-R", "0:0", tree)
        for p in setuid:
            os.chmod(p, 0o4755)
        timed("find -exec chown {} +", ["find", tree, "-exec", "chown", "-h", owner, "{}", "+"],
              res, inodes, warm=tree)
        sh("chown", "-R", "0:0", tree)
        for p in setuid:
            os.chmod(p, 0o4755)
        sh("sync")
        journal = os.path.join(mnt, "journal.bin")
        extra = ["--threads=%d" % args.threads] if args.threads else []
        timed("shiftctl chown", [shiftctl, "chown", "--user=1000", "-q"] + mapargs + extra +
              ["--journal=" + journal, tree], res, inodes, warm=tree)
        timed("shiftctl chown (no-op)", [shiftctl, "chown", "--user=1000", "-q"] + mapargs + extra +
              ["--journal=" + journal + ".2", tree], res, inodes, warm=tree)
        timed("shiftctl undo", [shiftctl, "undo", "-q"] + extra + [journal], res, inodes, warm=tree)
        st = os.lstat(setuid[0]) if setuid else None
        if st and (st.st_uid != 0 or st.st_mode & 0o7777 != 0o4755):
            sys.exit("undo did not restore %s" % setuid[0])
        by = {r["target"]: r for r in res}
        print("\n%d inodes (%d names) on a journaled ext4 loop image, %d CPUs\n" %
              (inodes, names, os.cpu_count()))
        print("| target | seconds | files/s | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for r in res:
            print("| %s | %.2f | %d | %.1f |" % (r["target"], r["seconds"], r["files_per_s"],
                                                 r["peak_rss_mib"]))
        first, noop = by["shiftctl chown"]["seconds"], by["shiftctl chown (no-op)"]["seconds"]
        print("\nshiftctl chown / chown -R: %.2f (target <= 1)" % (first / by["chown -R"]["seconds"]))
        print("first run / no-op run: %.1fx (target >= 3)" % (first / noop))
        print("shiftctl peak RSS: %.1f MiB (target < 100 for 1M inodes)" %
              max(r["peak_rss_mib"] for r in res if r["target"].startswith("shiftctl")))
        if args.json:
            print(json.dumps({"inodes": inodes, "names": names, "results": res}, indent=1))
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["umount", mnt])
        if loop:
            subprocess.run(["losetup", "-d", loop])
        if os.path.exists(img):
            os.unlink(img)


if __name__ == "__main__":
    main()
