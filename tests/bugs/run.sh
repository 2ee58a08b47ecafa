#!/usr/bin/env bash
# Heap-bug death tests: one small program per bug (tests/bugs/*.c), each
# run against spanalloc; the program must die of SIGABRT (status 134) with
# the expected report on stderr, and the address in the report must be the
# one the program printed (with %p) on stdout before the bad call.
# The clean*.c programs must exit 0 with an empty stderr.
#
# usage: tests/bugs/run.sh LIB
#   LIB = path/to/libspanalloc[-debug].so   programs run with LD_PRELOAD=LIB
#   LIB = path/to/libspanalloc[-debug].a    programs are linked with LIB
#   LIB = system                    no spanalloc (glibc's malloc): shows
#                                   that the checks fail on other reports
# env:  CC (default cc), CFLAGS (extra), SA_LIBS (extra link flags for the
#       .a, default -lpthread), BUGS_BUILD_DIR (keep the binaries there),
#       BUGS_TIMEOUT (seconds per program, default 30), VERBOSE=1,
#       BUGS_ONLY="name ..." (run only these tests).
#
# The build is told apart by behaviour, not by name: the production build
# warns that a debug-only option does nothing.  The debug build runs every
# test with its full expectation; the production build runs the bugs it
# must catch (double and invalid frees, realloc of a freed block) with the
# same expectation, and for the bugs only the debug build catches checks
# what the table below says (the "prod" column).
#
# Besides the first line (the address), a program may print lines
#   expect: TEXT        TEXT must appear in the report (both builds)
#   expect-debug: TEXT  TEXT must appear in the report (debug build)
# and mark lines of its source with /* @alloc */, /* @free */ and
# /* @report */: the first frame of the report's "allocated at:" and
# "freed at:" stacks (debug build) and of "stack of the bad call:" must be
# symbolized to those lines (check_lines has the details).  A line
# /* build: FLAGS */ in a program adds FLAGS to its compile command.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${1:-}
if [ -z "$lib" ]; then
	echo "usage: $0 LIB (libspanalloc[-debug].so | libspanalloc[-debug].a | system)" >&2
	exit 2
fi

CC=${CC:-cc}
timeout_s=${BUGS_TIMEOUT:-30}
mode=
case "$lib" in
system) mode=system ;;
*.so | *.so.*) mode=preload ;;
*.a) mode="link" ;;
*)
	echo "$0: $lib: want a .so, a .a, or 'system'" >&2
	exit 2
	;;
esac
if [ "$mode" != system ]; then
	if [ ! -f "$lib" ]; then
		echo "$0: $lib: no such file (build the library first)" >&2
		exit 2
	fi
	lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
fi

if [ -n "${BUGS_BUILD_DIR:-}" ]; then
	out=$BUGS_BUILD_DIR
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-bugs.XXXXXX")
	trap 'rm -rf "$out"' EXIT
fi

# No options from the caller's environment: stats=1 would print to stderr.
unset SPANALLOC_OPTIONS
ulimit -c 0 2>/dev/null || true

