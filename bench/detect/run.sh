#!/usr/bin/env bash
# bench/detect/run.sh — heap-bug detection on two public suites, against
# glibc, hardened_malloc and spanalloc (production, debug, debug efence=1).
#
#   bench/detect/run.sh HMALLOC_DIR MBENCH_DIR [OUT.md]
#   make detect HMALLOC=DIR MBENCH=DIR
#
# Takes
#   HMALLOC_DIR  a checkout of github.com/GrapheneOS/hardened_malloc
#   MBENCH_DIR   a checkout of github.com/daanx/mimalloc-bench
#   OUT.md       where the table goes (default bench/results/detect.md)
#   env SPANALLOC_BUILD  directory with libspanalloc.so and
#                libspanalloc-debug.so (default: the repo's build/; run
#                `make` first)
#   env DETECT_WORK  scratch directory (default: a new /tmp/spanalloc-detect.*;
#                kept, its path is printed)
# Needs: cc, c++, make, cmake, timeout (coreutils).  No network: both
# checkouts are copied or built out of tree, never modified.
#
# Prints (and writes to OUT.md) two tables, one row per test and one column
# per allocator, with the totals per allocator:
#
# 1. hardened_malloc's test programs (HMALLOC_DIR/test), built as its
#    test/Makefile builds them (-O3, -std=c23 or c2x, C++17
#    -fsized-deallocation) but not linked against libhardened_malloc: each
#    allocator is LD_PRELOADed.  Each program is judged as test/test_smc.py
#    judges it, made generic:
#      - test_smc.py expects -6 (SIGABRT) and hardened_malloc's exact
#        message ("fatal allocator error: ...") or -11 (SIGSEGV): no other
#        allocator prints that message, so a program counts as caught ("+")
#        when it was killed by a signal (aborted after a report, or faulted);
#        otherwise "-" (missed);
#      - read_after_free_small and string_overflow: test_smc.py expects exit
#        0 with the freed block read as zeros / strlen stopping at the block
#        end (hardened_malloc's zero-on-free and its canary's zero byte).
#        They are real bugs (a read after free, an overread), so a kill by
#        a signal is "+"; test_smc.py's expected output without a kill is
#        "z" (the bug was contained, not reported) and is not counted as
#        caught; anything else "-";
#      - programs test_smc.py expects to exit 0 (correct programs, and the
#        zero-on-malloc property tests uninitialized_read_*, which read
#        fresh memory and are not heap-API bugs), plus mallinfo, mallinfo2,
#        malloc_info and offset (built by test/Makefile, not run by
#        test_smc.py): "ok" when they exit 0 with nothing on stderr;
#        "REPORT" (a false report) when killed by a signal or something is
#        printed on stderr; "exit N" otherwise (a property the allocator
#        does not have, e.g. uninitialized memory that is not zero).
#    Skipped: malloc_object_size, malloc_object_size_offset,
#    malloc_object_size_zero, invalid_malloc_object_size_small and
#    invalid_malloc_object_size_small_quarantine (malloc_object_size is a
#    hardened_malloc extension, not the standard API).
#    free_sized / free_aligned_sized (C23) are linked from a small shim
#    library that forwards them to free() when the allocator under test
#    (glibc 2.36, say) has none; a preloaded allocator's own take precedence.
# 2. mimalloc-bench's security suite (MBENCH_DIR/bench/security), built by
#    its own CMakeLists.txt (116 program x ALLOCATION_SIZE cells, Release as
#    bench/CMakeLists.txt sets it), each run and judged exactly as its
#    bench.sh does: `timeout 1s bash -c "/usr/bin/env ENV ./prog || echo
#    CRASHED" || echo TIMEOUT`; NOT_CAUGHT printed -> "-" (missed), or
#    "late crash" / "late timeout" when the process then crashed / timed out;
#    no NOT_CAUGHT -> "+" (caught) or "timeout".  Totals count "+" as
#    bench.sh's summary does.  The cells of programs without a heap bug
#    (malloc_reuse, malloc_reuse_downsize, realloc_reuse, zero_on_malloc,
#    impossibly_large_malloc: properties) are also checked for false reports:
#    something on stderr or a crash.  (bench.sh sends stderr to /dev/null;
#    here it goes to a file, which does not change what is judged.)
#
# Allocators: glibc (nothing preloaded), hardened_malloc (built from a copy
# of HMALLOC_DIR with its own Makefile and default config; on a compiler
# without -std=c23 the copy's Makefile gets -std=c2x plus <stdalign.h> and
# <stdbool.h>), spanalloc (libspanalloc.so), debug (libspanalloc-debug.so,
# default options), efence (the debug build with SPANALLOC_OPTIONS=efence=1).
# Both debug columns run with detect_leaks=0: these suites test heap bugs,
# and many of their programs (the correct ones too) leave blocks unfreed on
# purpose; the leak check (on by default) reports those leaks at exit, as
# LeakSanitizer does, which the suites' judges would count as a false
# report or a late crash.  Leak detection is measured by tests/leaks against
# LeakSanitizer instead.  SPANALLOC_OPTIONS from the caller's environment
# is ignored.
#
# Runs one program at a time (the 1 s timeout must not depend on -j);
# building uses -j2.  About 5 minutes on 2 cores.
set -u
set -o pipefail

