#!/usr/bin/env bash
# CPU cost of the debug build's two unwinders on real programs: each
# program under glibc, the debug build with fast_unwind=1 (frame pointers)
# and with fast_unwind=0 (.eh_frame), alternated run by run; prints the
# median user+system CPU seconds of each and the ratios.
#
#   bash bench/unwind_cost.sh [ROUNDS]     (default 5; needs make first)
#
# Programs: python3 tests/programs/workload.py (PYTHONMALLOC=malloc: every
# object through malloc), sqlite3 on a generated script, git log -p on this
# repository.  CPU time, not wall time: the machine may be shared.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lib=$root/build/libspanalloc-debug.so
rounds=${1:-5}
[ -f "$lib" ] || { echo "build $lib first (make)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/sql" <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    f.write("create table t(a integer, b text, c text);\nbegin;\n")
    for i in range(60000):
        f.write("insert into t values(%d,'%s','%s');\n" % (r.randrange(10**6), "x" * r.randrange(1, 60), "k%d" % r.randrange(5000)))
    f.write("commit;\ncreate index ia on t(a);\ncreate index ic on t(c);\n")
    f.write("select c, count(*), max(length(b)) from t group by c order by 2 desc limit 5;\n")
    f.write("update t set b = b || 'y' where a % 3 = 0;\nselect count(*) from t where b like '%y';\n")
PY

progs=(python3 sqlite3 git)
cmd() {
	case $1 in
	python3) PYTHONMALLOC=malloc PYTHONHASHSEED=0 /usr/bin/python3 "$root/tests/programs/workload.py" 100000 ;;
	sqlite3) sqlite3 -batch :memory: <"$tmp/sql" ;;
	git) git -C "$root" log -p -n 400 ;;
	esac
}
cpu() { # prog mode -> user+sys seconds
	local prog=$1 mode=$2 t
	t=$( { /usr/bin/time -f "%U %S" bash -c "$(declare -f cmd); root=$root tmp=$tmp; $(
		case $mode in
		glibc) echo "cmd $prog" ;;
		fp) echo "LD_PRELOAD=$lib SPANALLOC_OPTIONS=fast_unwind=1 cmd $prog" ;;
		eh) echo "LD_PRELOAD=$lib SPANALLOC_OPTIONS=fast_unwind=0 cmd $prog" ;;
		esac)" >/dev/null 2>"$tmp/err"; } 2>&1; tail -n1 "$tmp/err")
	awk '{print $1 + $2}' <<<"$t"
}
declare -A res
for ((r = 0; r < rounds; r++)); do
	for p in "${progs[@]}"; do
		for m in glibc fp eh; do
			res[$p.$m]+="$(cpu "$p" "$m") "
		done
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "load: $(uptime)"
printf '%-8s %8s %8s %8s %10s %10s %8s\n' program glibc fp eh "fp/glibc" "eh/glibc" "eh/fp"
for p in "${progs[@]}"; do
	g=$(median <<<"${res[$p.glibc]}"); f=$(median <<<"${res[$p.fp]}"); e=$(median <<<"${res[$p.eh]}")
	awk -v p="$p" -v g="$g" -v f="$f" -v e="$e" 'BEGIN { printf "%-8s %8.2f %8.2f %8.2f %10.2f %10.2f %8.2f\n", p, g, f, e, f/g, e/g, e/f }'
done
