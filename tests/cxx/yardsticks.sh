#!/usr/bin/env bash
# The C++ programs of two public suites, against glibc, the ASan runtime
# preloaded (no rebuild), hardened_malloc (when given) and both spanalloc
# builds.  Not in CI: the suites are fetched by whoever runs it.
#
# usage: tests/cxx/yardsticks.sh HARDENED_MALLOC_DIR MIMALLOC_BENCH_DIR [BUILD_DIR]
#   HARDENED_MALLOC_DIR   github.com/GrapheneOS/hardened_malloc (test/*.cc)
#   MIMALLOC_BENCH_DIR    github.com/daanx/mimalloc-bench (bench/security/*.cc)
#   BUILD_DIR             spanalloc's build directory (default: build)
# env:  CXX (default g++), ASAN (default: g++'s libasan.so), HARDENED_SO
#       (a built libhardened_malloc.so, optional)
#
# Judged as the suites do: mimalloc-bench's bench.sh counts a program as
# caught when it never prints NOT_CAUGHT (within 1 s); hardened_malloc's
# test_smc.py wants the invalid_* and *_mismatch programs killed by
# SIGABRT, and the others (correct programs) to exit 0 quietly.
set -u
hm=${1:?usage: $0 HARDENED_MALLOC_DIR MIMALLOC_BENCH_DIR [BUILD_DIR]}
mb=${2:?usage: $0 HARDENED_MALLOC_DIR MIMALLOC_BENCH_DIR [BUILD_DIR]}
b=$(cd "${3:-build}" && pwd)
CXX=${CXX:-g++}
ASAN=${ASAN:-$($CXX -print-file-name=libasan.so)}
out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-yard.XXXXXX")
trap 'rm -rf "$out"' EXIT
unset SPANALLOC_OPTIONS
# ASan reports with exit status 1 by default; SIGABRT as the others.
export ASAN_OPTIONS=abort_on_error=1
ulimit -c 0 2>/dev/null || true

names=(glibc asan)
libs=("" "$ASAN")
if [ -n "${HARDENED_SO:-}" ]; then
	names+=(hardened_malloc)
	libs+=("$HARDENED_SO")
fi
names+=(spanalloc spanalloc-debug)
libs+=("$b/libspanalloc.so" "$b/libspanalloc-debug.so")

progs=()
for f in "$hm"/test/*.cc; do
	n=hm/$(basename "$f" .cc)
	mkdir -p "$out/hm"
	$CXX -std=c++17 -fsized-deallocation -O2 -w -D_GNU_SOURCE -I"$hm/test" -o "$out/$n" "$f" && progs+=("$n")
done
for f in "$mb"/bench/security/*.cc; do
	n=mb/$(basename "$f" .cc)
	mkdir -p "$out/mb"
	$CXX -std=c++17 -fsized-deallocation -O2 -w -DALLOCATION_SIZE=4096 -I"$mb/bench/security" -o "$out/$n" "$f" &&
		progs+=("$n")
	# At -O2 g++ deletes a new/delete pair whose block is never used: the
	# program then has no bug left to catch.  -O0 keeps the calls.
	$CXX -std=c++17 -fsized-deallocation -O0 -w -DALLOCATION_SIZE=4096 -I"$mb/bench/security" -o "$out/$n-O0" "$f" &&
		progs+=("$n-O0")
done

# caught | missed | ok (a correct program, quiet) | FALSE (a correct one, reported or failed)
judge() { # judge PROG LIB
	local p=$1 lib=$2 st
	(timeout 1s env ${lib:+LD_PRELOAD=$lib} "$out/$p" >"$out/o" 2>"$out/e") 2>/dev/null
	st=$?
	case $p in
	mb/*) grep -q NOT_CAUGHT "$out/o" && echo missed || echo caught ;;
	hm/invalid_* | hm/*mismatch*) [ $st -eq 134 ] && echo caught || echo "missed($st)" ;;
	*) [ $st -eq 0 ] && ! grep -qi "error\|spanalloc:" "$out/e" && echo ok || echo "FALSE($st)" ;;
	esac
}

printf '%-38s' program
for n in "${names[@]}"; do printf ' %-16s' "$n"; done
echo
declare -A total
for p in "${progs[@]}"; do
	printf '%-38s' "$p"
	for i in "${!names[@]}"; do
		r=$(judge "$p" "${libs[$i]}")
		[ "$r" = caught ] && total[$i]=$((${total[$i]:-0} + 1))
		printf ' %-16s' "$r"
	done
	echo
done
printf '%-38s' "caught"
for i in "${!names[@]}"; do printf ' %-16s' "${total[$i]:-0}"; done
echo