die() { echo "detect: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: $0 HMALLOC_DIR MBENCH_DIR [OUT.md]"
HM=$(cd "$1" 2>/dev/null && pwd) || die "no directory $1"
MB=$(cd "$2" 2>/dev/null && pwd) || die "no directory $2"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${3:-$ROOT/bench/results/detect.md}
LIB=${SPANALLOC_BUILD:-$ROOT/build}
[ -f "$HM/h_malloc.c" ] && [ -f "$HM/test/test_smc.py" ] || die "$HM is not a hardened_malloc checkout"
[ -f "$MB/bench/security/CMakeLists.txt" ] && [ -f "$MB/bench.sh" ] || die "$MB is not a mimalloc-bench checkout"
for l in libspanalloc.so libspanalloc-debug.so; do
	[ -f "$LIB/$l" ] || die "no $LIB/$l (run make)"
done
for t in cc c++ make cmake timeout; do
	command -v $t >/dev/null || die "needs $t"
done

W=${DETECT_WORK:-$(mktemp -d /tmp/spanalloc-detect.XXXXXX)}
mkdir -p "$W"
echo "detect: work directory $W" >&2
log() { echo "detect: $*" >&2; }

# spanalloc's libraries are copied so that a rebuild while this runs cannot
# mix two versions in one table.
mkdir -p "$W/lib"
cp "$LIB/libspanalloc.so" "$LIB/libspanalloc-debug.so" "$W/lib/"
SA_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# ---- hardened_malloc, default config ----------------------------------------

if [ ! -f "$W/hm-src/out/libhardened_malloc.so" ]; then
	log "building hardened_malloc"
	rm -rf "$W/hm-src"
	cp -r "$HM" "$W/hm-src"
	rm -rf "$W/hm-src/out"
	hmcc="cc"
	if ! echo 'int x;' | cc -std=c23 -x c -fsyntax-only - 2>/dev/null; then
		# gcc < 14, clang < 18: C23's keywords alignas/bool come from headers.
		sed -i 's/-std=c23/-std=c2x/' "$W/hm-src/Makefile"
		hmcc="cc -include stdalign.h -include stdbool.h"
	fi
	make -C "$W/hm-src" -j2 CC="$hmcc" >"$W/hm-build.log" 2>&1 ||
		die "hardened_malloc did not build, see $W/hm-build.log"
fi
HMLIB=$W/hm-src/out/libhardened_malloc.so
HM_REV=$(git -C "$HM" rev-parse --short HEAD 2>/dev/null || echo unknown)
MB_REV=$(git -C "$MB" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ---- hardened_malloc's test programs ----------------------------------------

HMT_SKIP="malloc_object_size malloc_object_size_offset malloc_object_size_zero
invalid_malloc_object_size_small invalid_malloc_object_size_small_quarantine"
# Expectation per program, from test_smc.py (abort = -6 + message, segv = -11,
# zero = exit 0 + stdout, ok = exit 0), and the four programs test/Makefile
# builds but test_smc.py does not run (ok).
hmt_kind() {
	case $1 in
	read_after_free_small | string_overflow) echo zero ;;
	overflow_large_1_byte | overflow_large_8_byte | read_after_free_large | \
		read_zero_size | write_after_free_large_reuse | write_after_free_large | \
		write_zero_size) echo segv ;;
	aligned_sized_delete_small | aligned_sized_delete_small_min_align | \
		aligned_sized_delete_large | free_sized_small | free_sized_large | \
		impossibly_large_malloc | uninitialized_read_small | uninitialized_read_large | \
		realloc_init | large_array_growth | calloc_overflow | calloc_zeroed | \
		malloc_zero_different | malloc_noreuse | mallinfo | mallinfo2 | malloc_info | \
		offset) echo ok ;;
	*) echo abort ;;
	esac
}
hmt_expected_stdout() {
	case $1 in
	read_after_free_small) printf '0\n%.0s' $(seq 16) ;;
	string_overflow) printf 'overflow by 0 bytes\n' ;;
	esac
}

