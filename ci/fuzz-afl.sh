#!/usr/bin/env bash
# An AFL++ campaign of every harness, one after the other, each on two
# cores: a main instance (-M, the fast build, with the CmpLog build for
# input-to-state comparisons) and a secondary (-S) running the ASan + UBSan
# build.  Both start from corpus/<harness>/ with its dictionary.
#
#   ci/fuzz-afl.sh [SECONDS-PER-HARNESS]       (default 20)
#
# Crashes are confirmed with the libFuzzer build, minimized and stored as
# tests/regressions/<harness>-<sha1> (exit 1).  Prints executions and exec/s
# per instance.
#
# env: HARNESSES, FUZZ_AFL_BUILT=1 (skip the build), AFL_OUT (build/fuzz/afl-out).
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

secs=${1:-20}
if [[ -z ${FUZZ_AFL_BUILT:-} ]]; then
	make -s -f "$root/fuzz/Makefile" afl-build HARNESSES="$harnesses" || exit 2
fi
make -s -f "$root/fuzz/Makefile" build HARNESSES="$harnesses" >/dev/null || exit 2 # to confirm crashes
out_root=${AFL_OUT:-$fuzzb/afl-out}
mkdir -p "$out_root"

# What this machine needs: no CPU governor to check, no core to bind to (a
# shared, noisy box), no UI, crashes that may not produce core files.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_FAST_CAL=1 AFL_CMPLOG_ONLY_NEW=1 AFL_SKIP_BIN_CHECK=0
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0:print_stacktrace=1

afl_stat() { # FILE KEY
	awk -F' *: *' -v k="$2" '$1 == k {print $2}' "$1" 2>/dev/null
}

failed=0
printf '%-9s %-5s %10s %8s %7s %7s  %s\n' harness inst execs exec/s corpus crashes result
for h in $harnesses; do
	out=$out_root/$h
	rm -rf "$out"
	in=$root/corpus/$h
	if [[ -z $(ls "$in" 2>/dev/null) ]]; then
		in=$out_root/$h.seed
		mkdir -p "$in"
		printf '\0' >"$in/empty"
	fi
	dict=()
	[[ -f $root/corpus/$h.dict ]] && dict=(-x "$root/corpus/$h.dict")
	afl-fuzz -M main -i "$in" -o "$out" -V "$secs" -t 5000 "${dict[@]}" \
		-c "$fuzzb/afl-cmplog/fuzz_$h" -- "$fuzzb/afl/fuzz_$h" >"$out_root/$h.main.log" 2>&1 &
	m=$!
	afl-fuzz -S asan -i "$in" -o "$out" -V "$secs" -t 10000 -m none "${dict[@]}" \
		-- "$fuzzb/afl-asan/fuzz_$h" >"$out_root/$h.asan.log" 2>&1 &
	s=$!
	wait $m
	rm=$?
	wait $s
	rs=$?
	for inst in main asan; do
		st=$out/$inst/fuzzer_stats
		crashes=$(afl_stat "$st" saved_crashes)
		[[ -z $crashes ]] && crashes=$(afl_stat "$st" unique_crashes)
		result=ok
		if [[ ! -f $st ]]; then
			result="did not run: $(grep -a -m1 -E 'PROGRAM ABORT|ERROR|Location' "$out_root/$h.$inst.log" | cut -c1-150)"
			failed=1
		fi
		for c in "$out/$inst"/crashes/id:*; do
			[[ -f $c ]] || continue
			failed=1
			saved=$(save_regression "$h" "$c" "$fuzzb/libfuzzer/fuzz_$h" "ci/fuzz-afl.sh ($inst instance)")
			result="CRASH -> ${saved#"$root"/}"
			break
		done
		printf '%-9s %-5s %10s %8s %7s %7s  %s\n' "$h" "$inst" "$(afl_stat "$st" execs_done)" \
			"$(afl_stat "$st" execs_per_sec)" "$(afl_stat "$st" corpus_count)" "${crashes:-?}" "$result"
	done
	[[ $rm == 0 && $rs == 0 ]] || { echo "fuzz-afl: afl-fuzz exited $rm / $rs for $h (logs: ${out_root#"$root"/}/$h.*.log)"; failed=1; }
done
if ((failed)); then
	echo "fuzz-afl: FAILED"
	exit 1
fi
echo "fuzz-afl: no crash"