# name[@variant] : kind [: prod [: options]]
#
# name: the program (name.c); @variant runs it again under other options.
# kind: what the debug build must do (and the production build, when prod
# is "same"):
#   double    SIGABRT, "spanalloc: double free of 0x<addr>" + "size class"
#   interior  SIGABRT, "spanalloc: invalid free of 0x<addr>" + "size class"
#   outside   SIGABRT, "spanalloc: invalid free of 0x<addr>"
#   either    SIGABRT, a double free or an invalid free of 0x<addr>
#   realloc   SIGABRT, a double free, an invalid free or
#             "spanalloc: realloc of freed block" ... 0x<addr>
#   waf       SIGABRT, "spanalloc: write after free to the block at
#   waf       SIGABRT, "spanalloc: write after free to the block at
#             0x<addr>" + "in malloc()", "in free()" (leaving the
#             quarantine, the detail says so) or "in exit()" (the exit
#             check), or no call and "(found when its span was checked)" /
#             "(found when its thread exited)" at the end of the detail
#             + "freed block modified at offset"
#   overflow  SIGABRT, "spanalloc: heap buffer overflow past the block at
#             0x<addr>" + "bytes after the requested size overwritten"
#   underflow SIGABRT, "spanalloc: heap buffer underflow before the block
#             at 0x<addr>"
#   nearby    SIGABRT, an overflow past 0x<addr> (line 1: a canary or a
#             guard page), or an underflow before / a write after free to
#             the next block (line 2)
#   guard     SIGABRT, "spanalloc: heap overflow past the block at
#             0x<addr> (bad memory access)" (a guard page, from the
#             SIGSEGV handler)
#   faultuaf  SIGABRT, "spanalloc: use after free of the block at 0x<addr>
#             (bad memory access)" (freed pages, from the SIGSEGV handler)
#   noabort   (abort_on_error=0) exit 0, a double free of 0x<addr>
#             reported, no "aborting", and the program went on
#   exitcode  (abort_on_error=0,exitcode=23) as noabort, but exit status 23;
#             production: exitcode is debug-only, so status 0 and a warning
#   logpath   (log_path=@LOG@) SIGABRT, nothing on stderr, the double free
#             report in @LOG@.<pid>; production: log_path is debug-only,
#             so a warning and the report on stderr
#   unknown   exit 0, "unknown option 'no_such_option'" on stderr
#   concurrent  threads that each free a block twice, at once or in
#             turn (their blocks' addresses on stdout, one a line; a
#             line "not cancelled" fails): with abort_on_error
#             (default) SIGABRT and one report, with abort_on_error=0 exit
#             0 and a report of each block; every report whole (its
#             headline, "stack of the bad call:" and a frame, and in the
#             debug build "allocated at:" and a frame, before the next
#             headline) and at a printed address
#   notice    exit 0, stderr exactly one line, "spanalloc: efence: ..."
#             (the limit efence=1 hit, said once)
#   refused   exit 0, stderr exactly one line, "spanalloc: the OS refused
#             ..." naming RLIMIT_AS (the heap out of address space under
#             ulimit -v, said once)
#   clean     exit 0, empty stderr
#   sentsegv  killed by SIGSEGV (status 139), empty stderr, and "survived"
#             not on stdout: a SIGSEGV the program raised is passed on to
#             the default action, not taken for a fault
# prod: what the production build must do
#   same      (default) as the debug build
#   clean     exit 0; stderr holds nothing but the warnings that the
#             debug-only options given do nothing (required)
#   quiet     exit 0 or killed by SIGSEGV/SIGBUS (no guard pages in the
#             production build: the overflow may run into unmapped
#             memory), with no spanalloc report at all
# options: SPANALLOC_OPTIONS for the run (@LOG@: a log path in the build
# directory; @ADDR2LINE@: addr2line's path).
tests="
double_free_tiny:double
double_free_small:double
double_free_large:double
double_free_thread:double
double_free_empty_span:either
double_free_huge:either
double_free_after_realloc:double
double_free_after_realloc_zero:double
invalid_free_interior_small:interior
invalid_free_interior_large:interior
invalid_free_interior_tiny:interior
invalid_free_into_freed_slot:interior
invalid_free_stack:outside
invalid_free_global:outside
realloc_freed:realloc
write_after_free:waf:clean:guarded_slots=0
write_after_free_noquarantine:waf:clean:quarantine_kb=0,guarded_slots=0
efence_write_after_free@default_options:faultuaf:clean
guarded_sampled_late:faultuaf:clean
guarded_read_after_free:faultuaf:clean
guarded_overflow_read:guard:clean
zero_size_read:guard:quiet
zero_size_write:guard:quiet
double_free_zero:double
clean_zero:clean
clean_sampled:clean
clean_sampled@every_block:clean:clean:sample_rate=1
efence_many_live:notice:clean:efence=1
refused_address_space:refused
efence_read_after_free:faultuaf:clean:efence=1
efence_write_after_free:faultuaf:clean:efence=1
efence_overflow_read:guard:clean:efence=1
overflow_1:overflow:clean:guarded_slots=0
overflow_1_exact:overflow:clean:guarded_slots=0
overflow_16:overflow:clean:guarded_slots=0
overflow_in_forked_child:overflow:clean
underflow:underflow:clean
underflow_large:underflow:quiet
overflow_large_guard:guard:quiet
use_after_free_large:faultuaf:clean
use_after_free_large_other_thread:faultuaf:clean
overflow_1_large:guard:quiet
underflow_32_large:underflow:quiet
exit_overflow_never_freed:overflow:clean
exit_overflow_never_freed@no_exit_check:clean:clean:check_at_exit=0
exit_write_after_free:waf:clean:guarded_slots=0
exit_write_after_free@no_quarantine:waf:clean:quarantine_kb=0,guarded_slots=0
no_abort:noabort:same:abort_on_error=0
concurrent_reports:concurrent
concurrent_reports@no_abort:concurrent:same:abort_on_error=0
cancel_in_report:concurrent:same:abort_on_error=0
no_abort@exitcode:exitcode:same:abort_on_error=0,exitcode=23
double_free_small@log_path:logpath:same:log_path=@LOG@
clean@unknown_option:unknown:same:no_such_option=1
double_free_small@efence:double:same:efence=1
stack_nofp:double:same:fast_unwind=0
stack_nofp@addr2line:double:same:fast_unwind=0,external_symbolizer_path=@ADDR2LINE@
double_free_tiny@tiny:double:same:tiny=1
invalid_free_interior_tiny@tiny:interior:same:tiny=1
double_free_large@efence:double:same:efence=1
invalid_free_interior_small@efence:interior:same:efence=1
realloc_freed@efence:realloc:same:efence=1
overflow_1_exact@efence:nearby:clean:efence=1
overflow_large_guard@efence:guard:quiet:efence=1
clean:clean
clean_early:clean
clean_sizes:clean
clean_threads:clean
clean_exit_threads_running:clean
clean_getattr_np:clean
signal_sent_sigsegv:sentsegv
clean_sizes@efence:clean:clean:efence=1
clean_threads@efence:clean:clean:efence=1
clean_threads@no_quarantine:clean:clean:quarantine_kb=0
"