mkdir -p "$W/hmt"
cat >"$W/hmt/c23shim.c" <<'EOF'
/* free_sized / free_aligned_sized for a libc that has none (glibc < 2.43):
 * linked as a DT_NEEDED library, so a preloaded allocator's own win. */
#include <stdlib.h>
void free_sized(void *p, size_t n);
void free_aligned_sized(void *p, size_t a, size_t n);
void free_sized(void *p, size_t n) { (void)n; free(p); }
void free_aligned_sized(void *p, size_t a, size_t n) { (void)a; (void)n; free(p); }
EOF
cc -O2 -fPIC -shared -o "$W/hmt/libc23shim.so" "$W/hmt/c23shim.c" || die "shim did not build"
HMSTD=-std=c23
echo 'int x;' | cc -std=c23 -x c -fsyntax-only - 2>/dev/null || HMSTD="-std=c2x -include stdalign.h -include stdbool.h"
HMT_PROGS=$(sed -n '/^EXECUTABLES :=/,/^$/p' "$HM/test/Makefile" | tr -d '\\' | sed 1d | tr -s ' \n' '\n' | sed '/^$/d')
[ -n "$HMT_PROGS" ] || die "no EXECUTABLES list in $HM/test/Makefile"
HMT_RUN=""
log "building hardened_malloc's test programs"
for p in $HMT_PROGS; do
	case " $(echo $HMT_SKIP) " in *" $p "*) continue ;; esac
	[ -x "$W/hmt/$p" ] || {
		common=(-D_GNU_SOURCE -DSLAB_CANARY=true -DCONFIG_EXTENDED_SIZE_CLASSES=true -O3
			-L"$W/hmt" -Wl,-rpath,"$W/hmt" -Wl,--no-as-needed -lc23shim -lpthread)
		if [ -f "$HM/test/$p.cc" ]; then
			c++ -std=c++17 -fsized-deallocation -o "$W/hmt/$p" "$HM/test/$p.cc" "${common[@]}"
		else
			cc $HMSTD -Wmissing-prototypes -o "$W/hmt/$p" "$HM/test/$p.c" "${common[@]}"
		fi 2>>"$W/hmt/build.log" || die "$p did not build, see $W/hmt/build.log"
	}
	HMT_RUN="$HMT_RUN $p"
done

# ---- mimalloc-bench's security suite ----------------------------------------

