#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by deps.sh and deps-e2e.sh: apt_install PKG... installs those of
# the Debian packages that are not installed yet (apt-get update first, once).
# apt waits up to 5 minutes for the dpkg lock (unattended-upgrades, another
# apt) instead of failing at once.
apt_install() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	export DEBIAN_FRONTEND=noninteractive
	local lock=(-o DPkg::Lock::Timeout=300)
	echo "installing Debian packages: ${missing[*]}"
	apt-get "${lock[@]}" update -qq
	apt-get "${lock[@]}" install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}
