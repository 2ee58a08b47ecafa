#!/usr/bin/env bash
# Line and branch coverage of src/ from the corpus (and the saved crash
# inputs): the harnesses and the library built with clang's source-based
# coverage, every input replayed without an engine, llvm-cov per file.
#
#   ci/coverage.sh              table per file of src/, and the total
#   COVERAGE_HTML=1 ci/coverage.sh   also build/fuzz/coverage/html/index.html
#
# env: HARNESSES, COVERAGE_MIN_LINES / COVERAGE_MIN_BRANCHES (fail below).
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

tool() { # llvm-cov / llvm-profdata, versioned names when plain ones are missing
	local t
	for t in "$1" "$1-14" "$1-15" "$1-16" "$1-13"; do
		command -v "$t" >/dev/null 2>&1 && { echo "$t"; return; }
	done
	echo "coverage: $1 not found (apt-get install llvm)" >&2
	exit 2
}
cov=$(tool llvm-cov)
profdata=$(tool llvm-profdata)

make -s -f "$root/fuzz/Makefile" cov-build HARNESSES="$harnesses" || exit 2
out=$fuzzb/coverage
rm -rf "$out"
mkdir -p "$out/prof"
# A failing input is reported, and then the inputs run one by one (a
# failure must not lose the coverage of the rest).
objs=()
for flav in cov $([[ -d $fuzzb/cov-debug ]] && echo cov-debug); do
	for h in $harnesses; do
		regs=$(regressions_of "$h")
		log=$out/$flav-$h.log
		# shellcheck disable=SC2086
		if ! LLVM_PROFILE_FILE="$out/prof/$flav-$h-%p.profraw" "$fuzzb/$flav/fuzz_$h" "$root/corpus/$h" $regs \
			>"$log" 2>&1; then
			echo "coverage: $flav/$h: an input failed (${log#"$root"/}): $(first_error "$log")" >&2
			for f in "$root/corpus/$h"/* $regs; do
				LLVM_PROFILE_FILE="$out/prof/$flav-$h-%p.profraw" "$fuzzb/$flav/fuzz_$h" "$f" >>"$log.each" 2>&1 || true
			done
		fi
		objs+=(-object "$fuzzb/$flav/fuzz_$h")
	done
done
"$profdata" merge -sparse "$out"/prof/*.profraw -o "$out/all.profdata" || exit 2
ignore='(fuzz|include|tests)/|/usr/'
"$cov" report "${objs[@]:1}" -instr-profile="$out/all.profdata" -ignore-filename-regex="$ignore" \
	>"$out/report.txt" || exit 2
if [[ -n ${COVERAGE_HTML:-} ]]; then
	"$cov" show "${objs[@]:1}" -instr-profile="$out/all.profdata" -ignore-filename-regex="$ignore" \
		-format=html -show-branches=count -output-dir="$out/html" >/dev/null && echo "coverage: ${out#"$root"/}/html/index.html"
fi
# llvm-cov's columns: Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover Branches Missed Cover
awk -v root="$root/" '
	/^Filename/ || /^---/ || NF < 13 { next }
	{
		f = $1; sub(root, "", f)
		printf "%-22s lines %6s of %5d  %7s   branches %6s of %5d  %7s\n", f, $8 - $9, $8, $10, $11 - $12, $11, $13
	}' "$out/report.txt" | sed 's/^TOTAL /TOTAL /'
total=$(grep '^TOTAL' "$out/report.txt")
lines=$(awk '{print $10}' <<<"$total" | tr -d %)
branches=$(awk '{print $13}' <<<"$total" | tr -d %)
echo "coverage: src/ lines ${lines}%, branches ${branches}% (report: ${out#"$root"/}/report.txt)"
rc=0
if [[ -n ${COVERAGE_MIN_LINES:-} ]] && awk -v a="$lines" -v b="$COVERAGE_MIN_LINES" 'BEGIN{exit !(a < b)}'; then
	echo "coverage: lines below $COVERAGE_MIN_LINES%"
	rc=1
fi
if [[ -n ${COVERAGE_MIN_BRANCHES:-} ]] && awk -v a="$branches" -v b="$COVERAGE_MIN_BRANCHES" 'BEGIN{exit !(a < b)}'; then
	echo "coverage: branches below $COVERAGE_MIN_BRANCHES%"
	rc=1
fi
exit $rc