if [ ! -d "$W/mb-build/security" ]; then
	log "building mimalloc-bench's security suite"
	mkdir -p "$W/mb-top"
	# Only bench/security, with what bench/CMakeLists.txt sets around it
	# (C++17, Release, its warning flags).
	cat >"$W/mb-top/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.5)
project(mimalloc-bench-security CXX C)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_BUILD_TYPE "Release")
if(CMAKE_C_COMPILER_ID MATCHES "AppleClang|Clang|GNU")
  set(FLAGS " -w -Wno-implicit-function-declaration -Wno-implicit-int -Wno-int-conversion -Wno-return-mismatch -Wno-incompatible-pointer-types")
  string(APPEND CMAKE_C_FLAGS \${FLAGS})
  string(APPEND CMAKE_CXX_FLAGS \${FLAGS})
endif()
add_subdirectory("$MB/bench/security" security)
EOF
	(cmake -S "$W/mb-top" -B "$W/mb-build" && cmake --build "$W/mb-build" -j2) >"$W/mb-build.log" 2>&1 ||
		die "security suite did not build, see $W/mb-build.log"
fi
MB_PROGS=$(cd "$W/mb-build/security" && for f in *; do [ -f "$f" ] && [ -x "$f" ] && echo "$f"; done)
MB_N=$(echo "$MB_PROGS" | wc -l)
mb_correct() {
	case $1 in
	malloc_reuse_* | malloc_reuse_downsize_* | realloc_reuse_* | zero_on_malloc_* | impossibly_large_malloc_*) return 0 ;;
	*) return 1 ;;
	esac
}

# ---- allocators ----------------------------------------------------------------

ALLOCS="glibc hardened_malloc spanalloc debug efence"
alloc_env() {
	case $1 in
	glibc) echo "" ;;
	hardened_malloc) echo "LD_PRELOAD=$HMLIB" ;;
	spanalloc) echo "LD_PRELOAD=$W/lib/libspanalloc.so" ;;
	debug) echo "LD_PRELOAD=$W/lib/libspanalloc-debug.so SPANALLOC_OPTIONS=detect_leaks=0" ;;
	efence) echo "LD_PRELOAD=$W/lib/libspanalloc-debug.so SPANALLOC_OPTIONS=efence=1,detect_leaks=0" ;;
	esac
}
unset SPANALLOC_OPTIONS

# first line of a file, table-safe; bash's own line about a signal is shortened
first() {
	head -n 1 "$1" 2>/dev/null | tr -d '\r|`' |
		sed -E 's/^bash: line [0-9]+: +[0-9]+ ([A-Za-z ]+[a-z]).*/(\1, nothing else)/; s/^==[0-9]+== //' | cut -c1-110
}

# ---- run: hardened_malloc's programs -----------------------------------------

R=$W/res
rm -rf "$R"
mkdir -p "$R"
log "running hardened_malloc's test programs ($(echo $HMT_RUN | wc -w) x 5)"
for p in $HMT_RUN; do
	kind=$(hmt_kind "$p")
	for a in $ALLOCS; do
		o=$R/hmt.$p.$a
		(cd "$W/hmt" && timeout 20 /usr/bin/env $(alloc_env $a) "./$p" >"$o.out" 2>"$o.err" </dev/null)
		rc=$?
		sig=0
		[ $rc -gt 128 ] && sig=$((rc - 128))
		if [ $rc -eq 124 ]; then
			echo "timeout" >"$o.v"
			continue
		fi
		case $kind in
		abort | segv)
			[ $sig -ne 0 ] && v="+" || v="-" ;;
		zero)
			if [ $sig -ne 0 ]; then v="+"
			elif [ $rc -eq 0 ] && [ "$(cat "$o.out")" = "$(hmt_expected_stdout "$p")" ]; then v="z"
			else v="-"; fi ;;
		ok)
			if [ $sig -ne 0 ] || [ -s "$o.err" ]; then v="REPORT"
			elif [ $rc -eq 0 ]; then v="ok"
			else v="exit $rc"; fi ;;
		esac
		echo "$v" >"$o.v"
		echo "rc=$rc" >"$o.rc"
	done
