#!/usr/bin/env bash
# make fuzz-compare: real libFuzzer harnesses with heap bugs planted one at a
# time, fuzzed under five heap checkers; which bugs each finds, how fast,
# and at how many executions per second.
#
#   configurations  plain        clang -fsanitize=fuzzer, glibc malloc
#                   asan         -fsanitize=fuzzer,address (LeakSanitizer on)
#                   dislocator   plain + LD_PRELOAD=AFL++'s libdislocator.so
#                   debug        plain + libspanalloc-debug.a
#                   debug-efence debug, SPANALLOC_OPTIONS=efence=1
#                   (both with DEBUG_OPTIONS, symbolize=0 by default)
#   bugs            overflow (a byte written one past the block),
#                   read-after-free, write-after-free, double-free, leak,
#                   each in the free of one block of the target's own code,
#                   planted with sed on a scratch copy of its source
#   per campaign    -max_total_time=BUDGET; found = an artifact of the bug's
#                   kind (crash-/leak-), and the wall time until it
#   exec/s          a campaign on the build without a bug, per configuration
#   same inputs     each configuration runs the same REPLAY_RUNS executions
#                   (-runs, -seed=3) from one fixed corpus (FIXED_SECONDS of
#                   a plain campaign, kept in BUILD), or the first of them
#                   that REPLAY_SECONDS allow (the slow ones: libdislocator,
#                   efence=1; the corpus's own replay is the first few
#                   hundred of them), REPLAY_ROUNDS rounds
#                   alternated: executions per CPU-second, median.  A
#                   campaign's own exec/s depends on the inputs it happened
#                   to grow (each configuration grows others); this does not.
#
# Targets (fetched by whoever runs this, nothing of them is committed; each
# is copied under BUILD/fuzz-compare/src-TARGET-BUG and planted there):
#   CJSON=/path/to/cJSON    fuzzing/cjson_read_fuzzer.c; seeds: its
#                           fuzzing/inputs in the harness's 4 flag bytes + NUL
#   EXPAT=/path/to/libexpat/expat   fuzz/xml_parse_fuzzer.c (UTF-8); seeds:
#                           two small documents written here
#   JSONC=/path/to/json-c   fuzz/tokener_parse_ex_fuzzer.cc (C++, clang++;
#                           cmake configures it); seeds: three of its
#                           tests/*.json (its 20 KB one makes 20 KB inputs)
#   TARGETS="cjson expat jsonc"
# The bug sites are the SITE_*/PRE_* variables below: each bug fires only on
# a one-character string, element name or key, which the fuzzer must make.
#
# Budgets (parameters): BUDGET=seconds per campaign (60), CAMPAIGNS=runs per
# (target, config, bug) (5), CONFIGS="...", BUGS="...", EXEC_BUDGET=seconds
# of the exec/s campaign (BUDGET), JOBS=campaigns at a time (1),
# REPLAY_RUNS (100000), REPLAY_SECONDS (60), REPLAY_ROUNDS (3), FIXED_SECONDS (20).
# OUT=bench/results (fuzz-compare.md, .tsv, .dat, .png).
# AFL=1: instead, AFL++ persistent mode's exec/s per configuration (below).
#
# usage: bench/fuzz-compare.sh BUILD_DIR   (needs build/libspanalloc-debug.a)
set -u
B=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CJSON=${CJSON:-/work/ext/cJSON}
EXPAT=${EXPAT:-/work/ext/libexpat/expat}
JSONC=${JSONC:-/work/ext/json-c}
TARGETS=${TARGETS:-"cjson expat jsonc"}
JOBS=${JOBS:-1}
# The debug build's reports unsymbolized, as ASan's are here (symbolize=0):
# llvm-symbolizer at the report costs 0.5-4 s of the time to the find.
DEBUG_OPTIONS=${DEBUG_OPTIONS-symbolize=0}
CLANGXX=${CLANGXX:-clang++}
BUDGET=${BUDGET:-60}
EXEC_BUDGET=${EXEC_BUDGET:-$BUDGET}
CAMPAIGNS=${CAMPAIGNS:-5}
CONFIGS=${CONFIGS:-"plain asan dislocator debug debug-efence"}
BUGS=${BUGS:-"overflow read-after-free write-after-free double-free leak"}
OUT=${OUT:-$here/results}
CLANG=${CLANG:-clang}
LABEL=${LABEL:-}
DISLOCATOR=${DISLOCATOR:-$(ls /usr/lib/afl/libdislocator.so /usr/local/lib/afl/libdislocator.so 2>/dev/null | head -1)}
W=$B/fuzz-compare
mkdir -p "$W" "$OUT"
for tg in $TARGETS; do
	case $tg in
	cjson) [ -f "$CJSON/fuzzing/cjson_read_fuzzer.c" ] || { echo "$0: CJSON=$CJSON has no fuzzing/cjson_read_fuzzer.c" >&2; exit 2; } ;;
	expat) [ -f "$EXPAT/fuzz/xml_parse_fuzzer.c" ] || { echo "$0: EXPAT=$EXPAT has no fuzz/xml_parse_fuzzer.c (the expat/ directory of libexpat)" >&2; exit 2; } ;;
	jsonc) [ -f "$JSONC/fuzz/tokener_parse_ex_fuzzer.cc" ] || { echo "$0: JSONC=$JSONC has no fuzz/tokener_parse_ex_fuzzer.cc" >&2; exit 2; } ;;
	*) echo "$0: unknown target $tg (cjson expat jsonc)" >&2; exit 2 ;;
	esac
