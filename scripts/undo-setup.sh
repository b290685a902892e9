#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Take back what deps.sh, deps-e2e.sh and demo.sh changed on the system
# (scripts/setup-changes.sh records it), newest change first, and say each.
# Without --all: /etc/fuse.conf's user_allow_other, the /dev/fuse mode and
# the propagation of /; the users and their /etc/subuid and /etc/subgid
# lines stay (the next test run needs them; --all removes them too).
# Changes not taken back stay in the record.
# Usage: scripts/undo-setup.sh [--all]
set -euo pipefail
# shellcheck source=scripts/setup-changes.sh
. "$(dirname "$0")/setup-changes.sh"
all=false
[ "${1-}" = --all ] && all=true
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/undo-setup.sh: run as root" >&2
	exit 1
fi
[ -s "$SHIFTFS_SETUP_RECORD" ] || exit 0

say() { echo "undo-setup: $*"; }
keep=()
mapfile -t lines <"$SHIFTFS_SETUP_RECORD"
for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
	read -r kind a b <<<"${lines[i]}"
	case $kind in
	dev_fuse)
		if [ -e /dev/fuse ]; then
			chmod "$a" /dev/fuse
			say "/dev/fuse mode back to $a"
		fi ;;
	fuse_conf)
		sed -i '/^user_allow_other$/d' "$a"
		say "removed user_allow_other from $a" ;;
	propagation)
		mount --make-r"$a" /
		say "/ is a $a mount again" ;;
	subid)
		if $all; then
			sed -i "/^$b:/d" "$a"
			say "removed $b's line from $a"
		else
			keep=("${lines[i]}" "${keep[@]}")
		fi ;;
	user)
		if $all; then
			userdel "$a" 2>/dev/null || true
			[ -n "$b" ] && rm -rf "$b"
			say "removed user $a${b:+ and $b}"
		else
			keep=("${lines[i]}" "${keep[@]}")
		fi ;;
	*)
		keep=("${lines[i]}" "${keep[@]}") ;;
	esac
done
if [ ${#keep[@]} -gt 0 ]; then
	printf '%s\n' "${keep[@]}" >"$SHIFTFS_SETUP_RECORD"
	users=$(printf '%s\n' "${keep[@]}" | awk '$1 == "user" { printf " %s", $2 }')
	[ -z "$users" ] ||
		say "left in place for the next run: users$users and their" \
			"/etc/subuid and /etc/subgid lines;" \
			"remove them with: bash scripts/undo-setup.sh --all"
else
	rm -f "$SHIFTFS_SETUP_RECORD"
fi
