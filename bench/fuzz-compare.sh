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
#   bugs            overflow (one byte past a string value: parse_string allocates its length plus the quote and the NUL), read-after-free,
#                   write-after-free, double-free, leak: each fires when a
#                   string value of one character is deleted (the seeds have some) (cJSON_Delete),
#                   planted with sed on a scratch copy of the source
#   per campaign    -max_total_time=BUDGET; found = an artifact of the bug's
#                   kind (crash-/leak-), and the wall time until it
#   exec/s          a campaign on the build without a bug, per configuration
#
# Targets (fetched by whoever runs this, nothing of them is committed):
#   CJSON=/path/to/cJSON  (fuzzing/cjson_read_fuzzer.c; its fuzzing/inputs,
#                          wrapped in the harness's 4 flag bytes and NUL, seed)
# Only cJSON is wired up so far; libexpat (expat/fuzz/xml_parse_fuzzer.c) and
# json-c (fuzz/tokener_parse_ex_fuzzer.cc) are still to do (see the README).
#
# Budgets (parameters): BUDGET=seconds per campaign (60), CAMPAIGNS=runs per
# (config, bug) (5), CONFIGS="...", BUGS="...", EXEC_BUDGET=seconds of the
# exec/s campaign (BUDGET).  OUT=bench/results (fuzz-compare.md, .tsv, .png).
#
# usage: bench/fuzz-compare.sh BUILD_DIR   (needs build/libspanalloc-debug.a)
set -u
B=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CJSON=${CJSON:-/work/ext/cJSON}
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
[ -f "$CJSON/fuzzing/cjson_read_fuzzer.c" ] || { echo "$0: CJSON=$CJSON has no fuzzing/cjson_read_fuzzer.c" >&2; exit 2; }
[ -n "$DISLOCATOR" ] || echo "$0: no libdislocator.so (bash ci/install-deps.sh fuzz); DISLOCATOR=path" >&2

# The bug's code around cJSON_Delete's free of a string value.
plant() { # BUG -> the replacement of "global_hooks.deallocate(item->valuestring);"
	local pre='{ char *fz_p = item->valuestring; int fz_z = fz_p[0] != 0 && fz_p[1] == 0;'
	local free='global_hooks.deallocate(fz_p);'
	case $1 in
	none) echo "$pre $free }" ;;
	overflow) echo "$pre if (fz_z) fz_p[strlen(fz_p) + 2] = 'x'; $free }" ;;
	read-after-free) echo "$pre $free if (fz_z) fz_sink = ((volatile char *)fz_p)[0]; }" ;;
	write-after-free) echo "$pre $free if (fz_z) ((volatile char *)fz_p)[0] = 'W'; }" ;;
	double-free) echo "$pre $free if (fz_z) $free }" ;;
	leak) echo "$pre if (!fz_z) $free }" ;;
	esac
}

build() { # BUG KIND(plain|asan) -> $W/bin/cjson-BUG-KIND[-debug]
	local bug=$1 kind=$2 src=$W/src-$1
	if [ ! -d "$src" ]; then
		mkdir -p "$src"
		cp "$CJSON/cJSON.c" "$CJSON/cJSON.h" "$CJSON/fuzzing/cjson_read_fuzzer.c" "$src/"
		sed -i 's|#include "../cJSON.h"|#include "cJSON.h"|' "$src/cjson_read_fuzzer.c"
		local r; r=$(plant "$bug" | sed 's/[&|]/\\&/g')
		sed -i "s|^\( *\)global_hooks.deallocate(item->valuestring);|\1$r|" "$src/cJSON.c"
		sed -i 's|^CJSON_PUBLIC(void) cJSON_Delete(cJSON \*item)$|static volatile char fz_sink;\n&|' "$src/cJSON.c"
		grep -q "fz_p" "$src/cJSON.c" || { echo "$0: planting $bug failed" >&2; return 1; }
	fi
	mkdir -p "$W/bin"
	# (kept from an earlier run of the same plant: REBUILD=1 rebuilds)
	[ -z "${REBUILD:-}" ] && [ -x "$W/bin/cjson-$bug-$kind" ] && { [ "$kind" = asan ] || [ -x "$W/bin/cjson-$bug-debug" ]; } && return 0
	local san=fuzzer
	[ "$kind" = asan ] && san=fuzzer,address
	local flags="-g -O1 -fno-omit-frame-pointer -fsanitize=$san -w"
	$CLANG $flags -o "$W/bin/cjson-$bug-$kind" "$src/cJSON.c" "$src/cjson_read_fuzzer.c" -lm || return 1
	if [ "$kind" = plain ]; then
		$CLANG $flags -o "$W/bin/cjson-$bug-debug" "$src/cJSON.c" "$src/cjson_read_fuzzer.c" \
			"$B/libspanalloc-debug.a" -lpthread -lm || return 1
	fi
}

