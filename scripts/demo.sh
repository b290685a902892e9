#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The built-in example: a "rootless docker" user alice whose container runs
# as USER 1000, and a data directory she owns on the host. Shows the id maps,
# then mounts the directory with `shiftctl mount` so that the container's
# uid 1000 owns it — through the shiftfs FUSE daemon, then through a kernel
# idmapped mount — and shows the owners from both sides. Cleans up after
# itself.
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

# alice: a demo host user (created once), with a subordinate range in a
# demo subuid file so the host's /etc/subuid is left alone.
id alice >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin alice
alice_uid=$(id -u alice)
alice_gid=$(id -g alice)
printf '# demo subordinate ids\nalice:100000:65536\n' >"$work/subuid"
cp "$work/subuid" "$work/subgid"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

echo "== 1. The map rootless docker/podman gives alice's containers"
step "$shiftctl" map --rootless=alice --subuid-file="$work/subuid" --subgid-file="$work/subgid"
echo
echo "Container uid 1000 is host uid:"
step "$shiftctl" map --rootless=alice --subuid-file="$work/subuid" \
	--subgid-file="$work/subgid" --translate=1000

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
step "$shiftctl" map --rootless=alice --subuid-file="$work/subuid" \
	--subgid-file="$work/subgid" --user=1000 --owner=alice

maps=(--rootless=alice --subuid-file="$work/subuid" --subgid-file="$work/subgid")
echo
echo "== 3. Mount it with the shiftfs FUSE daemon in owner mode: nothing on"
echo "==    disk changes (the owner defaults to the owner of the directory)"
step "$shiftctl" mount "${maps[@]}" --user=1000 --backend=fuse "$work/data" "$work/mnt"
step "$shiftctl" status
echo "The mount shows alice's files as host uid 100999 = container uid 1000:"
step ls -ln "$work/mnt"
echo "A file created through the mount as host uid 100999 (the container's"
echo "uid 1000) lands on disk owned by alice:"
step setpriv --reuid=100999 --regid=100999 --clear-groups \
	sh -c "echo new >'$work/mnt/created-in-container'"
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