done
[ -n "$DISLOCATOR" ] || echo "$0: no libdislocator.so (bash ci/install-deps.sh fuzz); DISLOCATOR=path" >&2

# ---- the targets -------------------------------------------------------------
#
# Each target: src_T DIR (its sources copied into DIR, a scratch copy),
# SITE_T (the line of its own source where the bug goes, a sed pattern)
# and the planted code's pieces: PRE_T (declares fz_p, the block freed
# there, and fz_z, the condition that fires the bug), FREE_T (frees fz_p
# the project's way), PAST_T (the first byte past fz_p's block), RAW_T
# (a second free of the same block straight to free(), for the double
# free); build_T DIR OUT FLAGS; seeds_T DIR.

# cJSON (fuzzing/cjson_read_fuzzer.c): a string value of one character,
# deleted in cJSON_Delete; parse_string allocated its length + 2.
SITE_cjson='global_hooks.deallocate(item->valuestring);'
PRE_cjson='char *fz_p = item->valuestring; int fz_z = fz_p[0] != 0 && fz_p[1] == 0;'
FREE_cjson='global_hooks.deallocate(fz_p);'
PAST_cjson='fz_p[strlen(fz_p) + 2]'
RAW_cjson='global_hooks.deallocate(fz_p);'
src_cjson() {
	cp "$CJSON/cJSON.c" "$CJSON/cJSON.h" "$CJSON/fuzzing/cjson_read_fuzzer.c" "$1/"
	sed -i 's|#include "../cJSON.h"|#include "cJSON.h"|' "$1/cjson_read_fuzzer.c"
	PLANT_FILE=$1/cJSON.c PLANT_BEFORE='^CJSON_PUBLIC(void) cJSON_Delete(cJSON \*item)$'
}
build_cjson() { $CLANG $3 -o "$2" "$1/cJSON.c" "$1/cjson_read_fuzzer.c" $4 -lm; }
seeds_cjson() {
	local f
	for f in "$CJSON"/fuzzing/inputs/*; do # the harness's 4 flag bytes, the NUL
		{ printf '0000'; cat "$f"; printf '\0'; } >"$1/$(basename "$f")"
	done
}

# libexpat (expat/fuzz/xml_parse_fuzzer.c, UTF-8): the name buffer of an
# element whose name is one character, freed in XML_ParserFree (its
# bufEnd is the end of the block; expat's FREE goes through its
# allocation tracker, so the double free's second call is the raw free).
SITE_expat='FREE(parser, p->buf.raw);'
PRE_expat='char *fz_p = p->buf.raw; int fz_z = p->rawNameLength == 1;'
FREE_expat='FREE(parser, fz_p);'
PAST_expat='p->bufEnd[0]'
RAW_expat='parser->m_mem.free_fcn(fz_p - EXPAT_MALLOC_PADDING - sizeof(size_t));'
src_expat() {
	cp "$EXPAT"/lib/*.c "$EXPAT"/lib/*.h "$EXPAT/fuzz/xml_parse_fuzzer.c" "$1/"
	cat >"$1/expat_config.h" <<'CFG'
#define BYTEORDER 1234
#define HAVE_GETRANDOM 1
#define HAVE_SYSCALL_GETRANDOM 1
#define XML_DTD 1
#define XML_NS 1
#define XML_GE 1
#define XML_CONTEXT_BYTES 1024
CFG
	PLANT_FILE=$1/xmlparse.c PLANT_BEFORE='^#include "xmlrole.h"$'
}
build_expat() {
	$CLANG $3 -DENCODING_FOR_FUZZING=UTF-8 -I"$1" -o "$2" "$1/xmlparse.c" "$1/xmltok.c" "$1/xmlrole.c" "$1/random_getrandom.c" \
		"$1/xml_parse_fuzzer.c" $4
}
seeds_expat() {
	printf '<?xml version="1.0"?>\n<doc lang="en"><title>one</title><para>two &amp; three</para></doc>\n' >"$1/doc.xml"
	printf '<!DOCTYPE r [<!ENTITY e "text">]>\n<r xmlns:x="urn:x"><x:item id="1">&e;</x:item><!-- c --></r>\n' >"$1/dtd.xml"
}

# json-c (fuzz/tokener_parse_ex_fuzzer.cc, C++): the key of an object
# member that is one character (json_object_object_add strdup'd it),
# freed in json_object_lh_entry_free.
SITE_jsonc='free(lh_entry_k(ent));'
PRE_jsonc='char *fz_p = (char *)lh_entry_k(ent); int fz_z = fz_p[0] != 0 && fz_p[1] == 0;'
FREE_jsonc='free(fz_p);'
PAST_jsonc='fz_p[strlen(fz_p) + 1]'
RAW_jsonc='free(fz_p);'
src_jsonc() {
	cp "$JSONC"/*.c "$JSONC"/*.h "$JSONC/fuzz/tokener_parse_ex_fuzzer.cc" "$1/"
	# (configured out of tree: config.h, json_config.h, json.h)
	mkdir -p "$1/cfg" && cmake -S "$JSONC" -B "$1/cfg" -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF \
		-DBUILD_APPS=OFF >"$1/cfg/cmake.log" 2>&1 || { echo "$0: json-c's cmake failed: $1/cfg/cmake.log" >&2; return 1; }
	mkdir -p "$1/json-c" && cp "$1"/*.h "$1"/cfg/*.h "$1/json-c/"
	PLANT_FILE=$1/json_object.c PLANT_BEFORE='^static void json_object_lh_entry_free(struct lh_entry \*ent)$'
}
build_jsonc() {
	# The library's other files are the same for every bug: built once per
	# set of flags (keyed by them), json_object.c for each.
	local f objs="" lib; lib=$W/jsonc-lib-$(echo "$3" | cksum | cut -d' ' -f1)
	mkdir -p "$lib"
	for f in arraylist debug json_c_version json_object_iterator json_pointer json_tokener \
		json_util json_visit linkhash printbuf random_seed strerror_override json_patch; do
		[ -f "$lib/$f.o" ] || $CLANG $3 -I"$1/cfg" -I"$1" -c -o "$lib/$f.o" "$1/$f.c" || return 1
		objs="$objs $lib/$f.o"
	done
	$CLANG $3 -I"$1/cfg" -I"$1" -c -o "$2.json_object.o" "$1/json_object.c" || return 1
	$CLANGXX $3 -std=c++11 -I"$1/json-c" -I"$1/cfg" -o "$2" "$1/tokener_parse_ex_fuzzer.cc" "$2.json_object.o" $objs $4
}
seeds_jsonc() { cp "$JSONC"/tests/valid.json "$JSONC"/tests/valid_nested.json "$JSONC"/tests/json_patch_spec_tests.json "$1/"; }

plant() { # TARGET BUG -> the code that replaces SITE
	local t=$1 pre free past raw
	eval "pre=\$PRE_$t free=\$FREE_$t past=\$PAST_$t raw=\$RAW_$t"
	case $2 in
	none) echo "{ $pre $free }" ;;
	overflow) echo "{ $pre if (fz_z) $past = 'x'; $free }" ;;
	read-after-free) echo "{ $pre $free if (fz_z) fz_sink = ((volatile char *)fz_p)[0]; }" ;;
	write-after-free) echo "{ $pre $free if (fz_z) ((volatile char *)fz_p)[0] = 'W'; }" ;;
	double-free) echo "{ $pre $free if (fz_z) $raw }" ;;
	leak) echo "{ $pre if (!fz_z) $free }" ;;
	esac
}

build() { # TARGET BUG -> $W/bin/T-BUG-{plain,asan,debug}
	local t=$1 bug=$2 src=$W/src-$1-$2 site
	mkdir -p "$W/bin"
	# (kept from an earlier run of the same plant: REBUILD=1 rebuilds)
	[ -z "${REBUILD:-}" ] && [ -x "$W/bin/$t-$bug-plain" ] && [ -x "$W/bin/$t-$bug-asan" ] &&
		[ -x "$W/bin/$t-$bug-debug" ] && [ "$W/bin/$t-$bug-debug" -nt "$B/libspanalloc-debug.a" ] && return 0
	rm -rf "$src" && mkdir -p "$src"
	"src_$t" "$src" || return 1
	eval "site=\$SITE_$t"
	grep -qF "$site" "$PLANT_FILE" || { echo "$0: $t: no '$site' in $PLANT_FILE" >&2; return 1; }
	local r; r=$(plant "$t" "$bug" | sed 's/[&|]/\\&/g')
	local pat; pat=$(printf '%s' "$site" | sed 's/[][\\.*^$|]/\\&/g')
	sed -i "s|^\([[:space:]]*\)$pat|\1$r|" "$PLANT_FILE"
	sed -i "s|$PLANT_BEFORE|static volatile char fz_sink;\n&|" "$PLANT_FILE"
	grep -q "fz_p" "$PLANT_FILE" && grep -q "fz_sink;" "$PLANT_FILE" || { echo "$0: planting $bug in $t failed" >&2; return 1; }
	local flags="-g -O1 -fno-omit-frame-pointer -w"
	"build_$t" "$src" "$W/bin/$t-$bug-plain" "$flags -fsanitize=fuzzer" "" &&
		"build_$t" "$src" "$W/bin/$t-$bug-asan" "$flags -fsanitize=fuzzer,address" "" &&
		"build_$t" "$src" "$W/bin/$t-$bug-debug" "$flags -fsanitize=fuzzer" "$B/libspanalloc-debug.a -lpthread"
}

# run TARGET CONFIG BUG SEED SECONDS: one campaign, its row into its dir's "row"
# config TARGET CONFIG BUG: the caller's bin, pre (LD_PRELOAD) and opts
# (SPANALLOC_OPTIONS) for that configuration's build of TARGET with BUG.
config() {
	pre="" opts=""
	case $2 in
	plain) bin=$1-$3-plain ;;
	asan) bin=$1-$3-asan ;;
	dislocator) bin=$1-$3-plain; pre=$DISLOCATOR ;;
	debug) bin=$1-$3-debug; opts=$DEBUG_OPTIONS ;;
	debug-efence) bin=$1-$3-debug; opts=efence=1${DEBUG_OPTIONS:+,$DEBUG_OPTIONS} ;;
	esac
}

run() {
	local tg=$1 cfg=$2 bug=$3 seed=$4 t=$5 bin pre opts
	config "$tg" "$cfg" "$bug"
	local d=$W/run/$tg-$cfg-$bug-$seed
	rm -rf "$d" && mkdir -p "$d/corpus"
	local s e rc
	s=$(date +%s.%N)
	# No symbolizer process (-print_funcs=0, symbolize=0): it would run under
	# the preloaded allocator too (libdislocator aborts in llvm-symbolizer).
	# The preload is for the target alone, not for timeout.  -k: a target
	# that corrupted glibc's heap can hang in malloc at exit, and libFuzzer's
	# SIGTERM handler allocates, so SIGTERM alone may never end it.
	(cd "$d" && SPANALLOC_OPTIONS=$opts ASAN_OPTIONS=detect_leaks=1:symbolize=0 UBSAN_OPTIONS=symbolize=0 \
		nice /usr/bin/time -o "$d/cpu" -f "%U %S" timeout -k 10 $((t + 60)) env LD_PRELOAD="$pre" "$W/bin/$bin" \
		-max_total_time="$t" -seed="$seed" -detect_leaks=1 -print_funcs=0 -print_final_stats=1 \
		-artifact_prefix="$d/" corpus "$W/seeds-$tg" >log 2>&1)
	rc=$?
	e=$(date +%s.%N)
	local art; art=$(cd "$d" && ls crash-* leak-* oom-* timeout-* 2>/dev/null | head -1 | sed 's/-.*//')
	local eps; eps=$(grep -o 'average_exec_per_sec: *[0-9]*' "$d/log" | grep -o '[0-9]*$')
	local n; n=$(grep -o 'number_of_executed_units: *[0-9]*' "$d/log" | grep -o '[0-9]*$')
	local cpu; cpu=$(tail -1 "$d/cpu" | awk 'NF == 2 { print $1 + $2 }')
	local epc=0
	[ -n "$n" ] && [ -n "$cpu" ] && epc=$(echo "$n / ($cpu + 0.001)" | bc)
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$tg" "$cfg" "$bug" "$seed" "$rc" "$(echo "$e - $s" | bc)" \
		"${art:-none}" "${eps:-0}" "$epc" "$(cut -d' ' -f1 /proc/loadavg)" "${cpu:-0}" >"$d/row"
	echo "  $(cat "$d/row")"
}
export -f config run
export W DISLOCATOR DEBUG_OPTIONS

