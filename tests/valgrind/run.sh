#!/usr/bin/env bash
# spanalloc under valgrind memcheck: the debug build tells memcheck about
# every block through client requests (src/track.h), so memcheck must see
# the program's heap bugs at the right source line, and nothing at all in
# correct programs.
#
# usage: tests/valgrind/run.sh [LIB] [CASE...]
#   LIB   the debug library (default build/libspanalloc-debug.so):
#         .so   preloaded, the way the README recipe and
#               `spanalloc run --valgrind` do it:
#                 valgrind --soname-synonyms=somalloc=nouserintercepts \
#                   --trace-children=yes env LD_PRELOAD=LIB PROG
#         .a    linked into each test program (python3 and git are
#               skipped: they can only preload)
#   CASE  run only these (default: all; see the list below)
# env:  VALGRIND (default valgrind), CC (default cc), VG_TIMEOUT (seconds
#       per case, default 300), VERBOSE=1 (show every log), KEEP_TMP=1
#       (keep the logs and binaries), PYTHON (default /usr/bin/python3).
#
# Every case first needs spanalloc really in place under memcheck (probe);
# a bug case then wants exactly its one memcheck error (ERROR SUMMARY: 1),
# with the bad access, the free and the allocation at the lines marked
# /* @bug */, /* @free */ and /* @alloc */ in its source; a clean case
# wants "ERROR SUMMARY: 0 errors" from every process, and spanalloc's own
# statistics (stats=1) showing that spanalloc served the allocations.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
lib=${1:-$root/build/libspanalloc-debug.so}
[ $# -gt 0 ] && shift
VALGRIND=${VALGRIND:-valgrind}
CC=${CC:-cc}
timeout_s=${VG_TIMEOUT:-300}
PYTHON=${PYTHON:-/usr/bin/python3}

case "$lib" in
*.so | *.so.*) mode=preload ;;
*.a) mode="link" ;;
*)
	echo "$0: $lib: want the debug library, .so or .a" >&2
	exit 2
	;;
esac
if [ ! -f "$lib" ]; then
	echo "$0: $lib: no such file (run make first)" >&2
	exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "$0: $VALGRIND not found (apt-get install valgrind)" >&2
	exit 2
fi

