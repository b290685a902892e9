# SPDX-License-Identifier: GPL-2.0-or-later
"""issue 11 item 8: output a user may paste or parse.

The attacker (shiftfs-atk) names directories in a tree root later examines:
`x\\xffy` (not UTF-8), `$(touch /tmp/...)`, `a'b`, `-rf`, a newline. Then
- doctor's, status' and chown's --json parse with json.loads (strict), the
  bytes that are not UTF-8 shown as U+FFFD with the exact bytes in KEY_hex;
- every command doctor suggests is one shell command line whose words,
  split by a shell, are exactly the names (checked with shlex.split, with
  `sh -n`, and by running it through sh with printf in place of the
  command): no marker file ever appears."""
import json
import os
import shlex
import subprocess

import pytest

from attack import ATTACKER, as_host_user, uid_of
from conftest import SHIFTCTL, need
from fs_util import Scratch

TIMEOUT = 60


def names(marker):
    """marker: a file name; the shell would create it in its cwd, which is
    the scratch dir for every shell this test starts."""
    m = os.path.basename(marker).encode()
    return [b"x\xffy", b"$(touch " + m + b")", b"a'b", b"-rf",
            b"line1\nline2", b"`touch " + m + b"`", b"sp ace;touch " + m]


@pytest.fixture
def lab():
    need(os.geteuid() == 0, "doctor runs as root here")
    uid_of(ATTACKER)
    s = Scratch("shiftfs-output")
    marker = s.p("pwned")
    top = s.p("tree")
    os.mkdir(top)
    os.chown(top, uid_of(ATTACKER), uid_of(ATTACKER))
    yield s, top, marker
    s.cleanup()


def make_volume(top, name):
    """The attacker creates the volume directory and a file in it."""
    script = ("import os,sys; p=os.path.join(os.fsencode(sys.argv[1]), "
              "bytes.fromhex(sys.argv[2])); os.mkdir(p); "
              "open(os.path.join(p, b'f'), 'w').write('x'); "
              "os.mkdir(os.path.join(p, bytes.fromhex(sys.argv[2])))")
    r = as_host_user(ATTACKER, ["/usr/bin/python3", "-c", script, top,
                                name.hex()])
    assert r.returncode == 0, r.stderr
    return os.path.join(os.fsencode(top), name)


