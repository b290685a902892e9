#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpus of every fuzz target into corpus/<target>/.

The files are committed; rerun this only to change the seeds (libFuzzer
finds the rest). Each seed is named after the edge case it holds.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def spec_seeds():
    s = {
        "rootless": "0:1000:1,1:100000:65536",
        "colon_form": "0:100000:65536:65536:1000:1",
        "identity_full": "0:0:4294967295",
        "ends_at_2p32": "4294967295:0:1",
        "ends_at_2p32_b": "1:1:4294967295",
        "past_2p32": "4294967295:0:2",
        "count_zero": "0:0:0",
        "overlap_disk": "0:100:10,5:200:10",
        "overlap_view": "0:100:10,50:105:10",
        "touching": "0:100:10,10:110:10",
        "plus": "+5:0:1",
        "minus": "-1:0:1",
        "space": " 0:0:1",
        "trailing_junk": "0:0:1x",
        "trailing_comma": "0:0:1,",
        "empty": "",
        "two_fields": "0:1",
        "comma_early": "0,1:1",
        "overflow_number": "4294967296:0:1",
        "ids_edges": "0:65534:1,65534:4294967294:1,4294967294:0:1",
        "unsorted": "500:0:10,0:500:10,100:300:50",
        "max_ranges": ",".join("%d:%d:1" % (2 * i, 2 * i + 1)
                               for i in range(340)),
        "too_many_ranges": ",".join("%d:%d:1" % (2 * i, 2 * i + 1)
                                    for i in range(341)),
        "nul_inside": "0:0:1\x00,1:1:1",
    }
    for k, v in s.items():
        write("idmap_spec", k, v)


def proc_seeds():
    s = {
        "one_line": "         0       1000          1\n",
        "rootless": "0 1000 1\n1 100000 65536\n",
        "tabs": "0\t\t1000\t1\n1 \t100000\t 65536\n",
        "blank_lines": "\n0 1000 1\n\n   \n1 100000 65536\n\n",
        "no_newline": "0 0 4294967295",
        "four_fields": "0 0 1 7\n",
        "two_fields": "0 0\n",
        "full_space": "0 0 4294967295\n4294967295 4294967295 1\n",
        "past_2p32": "4294967295 0 2\n",
        "overlap": "0 0 10\n5 100 1\n",
        "junk": "0 0 1x\n",
        "minus": "-1 0 1\n",
        "crlf": "0 0 1\r\n",
        "empty": "",
        "many": "".join("%d %d 1\n" % (3 * i, 1000 + i) for i in range(340)),
        "too_many": "".join("%d %d 1\n" % (3 * i, 1000 + i)
                            for i in range(341)),
    }
    for k, v in s.items():
        write("proc_map", k, v)


def subid_seeds():
    # First byte: bits 0-1 name (alice root 1000 dockremap), bit 2 no
    # name, bit 3 match by uid too, bits 4-5 uid (1000 0 4294967295 100000).
    s = {
        "alice": (0x00, "alice:100000:65536\n"),
        "several_lines": (0x00, "alice:100000:65536\nbob:200000:65536\n"
                                "alice:300000:1000\n"),
        "comments": (0x00, "# subuid\n\n   \nalice:100000:65536\n"
                           "  # indented comment\n"),
        "by_uid": (0x08, "1000:100000:65536\n"),
        "uid_only": (0x04, "1000:100000:65536\nalice:1:1\n"),
        "no_entry": (0x00, "bob:100000:65536\n"),
        "no_entry_uid": (0x34, "bob:100000:65536\n"),
        "empty": (0x00, ""),
        "malformed": (0x00, "alice:100000\n"),
        "bad_start": (0x00, "alice:x:1\n"),
        "count_zero": (0x00, "alice:1:0\n"),
        "ends_at_2p32": (0x00, "alice:4294967295:1\n"),
        "past_2p32": (0x00, "alice:4294967295:2\n"),
        "no_owner": (0x00, ":1:1\n"),
        "tabs_blank": (0x00, "\t\n \t \nalice:100000:65536"),
        "overlapping": (0x00, "alice:100000:65536\nalice:100010:5\n"),
        "dockremap": (0x03, "dockremap:165536:65536\n"),
        "root": (0x01, "root:1000000:1000000000\n"),
        "plus": (0x00, "alice:+5:1\n"),
        "many": (0x00, "".join("alice:%d:1\n" % (100000 + 2 * i)
                               for i in range(341))),
        "uid_max": (0x28, "4294967295:1:1\n"),
    }
    for k, (b, v) in s.items():
        write("subid", k, bytes([b]) + v.encode())


ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ = 0x01, 0x02, 0x04
ACL_GROUP, ACL_MASK, ACL_OTHER = 0x08, 0x10, 0x20


