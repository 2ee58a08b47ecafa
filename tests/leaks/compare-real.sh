#!/usr/bin/env bash
# Leak verdicts of real programs: the debug build's check next to
# LeakSanitizer's (liblsan0, preloaded), one row per command; every process
# of the command (children inherit LD_PRELOAD) counts.  Not in make test
# (it depends on what the machine has installed).
#
# usage: tests/leaks/compare-real.sh build/libspanalloc-debug.so [LSAN_LIB]
set -u
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
lsan=${2:-$(gcc -print-file-name=liblsan.so.0)}
[ -f "$lsan" ] || lsan=$(ls /usr/lib/*/liblsan.so.0 | head -1)
work=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-leakcmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
git init -q repo && (cd repo && echo hi >a && git add a && git -c user.email=a@b -c user.name=n commit -qm m)
printf 'int main(void) { return 0; }\n' >hello.c
PY=$(command -v /usr/bin/python3 || command -v python3)

# name ; command
cmds=(
	"python3 -c 'import json'|$PY -c 'import json, re; print(json.dumps({1: re.sub(\"a\", \"b\", \"aa\")}))'"
	"python3 (PYTHONMALLOC=malloc)|env PYTHONMALLOC=malloc $PY -c 'import json; print(json.dumps([1]))'"
	"git status|git -C repo status --short"
	"git log|git -C repo log --oneline"
	"sqlite3 :memory:|sqlite3 :memory: 'create table t(x); insert into t values(1); select * from t;'"
	"gcc -c hello.c|gcc -c hello.c -o hello.o"
	"sort|sort /etc/passwd"
)

summ() { # file -> "N processes with leaks: B bytes in A allocations"
	awk '/SUMMARY: .* byte\(s\) leaked in/ { for (i = 1; i <= NF; i++) if ($i == "byte(s)") b += $(i-1); else if ($i == "allocation(s).") a += $(i-1); p++ }
	     END { if (p) printf "%d bytes in %d allocations (%d process%s)", b, a, p, (p > 1 ? "es" : ""); else printf "none" }' "$1"
}

echo "| program | spanalloc debug build | LeakSanitizer (liblsan0) |"
echo "|---|---|---|"
for c in "${cmds[@]}"; do
	name=${c%%|*}
	cmd=${c#*|}
	LD_PRELOAD=$lib bash -c "$cmd" >/dev/null 2>"$work/sa.err"
	src=$?
	LD_PRELOAD=$lsan bash -c "$cmd" >/dev/null 2>"$work/ls.err"
	lrc=$?
	echo "| $name | $(summ "$work/sa.err"), status $src | $(summ "$work/ls.err"), status $lrc |"
	[ -n "${VERBOSE:-}" ] && { echo "--- spanalloc"; cat "$work/sa.err"; echo "--- lsan"; cat "$work/ls.err"; }
done
