#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the libFuzzer targets one after the other, each for SECONDS (default
# 600), single job, at nice 10. Build first:
#   CC=clang cmake -S . -B build-libfuzz -DSHIFT_FUZZ=ON
#   cmake --build build-libfuzz -j2
# usage: tests/fuzz/run_libfuzzer.sh BUILD_DIR OUT_DIR [SECONDS] [TARGET...]
# The committed corpus is only read: new inputs go to OUT_DIR/corpus/<t>,
# crashes to OUT_DIR/<t>-crash-*, the log to OUT_DIR/<t>.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
out=$2
secs=${3:-600}
shift 3 2>/dev/null || shift $#
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idmap_spec proc_map subid acl_xattr)
declare -A maxlen=([idmap_spec]=12000 [proc_map]=12000 [subid]=8192
	[acl_xattr]=2048)
mkdir -p "$out"
status=0
for t in "${targets[@]}"; do
	mkdir -p "$out/corpus/$t"
	start=$(date +%s)
	nice -n 10 "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-max_len="${maxlen[$t]:-4096}" \
		-print_final_stats=1 -artifact_prefix="$out/$t-" \
		"$out/corpus/$t" "$here/corpus/$t" >"$out/$t.log" 2>&1
	rc=$?
	end=$(date +%s)
	echo "$t: exit $rc after $((end - start)) s;" \
		"$(grep -E '^stat::number_of_executed_units' "$out/$t.log")" \
		"corpus $(find "$out/corpus/$t" -type f | wc -l) files"
	[ $rc -eq 0 ] || status=1
done
exit $status
