#!/usr/bin/env bash
# The debug library under AddressSanitizer: built with -fsanitize=address
# (and -DSA_NO_STD_NAMES, as the fuzz harnesses build it: ASan keeps its
# own malloc, the program calls spanalloc through the sa_ API), it poisons
# freed blocks, the slack after each block, the redzone before it and the
# heap's unused pages through sanitizer/asan_interface.h.  So ASan must
# report a program touching them ("use-after-poison") at the right line,
# and nothing in a correct program.
#
# usage: tests/asan/run.sh [LIB]
#   LIB  an ASan build of libspanalloc-debug.a (default: built here, into
#        $ASAN_BUILD_DIR, default build/asan/, from the library's own Makefile)
# env:  CLANG (default clang), ASAN_BUILD_DIR, VERBOSE=1, KEEP_TMP=1
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "$0: $CLANG not found" >&2
	exit 2
fi
SAN="-fsanitize=address -fno-omit-frame-pointer"

lib=${1:-}
if [ -z "$lib" ]; then
	dir=${ASAN_BUILD_DIR:-$root/build/asan}
	# The library's Makefile with its own variables: B (build directory),
	# CC, OPT and CFLAGS (appended to its flags).
	if ! env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory -C "$root" B="$dir" CC="$CLANG" \
		OPT="-O1 -g" CFLAGS="$SAN -DSA_NO_STD_NAMES" "$dir/libspanalloc-debug.a" >"${TMPDIR:-/tmp}/spanalloc-asan-build.$$" 2>&1; then
		cat "${TMPDIR:-/tmp}/spanalloc-asan-build.$$" >&2
		rm -f "${TMPDIR:-/tmp}/spanalloc-asan-build.$$"
		echo "$0: cannot build the ASan debug library" >&2
		exit 2
	fi
	rm -f "${TMPDIR:-/tmp}/spanalloc-asan-build.$$"
	lib=$dir/libspanalloc-debug.a
fi
if [ ! -f "$lib" ]; then
	echo "$0: $lib: no such file" >&2
	exit 2
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-asan.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
	trap 'echo "asan: kept $out" >&2' EXIT
else
	trap 'rm -rf "$out"' EXIT
fi
unset SPANALLOC_OPTIONS
ulimit -c 0 2>/dev/null || true
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:symbolize=1

# name : kind (bug: a use-after-poison at the /* @bug */ line; clean)
tests="
asan_use_after_free:bug
asan_overflow_read:bug
asan_overflow_large:bug
asan_underflow:bug
asan_clean:clean
"

pass=0
fail=0
failed=
echo "spanalloc under ASan: $lib"
for entry in $tests; do
	name=${entry%%:*}
	kind=${entry#*:}
	bin=$out/$name
	why=
	# shellcheck disable=SC2086
	if ! $CLANG -std=gnu11 -O0 -g $SAN -Wall -Wextra -I"$root/include" -o "$bin" "$here/$name.c" "$lib" \
		-pthread >"$bin.build.log" 2>&1; then
		why="does not compile: $(head -c 400 "$bin.build.log")"
	else
		timeout -k 5 60 "$bin" >"$bin.out" 2>"$bin.err"
		st=$?
		if [ "$kind" = clean ]; then
			[ "$st" -eq 0 ] || why="exit status $st, want 0"
			[ -s "$bin.err" ] && why="${why:+$why; }stderr is not empty"
		else
			line=$(grep -n -F '/* @bug */' "$here/$name.c" | head -n1 | cut -d: -f1)
			[ "$st" -ne 0 ] || why="exit status 0: ASan reported nothing"
			grep -q "ERROR: AddressSanitizer: use-after-poison" "$bin.err" ||
				why="${why:+$why; }no \"AddressSanitizer: use-after-poison\" report"
			grep -qE "SUMMARY: AddressSanitizer: use-after-poison .*/$name\.c:$line(:|$| )" "$bin.err" ||
				why="${why:+$why; }the report is not at $name.c:$line"
		fi
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS $name"
		[ "${VERBOSE:-0}" = 1 ] && sed 's/^/    | /' "$bin.err"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name: $why"
		[ -f "$bin.err" ] && head -n 20 "$bin.err" | sed 's/^/    | /'
	fi
done
echo "asan: $pass passed, $fail failed${failed:+; failed:$failed}"
[ "$fail" -eq 0 ]