def acl(entries, version=2):
    return struct.pack("<I", version) + b"".join(
        struct.pack("<HHI", t, p, i) for t, p, i in entries)


def fcaps(rev, rootid=None):
    magic = {1: 0x01000000, 2: 0x02000000, 3: 0x03000000}[rev]
    body = struct.pack("<I", magic | 1) + struct.pack("<IIII", 1, 0, 0, 0)
    if rev == 1:
        body = body[:12]
    if rev == 3:
        body += struct.pack("<I", rootid)
    return body


def acl_seeds():
    shift0 = struct.pack("<II", 0, 0x5a5a5a5a)   # both maps identity
    shift1 = struct.pack("<II", 100000, 0)      # rotate by 100000
    basic = [(ACL_USER_OBJ, 7, 0xFFFFFFFF), (ACL_USER, 6, 1000),
             (ACL_GROUP_OBJ, 5, 0xFFFFFFFF), (ACL_GROUP, 4, 1000),
             (ACL_MASK, 7, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)]
    s = {
        "zero_entries": shift1 + acl([]),
        "one_user": shift1 + acl([(ACL_USER, 7, 0)]),
        "basic": shift1 + acl(basic),
        "identity": shift0 + acl(basic),
        "edge_ids": shift1 + acl([(ACL_USER, 7, 0), (ACL_USER, 7, 65534),
                                  (ACL_USER, 7, 4294967294),
                                  (ACL_GROUP, 7, 4294967295)]),
        "unmapped_partial": struct.pack("<II", 0, 0) + acl(
            [(ACL_USER, 7, 100000), (ACL_USER, 7, 5)]),
        "mapped_partial": struct.pack("<II", 7, 0) + acl(
            [(ACL_USER, 7, 1007), (ACL_GROUP, 7, 100000)]),
        "truncated": shift1 + acl(basic)[:-3],
        "header_short": shift1 + b"\x02\x00",
        "wrong_version": shift1 + acl(basic, version=1),
        "unknown_tag": shift1 + acl([(0x40, 7, 1)]),
        "no_payload": shift1,
        "fcaps_v1": shift1 + fcaps(1),
        "fcaps_v2": shift1 + fcaps(2),
        "fcaps_v3": shift1 + fcaps(3, 0),
        "fcaps_v3_max": shift1 + fcaps(3, 4294967295),
        "fcaps_v3_short": shift1 + fcaps(3, 0)[:-1],
        "fcaps_v1_identity": shift0 + fcaps(1),
        "fcaps_v2_identity": shift0 + fcaps(2),
        "fcaps_v3_to_zero": struct.pack("<II", 4294967295, 0) + fcaps(3, 1),
        "fcaps_bad_rev": shift1 + struct.pack("<I", 0x04000000) + bytes(20),
    }
    for k, v in s.items():
        write("acl_xattr", k, v)


def helper_seeds():
    """fuzz_helper_args: byte 0 even = argv words split at NUL, odd =
    helper.conf text."""
    def argv(*words):
        return b"\x00" + b"\x00".join(w.encode() for w in
                                        ("shiftfs-idmap-helper",) + words)
    s = {
        "mount": argv("mount", "--uidmap=993:500999:1",
                      "--gidmap=992:500999:1", "/home/a/src", "/home/a/mnt"),
        "mount_ro_dashdash": argv("mount", "--read-only", "--uidmap=0:0:1",
                                  "--gidmap=0:0:1", "--", "/-src", "/-mnt"),
        "umount": argv("umount", "--lazy", "/home/a/mnt"),
        "help": argv("--help"),
        "version_extra": argv("-V", "x"),
        "too_many": argv("mount", *(["x"] * 9)),
        "relative": argv("mount", "--uidmap=1:1:1", "--gidmap=1:1:1", "a",
                         "/b"),
        "twice": argv("mount", "--uidmap=1:1:1", "--uidmap=1:1:1"),
        "empty_spec": argv("mount", "--uidmap=", "--gidmap=1:1:1", "/a",
                           "/b"),
        "long_path": argv("umount", "/" + "a" * 4095),
        "no_command": b"\x00shiftfs-idmap-helper",
        "nothing": b"\x00",
        "policy": b"\x01# policy\nallow = subuid\nallow-group = podman\n"
                  b"max-mounts = 4\n",
        "policy_bad_key": b"\x01allow=all\nfrob = 1\n",
        "policy_nul": b"\x01allow = all\x00\n",
        "policy_max": b"\x01max-mounts = 1001\n",
        "policy_groups": b"\x01" + b"".join(b"allow-group = g%d\n" % i
                                             for i in range(17)),
        "policy_blank": b"\x01\n  \t\n# only comments\r\n",
    }
    for k, v in s.items():
        write("helper_args", k, v)


if __name__ == "__main__":
    spec_seeds()
    proc_seeds()
    subid_seeds()
    acl_seeds()
    helper_seeds()
