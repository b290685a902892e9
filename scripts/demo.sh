#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The built-in example: a "rootless docker" user alice whose container runs
# as USER 1000, and a data directory she owns on the host. Shows the id maps,
# then mounts the directory with `shiftctl mount` so that the container's
# uid 1000 owns it — through the shiftfs FUSE daemon, then through a kernel
# idmapped mount — and shows the owners from both sides. Cleans up after
# itself, except for the user alice and her /etc/subuid and /etc/subgid
# lines, which it says it adds (if it does) and leaves for the commands it
# printed. Every command shown can be pasted as it is.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
shiftctl=$build/shiftctl/shiftctl
work=$(mktemp -d /tmp/shiftfs-demo.XXXXXX)
cleanup() {
	if mountpoint -q "$work/mnt" 2>/dev/null; then
		"$shiftctl" umount "$work/mnt" >/dev/null 2>&1 || umount -l "$work/mnt"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work" # the container's uid must be able to reach the mount

# alice: a demo host user with a subordinate range, as rootless docker and
# podman need. Created once and left in place, so the commands shown below
# work as printed afterwards too; the demo says so when it adds them
# (scripts/undo-setup.sh --all removes them).
# shellcheck source=scripts/setup-changes.sh
. "$(dirname "$0")/setup-changes.sh"
setup_user scripts/demo.sh alice none "the demo's rootless docker user"
# A free range: 100000 unless another user's range is there already.
start=100000
while awk -F: -v s=$start -v a=alice '$1 != a && $2 < s + 65536 &&
	$2 + $3 > s { found = 1 } END { exit !found }' /etc/subuid /etc/subgid \
	2>/dev/null; do
	start=$((start + 65536))
done
setup_subid scripts/demo.sh alice $start
alice_uid=$(id -u alice)
alice_gid=$(id -g alice)
# The host uid of alice's container uid 1000 (her range's 1000th id).
ctr1000=$(awk -F: '$1 == "alice" { print $2 + 999; exit }' /etc/subuid)

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
# An argument as the shell reads it: bare when safe, else single-quoted.
quote() {
	case $1 in
	'' | *[!A-Za-z0-9_./=:,@%+-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
	*) printf '%s' "$1" ;;
	esac
}
# Print a command exactly as it can be pasted, then run it.
step() {
	local a line=''
	for a in "$@"; do line+="${line:+ }$(quote "$a")"; done
	printf '\n%s$ %s%s\n' "$bold" "$line" "$plain"
	"$@"
}

echo "== 1. The map rootless docker/podman gives alice's containers"
step "$shiftctl" map --rootless=alice
echo
echo "Container uid 1000 is host uid:"
step "$shiftctl" map --rootless=alice --translate=1000

echo
echo "== 2. alice's data directory, as the host sees it (disk ids)"
mkdir -p "$work/data/blocks" "$work/mnt"
echo "chain state" >"$work/data/blocks/blk00000.dat"
echo "rpcuser=alice" >"$work/data/bitcoin.conf"
chown -R "$alice_uid:$alice_gid" "$work/data"
chmod 700 "$work/data"
step ls -ln "$work/data"
echo "A container running as USER 1000 would see these owned by root (0):"
echo "it cannot write them. Owner mode fixes exactly that directory:"
step "$shiftctl" map --rootless=alice --user=1000 --owner=alice

maps=(--rootless=alice)
echo
echo "== 3. Mount it with the shiftfs FUSE daemon in owner mode: nothing on"
echo "==    disk changes (the owner defaults to the owner of the directory)"
step "$shiftctl" mount "${maps[@]}" --user=1000 --backend=fuse "$work/data" "$work/mnt"
step "$shiftctl" status "$work/mnt"
echo "The mount shows alice's files as host uid $ctr1000 = container uid 1000:"
step ls -ln "$work/mnt"
echo "A file created through the mount as host uid $ctr1000 (the container's"
echo "uid 1000) lands on disk owned by alice:"
# shellcheck disable=SC2016 # $1 is the inner shell's
step setpriv --reuid="$ctr1000" --regid="$ctr1000" --clear-groups \
	sh -c 'echo new >"$1"' sh "$work/mnt/created-in-container"
step ls -ln "$work/data"
step "$shiftctl" umount "$work/mnt"
echo
echo "== 4. The same as root with the default backend: a kernel idmapped mount"
echo "==    where the filesystem allows it (no daemon), else FUSE again"
step "$shiftctl" mount "${maps[@]}" --user=1000 "$work/data" "$work/mnt"
step ls -ln "$work/mnt"
step "$shiftctl" umount "$work/mnt"
echo
echo "Done. See README.md for real volumes, 'shiftctl doctor' and 'shiftctl chown'."
echo "The demo's user alice and her /etc/subuid and /etc/subgid lines stay;"
echo "remove them with: userdel alice; sed -i '/^alice:/d' /etc/subuid /etc/subgid"