seeds() {
	rm -rf "$W/seeds" && mkdir -p "$W/seeds"
	local f
	for f in "$CJSON"/fuzzing/inputs/*; do
		{ printf '0000'; cat "$f"; printf '\0'; } >"$W/seeds/$(basename "$f")"
	done
}

# run CONFIG BUG SEED SECONDS -> "status seconds artifact execs_per_s"
run() {
	local cfg=$1 bug=$2 seed=$3 t=$4 bin pre="" opts=""
	case $cfg in
	plain) bin=cjson-$bug-plain ;;
	asan) bin=cjson-$bug-asan ;;
	dislocator) bin=cjson-$bug-plain; pre=$DISLOCATOR ;;
	debug) bin=cjson-$bug-debug ;;
	debug-efence) bin=cjson-$bug-debug; opts=efence=1 ;;
	esac
	local d=$W/run/$cfg-$bug-$seed
	rm -rf "$d" && mkdir -p "$d/corpus"
	local s e rc
	s=$(date +%s.%N)
	# No symbolizer process (-print_funcs=0, symbolize=0): it would run under
	# the preloaded allocator too (libdislocator aborts in llvm-symbolizer).
	# The preload is for the target alone, not for timeout.
	(cd "$d" && SPANALLOC_OPTIONS=$opts ASAN_OPTIONS=detect_leaks=1:symbolize=0 UBSAN_OPTIONS=symbolize=0 \
		timeout $((t + 60)) env LD_PRELOAD="$pre" "$W/bin/$bin" -max_total_time="$t" -seed="$seed" -detect_leaks=1 \
		-print_funcs=0 -print_final_stats=1 -artifact_prefix="$d/" corpus "$W/seeds" >log 2>&1)
	rc=$?
	e=$(date +%s.%N)
	local art; art=$(cd "$d" && ls crash-* leak-* oom-* timeout-* 2>/dev/null | head -1 | sed 's/-.*//')
	local eps; eps=$(grep -o 'average_exec_per_sec: *[0-9]*' "$d/log" | grep -o '[0-9]*$')
	echo "$rc $(echo "$e - $s" | bc) ${art:-none} ${eps:-0}"
}

tsv=$OUT/fuzz-compare.tsv
if [ -z "${REPORT_ONLY:-}" ]; then
seeds
for bug in none $BUGS; do
	build "$bug" plain && build "$bug" asan || { echo "$0: build of $bug failed" >&2; exit 1; }
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo -e "target\tconfig\tbug\tcampaign\tstatus\tseconds\tartifact\texec_per_s" >"$tsv"
for cfg in $CONFIGS; do
	[ "$cfg" = dislocator ] && [ -z "$DISLOCATOR" ] && continue
	r=$(run "$cfg" none 1 "$EXEC_BUDGET")
	printf "cjson\t%s\tnone\t1\t%s\n" "$cfg" "$(echo "$r" | tr " " "\t")" >>"$tsv"
	echo "  $cfg none: $r"
done
for i in $(seq 1 "$CAMPAIGNS"); do
	for bug in $BUGS; do
		for cfg in $CONFIGS; do # configurations alternate within a round
			[ "$cfg" = dislocator ] && [ -z "$DISLOCATOR" ] && continue
			r=$(run "$cfg" "$bug" "$i" "$BUDGET")
			printf "cjson\t%s\t%s\t%s\t%s\n" "$cfg" "$bug" "$i" "$(echo "$r" | tr " " "\t")" >>"$tsv"
			echo "  $cfg $bug #$i: $r"
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$load_before|$load_after" >"$OUT/fuzz-compare.load"
fi
IFS='|' read -r load_before load_after <"$OUT/fuzz-compare.load"

