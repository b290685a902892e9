#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install everything shiftfs needs to build, test and benchmark on Debian 12
# (bookworm), and prepare the machine for the tests: unprivileged test
# users (one with a subordinate id range), user_allow_other in
# /etc/fuse.conf, /dev/fuse mode 0666. Says each change it makes.
# Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps.sh: run as root (it uses apt-get)" >&2
	exit 1
fi

packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libfuse3-dev fuse3 libacl1-dev libattr1-dev libcap-dev libjson-c-dev
	libmicrohttpd-dev
	acl attr libcap2-bin uidmap util-linux e2fsprogs
	python3 python3-pytest mandoc shellcheck zsh
	bindfs fio time strace
)
# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install "${packages[@]}"

# What this changes on the system is said, one line each, and recorded for
# scripts/undo-setup.sh (scripts/test.sh takes back what it can at the end).
# shellcheck source=scripts/setup-changes.sh
. "$(dirname "$0")/setup-changes.sh"
who=scripts/deps.sh
# An unprivileged host user for tests that act as "another host user".
setup_user $who shiftfs-test none "the tests act as it"
# The security suite (tests/security) plays other host users: an attacker
# and a victim with no relation to each other, and a user with its own
# subordinate range that mounts are made for.
setup_user $who shiftfs-atk none "the security tests' attacker"
setup_user $who shiftfs-victim none "the security tests' victim"
setup_user $who shiftfs-mapped none "a user with subordinate ids"
setup_subid $who shiftfs-mapped 500000
# Rootless FUSE mounts that a container (another uid) must see need
# user_allow_other; ordinary users' FUSE mounts need /dev/fuse 0666.
setup_fuse $who
exit 0
