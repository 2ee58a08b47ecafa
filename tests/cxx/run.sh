#!/usr/bin/env bash
# C++ tests: spanalloc's operator new / delete (src/cxx.c) in C++ programs,
# and C programs that must not need the C++ runtime.
#
# usage: tests/cxx/run.sh LIB
#   LIB = path/to/libspanalloc[-debug].so   programs run with LD_PRELOAD=LIB
#   LIB = path/to/libspanalloc[-debug].a    programs are linked with LIB
# env:  CXX (default c++), CC (default cc), VERBOSE=1
#
# The build is told apart by behaviour, as tests/bugs/run.sh does: the
# production build warns that a debug-only option does nothing.
#
#   mismatch.cc BUG   one bug per run; prints the block's address first.
#                     The table says the report each build must give
#                     (SIGABRT, the headline naming that address), or
#                     "quiet" (exit 0, nothing on stderr: the production
#                     build, which records no allocation family).
#   new_semantics.cc  bad_alloc, nothrow, the new-handler loop, new(0)
#   clean.cc          containers, every form of every size, threads
#   c_program.c       a C program: with the .so, no DT_NEEDED on the C++
#                     runtime; with the .a, linked by cc without
#                     -lstdc++ (also with the whole archive), and runs.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${1:-}
case "$lib" in
*.so) mode=preload ;;
*.a) mode=link ;;
*)
	echo "usage: $0 path/to/libspanalloc[-debug].{so,a}" >&2
	exit 2
	;;
esac
if [ ! -f "$lib" ]; then
	echo "$0: $lib: no such file (build the library first)" >&2
	exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
CXX=${CXX:-c++}
CC=${CC:-cc}
out=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-cxx.XXXXXX")
trap 'rm -rf "$out"' EXIT
unset SPANALLOC_OPTIONS
ulimit -c 0 2>/dev/null || true

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	[ -n "${VERBOSE:-}" ] && echo "ok   $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL $1: $2"
	[ -f "$out/err" ] && sed -n '1,12s/^/    | /p' "$out/err"
}

# Build a C++ program for this mode (-w: the bugs are on purpose).
build_cxx() {
	local name=$1
	if [ $mode = link ]; then
		$CXX -std=c++17 -O2 -g -w -pthread -o "$out/$name" "$here/$name.cc" "$lib" -lpthread
	else
		$CXX -std=c++17 -O2 -g -w -pthread -o "$out/$name" "$here/$name.cc"
	fi
}

run() { # run PROGRAM ARGS... (stdout: $out/out, stderr: $out/err)
	# (a subshell: bash's own "Aborted" line stays out of the test output)
	(if [ $mode = preload ]; then
		LD_PRELOAD=$lib timeout 60 "$@" >"$out/out" 2>"$out/err"
	else
		timeout 60 "$@" >"$out/out" 2>"$out/err"
	fi) 2>/dev/null
}

for p in mismatch new_semantics clean; do
	build_cxx $p || { bad "$p" "does not build"; exit 1; }
done

# Which build: the production one warns about a debug-only option.
SPANALLOC_OPTIONS=quarantine_kb=1 run "$out/clean"
if grep -q "does nothing" "$out/err"; then build=prod; else build=debug; fi
echo "cxx tests: $(basename "$lib") ($build build, $mode)"