# Options only the debug build implements (internal.h, SA_OPTIONS, the
# debug-only column); the production build must warn about each.
debug_only_keys="efence quarantine_kb malloc_context log_path exitcode check_at_exit guarded_slots sample_rate guard_zero fast_unwind detect_leaks leak_exitcode suppressions max_leaks report_indirect"

build() { # name -> binary path, or empty on failure
	local name=$1 bin=$out/$1 log=$out/$1.build.log
	local cflags="-std=gnu11 -O1 -g -Wall -Wextra -Werror -pthread ${CFLAGS:-}"
	cflags+=" $(sed -n 's|^/\* build: \(.*\) \*/$|\1|p' "$here/$name.c")"
	if [ -x "$bin" ] && [ "$bin" -nt "$here/$name.c" ] && [ -z "${BUGS_BUILD_DIR:-}" ]; then
		echo "$bin"
		return 0
	fi
	if [ "$mode" = link ]; then
		# shellcheck disable=SC2086
		$CC $cflags -o "$bin" "$here/$name.c" "$lib" ${SA_LIBS:--lpthread} -ldl >"$log" 2>&1
	else
		# shellcheck disable=SC2086
		$CC $cflags -o "$bin" "$here/$name.c" -ldl >"$log" 2>&1
	fi || {
		cat "$log" >&2
		return 1
	}
	echo "$bin"
}

run() { # bin tag options -> status; stdout in $out/$tag.out, stderr in $out/$tag.err
	local bin=$1 tag=$2 opts=$3
	local env_opts=()
	[ -n "$opts" ] && env_opts=(SPANALLOC_OPTIONS="$opts")
	[ "$mode" = preload ] && env_opts+=(LD_PRELOAD="$lib")
	# The subshell keeps bash's own "Aborted" notice out of the output.
	(
		timeout -k 5 "$timeout_s" env "${env_opts[@]}" "$bin" >"$out/$tag.out" 2>"$out/$tag.err"
		st=$?
		exit $st
	) 2>/dev/null
}

