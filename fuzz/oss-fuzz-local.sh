#!/usr/bin/env bash
# Prove .clusterfuzzlite/build.sh without Docker: set up SRC, OUT and WORK
# and the compiler variables the way the OSS-Fuzz builder image does for
# libFuzzer (with ASan, then with UBSan), run build.sh from a copy of the
# source tree, check what it wrote, and run every target briefly on its
# seed corpus with its options, as the cluster would.
#
#   fuzz/oss-fuzz-local.sh            (OSSFUZZ_SECONDS per target, default 10)
#
# env: OSSFUZZ_SANITIZERS ("address undefined"), OSSFUZZ_SECONDS,
#      OSSFUZZ_DIR (default build/fuzz/oss-fuzz).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
top=${OSSFUZZ_DIR:-$root/build/fuzz/oss-fuzz}
secs=${OSSFUZZ_SECONDS:-10}

# infra/base-images/base-clang: the sanitizer flags of each build.
declare -A SAN_FLAGS=(
	[address]="-fsanitize=address -fsanitize-address-use-after-scope"
	[undefined]="-fsanitize=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr -fno-sanitize-recover=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
)
# infra/base-images/base-runner: the run-time options.
export ASAN_OPTIONS=alloc_dealloc_mismatch=0:allocator_may_return_null=1:allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:detect_container_overflow=1:detect_odr_violation=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:quarantine_size_mb=10:strict_memcmp=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3
export UBSAN_OPTIONS=print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:dedup_token_length=3

failed=0
for san in ${OSSFUZZ_SANITIZERS:-address undefined}; do
	base=$top/$san
	rm -rf "$base"
	mkdir -p "$base/src/spanalloc" "$base/out" "$base/work"
	# The image's copy of the repository (COPY . $SRC/spanalloc), without build outputs.
	tar -C "$root" --exclude=./build --exclude=./.git -cf - . | tar -C "$base/src/spanalloc" -xf -
	cp "$root/.clusterfuzzlite/build.sh" "$base/src/build.sh"
	common="-O1 -fno-omit-frame-pointer -gline-tables-only"
	(
		export SRC=$base/src OUT=$base/out WORK=$base/work
		export CC=clang CXX=clang++
		export CFLAGS="$common ${SAN_FLAGS[$san]} -fsanitize=fuzzer-no-link"
		export CXXFLAGS="$CFLAGS"
		export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
		export SANITIZER=$san FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c
		cd "$SRC/spanalloc"
		bash -eu "$SRC/build.sh"
	) >"$base/build.log" 2>&1 || {
		echo "oss-fuzz-local: $san: build.sh failed:"
		tail -30 "$base/build.log"
		exit 1
	}
	echo "oss-fuzz-local: $san: build.sh wrote $(ls "$base/out" | wc -l) files to ${base#"$root"/}/out"
	for t in "$base"/out/fuzz_*; do
		[[ -x $t && $t != *.* ]] || continue
		name=$(basename "$t")
		for f in "$t.options" "${t}_seed_corpus.zip"; do
			[[ -f $f ]] || { echo "oss-fuzz-local: $san: missing $(basename "$f")"; failed=1; }
		done
		corpus=$base/work/corpus-$name
		rm -rf "$corpus"
		mkdir -p "$corpus"
		[[ -f ${t}_seed_corpus.zip ]] && unzip -q -o "${t}_seed_corpus.zip" -d "$corpus"
		# The options file's [libfuzzer] section, as run_fuzzer passes it.
		opts=()
		while IFS='=' read -r k v; do
			k=${k// /}
			v=${v// /}
			[[ -n $k && -n $v && $k != \[* ]] || continue
			[[ $k == dict ]] && v=$base/out/$v
			opts+=("-$k=$v")
		done <"$t.options"
		log=$base/work/$name.log
		if (cd "$base/out" && "$t" "${opts[@]}" -max_total_time="$secs" \
			-print_final_stats=1 "$corpus") >"$log" 2>&1; then
			printf 'oss-fuzz-local: %-9s %-17s ok, %8s execs, %6s exec/s\n' "$san" "$name" \
				"$(grep -a '^stat::number_of_executed_units' "$log" | awk '{print $2}')" \
				"$(grep -a '^stat::average_exec_per_sec' "$log" | awk '{print $2}')"
		else
			printf 'oss-fuzz-local: %-9s %-17s FAILED: %s\n' "$san" "$name" \
				"$(grep -a -m1 -E 'FAIL|ERROR|runtime error|SUMMARY' "$log" | cut -c1-150)"
			failed=1
		fi
	done
done
exit $failed