# name : kind.  Kinds: probe, bug (the checks are in check_<name>),
# reports (spanalloc's own reports, run_reports), clean (run_<name>).
all_cases="
probe:probe
launcher:clean
read_after_free:bug
write_after_free:bug
overflow_read:bug
overflow_read_large:bug
unallocated_read:bug
overflow_write:bug
underflow:bug
uninit:bug
uninit_realloc:bug
leak:bug
leak_large:bug
leak_reused:bug
bad_frees:reports
stress:clean
python3:clean
git:clean
"
if [ $# -gt 0 ]; then
	cases=
	for c in "$@"; do
		e=$(printf '%s\n' "$all_cases" | grep -m1 "^$c:") || {
			echo "$0: unknown case '$c' (known: $(printf '%s' "$all_cases" | cut -d: -f1 | tr '\n' ' '))" >&2
			exit 2
		}
		cases="$cases $e"
	done
else
	cases=$all_cases
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-valgrind.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
	trap 'echo "valgrind: kept $out" >&2' EXIT
else
	trap 'rm -rf "$out"' EXIT
fi
unset SPANALLOC_OPTIONS
ulimit -c 0 2>/dev/null || true

# The memcheck command line.  nouserintercepts keeps memcheck's malloc out
# of the way (without it memcheck replaces spanalloc's exported malloc, a
# preloaded one included); the debug build announces its blocks itself.
VGFLAGS="--tool=memcheck --soname-synonyms=somalloc=nouserintercepts --trace-children=yes --num-callers=24"

build() { # name flags... -> binary path in $out, or fail
	local name=$1 bin=$out/$1
	shift
	local src=$here/vg_$name.c
	local link=()
	if [ "$mode" = link ]; then
		link=("$lib" "-Wl,--undefined=sa_read_memstats" -lpthread)
	fi
	if ! $CC -std=gnu11 -g -Wall -Wextra -I"$root/include" "$@" -o "$bin" "$src" "${link[@]}" -pthread \
		>"$bin.build.log" 2>&1; then
		cat "$bin.build.log" >&2
		return 1
	fi
	echo "$bin"
}

# Run "$@" under memcheck; logs in $out/$name.vg.<pid>, the program's
# stdout and stderr in $out/$name.out / .err.  extra memcheck flags in VGX.
vg() { # name cmd...
	local name=$1
	shift
	rm -f "$out/$name".vg.*
	local pre=()
	[ "$mode" = preload ] && pre=(env LD_PRELOAD="$lib")
	# shellcheck disable=SC2086
	timeout -k 10 "$timeout_s" "$VALGRIND" $VGFLAGS ${VGX:-} --log-file="$out/$name.vg.%p" \
		"${pre[@]}" "$@" >"$out/$name.out" 2>"$out/$name.err"
}

# The line of the marker in a source file.
line_of() { # file marker
	grep -n -F -- "/* $2 */" "$1" | head -n1 | cut -d: -f1
}

# The first error block of a log that contains the headline (up to the
# blank "==pid== " line that ends it).
block() { # headline logs...
	local h=$1
	shift
	cat "$@" | awk -v h="$h" 'index($0, h) { p = 1 } p { print } p && /^==[0-9]+== *$/ { exit }'
}

pass=0
fail=0
failed=
why=
fail_with() { why=${why:+$why; }$*; }

report() { # name [logs...]
	local name=$1
	shift
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS $name"
		if [ "${VERBOSE:-0}" = 1 ]; then
			cat "$@" /dev/null 2>/dev/null | sed 's/^/    | /'
		fi
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name: $why"
		local f
		for f in "$@"; do
			[ -f "$f" ] || continue
			echo "    --- $(basename "$f")"
			# The errors, not the banner.
			grep -v -E '== (Memcheck|Copyright|Using Valgrind|For lists|Use --track-origins)' "$f" |
				head -n 60 | sed 's/^/    | /'
		done
		if [ -s "$out/$name.err" ]; then
			echo "    --- program stderr"
			head -n 20 "$out/$name.err" | sed 's/^/    | /'
		fi
	fi
	why=
}

# Every log has an ERROR SUMMARY (valgrind ran to the end) and the total
# of errors is want.
summary_is() { # want logs...
	local want=$1 f n total=0
	shift
	if [ $# -eq 0 ] || [ ! -f "$1" ]; then
		fail_with "no valgrind log (did valgrind start?)"
		return
	fi
	for f in "$@"; do
		n=$(grep -m1 -oE 'ERROR SUMMARY: [0-9]+ errors' "$f" | grep -oE '[0-9]+')
		if [ -z "$n" ]; then
			fail_with "$(basename "$f"): no ERROR SUMMARY (valgrind or the program died: $(grep -m1 -E 'Process terminating|killed by signal|valgrind: ' "$f" || echo 'timeout?'))"
			continue
		fi
		total=$((total + n))
	done
	[ "$total" -eq "$want" ] || fail_with "memcheck counted $total errors, want $want"
}

# spanalloc's stats (stats=1, on the program's stderr) show it served at
# least min allocations in some process.
served() { # name min
	local best
	best=$(grep -E '^  Mallocs ' "$out/$1.err" 2>/dev/null | awk '{ print $2 }' | sort -n | tail -n1)
	if [ -z "$best" ]; then
		fail_with "no spanalloc statistics on stderr: spanalloc was not loaded"
	elif [ "$best" -lt "$2" ]; then
		fail_with "spanalloc served only $best allocations (want >= $2): memcheck's malloc replaced it?"
	fi
}

# In the block with the headline, each pattern (grep -E) must appear.
expect_block() { # headline logfile pattern...
	local h=$1 log=$2 b p
	shift 2
	b=$(block "$h" "$log")
	if [ -z "$b" ]; then
		fail_with "no \"$h\" in the memcheck output"
		return
	fi
	for p in "$@"; do
		printf '%s\n' "$b" | grep -qE -- "$p" || fail_with "the \"$h\" report lacks /$p/"
	done
}

# ---- the cases ----------------------------------------------------------------

probe_ok=1

run_probe() {
	local bin
	bin=$(build probe -O0) || { fail_with "does not compile"; report probe; probe_ok=0; return; }
	VGX="--alignment=4096" vg probe "$bin"
	if ! grep -q "^spanalloc in place" "$out/probe.out"; then
		fail_with "$(cat "$out/probe.out" 2>/dev/null) [memcheck's malloc is in use: the recipe does not keep spanalloc]"
		probe_ok=0
	fi
	summary_is 0 "$out"/probe.vg.*
	if [ "$mode" = preload ] && [ "$probe_ok" = 1 ]; then
		# The control: without nouserintercepts memcheck must take malloc
		# over, and the probe must notice, or it proves nothing.
		timeout -k 10 "$timeout_s" "$VALGRIND" --tool=memcheck --alignment=4096 --trace-children=yes \
			--log-file="$out/probe-control.vg.%p" env LD_PRELOAD="$lib" "$bin" \
			>"$out/probe-control.out" 2>&1
		grep -q "^not spanalloc" "$out/probe-control.out" ||
			fail_with "control: without --soname-synonyms the probe still says \"$(cat "$out/probe-control.out")\", so it cannot tell"
	fi
	report probe "$out"/probe.vg.* "$out/probe.out"
}

# A bug program: compiled -O0, run, then its check_<name> function.
run_bug() {
	local name=$1 bin src=$here/vg_$1.c
	bin=$(build "$name" -O0) || { fail_with "does not compile"; report "$name"; return; }
	local vgx="--leak-check=no"
	case $name in
	leak*) vgx="--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite" ;;
	uninit*) vgx="--leak-check=no --track-origins=yes" ;;
	esac
	VGX=$vgx vg "$name" "$bin"
	local f=vg_$name.c la lf lb
	la=$(line_of "$src" @alloc)
	lf=$(line_of "$src" @free)
	lb=$(line_of "$src" @bug)
	local logs=("$out/$name".vg.*)
	"check_$name" "${logs[0]}" "$f" "$la" "$lf" "$lb"
	summary_is 1 "${logs[@]}"
	report "$name" "${logs[@]}"
}

