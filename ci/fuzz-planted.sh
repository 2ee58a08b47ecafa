#!/usr/bin/env bash
# Do the harnesses have teeth?  For each planted bug (the library built with
# -DSA_FAULT=N, see src/internal.h):
#
#   1  a live object is handed out a second time (sweep drops its bit)
#   2  off by one: a span's last object runs past the span's end
#   3  a remote free is lost (every 8th)
#   4  a freed span's last page stays in the page map
#   5  a live guarded slot is handed out again (the debug build's pool)
#
# run the harnesses that reach that code (FUZZ_JOBS at a time, from an empty
# corpus) until one fails or PLANTED_LIMIT seconds pass, and print which
# harness found it, after how long and how many executions.  A finding
# counts only if the same input passes on the production build (bug 5: on
# the debug build it was planted in).  The input
# is kept as tests/regressions/planted/faultN-<harness>.
#
#   ci/fuzz-planted.sh              first finder of each bug (exit 1 if a bug is missed)
#   PLANTED_ALL=1 ci/fuzz-planted.sh  every relevant harness against every bug
#   ci/fuzz-planted.sh --replay     the saved inputs still fail on their fault
#                                   build and pass on the production build
#
# env: PLANTED_LIMIT (seconds per harness run, default 300), PLANTED_BUGS
#      ("1 2 3 4 5"), PLANTED_CORPUS=seeds (start from corpus/ instead of
#      nothing), HARNESSES, FUZZ_JOBS.
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

limit=${PLANTED_LIMIT:-300}
# (bug 5 when the library has a debug build)
bugs=${PLANTED_BUGS:-1 2 3 4$(grep -qs 'libspanalloc-debug.a' "$root/Makefile" && echo " 5")}
saved_dir=$root/tests/regressions/planted

describe() {
	case $1 in
	1) echo "live object handed out twice" ;;
	2) echo "span's last object past its end" ;;
	3) echo "every 8th remote free lost" ;;
	4) echo "stale page map entry after free" ;;
	5) echo "live guarded slot handed out again" ;;
	esac
}

# The harnesses that reach each bug's code, the likeliest first.
relevant() {
	local list
	case $1 in
	1) list="central small tiny threads realloc large badfree" ;;
	2) list="small central tiny realloc threads large badfree" ;;
	3) list="threads central small tiny realloc large badfree" ;;
	4) list="heap large realloc small central threads tiny badfree" ;;
	5) list="small realloc tiny central large threads badfree" ;;
	esac
	local h out=""
	for h in $list; do
		[[ " $harnesses " == *" $h "* ]] && out+="$h "
	done
	echo "$out"
}

# The build without the bug: production, or (bug 5) the debug build.
reference() { [[ $1 == 5 ]] && echo libfuzzer-debug-nosan || echo libfuzzer; }
reference_noengine() { [[ $1 == 5 ]] && echo debug-nosan || echo prod; }

