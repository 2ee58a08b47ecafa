#!/usr/bin/env bash
# Build libspanalloc.a for a fuzzing flavour, from the library's own
# Makefile and sources, into a directory of its own:
#
#   fuzz/build-lib.sh DIR CC "OPT" "CFLAGS" [LIBSRC [TARGET]]
#
# TARGET is the library's file name: libspanalloc.a (default), or
# libspanalloc-debug.a for the debug build.
# The flags are recorded in DIR/FLAGS; when they change, DIR is rebuilt from
# scratch (make alone would keep objects built with the old flags).  LIBSRC
# is the tree holding Makefile, src/ and include/ (default: this repository).
set -euo pipefail
dir=$1 cc=$2 opt=$3 cflags=$4
src=${5:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
target=${6:-libspanalloc.a}
stamp="src=$src target=$target cc=$cc opt=$opt cflags=$cflags"
if [[ -f "$dir/FLAGS" && "$(cat "$dir/FLAGS")" != "$stamp" ]]; then
	rm -rf "$dir"
fi
mkdir -p "$dir"
echo "$stamp" >"$dir/FLAGS"
# A clean environment for the library's make: nothing inherited from ours.
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CFLAGS \
	make -s --no-print-directory -C "$src" B="$dir" CC="$cc" OPT="$opt" CFLAGS="$cflags" "$dir/$target" |
	{ grep -v '^  CC ' || true; }
