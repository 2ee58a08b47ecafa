#!/usr/bin/env bash
# Leak-detection tests: small leaky and clean programs (tests/leaks/*.c),
# run against the debug build; each program says what its report must be:
#
#   // expect: KIND BYTES BLOCKS FUNCTION   a "KIND leak of BYTES byte(s) in
#                                          BLOCKS object(s)" group whose first
#                                          allocation frame is FUNCTION
#   // expect-rc: N                        the exit status
#   // expect-stdout: TEXT                 a line of the program's stdout
#   // reports: N                          leak reports in the run (default:
#                                          1 with expect lines, else 0)
#   // options: K=V,...                     SPANALLOC_OPTIONS
#   // lib: FILE.c                          a shared library linked in (and a
#                                          copy as PROGRAM.dl.so to dlopen)
#   // lsan: TEXT                           no LeakSanitizer comparison (why)
#
# The groups must be exactly the expected ones (no other leak reported),
# the SUMMARY line their totals, and a clean program (no expect line) must
# print nothing on stderr.  Then variants: leak_exitcode, suppressions,
# report_indirect=0, max_leaks, detect_leaks=0, efence=1, quarantine_kb=0,
# one symbolizer run for the whole report.
#
# When LeakSanitizer's standalone runtime (liblsan0) is installed, each
# program (preload mode) also runs under it, and its groups (kind, bytes,
# objects) must be the same as spanalloc's: the table is printed.
#
# usage: tests/leaks/run.sh LIB   (libspanalloc-debug.so: LD_PRELOAD;
#                                  libspanalloc-debug.a: linked in)
# env: CC, LSAN_LIB (default: gcc's liblsan.so.0 if found; "none": skip),
#      LEAKS_ONLY="name ...", VERBOSE=1
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${1:?usage: $0 libspanalloc-debug.so|libspanalloc-debug.a}
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
CC=${CC:-cc}
case "$lib" in
*.so) mode=preload ;;
*.a) mode=link ;;
*) echo "$0: want a .so or a .a" >&2; exit 2 ;;
esac
lsan=${LSAN_LIB:-}
if [ -z "$lsan" ]; then
	lsan=$($CC -print-file-name=liblsan.so.0 2>/dev/null)
	case "$lsan" in /*) ;; *) lsan=$(ls /usr/lib/*/liblsan.so.0 2>/dev/null | head -1) ;; esac
fi
[ "$lsan" = none ] || [ -f "$lsan" ] || lsan=none
[ "$mode" = preload ] || lsan=none

out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-leaks.XXXXXX")
trap 'rm -rf "$out"' EXIT
unset SPANALLOC_OPTIONS LSAN_OPTIONS ASAN_OPTIONS
ulimit -c 0 2>/dev/null || true

CFLAGS_T="-std=gnu11 -O1 -g -fno-omit-frame-pointer -rdynamic -pthread -Wall -Wextra -Werror -Wno-unused-but-set-variable"
fail=0
pass=0
table=""

say_fail() {
	echo "FAIL $1: $2"
	fail=$((fail + 1))
	if [ -n "${VERBOSE:-}" ] || [ -n "${3:-}" ]; then
		sed 's/^/    | /' "${3:-/dev/null}" | head -60
	fi
}

