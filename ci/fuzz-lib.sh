# shellcheck shell=bash disable=SC2034
# Shared by ci/fuzz.sh, ci/fuzz-afl.sh and ci/fuzz-planted.sh (sourced).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ALL_HARNESSES="tiny small large realloc central threads badfree heap fixalloc options"
harnesses=${HARNESSES:-$ALL_HARNESSES}
fuzzb=$root/build/fuzz

# Parallel jobs: the cores, at most 2 unless FUZZ_JOBS says otherwise.
fuzz_jobs() {
	local n
	n=$(nproc 2>/dev/null || echo 1)
	echo "${FUZZ_JOBS:-$((n < 2 ? n : 2))}"
}

# libFuzzer's -dict= option for a harness, when it has a dictionary.
dict_opt() {
	[[ -f $root/corpus/$1.dict ]] && echo "-dict=$root/corpus/$1.dict" || true
}

# stat::NAME from a libFuzzer log.
lf_stat() {
	grep -a "^stat::$2:" "$1" 2>/dev/null | tail -1 | awk '{print $2}'
}

# The first line of a log that says what went wrong.
first_error() {
	# Not libFuzzer's own lines, which quote dictionary entries such as
	# "== spanalloc: ": its progress lines ("#123 NEW cov: ... MS: 1
	# CMP-DE: ...") and its recommended dictionary ("\"...\" # Uses: 3").
	grep -a -v -E '^#[0-9]+[[:space:]]|^".*" # Uses: [0-9]+' "$1" |
		grep -a -m1 -E 'spanalloc-fuzz: .*FAIL|spanalloc: (internal error|fatal)|== spanalloc: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' |
		cut -c1-200 || true
}

# save_regression HARNESS INPUT BINARY HOW [LOG]: minimize INPUT with BINARY
# (a libFuzzer target), store it as tests/regressions/HARNESS-<sha1> with
# a report next to it (.txt), print the stored path.  LOG: the campaign's
# log, quoted when the input fails only after the inputs before it.
save_regression() {
	local h=$1 input=$2 bin=$3 how=$4 log=${5:-}
	local tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/sa-regress.XXXXXX")
	local min=$tmp/min standalone=yes
	if ! "$bin" -runs=1 "$input" >"$tmp/orig.log" 2>&1; then
		# It fails on its own: make it small.
		"$bin" -minimize_crash=1 -max_total_time="${MINIMIZE_SECONDS:-60}" -exact_artifact_path="$min" \
			"$input" >"$tmp/minimize.log" 2>&1 || true
		if [[ ! -s $min ]] || "$bin" -runs=1 "$min" >/dev/null 2>&1; then
			cp "$input" "$min"
		fi
	else
		standalone=no # needed the inputs before it in the campaign
		cp "$input" "$min"
	fi
	local hash dest
	hash=$(sha1sum "$min" | cut -c1-12)
	mkdir -p "$root/tests/regressions"
	dest=$root/tests/regressions/$h-$hash
	cp "$min" "$dest"
	{
		echo "harness:    $h"
		echo "found by:   $how"
		echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "commit:     $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "size:       $(stat -c %s "$dest") bytes (minimized from $(stat -c %s "$input"))"
		echo "standalone: $standalone"
		echo "reproduce:  make -f fuzz/Makefile build && ${bin#"$root"/} tests/regressions/$h-$hash"
		echo "            FUZZ_TRACE=1 ${bin#"$root"/} tests/regressions/$h-$hash   # every operation"
		echo "replay:     build/fuzz/prod/fuzz_$h tests/regressions/$h-$hash"
		echo
		echo "---- report"
		if [[ $standalone == yes ]]; then
			"$bin" -runs=1 "$dest" 2>&1 | grep -a -v '^INFO: ' | head -150
		elif [[ -n $log ]]; then
			echo "(fails only after the campaign's earlier inputs; from its log:)"
			grep -a -A80 -E 'spanalloc-fuzz: .*FAIL|ERROR: (AddressSanitizer|libFuzzer)|spanalloc: internal' "$log" | head -120
		else
			sed -n '1,150p' "$tmp/orig.log"
		fi
	} >"$dest.txt"
	rm -rf "$tmp"
	echo "$dest"
}

# The saved crash inputs of a harness (tests/regressions/<harness>-*, not the reports).
regressions_of() {
	local f
	for f in "$root"/tests/regressions/"$1"-*; do
		[[ -f $f && $f != *.txt ]] && echo "$f"
	done
	return 0
}