# replay TARGET CONFIG ROUND: REPLAY_RUNS executions from the fixed corpus
# (the same inputs for every configuration: -seed and the corpus fixed, and
# coverage, which steers the mutations, is the target's own), a row
# "target config round executions cpu_s died" on stdout.
replay() {
	local tg=$1 cfg=$2 round=$3 bin pre opts
	config "$tg" "$cfg" none
	local d=$W/replay/$tg-$cfg-$round
	rm -rf "$d" && mkdir -p "$d/new"
	(cd "$d" && SPANALLOC_OPTIONS=$opts ASAN_OPTIONS=detect_leaks=1:symbolize=0 \
		nice /usr/bin/time -o "$d/cpu" -f "%U %S" timeout -k 10 600 env LD_PRELOAD="$pre" "$W/bin/$bin" \
		-runs="$REPLAY_RUNS" -max_total_time="$REPLAY_SECONDS" -seed=3 -detect_leaks=1 -print_funcs=0 -print_final_stats=1 \
		-artifact_prefix="$d/" new "$W/fixed-$tg" >log 2>&1)
	local n cpu died=0
	n=$(grep -o 'number_of_executed_units: *[0-9]*' "$d/log" | grep -o '[0-9]*$')
	cpu=$(tail -1 "$d/cpu" | awk 'NF == 2 { print $1 + $2 }')
	grep -q "DONE" "$d/log" || died=1
	printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$tg" "$cfg" "$round" "${n:-0}" "${cpu:-0}" "$died"
}