check_read_after_free() { # log file alloc-line free-line bug-line
	expect_block "Invalid read of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is 10 bytes inside a block of size 100 free'd" \
		"main \\($2:$4\\)" \
		"Block was alloc'd at" \
		"main \\($2:$3\\)"
	# The free's stack comes before the allocation's.
	local b
	b=$(block "Invalid read of size 1" "$1")
	printf '%s\n' "$b" | sed -n "/free'd/,/Block was alloc'd/p" | grep -qE "main \\($2:$4\\)" ||
		fail_with "the stack after \"free'd\" is not the free's ($2:$4)"
}

check_write_after_free() {
	expect_block "Invalid write of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is 3 bytes inside a block of size 24 free'd" \
		"main \\($2:$4\\)" \
		"Block was alloc'd at" \
		"main \\($2:$3\\)"
}

check_overflow_read() {
	expect_block "Invalid read of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is 0 bytes after a block of size 100 alloc'd" \
		"main \\($2:$3\\)"
}

check_overflow_read_large() {
	expect_block "Invalid read of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is 0 bytes after a block of size 100,000 alloc'd" \
		"main \\($2:$3\\)"
}

check_unallocated_read() {
	expect_block "Invalid read of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)"
}

check_overflow_write() {
	expect_block "Invalid write of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is 0 bytes after a block of size 32 alloc'd" \
		"main \\($2:$3\\)"
}