norm_addr() { # 0x00007fAB.. -> 7fab..
	local a=${1,,}
	a=${a#0x}
	a=$(printf '%s' "$a" | sed 's/^0*//')
	printf '%s' "${a:-0}"
}

# The address after the first of the given report prefixes in a file.
reported_addr() { # errfile prefix...
	local err=$1 p line
	shift
	for p in "$@"; do
		line=$(grep -m1 -F -- "$p" "$err") || continue
		line=${line#*"$p"}
		printf '%s' "$line" | grep -oE -m1 '0x[0-9a-fA-F]+' | head -n1
		return 0
	done
	return 1
}

pass=0
fail=0
failed_names=
why=
fail_with() { why=${why:+$why; }$*; }

report() { # tag
	local tag=$1 f=$out/$1
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS $tag"
		if [ "${VERBOSE:-0}" = 1 ] && [ -s "$f.err" ]; then
			sed 's/^/    | /' "$f.err"
		fi
	else
		fail=$((fail + 1))
		failed_names="$failed_names $tag"
		echo "FAIL $tag: $why"
		if [ -f "$f.err" ]; then
			echo "    stdout:"
			head -n 5 "$f.out" 2>/dev/null | sed 's/^/    | /'
			echo "    stderr:"
			head -n 30 "$f.err" | sed 's/^/    | /'
		fi
	fi
	why=
}

# The production build's warnings about debug-only options, and nothing
# else, on stderr; each debug-only key given is warned about.
only_warnings() { # tag options
	local err=$out/$1.err opts=$2 k
	local other
	other=$(grep -v -E "^spanalloc: SPANALLOC_OPTIONS: '[a-z_]+' does nothing in the production build" "$err")
	[ -z "$other" ] || fail_with "stderr holds more than option warnings: $(printf '%s' "$other" | head -n 3)"
	for k in $debug_only_keys; do
		case ",$opts" in
		*",$k="*)
			grep -qF "'$k' does nothing in the production build" "$err" ||
				fail_with "no warning that the debug-only option '$k' does nothing"
			;;
		esac
	done
}

# The report lines that prove spanalloc saw a heap bug.
report_re='spanalloc: (double free|invalid free|invalid pointer|realloc of freed|heap |write after free|use after free)'

# "FUNC FILE:LINE" of a symbolized frame ("    #N 0xPC in FUNC
# /dir/FILE:LINE[:COL] (MODULE+0xOFF)"), or nothing for a raw one.
frame_at() { # frame-line
	printf '%s\n' "$1" | sed -nE 's/^ *#[0-9]+ 0x[0-9a-f]+ in ([^ ]+) ([^ :]+):([0-9]+)(:[0-9]+)? \(.*\)$/\1 \2:\3/p' |
		sed -E 's|^([^ ]+) .*/|\1 |'
}

# The frames of the stack under a title, one a line.
stack_frames() { # errfile title
	awk -v t="$2" '
		index($0, t) == 5 || index($0, t) == 1 { on = 1; next }
		on && /^    #[0-9]/ { print; next }
		on && /^    \(/ { next }                # a note of the symbolizer
		on { exit }' "$1"
}

# The stacks point at the source lines marked in the program: a line
# marked /* @alloc */, /* @free */ or /* @report */ is frame 0 of the
# "allocated at:", "freed at:" (debug build) or "stack of the bad call:"
# stack (both builds: spanalloc's own frames are cut); /* @free.1 main */
# says frame 1, in function main.  The frames must be symbolized
# (llvm-symbolizer or addr2line): a raw frame fails.
check_lines() { # name errfile
	local name=$1 err=$2 src=$here/$1.c kind idx func line want got title
	grep -noE '/\* @(alloc|free|report)(\.[0-9]+)?( [A-Za-z_][A-Za-z0-9_]*)? \*/' "$src" |
		sed -E 's|^([0-9]+):/\* @([a-z]+)(\.([0-9]+))?( ([A-Za-z_0-9]+))? \*/$|\1 \2 \4 \6|' >"$out/$name.marks"
	while read -r line kind idx func; do
		case $kind in
		alloc) title="allocated at:" ;;
		free) title="freed at:" ;;
		report) title="stack of the bad call:" ;;
		esac
		[ "$kind" = report ] || [ "$flavour" = debug ] || continue
		if [ -z "$idx" ] || ! [ "$idx" -ge 0 ] 2>/dev/null; then
			func=$idx idx=0 # (no .N: the word read is the function)
		fi
		want="$name.c:$line"
		fr=$(stack_frames "$err" "$title" | sed -n "$((idx + 1))p")
		if [ -z "$fr" ]; then
			fail_with "no frame $idx in the \"$title\" stack"
			continue
		fi
		got=$(frame_at "$fr")
		if [ -z "$got" ]; then
			fail_with "frame $idx of \"$title\" is not symbolized: $fr"
			continue
		fi
		[ "${got#* }" = "$want" ] || fail_with "frame $idx of \"$title\" is at ${got#* }, want $want ($fr)"
		[ -z "$func" ] || [ "${got%% *}" = "$func" ] ||
			fail_with "frame $idx of \"$title\" is in ${got%% *}, want $func"
	done <"$out/$name.marks"
}