# ---- AFL=1: AFL++ persistent mode, executions per second -------------------
#
# Each target's harness built with afl-clang-fast -fsanitize=fuzzer (AFL++'s
# libAFLDriver: persistent mode, __AFL_LOOP) without a bug, fuzzed by
# afl-fuzz for EXEC_BUDGET seconds from the same seeds under
# plain, asan, dislocator (AFL_PRELOAD) and debug; executions per second
# as afl-fuzz counts them (fuzzer_stats), and per CPU-second of afl-fuzz
# and its target together (user + sys: afl-fuzz's own work per execution
# is in it, as it is in a campaign).  (Not AFL_*: afl-fuzz warns of every
# AFL_ variable it does not know.)  Table: $OUT/afl-compare.md.
if [ -n "${AFL:-}" ]; then
	AFL_CC=${AFL_CC:-afl-clang-fast} AFL_CXX=${AFL_CXX:-afl-clang-fast++}
	AFL_CONFIGS=${AFL_CONFIGS:-"plain asan dislocator debug"}
	command -v afl-fuzz >/dev/null && command -v "$AFL_CC" >/dev/null ||
		{ echo "$0: no afl-fuzz / $AFL_CC (bash ci/install-deps.sh fuzz)" >&2; exit 2; }
	md=$OUT/afl-compare.md
	{
		echo "# AFL++ persistent mode: executions per second under four heap checkers"
		echo
		echo "afl-fuzz $(afl-fuzz -h 2>&1 | head -1 | sed 's/\x1b\[[0-9;]*m//g' | grep -o '++[0-9.a-z]*'), each harness built with $AFL_CC -fsanitize=fuzzer (libAFLDriver, persistent mode), no bug, -V $EXEC_BUDGET s from the same seeds under nice, one campaign at a time. Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores, shared)."
		echo
		echo "| target | config | execs | exec/s (afl-fuzz) | exec per CPU-s (afl-fuzz + target) | 1-min load after |"
		echo "|---|---|---|---|---|---|"
	} >"$md"
	for tg in $TARGETS; do
		rm -rf "$W/seeds-$tg" && mkdir -p "$W/seeds-$tg" && "seeds_$tg" "$W/seeds-$tg"
		build "$tg" none || { echo "$0: build of $tg failed" >&2; exit 1; }
		a=$W/afl src=$W/src-$tg-none && mkdir -p "$a"
		flags="-g -O1 -fno-omit-frame-pointer -w"
		# (json-c's objects are keyed by flags: a directory of their own for afl-clang-fast's)
		(W=$a CLANG=$AFL_CC CLANGXX=$AFL_CXX AFL_QUIET=1
			"build_$tg" "$src" "$a/$tg-plain" "$flags -fsanitize=fuzzer" "" &&
			"build_$tg" "$src" "$a/$tg-asan" "$flags -fsanitize=fuzzer,address" "" &&
			"build_$tg" "$src" "$a/$tg-debug" "$flags -fsanitize=fuzzer" "$B/libspanalloc-debug.a -lpthread") \
			>"$a/$tg.build" 2>&1 || { echo "$0: afl build of $tg failed: $a/$tg.build" >&2; exit 1; }
		for cfg in $AFL_CONFIGS; do
			bin=$a/$tg-$cfg pre=""
			case $cfg in
			dislocator) [ -n "$DISLOCATOR" ] || continue; bin=$a/$tg-plain pre=$DISLOCATOR ;;
			esac
			o=$a/run-$tg-$cfg && rm -rf "$o"
			AFL_PRELOAD=$pre SPANALLOC_OPTIONS=$DEBUG_OPTIONS ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0 \
				AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
				nice /usr/bin/time -o "$o.cpu" -f "%U %S" timeout -k 10 $((EXEC_BUDGET + 60)) afl-fuzz -V "$EXEC_BUDGET" -m none \
				-i "$W/seeds-$tg" -o "$o" -- "$bin" >"$o.log" 2>&1
			st=$o/default/fuzzer_stats
			n=$(awk '$1 == "execs_done" { print $3 }' "$st" 2>/dev/null)
			eps=$(awk '$1 == "execs_per_sec" { print $3 }' "$st" 2>/dev/null)
			cpu=$(tail -1 "$o.cpu" | awk 'NF == 2 { print $1 + $2 }')
			epc=0
			[ -n "$n" ] && [ -n "$cpu" ] && epc=$(echo "$n / ($cpu + 0.001)" | bc)
			grep -q "Persistent mode binary detected" "$o.log" || eps="${eps:-0} (not persistent: $o.log)"
			echo "| $tg | $cfg | ${n:-0} | ${eps:-0} | $epc | $(cut -d' ' -f1 /proc/loadavg) |" | tee -a "$md"
		done
	done
	exit 0