# The leak groups of a spanalloc report (the last one of the run): "Kind bytes blocks function",
# summed over the stacks that share a kind and a first function (a
# recursive function, or one called from several places, has several).
groups() {
	awk '
	/== spanalloc: detected memory leaks/ { delete B; delete N } # the last report
	/^(Direct|Indirect) leak of [0-9]+ byte\(s\) in [0-9]+ object\(s\) allocated from:/ {
		k = $1; b = $4; n = $7; pending = 1; next }
	pending { f = "?"
		# "#0 0x... in FUNC file:line" (symbolized), else "module(FUNC+0x..)"
		if (match($0, / in [A-Za-z_][A-Za-z0-9_.]*/)) f = substr($0, RSTART + 4, RLENGTH - 4)
		else if (match($0, /\(([A-Za-z_][A-Za-z0-9_.]*)\+/)) f = substr($0, RSTART + 1, RLENGTH - 2)
		key = k " " f; B[key] += b; N[key] += n; pending = 0 }
	END { for (key in B) { split(key, a, " "); print a[1], B[key], N[key], a[2] } }' "$1" | sort
}

# LeakSanitizer's groups, or spanalloc's without the function: "Kind bytes
# blocks", as many lines as there are stacks, and the totals.
lsan_groups() {
	grep -E '^(Direct|Indirect) leak of [0-9]+ byte\(s\) in [0-9]+ object\(s\)' "$1" |
		awk '{ print $1, $4, $7 }' | sort
}

# The table's cell: totals per kind and the number of stacks.
brief() {
	awk '{ B[$1] += $2; N[$1] += $3; S[$1]++; n++ }
	END {
		out = ""
		for (k in B) {
			st = (S[k] > 1) ? "stacks" : "stack"
			out = out (out == "" ? "" : "; ") k " " B[k] " B / " N[k] " (" S[k] " " st ")"
		}
		print (n ? out : "none")
	}' "$1"
}

build() { # name -> $out/name
	local name=$1 src=$here/$1.c libsrc extra=()
	libsrc=$(sed -n 's|^// lib: *||p' "$src")
	if [ -n "$libsrc" ]; then
		$CC -shared -fPIC -O1 -g -o "$out/lib${name}.so" "$here/$libsrc" || return 1
		cp "$out/lib${name}.so" "$out/$name.dl.so"
		extra=("$out/lib${name}.so" "-Wl,-rpath,$out" -ldl)
	fi
	if [ "$mode" = link ]; then
		$CC $CFLAGS_T -o "$out/$name" "$src" "${extra[@]}" "$lib" -lpthread -ldl
	else
		$CC $CFLAGS_T -o "$out/$name" "$src" "${extra[@]}" -ldl
	fi
}

# run NAME OPTIONS -> $out/NAME.{out,err,rc}, under spanalloc
run_sa() {
	local name=$1 opts=$2
	if [ "$mode" = preload ]; then
		SPANALLOC_OPTIONS=$opts LD_PRELOAD=$lib timeout 60 "$out/$name" >"$out/$name.out" 2>"$out/$name.err"
	else
		SPANALLOC_OPTIONS=$opts timeout 60 "$out/$name" >"$out/$name.out" 2>"$out/$name.err"
	fi
	echo $? >"$out/$name.rc"
}

# check NAME LABEL OPTIONS EXPECT-FILE RC REPORTS
check() {
	local name=$1 label=$2 opts=$3 expect=$4 want_rc=$5 want_reports=$6
	run_sa "$name" "$opts"
	local rc err=$out/$name.err
	rc=$(cat "$out/$name.rc")
	if [ "$rc" != "$want_rc" ]; then
		say_fail "$label" "exit status $rc, want $want_rc" "$err"
		return 1
	fi
	local got
	got=$(groups "$err")
	if [ "$got" != "$(sort "$expect")" ]; then
		say_fail "$label" "leak groups differ: want [$(tr '\n' ';' <"$expect")] got [$(echo "$got" | tr '\n' ';')]" "$err"
		return 1
	fi
	local nrep
	nrep=$(grep -c "== spanalloc: detected memory leaks" "$err")
	if [ "$nrep" != "$want_reports" ]; then
		say_fail "$label" "$nrep leak reports, want $want_reports" "$err"
		return 1
	fi
	if [ "$want_reports" = 0 ]; then
		if [ -s "$err" ]; then
			say_fail "$label" "a clean run printed on stderr" "$err"
			return 1
		fi
	else
		# The summary: the totals of the groups (of the last report).
		local b n sum
		b=$(awk '{ s += $2 } END { print s + 0 }' "$expect")
		n=$(awk '{ s += $3 } END { print s + 0 }' "$expect")
		sum=$(grep "== spanalloc: SUMMARY: " "$err" | tail -1)
		case "$sum" in
		*"SUMMARY: $b byte(s) leaked in $n allocation(s).") ;;
		*) say_fail "$label" "summary '$sum', want $b byte(s) in $n allocation(s)" "$err"; return 1 ;;
		esac
	fi
	return 0
}