# "expect:" lines (and "expect-debug:" ones in the debug build) from the
# program's stdout must appear in the report.
check_expects() { # tag errfile
	local tag=$1 err=$2 text
	while IFS= read -r text; do
		case $text in
		"expect: "*) text=${text#expect: } ;;
		"expect-debug: "*)
			[ "$flavour" = debug ] || continue
			text=${text#expect-debug: }
			;;
		*) continue ;;
		esac
		grep -qF -- "$text" "$err" || fail_with "the report lacks \"$text\""
	done <"$out/$tag.out"
}

# A report of kind prefixes at the printed address (stdout line n).
check_report() { # tag errfile status addrline prefix...
	local tag=$1 err=$2 st=$3 n=$4 printed got p found=
	shift 4
	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		fail_with "timed out after ${timeout_s}s (deadlock in the report?)"
		return 1
	fi
	printed=$(sed -n "${n}p" "$out/$tag.out")
	if [ -z "$printed" ]; then
		fail_with "the program printed no address on stdout (status $st)"
		return 1
	fi
	for p in "$@"; do
		if grep -qF -- "$p" "$err"; then
			found=$p
			break
		fi
	done
	if [ -z "$found" ]; then
		fail_with "status $st; the report lacks $(printf '"%s" ' "$@" | sed 's/" "/" or "/g')"
		return 1
	fi
	got=$(reported_addr "$err" "${found%0x}")
	if [ -z "$got" ] || [ "$got" = 0x ]; then
		fail_with "no address after \"$found\""
		return 1
	fi
	if [ "$(norm_addr "$got")" != "$(norm_addr "$printed")" ]; then
		fail_with "reported address $got, but the block was $printed"
		return 1
	fi
	return 0
}