fi

tsv=$OUT/fuzz-compare.tsv
if [ -z "${REPORT_ONLY:-}" ]; then
rm -rf "$W"/jsonc-lib-* # (of an earlier run: json-c may have changed)
for tg in $TARGETS; do
	rm -rf "$W/seeds-$tg" && mkdir -p "$W/seeds-$tg" && "seeds_$tg" "$W/seeds-$tg"
	for bug in none $BUGS; do
		build "$tg" "$bug" || { echo "$0: build of $tg $bug failed" >&2; exit 1; }
	done
done
cfgs_here=""
for cfg in $CONFIGS; do
	[ "$cfg" = dislocator ] && [ -z "$DISLOCATOR" ] && continue
	cfgs_here="$cfgs_here $cfg"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# The same inputs under every configuration (see the top): the fixed corpus
# once per target, then the rounds, configurations alternated.
REPLAY_RUNS=${REPLAY_RUNS:-100000} REPLAY_ROUNDS=${REPLAY_ROUNDS:-3} FIXED_SECONDS=${FIXED_SECONDS:-20}
REPLAY_SECONDS=${REPLAY_SECONDS:-60}
rtsv=$OUT/fuzz-compare-replay.tsv
echo -e "target\tconfig\tround\texecutions\tcpu_s\tdied" >"$rtsv"
for tg in $TARGETS; do
	if [ ! -d "$W/fixed-$tg" ]; then
		mkdir -p "$W/fixed-$tg" && cp "$W/seeds-$tg"/* "$W/fixed-$tg/"
		"$W/bin/$tg-none-plain" -max_total_time="$FIXED_SECONDS" -seed=7 "$W/fixed-$tg" >"$W/fixed-$tg.log" 2>&1
	fi
done
for i in $(seq 1 "$REPLAY_ROUNDS"); do for tg in $TARGETS; do for cfg in $cfgs_here; do
	replay "$tg" "$cfg" "$i" | tee -a "$rtsv"
done; done; done
rm -rf "$W/run"
{ # the exec/s campaigns first, then rounds in which configurations alternate
	for tg in $TARGETS; do for cfg in $cfgs_here; do echo "$tg $cfg none 1 $EXEC_BUDGET"; done; done
	for i in $(seq 1 "$CAMPAIGNS"); do for tg in $TARGETS; do for bug in $BUGS; do for cfg in $cfgs_here; do
		echo "$tg $cfg $bug $i $BUDGET"
	done; done; done; done
} | xargs -P "$JOBS" -L 1 bash -c 'run "$@"' run
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo -e "target\tconfig\tbug\tcampaign\tstatus\tseconds\tartifact\texec_per_s\texec_per_cpu_s\tload1\tcpu_s" >"$tsv"
cat "$W"/run/*/row >>"$tsv"
echo "$load_before|$load_after|$JOBS" >"$OUT/fuzz-compare.load"
fi
IFS='|' read -r load_before load_after jobs <"$OUT/fuzz-compare.load"

