#!/usr/bin/env bash
# Mutation testing: each tests/mutants/*.patch plants a one-line bug; the
# tests must fail with it.  Every patch is applied to a scratch copy of the
# tree (never to this one), the libraries are built there, and then the
# tests run (MUTANT_TESTS, a command run in the scratch tree; default: the
# unit tests of both builds, then the heap-bug tests against both archives,
# stopping at the first failure).
# Prints a table (killed / SURVIVED / STALE / BUILD FAILED) and exits
# non-zero if a mutant survived, a patch no longer applies (refresh it:
# the code it plants into has changed), or a mutant does not build.
#
# usage: tests/mutants/run.sh [PATCH...]     (default: every patch)
# env:   MUTANT_TESTS (a shell command), MUTANT_DIR (keep the scratch trees
#        there), MAKE (default make), JOBS (default 2)
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAKE=${MAKE:-make}
JOBS=${JOBS:-2}
tests=${MUTANT_TESTS:-"$MAKE -s -j$JOBS unit-tests && bash tests/bugs/run.sh build/libspanalloc.a && bash tests/bugs/run.sh build/libspanalloc-debug.a"}
patches=("$@")
if ((${#patches[@]} == 0)); then
	patches=("$top"/tests/mutants/*.patch)
fi

if [ -n "${MUTANT_DIR:-}" ]; then
	work=$MUTANT_DIR
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-mutants.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi

# The tree as it is now (committed or not), without build output.
pristine=$work/pristine
rm -rf "$pristine"
mkdir -p "$pristine"
(cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^build/' |
	xargs -0 cp --parents -t "$pristine" 2>/dev/null) || {
	echo "mutants: cannot copy the tree" >&2
	exit 2
}

declare -a rows=()
survived=0 stale=0 broken=0 killed=0
for patch in "${patches[@]}"; do
	name=$(basename "$patch" .patch)
	what=$(sed -n '1s/^Mutant: //p' "$patch")
	file=$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch" | head -1)
	tree=$work/$name
	rm -rf "$tree"
	cp -a "$pristine" "$tree"
	log=$work/$name.log
	start=$(date +%s)
	if ! patch -s -p1 -d "$tree" --dry-run -F0 <"$patch" >"$log" 2>&1; then
		result="STALE (does not apply: refresh the patch)"
		stale=$((stale + 1))
	elif ! patch -s -p1 -d "$tree" -F0 <"$patch" >>"$log" 2>&1 ||
		! $MAKE -C "$tree" -s -j"$JOBS" all >>"$log" 2>&1; then
		result="BUILD FAILED (see $log)"
		broken=$((broken + 1))
	elif (cd "$tree" && bash -c "$tests") >>"$log" 2>&1; then
		result="SURVIVED"
		survived=$((survived + 1))
	else
		# The test that failed: the last "== suite" or FAIL line before the error.
		by=$(grep -E '^== |^FAIL|\[FAIL\]' "$log" | tail -1 | sed 's/^== //; s|.*/||' | cut -c1-60)
		result="killed${by:+ ($by)}"
		killed=$((killed + 1))
	fi
	secs=$(($(date +%s) - start))
	rows+=("$(printf '%-40s %-22s %4ss  %s' "$name" "$file" "$secs" "$result")")
	printf '%s\n' "${rows[-1]}"
	[ "$result" = SURVIVED ] && echo "    (mutant: $what)"
	[ -z "${MUTANT_DIR:-}" ] && [ "$result" != "${result#killed}" ] && rm -rf "$tree"
done

echo
printf '%-40s %-22s %5s  %s\n' mutant file time result
printf '%s\n' "${rows[@]}"
echo
echo "mutants: ${#patches[@]}: $killed killed, $survived survived, $stale stale, $broken do not build"
if ((survived + stale + broken > 0)); then
	exit 1
fi