# ---- the table and the chart ------------------------------------------------
python3 - "$tsv" "$OUT" "$BUDGET" "$CAMPAIGNS" "$load_before" "$load_after" "$LABEL" "$CONFIGS" "$BUGS" "$W" <<'EOF'
import sys, statistics, collections, re
tsv, out, budget, campaigns, lb, la, label, configs, bugs, w = sys.argv[1:]
configs, bugs = configs.split(), bugs.split()
rows = [l.rstrip('\n').split('\t') for l in open(tsv)][1:]
mapfail = collections.Counter()
for r in rows:  # from each campaign's log: what ended it, and exec/s when no final stats were printed
    try:
        log = open(f"{w}/run/{r[1]}-{r[2]}-{r[3]}/log", errors="replace").read()
    except OSError:
        continue
    if "[AFL] mprotect() failed" in log or "[AFL] out of memory" in log:
        r[6] = "mapfail"  # libdislocator ran out of mappings: the campaign died, no bug found
        mapfail[r[1]] += 1
    if r[7] == "0":
        e = re.findall(r"exec/s: (\d+)", log)
        r[7] = e[-1] if e else "0"
want = {'overflow': 'crash', 'read-after-free': 'crash', 'write-after-free': 'crash', 'double-free': 'crash', 'leak': 'leak'}
eps = {r[1]: int(r[7]) for r in rows if r[2] == 'none'}
cfgs = [c for c in configs if c in eps]
found = collections.defaultdict(list)
runs = collections.Counter()
for r in rows:
    if r[2] == 'none':
        continue
    runs[(r[1], r[2])] += 1
    if r[6] == want[r[2]]:
        found[(r[1], r[2])].append(float(r[5]))
md = [f"# fuzz-compare: cJSON's cjson_read_fuzzer under five heap checkers{(' — ' + label) if label else ''}", "",
      f"Each campaign: libFuzzer, -max_total_time={budget}, {campaigns} campaign(s) per bug and configuration, "
      f"seeds: cJSON's fuzzing/inputs. Load average (1/5/15 min) before: {lb}, after: {la} (2 cores).", "",
      "exec/s: the campaign without a bug. Cells: campaigns that found the bug / campaigns, median seconds to the find "
      "(wall time, start-up included); '—': never found.", "",
      "| bug | " + " | ".join(cfgs) + " |", "|---|" + "---|" * len(cfgs),
      "| exec/s | " + " | ".join(str(eps[c]) for c in cfgs) + " |"]
for b in bugs:
    cells = []
    for c in cfgs:
        f, n = found[(c, b)], runs[(c, b)]
        cells.append(f"{len(f)}/{n}, {statistics.median(f):.1f} s" if f else f"0/{n}, —")
    md.append(f"| {b} | " + " | ".join(cells) + " |")
for c in cfgs:
    if mapfail[c]:
        md += ["", f"{c}: {mapfail[c]} campaign(s) of {sum(v for (k, _), v in runs.items() if k == c) + 1} died of "
               "'[AFL] mprotect() failed when allocating memory' (libdislocator's two mappings per block exhaust "
               "vm.max_map_count under libFuzzer); its exec/s is then the last one libFuzzer printed."]
md += ["", "Raw rows: fuzz-compare.tsv (status, wall seconds, artifact kind, exec/s as libFuzzer printed them); "
       "campaign logs in BUILD/fuzz-compare/run/. Chart: fuzz-compare.png (exec/s; median seconds to find)."]
open(f"{out}/fuzz-compare.md", "w").write("\n".join(md) + "\n")
with open(f"{out}/fuzz-compare.dat", "w") as d:
    d.write("config exec_per_s " + " ".join(bugs) + "\n")
    for c in cfgs:
        d.write(c + " " + str(eps[c]) + " " + " ".join(
            f"{statistics.median(found[(c, b)]):.1f}" if found[(c, b)] else "NaN" for b in bugs) + "\n")
print("\n".join(md))
EOF
if command -v gnuplot >/dev/null; then
	nb=$(echo $BUGS | wc -w)
	gnuplot <<EOF
set terminal pngcairo size 1100,450 font ",10" noenhanced
set output "$OUT/fuzz-compare.png"
set multiplot layout 1,2 title "cJSON cjson_read_fuzzer, libFuzzer, ${BUDGET} s campaigns ${LABEL}"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set key off
set ylabel "executions per second"
set xtics rotate by -30
plot "$OUT/fuzz-compare.dat" using 2:xtic(1) title "exec/s"
set key outside bottom horizontal
set ylabel "median seconds to find (missing: not found)"
set style histogram clustered gap 1
plot for [i=3:$((nb + 2))] "$OUT/fuzz-compare.dat" using i:xtic(1) title columnheader(i)
unset multiplot
EOF
fi