# ---- the table and the chart ------------------------------------------------
python3 - "$tsv" "$OUT" "$BUDGET" "$CAMPAIGNS" "$load_before" "$load_after" "$jobs" "$LABEL" "$CONFIGS" "$BUGS" "$W" <<'EOF'
import sys, statistics, collections, re
tsv, out, budget, campaigns, lb, la, jobs, label, configs, bugs, w = sys.argv[1:]
configs, bugs = configs.split(), bugs.split()
rows = [l.rstrip('\n').split('\t') for l in open(tsv)][1:]
names = {'cjson': "cJSON's cjson_read_fuzzer", 'expat': "libexpat's xml_parse_fuzzer (UTF-8)",
         'jsonc': "json-c's tokener_parse_ex_fuzzer (C++)"}
mapfail = collections.Counter()
for r in rows:  # from each campaign's log: what ended it, and exec/s when no final stats were printed
    try:
        log = open(f"{w}/run/{r[0]}-{r[1]}-{r[2]}-{r[3]}/log", errors="replace").read()
    except OSError:
        continue
    if "[AFL] mprotect() failed" in log or "[AFL] out of memory" in log:
        r[6] = "mapfail"  # libdislocator ran out of mappings: the campaign died, no bug found
        mapfail[(r[0], r[1])] += 1
    if r[7] == "0":
        e = re.findall(r"exec/s: (\d+)", log)
        r[7] = e[-1] if e else "0"
