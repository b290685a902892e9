#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install everything shiftfs needs to build, test and benchmark on Debian 12
# (bookworm), and prepare the machine for the tests: unprivileged test
# users (one with a subordinate id range) and user_allow_other in /etc/fuse.conf. Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps.sh: run as root (it uses apt-get)" >&2
	exit 1
fi

packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libfuse3-dev fuse3 libacl1-dev libattr1-dev libcap-dev libjson-c-dev
	acl attr libcap2-bin uidmap util-linux e2fsprogs
	python3 python3-pytest mandoc shellcheck zsh
	bindfs fio time
)
# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install "${packages[@]}"

# An unprivileged host user for tests that act as "another host user".
if ! id shiftfs-test >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin shiftfs-test
fi
# The security suite (tests/security) plays other host users: an attacker
# and a victim with no relation to each other, and a user with its own
# subordinate range that mounts are made for.
for u in shiftfs-atk shiftfs-victim shiftfs-mapped; do
	id "$u" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
for f in /etc/subuid /etc/subgid; do
	touch "$f"
	grep -q '^shiftfs-mapped:' "$f" || echo shiftfs-mapped:500000:65536 >>"$f"
done
# Rootless FUSE mounts that a container (another uid) must see need it.
if [ -f /etc/fuse.conf ] && ! grep -q '^user_allow_other' /etc/fuse.conf; then
	echo user_allow_other >>/etc/fuse.conf
fi
[ -e /dev/fuse ] && chmod 0666 /dev/fuse
exit 0
