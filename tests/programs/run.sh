#!/usr/bin/env bash
# Run real programs (python3, git, gcc, sort, sqlite3) twice, once with the
# system allocator and once with LIB preloaded, and compare their output.
#
#   bash tests/programs/run.sh LIB [CASE...]
#
# LIB: path to a malloc replacement (.so). CASE: python3 git gcc sort sqlite3
# (default: all). Prints PASS/FAIL per case, a diff excerpt for failures, and
# exits non-zero if any case failed or LIB is missing.
# Environment: CASE_TIMEOUT (seconds per program run, default 300),
# KEEP_TMP=1 (keep the scratch directory for a look afterwards).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
all_cases=(python3 git gcc sort sqlite3)
CASE_TIMEOUT=${CASE_TIMEOUT:-300}

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

(($# >= 1)) || usage
[[ "$1" != -h && "$1" != --help ]] || usage
lib_arg=$1
shift
if [[ ! -f "$lib_arg" ]]; then
  echo "programs: library '$lib_arg' not found" >&2
  exit 2
fi
lib=$(readlink -f -- "$lib_arg")
case "$lib" in
  *[[:space:]:]*)
    echo "programs: library path '$lib' contains a space or ':' (LD_PRELOAD cannot hold it)" >&2
    exit 2
    ;;
esac

cases=("$@")
((${#cases[@]} > 0)) || cases=("${all_cases[@]}")
for c in "${cases[@]}"; do
  if [[ " ${all_cases[*]} " != *" $c "* ]]; then
    echo "programs: unknown case '$c' (known: ${all_cases[*]})" >&2
    exit 2
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-programs.XXXXXX")
cleanup() {
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "programs: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export LC_ALL=C TZ=UTC
preload_value="$lib${LD_PRELOAD:+:$LD_PRELOAD}"

# ---------------------------------------------------------------------------
# Helpers used by the cases.

pass=sys # sys: system allocator; lib: LIB preloaded

# prog CMD [ARGS...]: run one program under test, with LIB preloaded in the
# lib pass, and a time limit so that a hang fails instead of blocking CI.
prog() {
  local pre=()
  if [[ "$pass" == lib ]]; then
    pre=("LD_PRELOAD=$preload_value")
  fi
  timeout -k 10 "$CASE_TIMEOUT" env "${pre[@]}" "$@"
}

need() {
  local t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "$t not installed (bash ci/install-deps.sh)"
      return 1
    fi
  done
}

# Deterministic pseudo-random numbers in awk (Park-Miller; exact in doubles,
# so mawk and gawk agree).
AWK_RNG='function rnd(m) { seed = (seed * 16807) % 2147483647; return seed % m }'

# ---------------------------------------------------------------------------
# python3: dicts/lists/strings/json; PYTHONMALLOC=malloc sends every object
# through malloc instead of pymalloc's arenas.

python=/usr/bin/python3
[[ -x "$python" ]] || python=$(command -v python3 || echo python3)

prepare_python3() { need "$python"; }
case_python3() {
  prog PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$python" "$here/workload.py" 200000
}

# ---------------------------------------------------------------------------
# git: a scratch repository, several commits of a few hundred files, log,
# gc (repack, multi-threaded delta search), fsck.

prepare_git() { need git; }
git_commit() { # N MESSAGE
  local d
  d=$(printf '2024-01-%02dT12:00:00+0000' "$1")
  GIT_AUTHOR_DATE=$d GIT_COMMITTER_DATE=$d prog git commit -q -m "$2"
}
case_git() {
  mkdir home
  export HOME=$PWD/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
    GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL=author@example.com \
    GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL=committer@example.com \
    GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=2 \
    GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0 \
    GIT_CONFIG_KEY_1=maintenance.auto GIT_CONFIG_VALUE_1=false
  prog git init -q -b main repo
  cd repo
  local i
  for i in 1 2 3 4 5 6; do
    # Commit i rewrites a different subset of 400 files over 20 directories,
    # deletes a few and adds new ones.
    awk -v round="$i" "$AWK_RNG"'
      BEGIN {
        seed = 1000 + round
        for (f = 0; f < 400; f++) {
          if (round > 1 && (f % 6) != (round % 6) && f % 7 != 0) continue
          if (round > 2 && f % 53 == round) continue
          dir = sprintf("d%02d", f % 20)
          if (!(dir in made)) { system("mkdir -p " dir); made[dir] = 1 }
          path = sprintf("%s/file%03d.txt", dir, f)
          n = 20 + rnd(200)
          for (l = 0; l < n; l++)
            printf "round %d line %d value %d %s\n", round, l, rnd(100000), substr("abcdefghijklmnopqrstuvwxyz", 1 + rnd(26)) > path
          close(path)
        }
      }'
    if ((i > 2)); then
      prog git rm -q -f "d0$i/file00$i.txt"
      prog git mv "d1$i/file01$i.txt" "d1$i/renamed$i.txt"
    fi
    prog git add -A
    git_commit "$i" "round $i"
  done
  prog git log --stat --format=fuller
  prog git log -p | sha256sum
  prog git rev-list --objects --all | sha256sum
  prog git diff --stat HEAD~5 HEAD | tail -n 1
  prog git gc --quiet
  prog git count-objects -v | grep -E '^(count|in-pack|garbage):'
  prog git fsck --full --strict --no-progress
  prog git ls-tree -r HEAD | sha256sum
  prog git rev-parse HEAD
}

# ---------------------------------------------------------------------------
# gcc: compile a generated translation unit with -O2; the object and the
# disassembly must be bit-identical.

prepare_gcc() {
  need gcc objdump || return 1
  awk -v nf=500 'BEGIN {
    print "#include <stddef.h>\n#include <stdlib.h>\n#include <string.h>"
    print "struct rec { int a; long b; double c; char name[24]; struct rec *next; };"
    print "extern void sink(void *p);"
    for (i = 0; i < nf; i++) {
      printf "struct rec *f%d(const unsigned *v, size_t n, struct rec *prev) {\n", i
      printf "  struct rec *r = malloc(sizeof *r);\n  if (!r) return prev;\n"
      printf "  unsigned acc = %du;\n", (i * 40503) % 65536
      if (i % 4 == 0)
        printf "  for (size_t k = 0; k < n; k++)\n    acc = acc * %du + (v[k] ^ (acc >> %d));\n", (i % 61) * 2 + 1, i % 13 + 1
      else
        printf "  acc = acc * %du + (n ? v[0] : %du);\n  acc ^= acc >> %d;\n", (i % 61) * 2 + 1, i, i % 13 + 1
      printf "  r->a = (int)(acc %% %d);\n  r->b = (long)acc * %d;\n  r->c = (double)acc / %d.0;\n", i % 89 + 7, i % 5 + 2, i % 17 + 1
      printf "  memcpy(r->name, \"fn%05d\", 8);\n  r->next = prev;\n", i
      printf "  if (r->a > %d) { sink(r); return prev; }\n  return r;\n}\n", i % 50
    }
    print "struct rec *(*const table[])(const unsigned *, size_t, struct rec *) = {"
    for (i = 0; i < nf; i++) printf "  f%d,\n", i
    print "};"
  }' >"$indir/gen.c"
}
case_gcc() {
  prog gcc -O2 -c "$indir/gen.c" -o gen.o
  sha256sum <gen.o
  prog objdump -d gen.o | sha256sum
  prog nm gen.o | wc -l
}

# ---------------------------------------------------------------------------
# sort: a million lines; plain, unique, numeric, and with a small buffer so
# that it merges temporary files. sort uses both cores on input this size.

prepare_sort() {
  need sort || return 1
  awk "$AWK_RNG"'
    BEGIN {
      seed = 42
      split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
      for (i = 0; i < 1000000; i++)
        printf "%s %d %s-%d\n", w[1 + rnd(12)], rnd(1000000), w[1 + rnd(12)], rnd(5000)
    }' >"$indir/data.txt"
}
case_sort() {
  local in=$indir/data.txt
  prog sort "$in" | sha256sum
  prog sort -u "$in" | sha256sum
  prog sort -n -k2,2 -s "$in" | sha256sum
  prog sort -r --parallel=2 -S 4M -T "$PWD" "$in" | sha256sum
}

# ---------------------------------------------------------------------------
# sqlite3: 170k inserts in one transaction, indexes, joins, group-by, window
# functions, integrity check, vacuum; a large page cache lives in malloc.

prepare_sqlite3() {
  need sqlite3 || return 1
  awk "$AWK_RNG"'
    BEGIN {
      seed = 7
      split("Oslo Lima Pune Kyiv Accra Quito Perth Turin Osaka Lagos", city, " ")
      split("bolt nut gear cog lever spring valve pipe", item, " ")
      print "PRAGMA cache_size = -65536;"
      print "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score INTEGER);"
      print "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, item TEXT, qty INTEGER, cents INTEGER, note TEXT);"
      print "BEGIN;"
      for (i = 1; i <= 20000; i++)
        printf "INSERT INTO customers VALUES(%d, %cc%06d-%s%c, %c%s%c, %d);\n", i, 39, i, item[1 + rnd(8)], 39, 39, city[1 + rnd(10)], 39, rnd(1000)
      for (i = 1; i <= 150000; i++)
        printf "INSERT INTO orders(customer_id, item, qty, cents, note) VALUES(%d, %c%s%c, %d, %d, %c%s%c);\n", 1 + rnd(20000), 39, item[1 + rnd(8)], 39, 1 + rnd(50), 100 + rnd(99900), 39, substr("the quick brown fox jumps over the lazy dog", 1 + rnd(20), rnd(30)), 39
      print "COMMIT;"
    }' >"$indir/load.sql"
  cat >"$indir/query.sql" <<'EOF'
PRAGMA cache_size = -65536;
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_item_qty ON orders(item, qty);
CREATE INDEX customers_city ON customers(city, score);
SELECT count(*), sum(qty), sum(cents) FROM orders;
SELECT city, count(*), sum(score), min(name), max(name) FROM customers GROUP BY city ORDER BY city;
SELECT c.city, o.item, count(*), sum(o.qty * o.cents)
  FROM orders o JOIN customers c ON c.id = o.customer_id
  GROUP BY c.city, o.item ORDER BY c.city, o.item;
SELECT c.id, c.name, count(o.id) AS n, sum(o.cents) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id ORDER BY total DESC, c.id LIMIT 15;
SELECT item, qty, count(*) FROM orders WHERE qty BETWEEN 10 AND 12 GROUP BY item, qty ORDER BY item, qty;
SELECT city, name, score, rnk FROM (
  SELECT city, name, score, rank() OVER (PARTITION BY city ORDER BY score DESC, id) AS rnk
  FROM customers) WHERE rnk <= 3 ORDER BY city, rnk;
SELECT length(group_concat(note, '|')) FROM (SELECT note FROM orders ORDER BY id);
SELECT count(DISTINCT note), count(DISTINCT customer_id) FROM orders;
UPDATE orders SET note = upper(note) || '!' WHERE id % 3 = 0;
DELETE FROM orders WHERE qty > 45;
SELECT count(*), sum(length(note)) FROM orders;
PRAGMA integrity_check;
VACUUM;
SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.score > 500;
EOF
}
case_sqlite3() {
  prog sqlite3 -batch -bail -init /dev/null db.sqlite <"$indir/load.sql"
  prog sqlite3 -batch -bail -init /dev/null db.sqlite <"$indir/query.sql"
}

# ---------------------------------------------------------------------------
# Driver.

status_name() { # " (SIGSEGV)" for 139, " (timed out)" for 124, else ""
  if (($1 == 124)); then
    echo " (timed out after ${CASE_TIMEOUT}s)"
  elif (($1 > 128 && $1 < 160)); then
    echo " (SIG$(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))"))"
  fi
}

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$((10#$t))"; }
secs() { printf '%d.%01d' "$(($1 / 1000000))" "$(($1 % 1000000 / 100000))"; }
# cpu_now: CPU time (user + system, microseconds) of all children reaped so
# far; it does not grow when the machine is busy, unlike the wall time. Not
# to be called in $(...): a subshell has reaped no children.
cpu_now=0
cpu_us() {
  local u s t total=0
  times >"$tmp/times"
  { read -r _ _; read -r u s; } <"$tmp/times"
  for t in "$u" "$s"; do
    [[ "$t" =~ ^([0-9]+)m([0-9]+)[.,]([0-9]{3})s$ ]] || return 0
    total=$((total + (BASH_REMATCH[1] * 60 + 10#${BASH_REMATCH[2]}) * 1000000 + 10#${BASH_REMATCH[3]} * 1000))
  done
  cpu_now=$total
}

# The preload must really be in effect: LIB mapped into a preloaded process.
maps=$(LD_PRELOAD="$preload_value" bash -c 'cat /proc/$$/maps' 2>"$tmp/preload.err" || true)
if ! grep -qF "/$(basename "$lib")" <<<"$maps"; then
  echo "FAIL preload: $lib is not mapped into a process started with LD_PRELOAD"
  sed 's/^/  | /' "$tmp/preload.err" | head -n 5
  exit 1
fi
echo "programs: preload of $lib in effect"

passed=0
failed=0
total_start=$(now_us)
cpu_us
cpu_start=$cpu_now
for c in "${cases[@]}"; do
  indir=$tmp/in/$c
  mkdir -p "$indir"
  if ! reason=$("prepare_$c" 2>&1); then
    echo "FAIL $c: preparation failed: $reason"
    failed=$((failed + 1))
    continue
  fi
  times=()
  cpu=()
  rcs=()
  for pass in sys lib; do
    work=$tmp/work # same path in both passes: paths may end up in output
    rm -rf "$work"
    mkdir -p "$work"
    out=$tmp/$c.$pass.out
    err=$tmp/$c.$pass.err
    t0=$(now_us)
    cpu_us
    c0=$cpu_now
    set +e
    (
      set -e
      cd "$work"
      "case_$c"
    ) >"$out" 2>"$err" </dev/null
    rc=$?
    set -e
    rcs+=("$rc")
    times+=("$(secs $(($(now_us) - t0)))")
    cpu_us
    cpu+=("$(secs $((cpu_now - c0)))")
    echo "exit status $rc" >>"$out"
  done
  why=""
  if [[ "$(tail -n 1 "$tmp/$c.sys.out")" != "exit status 0" ]]; then
    why="the run with the system allocator failed ($(tail -n 1 "$tmp/$c.sys.out"))"
  elif grep -q 'ld\.so: object .* cannot be preloaded' "$tmp/$c.lib.err"; then
    why="LIB could not be preloaded"
  elif ((rcs[1] != 0)); then
    why="exit status ${rcs[1]}$(status_name "${rcs[1]}") with LIB preloaded"
  elif ! cmp -s "$tmp/$c.sys.out" "$tmp/$c.lib.out"; then
    why="output differs from the system allocator's"
  fi
  if [[ -z "$why" ]]; then
    echo "PASS $c (system ${times[0]}s, preloaded ${times[1]}s; cpu ${cpu[0]}s, ${cpu[1]}s)"
    passed=$((passed + 1))
  else
    echo "FAIL $c: $why (system ${times[0]}s, preloaded ${times[1]}s; cpu ${cpu[0]}s, ${cpu[1]}s)"
    diff -u --label "system allocator" --label "preloaded" \
      "$tmp/$c.sys.out" "$tmp/$c.lib.out" | head -n 25 | sed 's/^/  | /' || true
    for pass in sys lib; do
      if [[ -s "$tmp/$c.$pass.err" ]]; then
        echo "  stderr ($pass, last lines):"
        tail -n 8 "$tmp/$c.$pass.err" | sed 's/^/  | /'
      fi
    done
    failed=$((failed + 1))
  fi
  rm -rf "$tmp/work" "$indir"
done

cpu_us
echo "programs: $(secs $(($(now_us) - total_start)))s total ($(secs $((cpu_now - cpu_start)))s cpu) with $(basename "$lib")"
echo "programs: $passed passed, $failed failed"
((failed == 0))