def sh_quote(b):
    """The quoting shiftctl(1) documents: plain words as they are, anything
    else in single quotes with ' as '\\''."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               b"0123456789_@%+=:,./-")
    if b and all(c in safe for c in b):
        return b
    return b"'" + b.replace(b"'", b"'\\''") + b"'"


def c_escape(b):
    out = bytearray()
    text = b.decode("utf-8", "surrogateescape")
    for ch in text:
        o = ord(ch)
        if ch == "\\":
            out += b"\\\\"
        elif ch == "\n":
            out += b"\\n"
        elif 0xdc80 <= o <= 0xdcff:
            out += b"\\x%02x" % (o - 0xdc00)
        elif o < 0x20 or o == 0x7f:
            out += b"\\x%02x" % o
        else:
            out += ch.encode()
    return bytes(out)


def run(args, **kw):
    return subprocess.run([os.fsencode(SHIFTCTL)] + args, capture_output=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, **kw)


def doctor(vol, *extra):
    # USER 1000 of a --map container cannot write the attacker's files:
    # doctor suggests fixes naming the volume.
    return run([b"doctor", vol, b"--user=1000", b"--map=0:100000:65536",
                b"--list=all"] + [os.fsencode(e) for e in extra])


def shell_words(line, cwd):
    """What sh makes of line: printf in place of its first word."""
    out = subprocess.run(["sh", "-c", "set -- %s; printf '%%s\\0' \"$@\""
                          % line.split(" ", 1)[1].split("   #")[0]],
                         capture_output=True, timeout=10, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout.split(b"\0")[:-1]


@pytest.mark.parametrize("idx", range(7))
def test_doctor_json_parses_and_commands_are_literal(lab, idx):
    s, top, marker = lab
    name = names(marker)[idx]
    vol = make_volume(top, name)
    r = doctor(vol, "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout.decode("utf-8"))  # strict: valid UTF-8, JSON
    real = os.path.realpath(vol)
    if b"\xff" in name:
        assert bytes.fromhex(doc["path_hex"]) == real
        assert "\ufffd" in doc["path"]
        assert any(bytes.fromhex(e["path_hex"]).endswith(b"\xffy")
                   for e in doc["entries"] if "path_hex" in e)
    else:
        assert os.fsencode(doc["path"]) == real
    cmds = [c for f in doc["fixes"] for c in f["commands"]]
    hexes = [bytes.fromhex(h) for f in doc["fixes"]
             for h in f.get("commands_hex", [])]
    assert any(c.startswith("shiftctl chown ") for c in cmds), cmds
    if b"\xff" in name:
        assert hexes, "commands_hex missing for a non-UTF-8 name"
        lines = [h for h in hexes if h.startswith(b"shiftctl ")]
    else:
        lines = [c.encode() for c in cmds if c.startswith("shiftctl ")]
    for line in lines:
        # shlex: the last word is the volume, exactly.
        words = shlex.split(os.fsdecode(line))
        if line.startswith(b"shiftctl chown") or \
                line.startswith(b"shiftctl shift"):
            assert os.fsencode(words[-1]) == real, words
        else:
            assert os.fsencode(words[-2]) == real, words
        # sh -n: one valid command; and as sh splits it.
        assert subprocess.run(["sh", "-n", "-c", line], timeout=10,
                              cwd=s.path).returncode == 0
        got = shell_words(os.fsdecode(line), s.path)
        assert real in got, (got, real)
    for c in cmds + [os.fsdecode(h) for h in hexes]:
        if c.startswith("#"):
            continue  # the compose snippet is a comment
        assert subprocess.run(["sh", "-n", "-c", c], timeout=10,
                              cwd=s.path).returncode == 0, c
    assert not os.path.exists(marker)


@pytest.mark.parametrize("idx", [1, 2, 3, 5, 6])
def test_doctor_text_commands_are_quoted(lab, idx):
    """The text output: paste each suggested line into sh (printf in place
    of the command) and the volume comes out whole and literal."""
    s, top, marker = lab
    name = names(marker)[idx]
    vol = make_volume(top, name)
    r = doctor(vol, "--target=" + os.fsdecode(os.path.join(
        os.fsencode(s.path), b"t-" + name)))
    assert r.returncode == 1, r.stderr
    lines = [l.strip() for l in r.stdout.decode().splitlines()
             if l.strip().startswith(("shiftctl ", "docker ", "chmod "))]
    assert lines
    real = os.path.realpath(vol)
    for line in lines:
        got = shell_words(line, s.path)
        if line.startswith("docker"):
            assert any(w.startswith(b"/") and real in w for w in got), got
        else:
            assert real in got, (got, real)
    assert not os.path.exists(marker)


def test_plain_names_stay_unquoted(lab):
    """The legitimate case reads as before: no quotes around plain words."""
    s, top, marker = lab
    vol = make_volume(top, b"plain-data")
    r = doctor(vol, "--json")
    doc = json.loads(r.stdout)
    chown = [c for f in doc["fixes"] for c in f["commands"]
             if c.startswith("shiftctl chown ")][0]
    assert "'" not in chown and chown.endswith(" " + os.fsdecode(
        os.path.realpath(vol)))
    assert "path_hex" not in doc


def test_chown_json_and_verbose_lines(lab):
    """shiftctl chown --json on a tree with these names parses; its verbose
    per-inode lines name each inode on one line, escaped."""
    s, top, marker = lab
    vol = make_volume(top, b"vol")
    for name in names(marker):
        make_volume(vol.decode(), name)
    r = run([b"chown", b"--map=0:100000:65536", b"--user=0",
             b"--journal=" + os.fsencode(s.p("j")), b"--json", vol])
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout.decode("utf-8"))
    r = run([b"chown", b"--map=0:100000:65536", b"--user=5", b"--dry-run",
             b"--verbose", vol])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split(b"\n")
    for name in names(marker):
        path = os.path.join(vol, name, b"f")
        # One line each, the name escaped (walk_escape(): \\, \\n, \\xHH).
        shown = c_escape(path)
        assert any(l.startswith(shown + b": ") for l in lines), \
            (shown, r.stdout)
    assert not os.path.exists(marker)


def test_status_json_and_text(lab):
    """A shiftfs mount whose mount point has a non-UTF-8 name and a
    newline: status --json parses, the text line quotes it."""
    s, top, marker = lab
    src = s.p("src")
    mnt = os.path.join(os.fsencode(s.path), b"m\xffn\nt")
    os.mkdir(mnt)
    r = run([b"mount", b"--backend=fuse", b"--map=0:100000:65536",
             os.fsencode(src), mnt])
    need(r.returncode == 0, "shiftctl mount failed: %r" % r.stderr)
    try:
        r = run([b"status", b"--json"])
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout.decode("utf-8"))
        mine = [m for m in doc if bytes.fromhex(m.get("mountpoint_hex", ""))
                == mnt]
        assert mine, doc
        r = run([b"status"])
        text = r.stdout
        assert b"'" + mnt + b"'" in text, text
    finally:
        run([b"umount", mnt])
        if os.path.ismount(mnt):
            subprocess.run([b"umount", b"-l", mnt])
