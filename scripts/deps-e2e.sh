#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install and prepare the container engines the end-to-end suite
# (tests/e2e, CTest label e2e) runs: podman with runc, Debian's docker.io
# (started privately by the tests, never as a service), rootless docker's
# rootlesskit, docker-compose, a static busybox for the test rootfs. Then
# the users the scenarios run as, with their own /etc/subuid and
# /etc/subgid ranges, user_allow_other, /dev/fuse mode 0666, and / as a
# shared mount. Says each change it makes. Idempotent; needs root. Images are never pulled: the tests build a
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

# What this changes on the system is said, one line each, and recorded for
# scripts/undo-setup.sh (scripts/test.sh takes back what it can at the end).
# shellcheck source=scripts/setup-changes.sh
. "$(dirname "$0")/setup-changes.sh"
who=scripts/deps-e2e.sh
# Runs rootless podman and rootless docker (subordinate ids 300000..).
setup_user $who shiftfs-e2e /var/lib/shiftfs-e2e "runs the rootless engines"
setup_subid $who shiftfs-e2e 300000
# docker --userns-remap=shiftfs-remap (subordinate ids 400000..).
setup_user $who shiftfs-remap none "docker's userns-remap user"
setup_subid $who shiftfs-remap 400000

# FUSE mounts made by a user must be visible to the container's uids.
setup_fuse $who

# Rootless engines keep a long-lived mount namespace: with / shared,
# mounts made after it started (shiftctl mount) still reach containers.
old=$(findmnt -no PROPAGATION / || echo unknown)
if [ "$old" != shared ]; then
	mount --make-rshared /
	case $old in
	private | slave | unbindable)
		setup_changed $who "propagation $old" \
			"/ is a shared mount now (was $old)" ;;
	*)
		echo "$who: changed the system: / is a shared mount now (was $old)" ;;
	esac
fi
exit 0