done

# ---- run: mimalloc-bench's security suite --------------------------------------

log "running mimalloc-bench's security suite ($MB_N x 5)"
for a in $ALLOCS; do
	e=$(alloc_env $a)
	for b in $MB_PROGS; do
		o=$R/mb.$b.$a
		# bench.sh's line, with stderr kept in a file instead of /dev/null
		(cd "$W/mb-build" && ((timeout 1s bash -c "/usr/bin/env $e ./security/$b || echo CRASHED") || echo TIMEOUT) 2>"$o.err" >"$o.out")
		if grep --text -q 'NOT_CAUGHT' "$o.out"; then
			if grep --text -q 'CRASHED' "$o.out"; then v="late crash"
			elif grep --text -q 'TIMEOUT' "$o.out"; then v="late timeout"
			else v="-"; fi
		else
			if grep --text -q 'TIMEOUT' "$o.out"; then v="timeout"
			else v="+"; fi
		fi
		echo "$v" >"$o.v"
		grep --text -q 'CRASHED' "$o.out" && touch "$o.crash"
		rm -f "$o.out"
	done
done

# ---- table --------------------------------------------------------------------

{
	echo "# Heap-bug detection: hardened_malloc's tests, mimalloc-bench's security suite"
	echo
	echo "Made by \`bench/detect/run.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'); spanalloc $SA_REV," \
		"hardened_malloc $HM_REV, mimalloc-bench $MB_REV; $(cc --version | head -n 1); $(uname -srm))."
	echo "Columns: glibc (nothing preloaded), hardened_malloc (default config, LD_PRELOAD),"
	echo "spanalloc (production), debug (\`libspanalloc-debug.so\`, default options but"
	echo "\`detect_leaks=0\`: these programs leak on purpose), efence (debug,"
	echo "\`SPANALLOC_OPTIONS=efence=1,detect_leaks=0\`). How each program is judged: the"
	echo "header of \`bench/detect/run.sh\`."
	echo
	echo "## hardened_malloc's test programs (standard C/C++ API)"
	echo
	echo "\`+\` killed by a signal (caught: report and abort, or fault), \`-\` ran to the end,"
	echo "\`z\` test_smc.py's expected output without a report (freed block read as zeros /"
	echo "overread stopped at the block end: contained, not caught). Last column: first"
	echo "line the debug build printed on stderr (default options / efence=1)."
	echo
	echo "| program | test_smc.py expects | glibc | hardened_malloc | spanalloc | debug | efence | debug: first line on stderr |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for p in $HMT_RUN; do
		kind=$(hmt_kind "$p")
		[ "$kind" = ok ] && continue
		case $kind in abort) ex="-6 + message" ;; segv) ex="-11" ;; zero) ex="0 + output" ;; esac
		line="| $p | $ex"
		for a in $ALLOCS; do line="$line | $(cat "$R/hmt.$p.$a.v")"; done
		d=$(first "$R/hmt.$p.debug.err"); f=$(first "$R/hmt.$p.efence.err")
		echo "$line | ${d:-(nothing)} / ${f:-(nothing)} |"
	done
	echo
	echo "Correct programs and property tests (must exit without a report; \`ok\`, \`REPORT\` ="
	echo "false report, \`exit N\` = the property is not there):"
	echo
	echo "| program | glibc | hardened_malloc | spanalloc | debug | efence |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for p in $HMT_RUN; do
		[ "$(hmt_kind "$p")" = ok ] || continue
		line="| $p"
		for a in $ALLOCS; do line="$line | $(cat "$R/hmt.$p.$a.v")"; done
		echo "$line |"
	done
	echo
	nb=$(for p in $HMT_RUN; do [ "$(hmt_kind "$p")" = ok ] || echo "$p"; done | wc -l)
	nc=$(for p in $HMT_RUN; do [ "$(hmt_kind "$p")" = ok ] && echo "$p"; done | wc -l)
	echo "| totals | glibc | hardened_malloc | spanalloc | debug | efence |"
	echo "| --- | --- | --- | --- | --- | --- |"
	line="| bug programs caught (of $nb)"
	for a in $ALLOCS; do line="$line | $(cat "$R"/hmt.*."$a".v | grep -cx '+')"; done
	echo "$line |"
	line="| ... contained (\`z\`)"
	for a in $ALLOCS; do line="$line | $(cat "$R"/hmt.*."$a".v | grep -cx 'z')"; done
	echo "$line |"
	line="| false reports (of $nc correct)"
	for a in $ALLOCS; do line="$line | $(cat "$R"/hmt.*."$a".v | grep -cx 'REPORT')"; done
	echo "$line |"
	echo
	echo "Skipped (hardened_malloc extension \`malloc_object_size\`): $(echo $HMT_SKIP | sed 's/ /, /g')."
	echo
	echo "## mimalloc-bench's security suite ($MB_N cells)"
	echo
	echo "As bench.sh marks them: \`+\` caught, \`-\` NOT_CAUGHT, \`late crash\` / \`late timeout\`:"
	echo "NOT_CAUGHT printed, then a crash / the 1 s timeout; \`timeout\`: no NOT_CAUGHT but"
	echo "the 1 s timeout. Cells marked (p) are property tests without a heap bug; their"
	echo "false reports are counted below."
	echo
	echo "| cell | glibc | hardened_malloc | spanalloc | debug | efence | debug: first line on stderr |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for b in $MB_PROGS; do
		n=$b; mb_correct "$b" && n="$b (p)"
		line="| $n"
		for a in $ALLOCS; do line="$line | $(cat "$R/mb.$b.$a.v")"; done
		d=$(first "$R/mb.$b.debug.err"); f=$(first "$R/mb.$b.efence.err")
		echo "$line | ${d:-(nothing)} / ${f:-(nothing)} |"
	done
	echo
	ncor=$(for b in $MB_PROGS; do mb_correct "$b" && echo "$b"; done | wc -l)
	echo "| totals | glibc | hardened_malloc | spanalloc | debug | efence |"
	echo "| --- | --- | --- | --- | --- | --- |"
	line="| caught (\`+\`, of $MB_N, as bench.sh counts)"
	for a in $ALLOCS; do line="$line | $(cat "$R"/mb.*."$a".v | grep -cx '+')"; done
	echo "$line |"
	line="| ... of the $((MB_N - ncor)) cells with a heap bug"
	for a in $ALLOCS; do
		c=0
		for b in $MB_PROGS; do mb_correct "$b" || { [ "$(cat "$R/mb.$b.$a.v")" = "+" ] && c=$((c + 1)); }; done
		line="$line | $c"
	done
	echo "$line |"
	line="| late crash / late timeout / timeout"
	for a in $ALLOCS; do
		line="$line | $(cat "$R"/mb.*."$a".v | grep -cx 'late crash') / $(cat "$R"/mb.*."$a".v | grep -cx 'late timeout') / $(cat "$R"/mb.*."$a".v | grep -cx 'timeout')"
	done
	echo "$line |"
	line="| false reports (of $ncor property cells: stderr or crash; a timeout is not one)"
	for a in $ALLOCS; do
		c=0
		for b in $MB_PROGS; do
			mb_correct "$b" || continue
			v=$(cat "$R/mb.$b.$a.v")
			if [ -s "$R/mb.$b.$a.err" ] || [ -e "$R/mb.$b.$a.crash" ]; then
				c=$((c + 1))
			fi
		done
		line="$line | $c"
	done
	echo "$line |"
} >"$W/detect.md"

mkdir -p "$(dirname "$OUT")"
cp "$W/detect.md" "$OUT"
cat "$W/detect.md"
log "written to $OUT (per-run stdout/stderr in $R)"
