#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by deps.sh, deps-e2e.sh and demo.sh: every change they make to
# the system outside the tree is said on standard output, one line, and
# recorded (one "KIND ARG..." line) in $SHIFTFS_SETUP_RECORD, from which
# scripts/undo-setup.sh takes it back. Kinds: user NAME [HOME],
# subid FILE NAME, fuse_conf FILE, dev_fuse OLD_MODE, propagation OLD.
SHIFTFS_SETUP_RECORD=${SHIFTFS_SETUP_RECORD:-/var/lib/shiftfs-setup/changes}

# setup_changed WHO "KIND ARG..." "what was done, for the user"
setup_changed() {
	mkdir -p "$(dirname "$SHIFTFS_SETUP_RECORD")"
	printf '%s\n' "$2" >>"$SHIFTFS_SETUP_RECORD"
	echo "$1: changed the system: $3"
}

# setup_user WHO NAME HOME WHY: a system user (HOME "none": no home).
setup_user() {
	local who=$1 name=$2 home=$3 why=$4
	id "$name" >/dev/null 2>&1 && return 0
	if [ "$home" = none ]; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$name"
		setup_changed "$who" "user $name" "created user $name ($why)"
	else
		useradd --system --create-home --home-dir "$home" \
			--shell /bin/sh "$name"
		setup_changed "$who" "user $name $home" \
			"created user $name with home $home ($why)"
	fi
}

# setup_subid WHO NAME START: NAME:START:65536 in /etc/subuid and /etc/subgid
# unless NAME has a line there already.
setup_subid() {
	local who=$1 name=$2 start=$3 f
	for f in /etc/subuid /etc/subgid; do
		touch "$f"
		grep -q "^$name:" "$f" && continue
		echo "$name:$start:65536" >>"$f"
		setup_changed "$who" "subid $f $name" \
			"added $name:$start:65536 to $f"
	done
}

# setup_fuse WHO: user_allow_other in /etc/fuse.conf, /dev/fuse mode 0666.
setup_fuse() {
	local who=$1 mode
	touch /etc/fuse.conf
	if ! grep -q '^user_allow_other' /etc/fuse.conf; then
		echo user_allow_other >>/etc/fuse.conf
		setup_changed "$who" "fuse_conf /etc/fuse.conf" \
			"added user_allow_other to /etc/fuse.conf"
	fi
	[ -e /dev/fuse ] || return 0
	mode=$(stat -c %a /dev/fuse)
	if [ "$mode" != 666 ]; then
		chmod 0666 /dev/fuse
		setup_changed "$who" "dev_fuse $mode" \
			"/dev/fuse mode $mode -> 666 (ordinary users' FUSE mounts)"
	fi
}
