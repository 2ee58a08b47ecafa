#!/usr/bin/env bash
# Minimize corpus/<harness>/ with libFuzzer's -merge=1: the smallest set of
# inputs that keeps every edge (with CORPUS_MIN_COUNTERS=1: every hit-count
# bucket too, a corpus several times bigger) that the production build or
# the debug build sees.  The generated seeds (seed-*) always stay.
#
#   ci/corpus-min.sh            (env: HARNESSES, CORPUS_MIN_COUNTERS)
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

make -s -f "$root/fuzz/Makefile" build HARNESSES="$harnesses" || exit 2
counters=${CORPUS_MIN_COUNTERS:-0}
work=$fuzzb/min
for h in $harnesses; do
	rm -rf "${work:?}/${h:?}"
	mkdir -p "$work/$h"
	before=$(find "$root/corpus/$h" -type f | wc -l)
	for b in libfuzzer libfuzzer-debug-nosan libfuzzer-debug; do
		[[ -x $fuzzb/$b/fuzz_$h ]] || continue
		if ! "$fuzzb/$b/fuzz_$h" -merge=1 -use_counters="$counters" -timeout=30 -rss_limit_mb=4096 \
			"$work/$h" "$root/corpus/$h" >"$work/$h.$b.log" 2>&1; then
			echo "corpus-min: $h: merge with $b failed (${work#"$root"/}/$h.$b.log)" >&2
			exit 1
		fi
	done
	cp "$root/corpus/$h"/seed-* "$work/$h/" 2>/dev/null
	rm -rf "$root/corpus/$h"
	cp -r "$work/$h" "$root/corpus/$h"
	printf 'corpus-min: %-9s %5d -> %4d inputs\n' "$h" "$before" "$(find "$root/corpus/$h" -type f | wc -l)"
done
echo "corpus-min: corpus/ is $(du -s --apparent-size -B1 "$root/corpus" | awk '{printf "%.0f KB", $1/1024}')"