# The reports of concurrent_reports.c: each whole, at a printed address,
# one (abort_on_error, the default) or one a thread (abort_on_error=0).
check_concurrent() { # tag errfile status options
	local tag=$1 err=$2 st=$3 opts=$4 want bad a n printed line
	case ",$opts," in
	*,abort_on_error=0,*)
		want=$(grep -c '^0x' "$out/$tag.out")
		[ "$st" -eq 0 ] || fail_with "exit status $st, want 0"
		grep -qx continued "$out/$tag.out" || fail_with "the program did not go on after the reports"
		grep -qx "not cancelled" "$out/$tag.out" && fail_with "the thread was not cancelled"
		;;
	*)
		want=1
		[ "$st" -eq 134 ] || fail_with "exit status $st, want 134 (SIGABRT)"
		[ "$(grep -c 'spanalloc: aborting' "$err")" -eq 1 ] || fail_with "want one \"aborting\" line"
		;;
	esac
	n=$(grep -c 'spanalloc: double free of 0x' "$err")
	[ "$n" -eq "$want" ] || fail_with "$n reports, want $want"
	# Whole: each headline's report has its stack title and a frame (and
	# the allocation stack, debug build) before the next headline.
	bad=$(awk -v debug="$([ "$flavour" = debug ] && echo 1 || echo 0)" '
		function close_report() {
			if (open && !(bad_call == 2 && (!debug || alloc == 2))) broken++
		}
		/spanalloc: double free of 0x/ { close_report(); open = 1; bad_call = alloc = 0; next }
		/^    stack of the bad call:$/ { if (open && bad_call == 0) bad_call = 1; title = "bad"; next }
		/^    allocated at:$/ { if (open && alloc == 0) alloc = 1; title = "alloc"; next }
		/^    #[0-9]+ / {
			if (title == "bad" && bad_call == 1) bad_call = 2
			if (title == "alloc" && alloc == 1) alloc = 2
			next
		}
		{ title = "" }
		END { close_report(); print broken + 0 }' "$err")
	[ "$bad" -eq 0 ] || fail_with "$bad of the reports are not whole (interleaved or cut short)"
	while read -r a; do
		printed=
		while read -r line; do
			[ "$(norm_addr "$line")" = "$(norm_addr "$a")" ] && printed=1
		done < <(grep '^0x' "$out/$tag.out")
		[ -n "$printed" ] || fail_with "reported address $a is none of the blocks"
	done < <(grep -oE 'spanalloc: double free of 0x[0-9a-f]+' "$err" | grep -oE '0x[0-9a-f]+$')
}