for src in "$here"/*.c; do
	name=$(basename "$src" .c)
	grep -q '^// expect-rc:' "$src" || continue # (a library)
	if [ -n "${LEAKS_ONLY:-}" ] && ! [[ " $LEAKS_ONLY " == *" $name "* ]]; then
		continue
	fi
	if ! build "$name" >"$out/build.log" 2>&1; then
		say_fail "$name" "does not build" "$out/build.log"
		continue
	fi
	sed -n 's|^// expect: *||p' "$src" >"$out/$name.expect"
	want_rc=$(sed -n 's|^// expect-rc: *||p' "$src")
	reports=$(sed -n 's|^// reports: *||p' "$src")
	[ -n "$reports" ] || reports=$([ -s "$out/$name.expect" ] && echo 1 || echo 0)
	opts=$(sed -n 's|^// options: *||p' "$src")
	ok=1
	check "$name" "$name" "$opts" "$out/$name.expect" "$want_rc" "$reports" || ok=0
	while read -r line; do
		[ -z "$line" ] || grep -qxF "$line" "$out/$name.out" ||
			{ say_fail "$name" "stdout lacks '$line'" "$out/$name.out"; ok=0; }
	done < <(sed -n 's|^// expect-stdout: *||p' "$src")
	[ $ok = 1 ] && pass=$((pass + 1))
	cp "$out/$name.err" "$out/$name.sa"

	# Every block on pages of its own, and no quarantine: the same verdicts.
	check "$name" "$name@efence=1" "efence=1" "$out/$name.expect" "$want_rc" "$reports" && pass=$((pass + 1))
	check "$name" "$name@quarantine_kb=0" "quarantine_kb=0" "$out/$name.expect" "$want_rc" "$reports" &&
		pass=$((pass + 1))

	# Variants on the leaky programs.
	if [ -s "$out/$name.expect" ] && ! grep -q '^// variants: none' "$src"; then
		: >"$out/none"
		check "$name" "$name@leak_exitcode=7" "leak_exitcode=7" "$out/$name.expect" 7 "$reports" && pass=$((pass + 1))
		check "$name" "$name@leak_exitcode=0" "leak_exitcode=0" "$out/$name.expect" 0 "$reports" && pass=$((pass + 1))
		check "$name" "$name@detect_leaks=0" "detect_leaks=0" "$out/none" 0 0 && pass=$((pass + 1))
		# Suppress by every expected function: nothing left, "Suppressions used" said.
		awk '{ print "leak:" $4 }' "$out/$name.expect" | sort -u >"$out/$name.supp"
		echo "# a comment, then a template anchored at both ends" >>"$out/$name.supp"
		echo "leak:^no_such_function\$" >>"$out/$name.supp"
		run_sa "$name" "suppressions=$out/$name.supp"
		if [ "$(cat "$out/$name.rc")" = 0 ] && ! grep -q "detected memory leaks" "$out/$name.err" &&
			grep -q "Suppressions used:" "$out/$name.err" && ! grep -q "no_such_function" "$out/$name.err"; then
			pass=$((pass + 1))
		else
			say_fail "$name@suppressions" "want no leak, status 0 and the suppressions used" "$out/$name.err"
		fi
		# A suppression naming the module (the program's file name).
		echo "leak:/$name\$" >"$out/$name.supp2"
		run_sa "$name" "suppressions=$out/$name.supp2"
		if [ "$(cat "$out/$name.rc")" = 0 ] && ! grep -q "detected memory leaks" "$out/$name.err"; then
			pass=$((pass + 1))
		else
			say_fail "$name@suppressions-module" "a module suppression did not apply" "$out/$name.err"
		fi
		# A suppression naming the source file: only a symbolized frame has it.
		echo "leak:/$name.c:" >"$out/$name.supp3"
		run_sa "$name" "suppressions=$out/$name.supp3"
		if [ "$(cat "$out/$name.rc")" = 0 ] && ! grep -q "detected memory leaks" "$out/$name.err"; then
			pass=$((pass + 1))
		else
			say_fail "$name@suppressions-file" "a source file suppression did not apply" "$out/$name.err"
		fi
		# report_indirect=0: only the direct groups.
		grep '^Direct' "$out/$name.expect" >"$out/$name.direct"
		if [ -s "$out/$name.direct" ]; then
			check "$name" "$name@report_indirect=0" "report_indirect=0" "$out/$name.direct" "$want_rc" "$reports" &&
				pass=$((pass + 1))
		fi
		# One symbolizer for the whole report, however many stacks (one
		# per batch of frames made large reports take minutes).
		if sym=$(command -v llvm-symbolizer); then
			printf '#!/bin/sh\necho run >>"%s"\nexec "%s" "$@"\n' "$out/$name.symruns" "$sym" >"$out/countsym"
			chmod +x "$out/countsym"
			: >"$out/$name.symruns"
			check "$name" "$name@one-symbolizer" "external_symbolizer_path=$out/countsym" "$out/$name.expect" "$want_rc" "$reports" &&
				if [ "$(wc -l <"$out/$name.symruns")" = "$reports" ]; then
					pass=$((pass + 1))
				else
					say_fail "$name@one-symbolizer" "$(wc -l <"$out/$name.symruns") symbolizer runs for $reports report(s)" "$out/$name.err"
				fi
		fi
		# max_leaks=1: the largest group only (the totals still count all).
		if [ "$(wc -l <"$out/$name.expect")" -gt 1 ]; then
			run_sa "$name" "max_leaks=1"
			if [ "$(groups "$out/$name.err" | wc -l)" = 1 ] && grep -q "max_leaks=1" "$out/$name.err"; then
				pass=$((pass + 1))
			else
				say_fail "$name@max_leaks=1" "want one group shown" "$out/$name.err"
			fi
		fi
	fi

	# The same program under LeakSanitizer.
	if [ "$lsan" != none ]; then
		why=$(sed -n 's|^// lsan: *||p' "$src")
		if [ -n "$why" ]; then
			lsan_groups "$out/$name.sa" >"$out/$name.g"
			table+="| $name | $(brief "$out/$name.g") | (not run: $why) | |"$'\n'
			continue
		fi
		LD_PRELOAD=$lsan timeout 60 "$out/$name" >"$out/$name.lout" 2>"$out/$name.lerr"
		lrc=$?
		mine=$(lsan_groups "$out/$name.sa" | tr '\n' ';')
		theirs=$(lsan_groups "$out/$name.lerr" | tr '\n' ';')
		if [ "$mine" = "$theirs" ] && [ "$lrc" = "$want_rc" ]; then
			verdict=same
			pass=$((pass + 1))
		else
			verdict=DIFFERENT
			say_fail "$name@lsan" "LeakSanitizer (status $lrc): [$theirs], spanalloc: [$mine]" "$out/$name.lerr"
		fi
		lsan_groups "$out/$name.sa" >"$out/$name.g"
		lsan_groups "$out/$name.lerr" >"$out/$name.lg"
		table+="| $name | $(brief "$out/$name.g"), status $want_rc | $(brief "$out/$name.lg"), status $lrc | $verdict |"$'\n'
	fi
done

# A libFuzzer target linked with the debug library: its leaks are reported
# at exit, from LLVMFuzzerTestOneInput, with the leak exit code.
if [ "$mode" = link ] && command -v clang >/dev/null && [ -z "${LEAKS_ONLY:-}" ]; then
	mkdir -p "$out/fz-corpus"
	printf 'L' >"$out/fz-corpus/leak"
	printf 'x' >"$out/fz-corpus/clean"
	if ! clang -g -O1 -fno-omit-frame-pointer -rdynamic -fsanitize=fuzzer -o "$out/libfuzzer_leak" \
		"$here/libfuzzer_leak.c" "$lib" -lpthread >"$out/fz.log" 2>&1; then
		say_fail libfuzzer_leak "does not build" "$out/fz.log"
	else
		# (-detect_leaks=1: libFuzzer checks each input itself, tests/fuzzuse)
		(cd "$out" && timeout 120 ./libfuzzer_leak -detect_leaks=0 -runs=200 -seed=1 fz-corpus) >"$out/fz.out" 2>"$out/fz.err"
		rc=$?
		if [ $rc = 23 ] && grep -q "^Direct leak of [0-9]* byte(s) in [0-9]* object(s) allocated from:" "$out/fz.err" &&
			grep -A1 "^Direct leak of" "$out/fz.err" | grep -Eq "(\(| in )LLVMFuzzerTestOneInput[+ ]" &&
			grep -q "== spanalloc: SUMMARY: " "$out/fz.err"; then
			pass=$((pass + 1))
		else
			say_fail libfuzzer_leak "want status 23 and the leaks from LLVMFuzzerTestOneInput (status $rc)" "$out/fz.err"
		fi
	fi
fi

if [ -n "$table" ]; then
	echo "| program | spanalloc debug build | LeakSanitizer (liblsan0) | verdict |"
	echo "|---|---|---|---|"
	printf '%s' "$table"
fi
echo "leak tests ($mode): $pass passed, $fail failed"
[ $fail = 0 ]
