#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by deps.sh and deps-e2e.sh: apt_install PKG... installs those of
# the Debian packages that are not installed yet (apt-get update first, once).
apt_install() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