check() { # name tag kind status options bin
	local name=$1 tag=$2 kind=$3 st=$4 opts=$5 bin=$6
	local err=$out/$tag.err prefixes=()
	# Every frame of every stack is in a module: one in none is a word of
	# a frame without frame pointers taken for a return address.
	if grep -q '(<unknown module>)$' "$err"; then
		fail_with "a frame in no module: $(grep -m1 '(<unknown module>)$' "$err" | sed 's/^ *//')"
	fi
	case $kind in
	clean)
		[ "$st" -eq 0 ] || fail_with "exit status $st, want 0"
		[ -s "$err" ] && fail_with "stderr is not empty"
		return
		;;
	sentsegv)
		[ "$st" -eq 139 ] || fail_with "exit status $st, want 139 (SIGSEGV)"
		[ -s "$err" ] && fail_with "stderr is not empty"
		grep -qx survived "$out/$tag.out" && fail_with "the program ran on after raising SIGSEGV"
		return
		;;
	notice)
		[ "$st" -eq 0 ] || fail_with "exit status $st, want 0"
		[ "$(wc -l <"$err")" -eq 1 ] || fail_with "stderr holds $(wc -l <"$err") lines, want the one notice"
		grep -q "^spanalloc: efence: " "$err" || fail_with "stderr lacks the \"spanalloc: efence: \" notice"
		return
		;;
	refused)
		[ "$st" -eq 0 ] || fail_with "exit status $st, want 0 ($(head -n 1 "$out/$tag.out"))"
		[ "$(wc -l <"$err")" -eq 1 ] || fail_with "stderr holds $(wc -l <"$err") lines, want the one notice"
		grep -q "^spanalloc: the OS refused .*RLIMIT_AS, is [0-9]* MiB): malloc returns NULL while it does\$" "$err" ||
			fail_with "stderr lacks the \"spanalloc: the OS refused ...\" notice naming RLIMIT_AS"
		return
		;;
	unknown)
		[ "$st" -eq 0 ] || fail_with "exit status $st, want 0"
		grep -qF "unknown option 'no_such_option'" "$err" ||
			fail_with "stderr lacks \"unknown option 'no_such_option'\""
		return
		;;
	noabort | exitcode)
		local want=0
		[ "$kind" = exitcode ] && [ "$flavour" = debug ] && want=23
		[ "$st" -eq "$want" ] || fail_with "exit status $st, want $want"
		check_report "$tag" "$err" "$st" 1 "spanalloc: double free of 0x"
		grep -q "spanalloc: aborting" "$err" && fail_with "it aborted, with abort_on_error=0"
		grep -qx continued "$out/$tag.out" || fail_with "the program did not go on after the report"
		if [ "$kind" = exitcode ] && [ "$flavour" = production ]; then
			grep -qF "'exitcode' does nothing in the production build" "$err" ||
				fail_with "no warning that exitcode does nothing in the production build"
		fi
		return
		;;
	concurrent)
		check_concurrent "$tag" "$err" "$st" "$opts"
		return
		;;
	logpath)
		[ "$st" -eq 134 ] || fail_with "exit status $st, want 134 (SIGABRT)"
		if [ "$flavour" = production ]; then
			grep -qF "'log_path' does nothing in the production build" "$err" ||
				fail_with "no warning that log_path does nothing in the production build"
			check_report "$tag" "$err" "$st" 1 "spanalloc: double free of 0x"
			return
		fi
		local logs=("$out/$tag.log".*)
		grep -qE "$report_re" "$err" && fail_with "the report went to stderr, not to log_path"
		if [ ! -f "${logs[0]}" ]; then
			fail_with "no log file $out/$tag.log.<pid>"
			return
		fi
		[ ${#logs[@]} -eq 1 ] || fail_with "${#logs[@]} log files, want 1"
		[[ "${logs[0]}" =~ \.log\.[0-9]+$ ]] || fail_with "the log ${logs[0]} is not named PATH.<pid>"
		check_report "$tag" "${logs[0]}" "$st" 1 "spanalloc: double free of 0x" || return
		grep -q "spanalloc: aborting" "${logs[0]}" || fail_with "the log lacks the \"aborting\" line"
		check_lines "$name" "${logs[0]}"
		return
		;;
	esac
	# A report and the abort.
	if [ "$st" -ne 134 ] && [ "$st" -ne 124 ] && [ "$st" -ne 137 ]; then
		fail_with "exit status $st, want 134 (SIGABRT)"
	fi
	local n=1
	case $kind in
	double) prefixes=("spanalloc: double free of 0x") ;;
	interior | outside) prefixes=("spanalloc: invalid free of 0x") ;;
	either) prefixes=("spanalloc: double free of 0x" "spanalloc: invalid free of 0x") ;;
	realloc) prefixes=("spanalloc: realloc of freed block" "spanalloc: double free of 0x"
		"spanalloc: invalid free of 0x") ;;
	waf) prefixes=("spanalloc: write after free to the block at 0x") ;;
	overflow) prefixes=("spanalloc: heap buffer overflow past the block at 0x") ;;
	underflow) prefixes=("spanalloc: heap buffer underflow before the block at 0x") ;;
	guard) prefixes=("spanalloc: heap overflow past the block at 0x") ;;
	faultuaf) prefixes=("spanalloc: use after free of the block at 0x") ;;
	nearby)
		if grep -qE "spanalloc: heap (buffer )?overflow past the block at 0x" "$err"; then
			prefixes=("spanalloc: heap buffer overflow past the block at 0x"
				"spanalloc: heap overflow past the block at 0x")
		else
			n=2
			prefixes=("spanalloc: heap buffer underflow before the block at 0x"
				"spanalloc: write after free to the block at 0x")
		fi
		;;
	*)
		fail_with "unknown kind $kind in the table"
		return
		;;
	esac
	check_report "$tag" "$err" "$st" "$n" "${prefixes[@]}" || return
	case $kind in
	double | interior)
		grep -qF "size class" "$err" || fail_with "stderr lacks \"size class\""
		;;
	waf)
		grep -qE "spanalloc: write after free to the block at 0x[0-9a-f]+( in (malloc|free|exit)\(\))?\$" "$err" ||
			fail_with "the write after free is not reported from malloc, free, exit, a sweep or a thread's exit"
		if ! grep -qE "write after free to the block at 0x[0-9a-f]* in (malloc|free|exit)\(\)" "$err"; then
			grep -qE "\((found when its span was checked|found when its thread exited)\)\$" "$err" ||
				fail_with "no \"(found when ...)\" after a write after free not found by malloc, free or exit"
		fi
		grep -qF "freed block modified at offset" "$err" || fail_with "stderr lacks \"freed block modified at offset\""
		;;
	overflow)
		grep -qF "bytes after the requested size overwritten, first at offset" "$err" ||
			fail_with "stderr lacks \"bytes after the requested size overwritten, first at offset\""
		;;
	guard | faultuaf)
		grep -qF "(bad memory access)" "$err" || fail_with "stderr lacks \"(bad memory access)\""
		;;
	esac
	grep -q "spanalloc: aborting" "$err" || fail_with "no \"spanalloc: aborting\" line"
	check_expects "$tag" "$err"
	check_lines "$name" "$err"
}

