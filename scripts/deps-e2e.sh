#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install and prepare the container engines the end-to-end suite
# (tests/e2e, CTest label e2e) runs: podman with runc, Debian's docker.io
# (started privately by the tests, never as a service), rootless docker's
# rootlesskit, docker-compose, a static busybox for the test rootfs. Then
# the users the scenarios run as, with their own /etc/subuid and
# /etc/subgid ranges, user_allow_other, and / as a shared mount.
# Idempotent; needs root. Images are never pulled: the tests build a
# busybox rootfs.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps-e2e.sh: run as root (it uses apt-get)" >&2
	exit 1
fi

packages=(
	podman runc conmon uidmap slirp4netns catatonit busybox-static
	docker.io rootlesskit docker-compose acl fuse3 util-linux
)
# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install "${packages[@]}"
# docker.io's postinst may have started nothing (no systemd here) or a
# service (with systemd): the tests run their own private dockerd either way.

# add_user NAME HOME SUBID_START: a system user with one 65536-id range.
add_user() {
	local name=$1 home=$2 start=$3
	if ! id "$name" >/dev/null 2>&1; then
		if [ "$home" = none ]; then
			useradd --system --no-create-home \
				--shell /usr/sbin/nologin "$name"
		else
			useradd --system --create-home --home-dir "$home" \
				--shell /bin/sh "$name"
		fi
	fi
	local f
	for f in /etc/subuid /etc/subgid; do
		touch "$f"
		grep -q "^$name:" "$f" || echo "$name:$start:65536" >>"$f"
	done
}
# Runs rootless podman and rootless docker (subordinate ids 300000..).
add_user shiftfs-e2e /var/lib/shiftfs-e2e 300000
# docker --userns-remap=shiftfs-remap (subordinate ids 400000..).
add_user shiftfs-remap none 400000

# FUSE mounts made by a user must be visible to the container's uids.
touch /etc/fuse.conf
grep -q '^user_allow_other' /etc/fuse.conf || echo user_allow_other >>/etc/fuse.conf
[ -e /dev/fuse ] && chmod 0666 /dev/fuse

# Rootless engines keep a long-lived mount namespace: with / shared,
# mounts made after it started (shiftctl mount) still reach containers.
mount --make-rshared /
exit 0
