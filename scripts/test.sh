#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite, as the README and .ci/run run it: install
# dependencies, build twice (plain, and AddressSanitizer + UBSan), run every
# CTest test in both. Any failure, or any test skipped for a capability this
# machine has, fails the run.
#
# What it changes on the system: deps.sh and deps-e2e.sh say each change
# as they make it (test users and their /etc/subuid and /etc/subgid lines,
# user_allow_other in /etc/fuse.conf, the /dev/fuse mode, / made a shared
# mount); at the end, pass or fail, scripts/undo-setup.sh takes back all
# but the users (the next run needs them; it says how to remove them).
# The test builds' own files stay in build/ and build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."

trap 'bash scripts/undo-setup.sh' EXIT
bash scripts/deps.sh
bash scripts/deps-e2e.sh
jobs=$(nproc)
export SHIFTFS_TEST_MUST_MOUNT=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan_suppress.txt

run_suite() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSHIFT_TEST_HOOKS=ON "$@" >/dev/null
	cmake --build "$dir" -j "$jobs" -- --no-print-directory 2>&1 |
		{ grep -E 'warning|error' || true; }
	cmake --build "$dir" -j "$jobs" >/dev/null
	ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs"
}

echo "== plain build"
run_suite build
echo "== AddressSanitizer + UBSan build"
run_suite build-asan -DSHIFT_SANITIZE=ON