# memcheck names the nearest block: the one written before, or the one
# whose end the redzone follows ("15 bytes after" the previous block).
check_underflow() {
	expect_block "Invalid write of size 1" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Address 0x[0-9a-f]+ is (1 bytes before|[0-9]+ bytes after) a block of size 64 alloc'd"
}

check_uninit() {
	expect_block "Conditional jump or move depends on uninitialised value(s)" "$1" \
		"at 0x[0-9A-F]+: main \\($2:$5\\)" \
		"Uninitialised value was created by a heap allocation" \
		"main \\($2:$3\\)"
}

check_uninit_realloc() { check_uninit "$@"; }

check_leak() {
	expect_block "are definitely lost in loss record" "$1" \
		"4,000 bytes in 1 blocks are definitely lost" \
		"leak \\($2:$3\\)"
}

check_leak_large() {
	expect_block "are definitely lost in loss record" "$1" \
		"100,000 bytes in 1 blocks are definitely lost" \
		"leak \\($2:$3\\)"
}

check_leak_reused() {
	expect_block "are definitely lost in loss record" "$1" \
		"100 bytes in 1 blocks are definitely lost" \
		"leak \\($2:$3\\)"
}

# spanalloc's own reports under memcheck (abort_on_error=0): each bad call
# reported with the address the program printed, and no memcheck error.
run_reports() {
	local name=$1 bin
	bin=$(build "$name" -O0) || { fail_with "does not compile"; report "$name"; return; }
	SPANALLOC_OPTIONS=abort_on_error=0 VGX="--leak-check=no" vg "$name" "$bin"
	local a kinds=("double free of" "double free of" "invalid free of" "realloc of freed block") i=0
	while read -r a; do
		grep -qF "spanalloc: ${kinds[$i]} $a" "$out/$name.err" ||
			fail_with "no \"spanalloc: ${kinds[$i]} $a\" on stderr"
		i=$((i + 1))
	done < <(head -n 4 "$out/$name.out")
	[ "$i" -eq 4 ] || fail_with "the program printed $i addresses, want 4"
	grep -q "spanalloc: aborting" "$out/$name.err" && fail_with "it aborted, with abort_on_error=0"
	# The bad call's stack is memcheck's own backtrace, symbolized as in
	# its reports, through the program's line.
	local line
	line=$(line_of "$here/vg_$name.c" @report)
	awk '/spanalloc: the stack of the bad call, from valgrind/ { on = 1; next }
		on && !/^==[0-9]+== +(at|by) / { exit }
		on' "$out/$name".vg.* | grep -qE "by 0x[0-9A-F]+: main \(vg_$name\.c:$line\)" ||
		fail_with "no valgrind backtrace through main (vg_$name.c:$line) after the first report"
	summary_is 0 "$out/$name".vg.*
	report "$name" "$out/$name".vg.*
}

# A clean run: every process ends with no error; spanalloc served the
# allocations (its own statistics, stats=1, say how many).
run_stress() {
	local bin
	# -O1 without frame pointers, as most programs are built: the debug
	# build's stack walk must not trip memcheck on them.
	bin=$(build stress -O1 -fomit-frame-pointer) || { fail_with "does not compile"; report stress; return; }
	SPANALLOC_OPTIONS=stats=1 VGX="--leak-check=full --errors-for-leak-kinds=definite,possible" vg stress "$bin"
	grep -q "^stress done" "$out/stress.out" || fail_with "the program did not finish: $(head -c 300 "$out/stress.out")"
	summary_is 0 "$out"/stress.vg.*
	served stress 10000
	report stress "$out"/stress.vg.*
}