want = {'overflow': 'crash', 'read-after-free': 'crash', 'write-after-free': 'crash', 'double-free': 'crash', 'leak': 'leak'}
targets = list(dict.fromkeys(r[0] for r in rows))
eps = {(r[0], r[1]): (int(r[7]), int(r[8])) for r in rows if r[2] == 'none'}
found = collections.defaultdict(list)
foundcpu = collections.defaultdict(list)
runs = collections.Counter()
for r in rows:
    if r[2] == 'none':
        continue
    runs[(r[0], r[1], r[2])] += 1
    if r[6] == want[r[2]]:
        found[(r[0], r[1], r[2])].append(float(r[5]))
        foundcpu[(r[0], r[1], r[2])].append(float(r[10]))
loads = [float(r[9]) for r in rows]
replay = collections.defaultdict(list)  # (target, config) -> executions per CPU-s of each round
replay_died = collections.Counter()
try:
    for l in list(open(f"{out}/fuzz-compare-replay.tsv"))[1:]:
        tg_, cfg_, rnd, n_, cpu_, died_ = l.rstrip('\n').split('\t')
        if died_ == '1':
            replay_died[(tg_, cfg_)] += 1
        elif float(cpu_) > 0:
            replay[(tg_, cfg_)].append(int(n_) / float(cpu_))
except OSError:
    pass
md = [f"# fuzz-compare: three projects' libFuzzer targets under five heap checkers{(' — ' + label) if label else ''}", "",
      f"Each campaign: libFuzzer, -max_total_time={budget} s, {campaigns} campaign(s) per target, bug and configuration "
      f"(-seed=1..{campaigns}), {jobs} campaign(s) at a time under nice. Load average (1/5/15 min) before: {lb}, after: {la}; "
      f"1-min load as campaigns ended: median {statistics.median(loads):.1f}, max {max(loads):.1f} (2 cores, shared).", "",
      "exec/s: the campaign without a bug, as libFuzzer printed it (wall clock: it moves with the load), and "
      "executions per CPU-second of the process (user + sys), which moves much less. Cells: campaigns that found "
      "the bug / campaigns, median seconds to the find (wall time, start-up included) and in parentheses the median "
      "CPU-seconds the campaign had used when it ended at the find; '—': never found. "
      "exec per CPU-s, same inputs: every configuration runs the same executions (-runs, -seed=3) from one fixed "
      "corpus (a plain campaign's), median of the rounds in fuzz-compare-replay.tsv; a round that died (no DONE) "
      "is left out and counted.", ""]
