#!/bin/bash -eu
# Build the spanalloc fuzz targets for OSS-Fuzz / ClusterFuzzLite.
#
# The cluster's builder image runs this with its own CC, CXX, CFLAGS,
# CXXFLAGS, LIB_FUZZING_ENGINE, SRC, OUT and WORK (fuzz/oss-fuzz-local.sh
# sets them the same way on a machine without Docker).  For each harness
# fuzz/fuzz_<name>.c it writes $OUT/fuzz_<name>, its seed corpus
# ($OUT/fuzz_<name>_seed_corpus.zip), dictionary and options.

cd "${SPANALLOC_SRC:-$SRC/spanalloc}"

harnesses="tiny small large realloc central threads badfree heap fixalloc options"

# The library from its own Makefile and sources, with the engine's flags
# (its -Werror dropped: a newer compiler's new warning must not stop the
# cluster).  SA_NO_STD_NAMES: the harnesses call the sa_ API and the
# sanitizer keeps its own malloc.
lib="$WORK/spanalloc-lib"
make -s B="$lib" CC="$CC" OPT="" WARN="-Wall" CFLAGS="$CFLAGS -DSA_NO_STD_NAMES" "$lib/libspanalloc.a"

inc="-Ifuzz -Isrc -Iinclude -DSA_NO_STD_NAMES"
# The operation engine: every fuzz/*.c that is not a harness or a driver
# (fuzz/engine.h lists them).
engine=()
for f in fuzz/*.c; do
	case "$f" in fuzz/fuzz_*.c | fuzz/replay_main.c | fuzz/afl_driver.c) continue ;; esac
	o="$WORK/engine-$(basename "$f" .c).o"
	$CC $CFLAGS -std=gnu11 $inc -c "$f" -o "$o"
	engine+=("$o")
done
for h in $harnesses; do
	$CC $CFLAGS -std=gnu11 $inc -c "fuzz/fuzz_$h.c" -o "$WORK/fuzz_$h.o"
	$CXX $CXXFLAGS $LIB_FUZZING_ENGINE "$WORK/fuzz_$h.o" "${engine[@]}" "$lib/libspanalloc.a" -lpthread \
		-o "$OUT/fuzz_$h"
	rm -f "$OUT/fuzz_${h}_seed_corpus.zip"
	if [ -d "corpus/$h" ] && [ -n "$(ls "corpus/$h")" ]; then
		(cd "corpus/$h" && zip -q -j "$OUT/fuzz_${h}_seed_corpus.zip" ./*)
	fi
	if [ -f "corpus/$h.dict" ]; then
		cp "corpus/$h.dict" "$OUT/fuzz_$h.dict"
	fi
	{
		echo "[libfuzzer]"
		[ -f "corpus/$h.dict" ] && echo "dict = fuzz_$h.dict"
		echo "max_len = 8192"
		echo "timeout = 25"
		echo "rss_limit_mb = 3072"
	} >"$OUT/fuzz_$h.options"
done