# The launcher's recipe: bin/spanalloc run --valgrind -- PROG (the debug
# library of this tree's build/, so only when LIB is that one).
run_launcher() {
	if [ "$mode" = link ] || [ "$lib" != "$root/build/libspanalloc-debug.so" ]; then
		echo "SKIP launcher (it runs $root/build/libspanalloc-debug.so, not LIB)"
		return
	fi
	local bin=$out/probe
	[ -x "$bin" ] || bin=$(build probe -O0) || { fail_with "does not compile"; report launcher; return; }
	# (--valgrind-opt passes an option through: memcheck's log goes there)
	rm -f "$out/launcher.vg"
	timeout -k 10 "$timeout_s" "$root/bin/spanalloc" run --valgrind --valgrind-opt="--log-file=$out/launcher.vg" \
		-- "$bin" >"$out/launcher.out" 2>"$out/launcher.err"
	grep -q "^spanalloc in place" "$out/launcher.out" ||
		fail_with "$(cat "$out/launcher.out") [the launcher does not keep spanalloc in place]"
	summary_is 0 "$out/launcher.vg"
	report launcher "$out/launcher.vg"
}

run_python3() {
	if [ "$mode" = link ]; then
		echo "SKIP python3 (a linked library cannot be put into python3)"
		return
	fi
	if [ ! -x "$PYTHON" ]; then
		echo "SKIP python3 ($PYTHON not found)"
		return
	fi
	# PYTHONMALLOC=malloc: every object from malloc, none from pymalloc.
	# Leaks are CPython's business (it frees little at exit): not checked.
	PYTHONMALLOC=malloc SPANALLOC_OPTIONS=stats=1 VGX="--leak-check=no" vg python3 "$PYTHON" "$here/vg_script.py"
	grep -q "^\[(" "$out/python3.out" || fail_with "the script did not finish: $(head -c 300 "$out/python3.out")"
	summary_is 0 "$out"/python3.vg.*
	served python3 10000
	report python3 "$out"/python3.vg.*
}

run_git() {
	if [ "$mode" = link ]; then
		echo "SKIP git (a linked library cannot be put into git)"
		return
	fi
	if ! command -v git >/dev/null 2>&1; then
		echo "SKIP git (git not found)"
		return
	fi
	local repo=$out/repo
	rm -rf "$repo"
	mkdir -p "$repo"
	# A scratch repository: init, two commits, log, diff, status.  Every
	# git process runs under memcheck (--trace-children).  git leaks on
	# purpose at exit: leaks are not checked.
	(
		cd "$repo" || exit 1
		export GIT_CONFIG_NOSYSTEM=1 HOME=$repo GIT_AUTHOR_DATE="1700000000 +0000" GIT_COMMITTER_DATE="1700000000 +0000"
		export SPANALLOC_OPTIONS=stats=1
		# shellcheck disable=SC2016
		VGX="--leak-check=no" vg git sh -c '
			g="git -c user.name=t -c user.email=t@example.invalid -c maintenance.auto=false -c gc.auto=0"
			$g init -q . &&
			seq 1 2000 > a && $g add a && $g commit -qm one &&
			seq 1 3 2000 > a && printf "b\n" > b && $g add b && $g commit -qam two &&
			$g log --oneline | wc -l && $g diff HEAD~1 --stat && $g status --short'
	)
	grep -qx "2" "$out/git.out" || fail_with "git log did not show 2 commits: $(head -c 300 "$out/git.out")"
	grep -q "2 files changed" "$out/git.out" || fail_with "git diff --stat is wrong: $(head -c 300 "$out/git.out")"
	summary_is 0 "$out"/git.vg.*
	served git 1000
	report git "$out"/git.vg.*
}

echo "spanalloc memcheck tests: mode $mode ($lib), $("$VALGRIND" --version)"
t0=$(date +%s)
for entry in $cases; do
	name=${entry%%:*}
	kind=${entry#*:}
	if [ "$kind" != probe ] && [ "$probe_ok" = 0 ]; then
		echo "SKIP $name (spanalloc is not in place under memcheck: see probe)"
		fail=$((fail + 1))
		failed="$failed $name"
		continue
	fi
	case $kind in
	probe) run_probe ;;
	bug) run_bug "$name" ;;
	reports) run_reports "$name" ;;
	clean) "run_$name" ;;
	esac
done
echo "valgrind: $pass passed, $fail failed ($(($(date +%s) - t0)) s)${failed:+; failed:$failed}"
[ "$fail" -eq 0 ]