for tg in targets:
    cfgs = [c for c in configs if (tg, c) in eps]
    md += [f"## {names.get(tg, tg)}", "", "| | " + " | ".join(cfgs) + " |", "|---|" + "---|" * len(cfgs),
           "| exec/s (libFuzzer) | " + " | ".join(str(eps[(tg, c)][0]) for c in cfgs) + " |",
           "| exec per CPU-s | " + " | ".join(str(eps[(tg, c)][1]) for c in cfgs) + " |"]
    if any(replay[(tg, c)] or replay_died[(tg, c)] for c in cfgs):
        md.append("| exec per CPU-s, same inputs | " + " | ".join(
            (f"{statistics.median(replay[(tg, c)]):.0f}" if replay[(tg, c)] else "—") +
            (f" ({replay_died[(tg, c)]} died)" if replay_died[(tg, c)] else "") for c in cfgs) + " |")
    for b in bugs:
        cells = []
        for c in cfgs:
            f, n = found[(tg, c, b)], runs[(tg, c, b)]
            cells.append(f"{len(f)}/{n}, {statistics.median(f):.1f} s ({statistics.median(foundcpu[(tg, c, b)]):.1f})"
                         if f else f"0/{n}, —")
        md.append(f"| {b} | " + " | ".join(cells) + " |")
    for c in cfgs:
        if mapfail[(tg, c)]:
            md += ["", f"{c}: {mapfail[(tg, c)]} campaign(s) died of '[AFL] mprotect() failed when allocating memory' "
                   "(libdislocator's two mappings per block exhaust vm.max_map_count under libFuzzer); no bug found in those."]
    md.append("")
md += ["Raw rows: fuzz-compare.tsv (status, wall seconds, artifact kind, exec/s as libFuzzer printed them, executions "
       "per CPU-second, 1-min load at the end); campaign logs in BUILD/fuzz-compare/run/. Chart: fuzz-compare.png."]
open(f"{out}/fuzz-compare.md", "w").write("\n".join(md) + "\n")
with open(f"{out}/fuzz-compare.dat", "w") as d:
    for tg in targets:
        d.write(f"# {tg}\nconfig exec_per_cpu_s " + " ".join(bugs) + "\n")
        for c in configs:
            if (tg, c) in eps:
                rate = statistics.median(replay[(tg, c)]) if replay[(tg, c)] else eps[(tg, c)][1]
                d.write(c + " " + f"{rate:.0f}" + " " + " ".join(
                    f"{statistics.median(found[(tg, c, b)]):.1f}" if found[(tg, c, b)] else "NaN" for b in bugs) + "\n")
        d.write("\n\n")
print("\n".join(md))
EOF
if command -v gnuplot >/dev/null; then
	nb=$(echo $BUGS | wc -w)
	tgs=$(tail -n +2 "$tsv" | cut -f1 | awk '!s[$0]++')
	nt=$(echo $tgs | wc -w)
	{
		echo "set terminal pngcairo size 1200,$((330 * nt)) font \",9\" noenhanced"
		echo "set output \"$OUT/fuzz-compare.png\""
		echo "set multiplot layout $nt,2 title \"libFuzzer campaigns of ${BUDGET} s ${LABEL}\""
		echo 'set style data histograms; set style fill solid 0.8 border -1; set boxwidth 0.8; set xtics rotate by -20'
		i=0
		for tg in $tgs; do
			echo "set key off; set ylabel \"$tg: executions per CPU-s (same inputs)\"; set style histogram clustered"
			echo "plot \"$OUT/fuzz-compare.dat\" index $i using 2:xtic(1)"
			echo "set key outside right; set ylabel \"median s to find (gap: missed)\""
			echo "plot for [c=3:$((nb + 2))] \"$OUT/fuzz-compare.dat\" index $i using c:xtic(1) title columnheader(c)"
			i=$((i + 1))
		done
		echo 'unset multiplot'
	} | gnuplot
fi
