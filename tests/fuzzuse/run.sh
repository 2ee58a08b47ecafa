#!/usr/bin/env bash
# The debug build inside fuzzing engines, on tests/fuzzuse/target.c (a small
# parser whose planted bug, -DBUG=n, fires on a record whose key is '!'):
#
#   libFuzzer (clang -fsanitize=fuzzer, no ASan, libspanalloc-debug.a):
#     overflow      a spanalloc report, a crash-* file, libFuzzer's status
#     past input    a read one byte past the input: a fault at the guard
#                   after libFuzzer's copy of it, and the crash-* replays
#     malloc limit  -malloc_limit_mb=3 and a 5 MiB malloc: libFuzzer's own
#                   "out-of-memory (malloc(5242880))" and an oom-* file (its
#                   malloc hook, installed through the sanitizer interface)
#     leak          -detect_leaks=1: spanalloc's leak report for that input
#                   and a leak-* file (hooks count, __lsan_* check)
#     trace_malloc  -trace_malloc=1 prints the target's mallocs and frees
#     second report more reports from libFuzzer's own mallocs while it saves
#                   the crash: they go on, the crash-* is written
#     C++ mismatch  target_cxx.cc under clang++ -fsanitize=fuzzer: new vs
#                   free and new[] vs delete reported (spanalloc's operators
#                   linked in; also in a target that calls no malloc, linked
#                   with -Wl,-u,malloc as the README says), a crash-* each;
#                   without the bug, status 0
#   AFL++ (afl-fuzz, a seed one bit flip from the bug, until the first crash):
#     fork server   plain afl-clang-fast target, AFL_PRELOAD=libspanalloc-debug.so
#     persistent    __AFL_LOOP target linked with libspanalloc-debug.a
#     malloc limit  persistent, SPANALLOC_OPTIONS=malloc_limit_mb=3
#   each must leave a crash (never a hang) that reproduces with SIGABRT.
#
# usage: tests/fuzzuse/run.sh BUILD_DIR     env: VERBOSE=1, CLANG, CLANGXX, AFL_CC
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
CLANG=${CLANG:-clang}
CLANGXX=${CLANGXX:-clang++}
RAF_OPTIONS=${RAF_OPTIONS:-} # (fuzz=0: see the read-after-free test fail)
AFL_CC=${AFL_CC:-afl-clang-fast}
out=$B/fuzzuse
rm -rf "$out" && mkdir -p "$out"
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "  ok    $1"; }
bad() {
	fails=$((fails + 1)); echo "  FAIL  $1: $2"
	[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/        | /' "$3" | tail -25
}
src=$here/target.c

# ---- libFuzzer -------------------------------------------------------------
if ! echo 'int main(void){return 0;}' | $CLANG -x c -fsanitize=fuzzer-no-link -o /dev/null - 2>/dev/null; then
	echo "  skip  libFuzzer tests: $CLANG has no -fsanitize=fuzzer"
else
	lf() { # BUG NAME
		$CLANG -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer -DBUG=$1 -o "$out/$2" "$src" \
			"$B/libspanalloc-debug.a" -lpthread >"$out/$2.build" 2>&1 || { bad "$2" "does not build" "$out/$2.build"; return 1; }
	}
	mkdir -p "$out/clean" "$out/bug"
	printf 'a=1;bb=22;' >"$out/clean/c"
	printf 'a=1;!=abc;' >"$out/bug/b"
	mkdir -p "$out/big"
	printf 'a=1;!=5;' >"$out/big/b" # a corpus: libFuzzer saves no oom-* of a single file it is given

	if lf 1 lf_overflow; then
		(cd "$out" && timeout 60 ./lf_overflow -runs=20 -artifact_prefix=ovf- bug >lf_overflow.out 2>&1)
		rc=$?
		if [ $rc -ne 77 ] || ! grep -q "spanalloc: heap.* overflow" "$out/lf_overflow.out" || ! ls "$out"/ovf-crash-* >/dev/null 2>&1; then
			bad "libFuzzer: overflow is a crash-* (status 77)" "status $rc" "$out/lf_overflow.out"
		else ok "libFuzzer: overflow is a spanalloc report and a crash-* input"; fi
	fi
	# A read one byte past the input (BUG 8): libFuzzer's copy of each
	# input ends at a guard page (guarded.c, copy_first), from the first
	# run on, so the crash-* reproduces in a run of that file alone.
	if lf 8 lf_past; then
		(cd "$out" && timeout 60 ./lf_past -runs=20 -artifact_prefix=past- bug >lf_past.out 2>&1)
		rc=$?
		crash=$(ls "$out"/past-crash-* 2>/dev/null | head -1)
		if [ $rc -ne 77 ] || [ -z "$crash" ] || ! grep -q "spanalloc: heap overflow past the block.*(bad memory access)" "$out/lf_past.out" ||
			! grep -q "kept for libFuzzer's input copy.*: read at .*: 0 bytes past the block of size 10" "$out/lf_past.out"; then
			bad "libFuzzer: a read past the input's end" "no fault at its copy's guard and crash-* (status $rc)" "$out/lf_past.out"
		else
			(cd "$out" && timeout 60 ./lf_past "$crash" >lf_past.replay 2>&1)
			rc=$?
			if [ $rc -ne 77 ] || ! grep -q "spanalloc: heap overflow past the block" "$out/lf_past.replay"; then
				bad "libFuzzer: a read past the input's end, replayed" "status $rc" "$out/lf_past.replay"
			else ok "libFuzzer: a read one byte past the input faults at its first run, and the crash-* reproduces alone"; fi
		fi
	fi
	if lf 6 lf_big; then
		(cd "$out" && timeout 60 ./lf_big -malloc_limit_mb=3 -runs=0 -artifact_prefix=big- big >lf_big.out 2>&1)
		rc=$?
		if ! grep -q "ERROR: libFuzzer: out-of-memory (malloc(5242880))" "$out/lf_big.out" || ! ls "$out"/big-oom-* >/dev/null 2>&1; then
			bad "libFuzzer: -malloc_limit_mb=3" "no out-of-memory (malloc(5242880)) and oom-* (status $rc)" "$out/lf_big.out"
		else ok "libFuzzer: -malloc_limit_mb=3 turns malloc(5 MiB) into out-of-memory and an oom-* input"; fi
		(cd "$out" && timeout 60 ./lf_big -malloc_limit_mb=6 -runs=0 big >lf_big6.out 2>&1)
		rc=$?
		[ $rc -eq 0 ] && ok "libFuzzer: -malloc_limit_mb=6 lets it through" || bad "libFuzzer: -malloc_limit_mb=6" "status $rc" "$out/lf_big6.out"
	fi
	if lf 5 lf_leak; then
		(cd "$out" && timeout 60 ./lf_leak -detect_leaks=1 -runs=20 -artifact_prefix=lk- clean bug >lf_leak.out 2>&1)
		rc=$?
		if ! grep -q "Direct leak of 24 byte(s) in 1 object(s)" "$out/lf_leak.out" || ! ls "$out"/lk-leak-* >/dev/null 2>&1 \
			|| ! grep -q "INFO: a leak has been found in the initial corpus" "$out/lf_leak.out"; then
			bad "libFuzzer: -detect_leaks=1" "no leak report and leak-* for the input (status $rc)" "$out/lf_leak.out"
		else ok "libFuzzer: -detect_leaks=1 reports the leak of that input and saves a leak-*"; fi
	fi
	if lf 0 lf_clean; then
		(cd "$out" && timeout 60 ./lf_clean -detect_leaks=1 -runs=300 -artifact_prefix=lk0- clean >lf_noleak.out 2>&1)
		rc=$?
		if [ $rc -ne 0 ] || ls "$out"/lk0-leak-* >/dev/null 2>&1; then
			bad "libFuzzer: -detect_leaks=1 on a target without leaks" "status $rc" "$out/lf_noleak.out"
		else ok "libFuzzer: -detect_leaks=1, no leak in 300 runs of a target without leaks"; fi
		(cd "$out" && timeout 60 ./lf_clean -trace_malloc=1 -runs=0 clean >lf_trace.out 2>&1)
		n=$(grep -c '^MALLOC\[' "$out/lf_trace.out"); f=$(grep -c '^FREE\[' "$out/lf_trace.out")
		# the input: two records of three blocks each, all freed
		if [ "$n" -lt 6 ] || [ "$f" -lt 6 ]; then
			bad "libFuzzer: -trace_malloc=1" "$n MALLOC, $f FREE lines" "$out/lf_trace.out"
		else ok "libFuzzer: -trace_malloc=1 traces the target's calls ($n mallocs, $f frees)"; fi
	fi
	# The fuzzing preset (on by itself in a libFuzzer target): a read after
	# free changes no byte, so only a guarded block's fault shows it; one
	# block in fuzz_sample_rate of each input is guarded, and libFuzzer's
	# own start-up and corpus blocks must not have taken the slots.  A
	# campaign from the clean seed: the fuzzer makes the '!' record.
	# A second report while the first is aborting: libFuzzer's death
	# callback and SIGABRT handler save the crash with mallocs of their
	# own, which find more of the freed blocks the input wrote to.  Those
	# reports must go on, not abort inside the handler before the crash-*
	# is written (status 134 and no file, before c956b62).  No guarded
	# slots, no quarantine: every write lands in a slot handed out next.
	if lf 7 lf_second; then
		(cd "$out" && SPANALLOC_OPTIONS=guarded_slots=0,quarantine_kb=0,symbolize=0 timeout 60 ./lf_second -runs=5 \
			-artifact_prefix=second- bug >lf_second.out 2>&1)
		rc=$?
		n=$(grep -c "spanalloc: write after free" "$out/lf_second.out")
		if [ $rc -ne 77 ] || [ "$n" -lt 2 ] || ! ls "$out"/second-crash-* >/dev/null 2>&1; then
			bad "libFuzzer: reports inside the crash handler" "status $rc, $n reports, want 77, two or more and a crash-*" "$out/lf_second.out"
		else ok "libFuzzer: $n reports, the later ones inside libFuzzer's crash handler, and the crash-* is saved"; fi
	fi
	if lf 2 lf_raf; then
		mkdir -p "$out/raf"
		(cd "$out" && SPANALLOC_OPTIONS=$RAF_OPTIONS timeout 120 ./lf_raf -seed=1 -runs=30000 -artifact_prefix=raf- \
			raf clean >lf_raf.out 2>&1)
		rc=$?
		if [ $rc -ne 77 ] || ! grep -q "spanalloc: use after free.*(bad memory access)" "$out/lf_raf.out" ||
			! ls "$out"/raf-crash-* >/dev/null 2>&1; then
			bad "libFuzzer: read after free under the fuzzing preset" "no use-after-free fault and crash-* (status $rc)" "$out/lf_raf.out"
		else ok "libFuzzer: a read after free is a guarded block's fault and a crash-* ($(grep -o '^#[0-9]*' "$out/lf_raf.out" | tail -1) runs)"; fi
	fi
	# A C++ target (target_cxx.cc) linked as a user links it: clang++
	# -fsanitize=fuzzer puts libFuzzer and -lstdc++ before the archive, so
	# its new and delete are spanalloc's only because malloc.c references
	# cxx.c (with libstdc++'s, new is malloc and delete is free: no
	# mismatch, a clean run).  The report must name the families, and its
	# allocation stack begin at the target's new expression (spanalloc's
	# own frames, operator new's among them, are cut: report.c).
	if ! command -v "$CLANGXX" >/dev/null; then
		echo "  skip  libFuzzer C++ tests: no $CLANGXX"
	else
		lfxx() { # BUG NAME [FLAGS]
			$CLANGXX -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer -DBUG="$1" -o "$out/$2" \
				"$here/target_cxx.cc" ${3:-} "$B/libspanalloc-debug.a" -lpthread >"$out/$2.build" 2>&1 ||
				{ bad "$2" "does not build" "$out/$2.build"; return 1; }
		}
		cxx_mismatch() { # BUG NAME FAMILIES NEW_EXPRESSION [FLAGS]
			lfxx "$1" "$2" "${5:-}" || return
			local line rc
			line=$(grep -nF "$4" "$here/target_cxx.cc" | head -1 | cut -d: -f1)
			# (a corpus of its own: libFuzzer adds to it whatever finds no bug)
			rm -rf "$out/$2.in" && mkdir -p "$out/$2.in" && printf 'a=1;!=abc;' >"$out/$2.in/b"
			(cd "$out" && timeout 60 "./$2" -runs=20 -artifact_prefix="$2-" "$2.in" >"$2.out" 2>&1)
			rc=$?
			if [ $rc -ne 77 ] || ! ls "$out/$2"-crash-* >/dev/null 2>&1 ||
				! grep -qF "spanalloc: alloc-dealloc-mismatch ($3) of the block at" "$out/$2.out"; then
				bad "libFuzzer C++ ($2): $3" "no report and crash-* (status $rc)" "$out/$2.out"
			elif ! grep -A1 '^    allocated at:$' "$out/$2.out" | grep -q "#0 .*/target_cxx\.cc:$line:"; then
				bad "libFuzzer C++ ($2): $3" "the allocation stack does not begin at target_cxx.cc:$line" "$out/$2.out"
			else ok "libFuzzer C++ ($2): $3 is reported, allocated at target_cxx.cc:$line, and a crash-* input"; fi
		}
		cxx_mismatch 1 lfxx_new_free "operator new vs free" "new Rec;"
		cxx_mismatch 2 lfxx_newarray_delete "operator new[] vs operator delete" "new char[n + 1]"
		# A target that names no malloc-family function, linked as the
		# README says: -Wl,-u,malloc takes the archive (without it, nothing
		# undefined needs it there, and glibc's malloc runs unchecked).
		cxx_mismatch 2 lfxx_newonly "operator new[] vs operator delete" "new char[n + 1]" "-DNEW_ONLY -Wl,-u,malloc"
		# the same target and seeds without the bug: a clean campaign
		if lfxx 0 lfxx_clean; then
			mkdir -p "$out/cxx" && printf 'a=1;!=abc;' >"$out/cxx/b" && printf 'a=1;bb=22;' >"$out/cxx/c"
			(cd "$out" && timeout 60 ./lfxx_clean -runs=2000 -artifact_prefix=lfxx_clean- cxx >lfxx_clean.out 2>&1)
			rc=$?
			if [ $rc -ne 0 ] || ls "$out"/lfxx_clean-* >/dev/null 2>&1 || grep -q "spanalloc:" "$out/lfxx_clean.out"; then
				bad "libFuzzer C++: no bug" "status $rc, want 0 and no report" "$out/lfxx_clean.out"
			else ok "libFuzzer C++: 2000 runs without the bug, no report (status 0)"; fi
		fi
	fi
fi

# ---- AFL++ -----------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null || ! command -v "$AFL_CC" >/dev/null; then
	echo "  skip  AFL++ tests: no afl-fuzz / $AFL_CC (bash ci/install-deps.sh fuzz)"
else
	mkdir -p "$out/ain"
	printf 'a=1;b=2;' >"$out/ain/seed" # 'a' is one bit from '!'
	afl() { # NAME PRELOAD OPTIONS WANT_PERSISTENT REPORT
		local name=$1 pre=$2 o=$3 want=$5
		rm -rf "$out/$name.afl"
		(cd "$out" && AFL_PRELOAD=$pre SPANALLOC_OPTIONS=$o AFL_BENCH_UNTIL_CRASH=1 AFL_NO_UI=1 AFL_QUIET=1 \
			AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AUTODICT=1 \
			timeout 90 afl-fuzz -D -V 60 -m none -i ain -o "$name.afl" -- "./$name" >"$name.log" 2>&1)
		local d=$out/$name.afl/default
		local crash=$(ls "$d"/crashes/id:* 2>/dev/null | head -1)
		local hangs=$(ls "$d"/hangs 2>/dev/null | wc -l)
		if [ "$4" = 1 ] && ! grep -q "Persistent mode binary detected" "$out/$name.log"; then
			bad "$name" "not run in persistent mode" "$out/$name.log"; return
		fi
		if [ -z "$crash" ] || [ "$hangs" -ne 0 ]; then
			bad "$name" "no crash recorded ($hangs hangs)" "$out/$name.log"; return
		fi
		# the crash, replayed outside AFL: SIGABRT and spanalloc's report
		local rc=$( { LD_PRELOAD=$pre SPANALLOC_OPTIONS=$o "$out/$name" <"$crash" >"$out/$name.replay" 2>&1; echo $?; } 2>/dev/null)
		if [ $rc -ne 134 ] || ! grep -q "$want" "$out/$name.replay"; then
			bad "$name" "its crash replays with status $rc" "$out/$name.replay"; return
		fi
		ok "$name: crash recorded, replays as SIGABRT with spanalloc's report"
	}
	build() { # NAME FLAGS...
		local name=$1; shift
		AFL_QUIET=1 $AFL_CC -g -O1 -DAFL_MAIN "$@" -o "$out/$name" >"$out/$name.build" 2>&1 \
			|| { bad "$name" "does not build" "$out/$name.build"; return 1; }
	}
	build afl_forkserver_preload -DNO_PERSIST -DBUG=1 "$src" \
		&& afl afl_forkserver_preload "$B/libspanalloc-debug.so" "" 0 "spanalloc: heap.* overflow"
	build afl_persistent_static -DBUG=1 "$src" "$B/libspanalloc-debug.a" -lpthread \
		&& afl afl_persistent_static "" "" 1 "spanalloc: heap.* overflow"
	printf 'a=5;b=2;' >"$out/ain/seed"
	build afl_malloc_limit -DBUG=6 "$src" "$B/libspanalloc-debug.a" -lpthread \
		&& afl afl_malloc_limit "" "malloc_limit_mb=3" 1 "spanalloc: malloc(5242880) exceeds malloc_limit_mb=3"
fi

echo "fuzzuse: $passes passed, $fails failed"
[ $fails -eq 0 ]