if [[ ${1:-} == --replay ]]; then
	[[ -n ${PLANTED_BUILT:-} ]] || make -s -f "$root/fuzz/Makefile" planted-build || exit 2
	bad=0
	n=0
	for f in "$saved_dir"/fault*-*; do
		[[ -f $f && $f != *.txt ]] || continue
		base=$(basename "$f")
		N=${base#fault}
		N=${N%%-*}
		h=${base#fault"$N"-}
		h=${h%%-*}
		n=$((n + 1))
		if "$fuzzb/fault$N/fuzz_$h" -runs=1 "$f" >/dev/null 2>&1; then
			echo "planted-replay: $base no longer fails on the SA_FAULT=$N build"
			bad=1
		elif ! "$fuzzb/$(reference_noengine "$N")/fuzz_$h" "$f" >/dev/null 2>&1; then
			echo "planted-replay: $base fails on the $(reference_noengine "$N") build too"
			bad=1
		fi
	done
	echo "planted-replay: $n inputs, $([[ $bad == 0 ]] && echo "each fails on its fault build only" || echo FAILED)"
	exit $bad
fi

make -s -f "$root/fuzz/Makefile" planted-build build HARNESSES="$harnesses" || exit 2
work=$fuzzb/planted
rm -rf "$work"
mkdir -p "$work" "$saved_dir"
jobs_max=$(fuzz_jobs)

# standalone N H INPUT: an input that fails on the fault build all by itself
# (bugs 1 and 3 fire on process-wide counters, so the input a campaign
# failed on may need the ones before it): INPUT if it does, else the
# campaign's largest corpus inputs are tried.  Prints the path, or nothing.
standalone() {
	local N=$1 h=$2 input=$3 f
	for f in "$input" $(ls -S "$work/$N-$h/corpus" 2>/dev/null | head -200 | sed "s|^|$work/$N-$h/corpus/|"); do
		if ! "$fuzzb/fault$N/fuzz_$h" -runs=1 "$f" >/dev/null 2>&1; then
			echo "$f"
			return
		fi
	done
}

# run N H: one harness against bug N; writes $work/N-H.{log,rc,secs}
run() {
	local N=$1 h=$2 d=$work/$1-$2
	mkdir -p "$d/corpus" "$d/art"
	[[ ${PLANTED_CORPUS:-} == seeds ]] && cp "$root/corpus/$h"/* "$d/corpus/" 2>/dev/null
	local t0 t1
	t0=$(date +%s.%N)
	# shellcheck disable=SC2046
	"$fuzzb/fault$N/fuzz_$h" -max_total_time="$limit" -timeout=25 -rss_limit_mb=3072 -print_final_stats=1 \
		-artifact_prefix="$d/art/" $(dict_opt "$h") "$d/corpus" >"$d.log" 2>&1
	echo $? >"$d.rc"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", b - a}' >"$d.secs"
}

missed=0
rows=()
for N in $bugs; do
	read -r -a queue <<<"$(relevant "$N")"
	pids=()
	names=()
	found=""
	echo "planted: bug $N ($(describe "$N")): ${queue[*]}" >&2
	i=0
	while ((i < ${#queue[@]})) || ((${#pids[@]} > 0)); do
		# start runs while there is room (and nothing found yet, unless PLANTED_ALL)
		while ((i < ${#queue[@]})) && ((${#pids[@]} < jobs_max)) && [[ -z $found || -n ${PLANTED_ALL:-} ]]; do
			run "$N" "${queue[i]}" &
			pids+=($!)
			names+=("${queue[i]}")
			i=$((i + 1))
		done
		((${#pids[@]} > 0)) || break
		wait -n "${pids[@]}" 2>/dev/null
		# collect what finished
		np=()
		nn=()
		for k in "${!pids[@]}"; do
			if kill -0 "${pids[k]}" 2>/dev/null; then
				np+=("${pids[k]}")
				nn+=("${names[k]}")
				continue
			fi
			wait "${pids[k]}" 2>/dev/null
			h=${names[k]}
			d=$work/$N-$h
			art=$(ls "$d/art" 2>/dev/null | head -1)
			secs=$(cat "$d.secs" 2>/dev/null)
			execs=$(lf_stat "$d.log" number_of_executed_units)
			if [[ -n $art ]]; then
				# Only the planted bug: the input must pass on the production build.
				if "$fuzzb/$(reference "$N")/fuzz_$h" -runs=1 "$d/art/$art" >"$d.prod.log" 2>&1; then
					keep=$(standalone "$N" "$h" "$d/art/$art")
					rm -f "$saved_dir/fault$N-$h" "$saved_dir/fault$N-$h.txt"
					if [[ -n $keep ]]; then
						cp "$keep" "$saved_dir/fault$N-$h"
						first_error "$d.log" >"$saved_dir/fault$N-$h.txt"
					fi
					rows+=("$(printf '%-3s %-32s %-9s %8s %10s  %s' "$N" "$(describe "$N")" "$h" "${secs}s" "${execs:-?}" "$(first_error "$d.log" | cut -c1-110)")")
					[[ -z $found ]] && found=$h
				else
					rows+=("$(printf '%-3s %-32s %-9s %8s %10s  %s' "$N" "$(describe "$N")" "$h" "${secs}s" "${execs:-?}" "NOT THE PLANTED BUG (fails on production): $(first_error "$d.prod.log" | cut -c1-80)")")
				fi
			elif [[ -n ${PLANTED_ALL:-} ]]; then
				rows+=("$(printf '%-3s %-32s %-9s %8s %10s  %s' "$N" "$(describe "$N")" "$h" ">${limit}s" "${execs:-?}" "not found")")
			fi
		done
		pids=("${np[@]}")
		names=("${nn[@]}")
		# found it: stop the others (our own children only)
		if [[ -n $found && -z ${PLANTED_ALL:-} ]]; then
			for p in "${pids[@]}"; do
				pkill -TERM -P "$p" 2>/dev/null
				kill "$p" 2>/dev/null
			done
			wait "${pids[@]}" 2>/dev/null
			pids=()
			names=()
		fi
	done
	if [[ -z $found ]]; then
		rows+=("$(printf '%-3s %-32s %-9s %8s %10s  %s' "$N" "$(describe "$N")" "-" ">${limit}s" "-" "NOT FOUND by: ${queue[*]}")")
		missed=1
	fi
done

printf '\n%-3s %-32s %-9s %8s %10s  %s\n' bug planted harness time execs "how it showed"
printf '%s\n' "${rows[@]}"
if ((missed)); then
	echo "planted: a planted bug was not found within ${limit}s"
	exit 1
fi
echo "planted: every planted bug found (inputs in tests/regressions/planted/)"
