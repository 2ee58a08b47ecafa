#!/usr/bin/env bash
# A libFuzzer campaign of every harness:
#
#   ci/fuzz.sh [SECONDS-PER-HARNESS]        (default 15)
#
# Each harness runs SECONDS from corpus/<harness>/ (FUZZ_JOBS at a time,
# default 2) with its dictionary, against each library build in FUZZ_BUILDS
# (default: production, and the debug build when there is one).  New inputs that add coverage are merged
# back into corpus/<harness>/ (FUZZ_MERGE=0 to skip).  A crash, timeout or
# leak is minimized and stored as tests/regressions/<harness>-<sha1> with a
# .txt report, and the script exits 1.  A table of executions, exec/s and
# findings is printed at the end.
#
# env: HARNESSES (default all), FUZZ_JOBS, FUZZ_MERGE, FUZZ_BUILDS
#      ("libfuzzer libfuzzer-debug": directories under build/fuzz; built here
#      unless FUZZ_BUILT=1), FUZZ_ARGS (extra libFuzzer options).
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

secs=${1:-15}
if [[ -z ${FUZZ_BUILT:-} ]]; then
	make -s -f "$root/fuzz/Makefile" build HARNESSES="$harnesses" || exit 2
fi
builds=${FUZZ_BUILDS:-libfuzzer $([[ -d $fuzzb/libfuzzer-debug ]] && echo libfuzzer-debug libfuzzer-debug-nosan)}
work=$fuzzb/work
mkdir -p "$work"

# run_one BUILD HARNESS
run_one() {
	local bin=$fuzzb/$1 h=$2 w=$work/$1-$2
	rm -rf "$w"
	mkdir -p "$w/new" "$w/art" "$root/corpus/$h"
	local start end
	start=$(date +%s)
	# shellcheck disable=SC2046,SC2086
	"$bin/fuzz_$h" -max_total_time="$secs" -timeout=25 -rss_limit_mb=3072 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$w/art/" $(dict_opt "$h") ${FUZZ_ARGS:-} \
		"$w/new" "$root/corpus/$h" >"$w/log" 2>&1
	echo $? >"$w/rc"
	end=$(date +%s)
	echo $((end - start)) >"$w/secs"
}

jobs_max=$(fuzz_jobs)
echo "fuzz: ${secs}s per harness and build ($builds), $jobs_max at a time: $harnesses"
for b in $builds; do
	for h in $harnesses; do
		[[ -x $fuzzb/$b/fuzz_$h ]] || { echo "fuzz: build/fuzz/$b/fuzz_$h is missing" >&2; exit 2; }
		run_one "$b" "$h" &
		while (($(jobs -rp | wc -l) >= jobs_max)); do
			wait -n
		done
	done
done
wait

failed=0
printf '\n%-15s %-9s %5s %10s %8s %5s  %s\n' build harness secs execs exec/s new result
for b in $builds; do
for h in $harnesses; do
	bin=$fuzzb/$b
	w=$work/$b-$h
	execs=$(lf_stat "$w/log" number_of_executed_units)
	rate=$(lf_stat "$w/log" average_exec_per_sec)
	art=$(ls "$w"/art/ 2>/dev/null | head -1)
	result=ok
	newin=0
	if [[ -n $art ]]; then
		failed=1
		saved=$(save_regression "$h" "$w/art/$art" "$bin/fuzz_$h" "ci/fuzz.sh, build/fuzz/$b ($art after ${execs:-?} executions)" "$w/log")
		result="FAILED: $(first_error "$w/log") -> ${saved#"$root"/}"
	elif [[ $(cat "$w/rc") != 0 ]]; then
		failed=1
		result="FAILED (exit $(cat "$w/rc")): $(first_error "$w/log")"
	elif [[ ${FUZZ_MERGE:-1} == 1 ]]; then
		before=$(ls "$root/corpus/$h" | wc -l)
		"$bin/fuzz_$h" -merge=1 -timeout=25 -rss_limit_mb=3072 "$root/corpus/$h" "$w/new" >"$w/merge.log" 2>&1 ||
			echo "fuzz: merge of $h failed (see $w/merge.log)" >&2
		newin=$(($(ls "$root/corpus/$h" | wc -l) - before))
	fi
	printf '%-15s %-9s %5s %10s %8s %5s  %s\n' "$b" "$h" "$(cat "$w/secs")" "${execs:-?}" "${rate:-?}" "$newin" "$result"
done
done
if ((failed)); then
	echo "fuzz: FAILED (inputs saved under tests/regressions/; logs in ${work#"$root"/}/)"
	exit 1
fi
echo "fuzz: no crash"
