#!/usr/bin/env bash
# Replay every corpus input and every saved crash input
# (tests/regressions/<harness>-*) through the harnesses without a fuzzing
# engine, against the production build and, when the library has one, the
# debug build under ASan (debug) and without it (debug-nosan: the debug
# build's own poison and canary checks).  Exit 1 if any input fails.
#
#   ci/fuzz-replay.sh [BUILD...]      (default: prod debug debug-nosan)
#
# env: HARNESSES; FUZZ_REPLAY_BUILT=1 (skip the build).
set -uo pipefail
# shellcheck source=ci/fuzz-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

if [[ -z ${FUZZ_REPLAY_BUILT:-} ]]; then
	make -s -f "$root/fuzz/Makefile" replay-build HARNESSES="$harnesses" || exit 2
fi
builds=${*:-prod $([[ -d $fuzzb/debug ]] && echo debug) $([[ -d $fuzzb/debug-nosan ]] && echo debug-nosan)}
logs=$fuzzb/replay
mkdir -p "$logs"
failed=0
for b in $builds; do
	for h in $harnesses; do
		regs=$(regressions_of "$h")
		log=$logs/$b-$h.log
		# shellcheck disable=SC2086
		# (in a subshell: the shell's own "Aborted" goes to the log too)
		if ("$fuzzb/$b/fuzz_$h" "$root/corpus/$h" $regs) >"$log" 2>&1; then
			printf 'replay %-11s %-9s ok   %s\n' "$b" "$h" "$(tail -1 "$log" | sed 's/^replay: //')"
		else
			failed=1
			input=$(grep -a -o 'while running .*' "$log" | head -1 | sed "s|while running ||; s|$root/||")
			printf 'replay %-11s %-9s FAIL %s\n' "$b" "$h" "${input:-?}"
			printf '       %s\n' "$(first_error "$log")"
		fi
	done
done
if ((failed)); then
	echo "replay: FAILED (logs in ${logs#"$root"/}/; FUZZ_TRACE=1 build/fuzz/<build>/fuzz_<harness> INPUT shows every operation)"
	exit 1
fi
echo "replay: every input passes"