# bug : the debug build's report : the production build's ("quiet": none)
M="alloc-dealloc-mismatch"
T="new-delete-type-mismatch"
table="
new_free:$M (operator new vs free) of the block at @:quiet
newarray_free:$M (operator new[] vs free) of the block at @:quiet
malloc_delete:$M (malloc vs operator delete) of the block at @:quiet
newarray_delete:$M (operator new[] vs operator delete) of the block at @:$T (size) of the block at @
new_deletearray:$M (operator new vs operator delete[]) of the block at @:quiet
realloc_new:$M (operator new[] vs realloc) of the block at @:quiet
sized_small:$T (size) of the block at @:$T (size) of the block at @
sized_near:$T (size) of the block at @:quiet
sized_tiny:$T (size) of the block at @:$T (size) of the block at @
sized_large:$T (size) of the block at @:$T (size) of the block at @
sized_array:$T (size) of the block at @:$T (size) of the block at @
sized_aligned:$T (size) of the block at @:$T (size) of the block at @
aligned_wrong:$T (alignment) of the block at @:quiet
aligned_unaligned_delete:$T (alignment) of the block at @:quiet
double_delete:double free of @:double free of @
"
while IFS=: read -r bug want_debug want_prod; do
	[ -n "$bug" ] || continue
	want=$want_debug
	[ $build = prod ] && want=$want_prod
	run "$out/mismatch" "$bug"
	st=$?
	addr=$(head -n1 "$out/out")
	if [ "$want" = quiet ]; then
		if [ $st -eq 0 ] && [ ! -s "$out/err" ]; then ok "$bug"; else bad "$bug" "status $st, want 0 and no report"; fi
		continue
	fi
	want=${want//@/$addr}
	if [ $st -ne 134 ]; then
		bad "$bug" "status $st, want 134 (SIGABRT)"
	elif ! grep -qF "spanalloc: $want" "$out/err"; then
		bad "$bug" "no \"spanalloc: $want\" in the report"
	elif ! grep -q "size class" "$out/err"; then
		bad "$bug" "the report names no size class"
	elif [ $build = debug ] && [ "$bug" != double_delete ] && ! grep -q "allocated at:" "$out/err"; then
		bad "$bug" "the debug report has no allocation stack"
	else
		ok "$bug"
	fi
done <<<"$table"

for p in new_semantics clean; do
	run "$out/$p"
	st=$?
	if [ $st -eq 0 ] && [ ! -s "$out/err" ]; then ok "$p"; else bad "$p" "status $st, want 0 and an empty stderr"; fi
done
# The debug build again with efence (blocks on pages of their own, another
# path for the kinds).  (Not new_semantics: efence never reuses the address
# space its handler frees, so the retry under a limit cannot succeed.)
if [ $build = debug ]; then
	SPANALLOC_OPTIONS=efence=1 run "$out/mismatch" new_deletearray
	st=$?
	if [ $st -eq 134 ] && grep -qF "$M (operator new vs operator delete[]) of the block at $(head -n1 "$out/out")" "$out/err"; then
		ok "new_deletearray efence=1"
	else
		bad "new_deletearray efence=1" "status $st, want the mismatch reported"
	fi
fi

# C programs need no C++ runtime.
rm -f "$out/err"
if [ $mode = preload ]; then
	if readelf -d "$lib" | grep NEEDED | grep -Eq 'libstdc\+\+|libc\+\+'; then
		bad "no C++ runtime" "$(basename "$lib") has a DT_NEEDED on a C++ runtime"
	else
		ok "no C++ runtime"
	fi
	$CC -O2 -o "$out/c_program" "$here/c_program.c" || bad c_program "does not build"
	# (every symbol bound at load: a strong reference to the C++ runtime fails)
	LD_BIND_NOW=1 run "$out/c_program"
	st=$?
	if [ $st -eq 0 ] && [ ! -s "$out/err" ]; then ok "c_program"; else bad "c_program" "status $st"; fi
else
	for how in "" whole; do
		if [ -n "$how" ]; then
			link=(-Wl,--whole-archive "$lib" -Wl,--no-whole-archive)
		else
			link=("$lib")
		fi
		if ! $CC -O2 -o "$out/c_program" "$here/c_program.c" "${link[@]}" -lpthread 2>"$out/err"; then
			bad "c_program ${how:-archive}" "does not link without -lstdc++"
			continue
		fi
		if readelf -d "$out/c_program" | grep NEEDED | grep -Eq 'libstdc\+\+|libc\+\+'; then
			bad "c_program ${how:-archive}" "needs a C++ runtime"
			continue
		fi
		run "$out/c_program"
		st=$?
		if [ $st -eq 0 ] && [ ! -s "$out/err" ]; then ok "c_program ${how:-archive}"; else bad "c_program ${how:-archive}" "status $st"; fi
	done
fi

echo "cxx tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