# What the production build must do with a bug only the debug build sees.
check_prod() { # tag prod status options
	local tag=$1 prod=$2 st=$3 opts=$4 err=$out/$1.err
	case $prod in
	clean)
		[ "$st" -eq 0 ] || fail_with "production build: exit status $st, want 0 (the bug is not seen, and nothing breaks)"
		only_warnings "$tag" "$opts"
		;;
	quiet)
		case $st in
		0 | 139 | 135) ;;
		*) fail_with "production build: exit status $st, want 0 or a SIGSEGV/SIGBUS" ;;
		esac
		grep -qE "$report_re" "$err" && fail_with "production build: a report of a bug it cannot see"
		;;
	esac
}

echo "spanalloc heap-bug tests: mode $mode${lib:+ ($lib)}, CC=$CC"

# Which build: the production build warns about a debug-only option.
flavour=debug
if [ "$mode" = preload ]; then
	probe=$(build probe_preloaded) || { echo "cannot build the probe" >&2; exit 2; }
	if ! run "$probe" probe_preloaded ""; then
		echo "FAIL: $lib does not appear to be loaded with LD_PRELOAD" \
			"(sa_read_memstats not found): $(cat "$out/probe_preloaded.out" "$out/probe_preloaded.err")"
		echo "bugs: 0 passed, 1 failed"
		exit 1
	fi
fi
if [ "$mode" != system ]; then
	clean_bin=$(build clean) || { echo "cannot build clean.c" >&2; exit 2; }
	run "$clean_bin" flavour "quarantine_kb=4096"
	if grep -qF "'quarantine_kb' does nothing in the production build" "$out/flavour.err"; then
		flavour=production
	fi
fi
echo "build: $flavour"

for entry in $tests; do
	IFS=: read -r tag kind prod opts <<<"$entry"
	prod=${prod:-same}
	name=${tag%@*}
	if [ -n "${BUGS_ONLY:-}" ] && [[ " $BUGS_ONLY " != *" $tag "* ]]; then
		continue
	fi
	opts=${opts//@LOG@/$out/$tag.log}
	opts=${opts//@ADDR2LINE@/$(command -v addr2line || echo addr2line)}
	rm -f "$out/$tag".log.*
	if ! bin=$(build "$name"); then
		fail_with "does not compile"
		report "$tag"
		continue
	fi
	run "$bin" "$tag" "$opts"
	st=$?
	if [ "$flavour" = production ] && [ "$prod" != same ]; then
		check_prod "$tag" "$prod" "$st" "$opts"
		[ -z "$why" ] && tag="$tag (production: $prod)"
	else
		check "$name" "$tag" "$kind" "$st" "$opts" "$bin"
	fi
	report "$tag"
done

echo "bugs: $pass passed, $fail failed${failed_names:+; failed:$failed_names}"
[ "$fail" -eq 0 ]
