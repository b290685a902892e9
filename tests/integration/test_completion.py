# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: bash and zsh completion for shiftctl.

The bash script is sourced in a real bash and asked for completions the
way readline asks (COMP_WORDS/COMP_CWORD, then the function); the zsh one
is loaded by compinit in an interactive zsh on a pseudo-terminal and sent
TAB. Both read verbs and options from shiftctl's own --help, so the tests
also check the other direction: every verb and option --help shows is
offered, and every option offered is one the verb accepts.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import SHIFTCTL, need, need_root_and_fuse
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)
HERE = os.path.dirname(os.path.abspath(__file__))
COMPLETION = os.path.join(HERE, "..", "..", "completion")
BASH = os.path.join(COMPLETION, "shiftctl.bash")
PATH = os.path.dirname(SHIFTCTL) + ":" + os.environ.get("PATH", "/usr/bin:/bin")


def bash_complete(*words):
    """COMPREPLY for the command line words (the last one is the word
    being completed; "" for a new word)."""
    script = r'''
set -u
. "$1"; shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMPREPLY=()
_shiftctl
printf '%s\n' "${COMPREPLY[@]}"
'''
    r = subprocess.run(["bash", "-c", script, "bash", BASH, "shiftctl"] +
                       list(words), capture_output=True, text=True,
                       env=dict(os.environ, PATH=PATH))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return [w for w in r.stdout.split("\n") if w]


def help_of(*verb):
    r = subprocess.run([SHIFTCTL] + list(verb) + ["--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    return r.stdout


def verbs():
    out = help_of().split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in out.splitlines()]


def long_options(verb):
    """Every --name in the verb's help option lines (not in prose)."""
    names = set()
    for line in help_of(verb).splitlines():
        if re.match(r"^ {1,6}-", line):
            names.update(re.findall(r"--[a-z][a-z-]*",
                                    re.split(r"(?<=\S)  +", line.strip(), 1)[0]))
    return names


def test_verbs():
    # (more verbs may come: the completion offers whatever --help lists)
    assert {"map", "mount", "umount", "status", "chown", "shift", "undo",
            "doctor"} <= set(verbs())
    assert bash_complete("") == verbs() + ["help"]
    assert bash_complete("mo") == ["mount"]
    assert bash_complete("u") == ["umount", "undo"]
    assert bash_complete("help", "st") == ["status"]
    assert bash_complete("--") == ["--help", "--version"]


@pytest.mark.parametrize("verb", ["map", "mount", "umount", "status", "chown",
                                  "shift", "undo", "doctor"])
def test_options_match_help(verb):
    offered = bash_complete(verb, "--")
    names = {w.rstrip("=") for w in offered}
    assert names == long_options(verb)
    assert "--help" in names and "--version" in names
    # every option offered is one the verb accepts
    for w in offered:
        arg = w + "x" if w.endswith("=") else w
        r = subprocess.run([SHIFTCTL, verb, arg, "--help"],
                           capture_output=True, text=True)
        assert "unrecognized option" not in r.stderr, (verb, w, r.stderr)
    # an option that takes a value is offered as --name= (no space after)
    if verb == "mount":
        assert "--backend=" in offered and "--read-only" in offered
        assert "--rootless" in offered and "--rootless=" in offered


def test_values():
    assert bash_complete("mount", "--backend", "=", "") == ["auto", "idmap",
                                                           "fuse"]
    assert bash_complete("mount", "--backend", "=", "i") == ["idmap"]
    assert bash_complete("map", "--only=g") == ["gid"]
    with open("/etc/subuid") as f:
        users = sorted({l.split(":")[0] for l in f if ":" in l})
    need(users, "an /etc/subuid entry (scripts/deps.sh adds shiftfs-mapped)")
    assert bash_complete("shift", "--rootless", "=", "") == users
    assert "default" in bash_complete("mount", "--userns-remap", "=", "")


def test_paths(scratch):
    d = os.path.join(scratch.path, "vol")
    os.mkdir(d)
    open(os.path.join(scratch.path, "file"), "w").close()
    assert bash_complete("chown", d[:-1]) == [d]
    assert bash_complete("undo", os.path.join(scratch.path, "fi")) == [
        os.path.join(scratch.path, "file")]


def test_umount_offers_mount_points(scratch):
    """umount and status complete the mount points shiftctl status lists."""
    need_root_and_fuse()
    s = scratch
    r = subprocess.run([SHIFTCTL, "mount", "--map=0:100000:65536",
                        "--backend=fuse", s.src, s.mnt],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        assert s.mnt in bash_complete("umount", "")
        assert bash_complete("umount", s.mnt[:-2]) == [s.mnt]
        assert bash_complete("status", s.mnt[:-2]) == [s.mnt]
    finally:
        subprocess.run([SHIFTCTL, "umount", s.mnt], capture_output=True)


ZPTY = r'''
zmodload zsh/zpty
out=$1; shift
compdir=$1; shift
: > $out
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=($compdir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "dumpbuf() { print -r -- \"\$BUFFER\" >> $out; BUFFER=; }; zle -N dumpbuf; bindkey '^X' dumpbuf"
n=0
for w in "$@"; do
  zpty -w -n z "$w"$'\t'
  sleep 0.3
  zpty -w -n z $'\C-x'
  n=$((n + 1))
  for i in {1..100}; do
    (( $(wc -l < $out) >= n )) && break
    while zpty -r -t z o; do :; done
    sleep 0.1
  done
done
zpty -d z
'''


def test_zsh(scratch):
    """In an interactive zsh: the line after TAB."""
    need(shutil.which("zsh"), "zsh (scripts/deps.sh installs it)")
    lines = {
        "shiftctl mou": "shiftctl mount ",
        "shiftctl mount --backe": "shiftctl mount --backend=",
        "shiftctl mount --backend=i": "shiftctl mount --backend=idmap ",
        "shiftctl shift --rootless=shiftfs-map":
            "shiftctl shift --rootless=shiftfs-mapped ",
        "shiftctl map --only=g": "shiftctl map --only=gid ",
        "shiftctl help um": "shiftctl help umount ",
        "shiftctl undo --dry": "shiftctl undo --dry-run ",
        "shiftctl status --j": "shiftctl status --json ",
        "shiftctl chown %s/vo" % scratch.path:
            "shiftctl chown %s/vol/" % scratch.path,
    }
    os.mkdir(os.path.join(scratch.path, "vol"))
    out = os.path.join(scratch.path, "zsh.out")
    r = subprocess.run(["zsh", "-f", "-c", ZPTY, "zsh", out,
                        os.path.abspath(COMPLETION)] + list(lines),
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PATH=PATH, HOME=scratch.path))
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        got = f.read().split("\n")[:-1]
    assert got == list(lines.values())
