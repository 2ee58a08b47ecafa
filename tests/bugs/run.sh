#!/usr/bin/env bash
# Heap-bug death tests: one small program per bug (tests/bugs/*.c), each
# run against spanalloc; the program must die of SIGABRT (status 134) with
# the expected report on stderr, and the address in the report must be the
# one the program printed (with %p) on stdout before the bad call.
# clean.c must exit 0 with an empty stderr.
#
# usage: tests/bugs/run.sh LIB
#   LIB = path/to/libspanalloc.so   programs run with LD_PRELOAD=LIB
#   LIB = path/to/libspanalloc.a    programs are linked with LIB
#   LIB = system                    no spanalloc (glibc's malloc): shows
#                                   that the checks fail on other reports
# env:  CC (default cc), CFLAGS (extra), SA_LIBS (extra link flags for the
#       .a, default -lpthread), BUGS_BUILD_DIR (keep the binaries there),
#       BUGS_TIMEOUT (seconds per program, default 30), VERBOSE=1.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${1:-}
if [ -z "$lib" ]; then
	echo "usage: $0 LIB (libspanalloc.so | libspanalloc.a | system)" >&2
	exit 2
fi

CC=${CC:-cc}
timeout_s=${BUGS_TIMEOUT:-30}
mode=
case "$lib" in
system) mode=system ;;
*.so | *.so.*) mode=preload ;;
*.a) mode=link ;;
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
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-bugs.XXXXXX")
	trap 'rm -rf "$out"' EXIT
fi

# No options from the caller's environment: stats=1 would print to stderr.
unset SPANALLOC_OPTIONS
ulimit -c 0 2>/dev/null || true

# name : expectation
#   double    SIGABRT, "spanalloc: double free of 0x<addr>" + "size class"
#   interior  SIGABRT, "spanalloc: invalid free of 0x<addr>" + "size class"
#   outside   SIGABRT, "spanalloc: invalid free of 0x<addr>"
#   either    SIGABRT, a double free or an invalid free of 0x<addr>
#   realloc   SIGABRT, a double free, an invalid free or
#             "spanalloc: realloc of freed block" ... 0x<addr>
#   clean     exit 0, empty stderr
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
clean:clean
clean_early:clean
"

build() { # name -> binary path, or empty on failure
	local name=$1 bin=$out/$1 log=$out/$1.build.log
	local cflags="-std=gnu11 -O1 -g -Wall -Wextra -Werror -pthread ${CFLAGS:-}"
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

run() { # bin -> status; stdout in $bin.out, stderr in $bin.err
	local bin=$1
	# The subshell keeps bash's own "Aborted" notice out of the output.
	(
		if [ "$mode" = preload ]; then
			timeout -k 5 "$timeout_s" env LD_PRELOAD="$lib" "$bin" >"$bin.out" 2>"$bin.err"
		else
			timeout -k 5 "$timeout_s" "$bin" >"$bin.out" 2>"$bin.err"
		fi
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

# The address after the first of the given report prefixes on stderr.
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
report() { # name ok|msg
	local name=$1 msg=$2 bin=$out/$1
	if [ "$msg" = ok ]; then
		pass=$((pass + 1))
		echo "PASS $name"
		if [ "${VERBOSE:-0}" = 1 ] && [ -s "$bin.err" ]; then
			sed 's/^/    | /' "$bin.err"
		fi
	else
		fail=$((fail + 1))
		failed_names="$failed_names $name"
		echo "FAIL $name: $msg"
		if [ -f "$bin.err" ]; then
			echo "    stdout:"
			head -n 5 "$bin.out" 2>/dev/null | sed 's/^/    | /'
			echo "    stderr:"
			head -n 20 "$bin.err" | sed 's/^/    | /'
		fi
	fi
}

check() { # name kind status
	local name=$1 kind=$2 st=$3 bin=$out/$1
	local err=$bin.err printed got prefixes=()
	if [ "$kind" = clean ]; then
		[ "$st" -eq 0 ] || { report "$name" "exit status $st, want 0"; return; }
		[ -s "$err" ] && { report "$name" "stderr is not empty"; return; }
		report "$name" ok
		return
	fi
	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		report "$name" "timed out after ${timeout_s}s (deadlock in the report?)"
		return
	fi
	[ "$st" -eq 134 ] || { report "$name" "exit status $st, want 134 (SIGABRT)"; return; }
	case $kind in
	double) prefixes=("spanalloc: double free of 0x") ;;
	interior | outside) prefixes=("spanalloc: invalid free of 0x") ;;
	either) prefixes=("spanalloc: double free of 0x" "spanalloc: invalid free of 0x") ;;
	realloc) prefixes=("spanalloc: realloc of freed block" "spanalloc: double free of 0x"
		"spanalloc: invalid free of 0x") ;;
	esac
	printed=$(head -n1 "$bin.out")
	if [ -z "$printed" ]; then
		report "$name" "the program printed no address on stdout"
		return
	fi
	local p found=
	for p in "${prefixes[@]}"; do
		if grep -qF -- "$p" "$err"; then
			found=$p
			break
		fi
	done
	if [ -z "$found" ]; then
		report "$name" "stderr lacks $(printf '"%s" ' "${prefixes[@]}" | sed 's/" "/" or "/g')"
		return
	fi
	# The address: the first 0x... after the prefix (which may end in 0x).
	got=$(reported_addr "$err" "${found%0x}")
	if [ -z "$got" ] || [ "$got" = 0x ]; then
		report "$name" "no address after \"$found\""
		return
	fi
	if [ "$(norm_addr "$got")" != "$(norm_addr "$printed")" ]; then
		report "$name" "reported address $got, but the pointer freed was $printed"
		return
	fi
	case $kind in
	double | interior)
		grep -qF "size class" "$err" || { report "$name" "stderr lacks \"size class\""; return; }
		;;
	esac
	report "$name" ok
}

echo "spanalloc heap-bug tests: mode $mode${lib:+ ($lib)}, CC=$CC"

if [ "$mode" = preload ]; then
	probe=$(build probe_preloaded) || { echo "cannot build the probe" >&2; exit 2; }
	if ! run "$probe"; then
		echo "FAIL: $lib does not appear to be loaded with LD_PRELOAD" \
			"(sa_read_memstats not found): $(cat "$probe.out" "$probe.err")"
		echo "bugs: 0 passed, 1 failed"
		exit 1
	fi
fi

for entry in $tests; do
	name=${entry%%:*}
	kind=${entry#*:}
	if ! bin=$(build "$name"); then
		report "$name" "does not compile"
		continue
	fi
	run "$bin"
	st=$?
	check "$name" "$kind" "$st"
done

echo "bugs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
