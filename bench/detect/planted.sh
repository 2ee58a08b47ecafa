#!/usr/bin/env bash
# bench/detect/planted.sh — four heap bugs planted in cJSON, one at a time;
# which tool reports each while cJSON's own test suite runs.
#
#   bench/detect/planted.sh CJSON_DIR [OUT.md]
#
# Takes
#   CJSON_DIR  a checkout of github.com/DaveGamble/cJSON (never modified: it
#              is copied to the work directory and the copy is edited with
#              sed; nothing of cJSON's code is kept in this repository)
#   OUT.md     where the table goes (default: printed only)
#   env SPANALLOC_BUILD  directory with libspanalloc-debug.so (default: the
#              repo's build/)
#   env PLANTED_WORK     scratch directory (default: a new /tmp/spanalloc-planted.*)
#   env PLANTED_TABLE_ONLY=1  with PLANTED_WORK of an earlier run: print its
#                        table again without running anything
# Needs: cc, cmake, valgrind, timeout.  No network.
#
# The bugs (each a sed edit of cJSON.c; the script stops if an edit does not
# apply, e.g. on a cJSON version whose code moved):
#   overflow    parse_number copies the number's text with memcpy into its
#               temporary buffer with a length 3 too long: 2 bytes written
#               past the block (and 3 read past the number's text);
#   uaf-read    cJSON_Delete reads item->string of the item it just freed and
#               adds the result to a global counter nobody checks;
#   uaf-write   cJSON_Delete stores into item->type of the item it just freed
#               (64-byte cJSON struct, offset 24: not glibc's free-list
#               words); short tests free less than a quarantine's worth, so
#               the block is never handed out again;
#   double-free cJSON_ReplaceItemViaPointer frees the replaced item's struct a
#               second time after cJSON_Delete freed it.
# and "none" (no plant: the control, where every tool must stay silent).
#
# Tools: glibc (the normal build as it is; glibc's own checks), asan (cJSON
# rebuilt with -fsanitize=address -fno-omit-frame-pointer,
# ASAN_OPTIONS=detect_leaks=0: leaks are not among the planted bugs),
# memcheck (valgrind --tool=memcheck on the normal build, no leak check),
# debug (LD_PRELOAD=libspanalloc-debug.so, default options), efence (the
# same with SPANALLOC_OPTIONS=efence=1).  Both builds: CMake's default
# build type, ENABLE_CJSON_UTILS=On (so json_patch_tests and the utils
# tests run too), -g.
#
# The suite is ctest's list of tests (cJSON_test and the unity tests), each
# run as ctest runs it (same working directory) but with the tool in front,
# so that the tool does not also run ctest itself.  A tool "caught" a bug
# when it printed a report (a test failure or crash without a report is not
# a catch): the report line is matched per tool (glibc: "free(): ...",
# "double free or corruption", "malloc(): ..."; asan: "ERROR:
# AddressSanitizer"; memcheck: "Invalid read/write/free", "Mismatched
# free"...; debug, efence: "==PID== spanalloc: ", which reports start with and
# notices of a limit do not).
#
# Prints one table: per bug and tool, caught or not, the first report line
# (with the test it came from), and the tests that failed.
set -u
set -o pipefail

die() { echo "planted: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 CJSON_DIR [OUT.md]"
CJ=$(cd "$1" 2>/dev/null && pwd) || die "no directory $1"
[ -f "$CJ/cJSON.c" ] && [ -f "$CJ/tests/CMakeLists.txt" ] || die "$CJ is not a cJSON checkout"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${2:-}
LIB=${SPANALLOC_BUILD:-$ROOT/build}
[ -f "$LIB/libspanalloc-debug.so" ] || die "no $LIB/libspanalloc-debug.so (run make)"
for t in cc cmake valgrind timeout; do command -v $t >/dev/null || die "needs $t"; done
W=${PLANTED_WORK:-$(mktemp -d /tmp/spanalloc-planted.XXXXXX)}
mkdir -p "$W/lib"
cp "$LIB/libspanalloc-debug.so" "$W/lib/"
DBG=$W/lib/libspanalloc-debug.so
log() { echo "planted: $*" >&2; }
log "work directory $W"

BUGS="none overflow uaf-read uaf-write double-free"
TOOLS="glibc asan memcheck debug efence"

# plant BUG FILE: edit cJSON.c in place; fails if the edit did not apply.
plant() {
	local f=$2
	case $1 in
	none) return 0 ;;
	overflow)
		sed -i 's/memcpy(number_c_string, buffer_at_offset(input_buffer), number_string_length);/memcpy(number_c_string, buffer_at_offset(input_buffer), number_string_length + 3); \/* PLANTED *\//' "$f" ;;
	uaf-read)
		sed -i 's/^CJSON_PUBLIC(void) cJSON_Delete(cJSON \*item)$/extern size_t cJSON_planted_reads; size_t cJSON_planted_reads = 0; \/* PLANTED *\/\n&/' "$f"
		perl -0pi -e 's/(        global_hooks\.deallocate\(item\);\n)(        item = next;)/$1        cJSON_planted_reads += (item->string != NULL); \/* PLANTED *\/\n$2/' "$f" ;;
	uaf-write)
		perl -0pi -e 's/(        global_hooks\.deallocate\(item\);\n)(        item = next;)/$1        item->type = cJSON_Invalid; \/* PLANTED *\/\n$2/' "$f" ;;
	double-free)
		perl -0pi -e 's/(    item->prev = NULL;\n    cJSON_Delete\(item\);\n)/$1    cJSON_free(item); \/* PLANTED *\/\n/' "$f" ;;
	esac
	local want=1
	[ "$1" = uaf-read ] && want=2
	[ "$(grep -c 'PLANTED' "$f")" -eq $want ] || die "plant $1 did not apply to cJSON.c"
}

# build BUG KIND(normal|asan)
build() {
	local d=$W/$1-$2
	[ -f "$d/.built" ] && return 0
	rm -rf "$d"
	mkdir -p "$d"
	cp -r "$CJ" "$d/src"
	rm -rf "$d/src/build" "$d/src/.git"
	plant "$1" "$d/src/cJSON.c"
	local fl="-g"
	[ "$2" = asan ] && fl="-g -fsanitize=address -fno-omit-frame-pointer"
	(cmake -S "$d/src" -B "$d/build" -DENABLE_CJSON_UTILS=On -DENABLE_CJSON_TEST=On \
		-DCMAKE_C_FLAGS="$fl" -DCMAKE_EXE_LINKER_FLAGS="${fl#-g }" -DCMAKE_SHARED_LINKER_FLAGS="${fl#-g }" &&
		cmake --build "$d/build" -j2) >"$d/build.log" 2>&1 || die "cJSON ($1, $2) did not build, see $d/build.log"
	touch "$d/.built"
}

# tests of a build dir as "WORKDIR<TAB>COMMAND", from ctest's own list
tests_of() {
	(cd "$1" && ctest --show-only=json-v1) | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), "")
    print(t["name"] + "\t" + wd + "\t" + t["command"][0])'
}

report_re() {
	case $1 in
	glibc) echo '(^[a-z_]+\(\): |double free or corruption|^corrupted |^Fatal glibc error)' ;;
	asan) echo 'ERROR: AddressSanitizer' ;;
	memcheck) echo '^==[0-9]+== (Invalid (read|write|free)|Mismatched free|Source and destination overlap|Conditional jump|Use of uninitialised|Syscall param)' ;;
	debug | efence) echo '==[0-9]+== spanalloc: ' ;; # reports; a limit's notice ("spanalloc: efence: ...") is not one
	esac
}

# run BUG TOOL: runs the suite, leaves $R/BUG.TOOL.{caught,first,fails}
R=$W/res
mkdir -p "$R"
run() {
	local bug=$1 tool=$2 kind=normal
	[ "$tool" = asan ] && kind=asan
	local bd=$W/$bug-$kind/build
	local re
	re=$(report_re "$tool")
	: >"$R/$bug.$tool.fails"
	: >"$R/$bug.$tool.first"
	local name wd cmd
	while IFS=$'\t' read -r name wd cmd; do
		[ -n "$wd" ] || wd=$bd
		local o=$R/$bug.$tool.$name
		local pre=()
		case $tool in
		memcheck) pre=(valgrind --tool=memcheck --leak-check=no --error-exitcode=99) ;;
		debug) pre=(env LD_PRELOAD="$DBG") ;;
		efence) pre=(env LD_PRELOAD="$DBG" SPANALLOC_OPTIONS=efence=1) ;;
		asan) pre=(env ASAN_OPTIONS=detect_leaks=0) ;;
		esac
		(cd "$wd" && timeout 300 "${pre[@]}" "$cmd" >"$o.out" 2>"$o.err" </dev/null)
		local rc=$?
		[ $rc -ne 0 ] && echo "$name(rc $rc)" >>"$R/$bug.$tool.fails"
		if [ ! -s "$R/$bug.$tool.first" ]; then
			local l
			l=$(grep -E -m1 "$re" "$o.err" "$o.out" 2>/dev/null | head -n 1 | sed -E 's/^[^:]*\.(err|out)://; s/^==[0-9]+== ?//; s/ at pc 0x.*//' | tr -d '|`' | cut -c1-120)
			[ -n "$l" ] && echo "$name: $l" >"$R/$bug.$tool.first"
		fi
	done < <(tests_of "$bd")
}

unset SPANALLOC_OPTIONS
for bug in $BUGS; do
	log "building cJSON with bug $bug"
	build "$bug" normal
	build "$bug" asan
done
# tools alternate within each bug; one suite run at a time
[ -n "${PLANTED_TABLE_ONLY:-}" ] || for bug in $BUGS; do
	for tool in $TOOLS; do
		log "running $bug under $tool"
		run "$bug" "$tool"
	done
done

NT=$(tests_of "$W/none-normal/build" | wc -l)
{
	echo "## Planted bugs in cJSON ($(git -C "$CJ" rev-parse --short HEAD 2>/dev/null || echo '?'), its $NT ctest tests)"
	echo
	echo "Made by \`bench/detect/planted.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), spanalloc" \
		"$(git -C "$ROOT" describe --always --dirty 2>/dev/null)). A cell is the tool's first"
	echo "report line (and the test it came from), or \`-\` when the tool printed no report;"
	echo "failed tests follow in brackets."
	echo
	echo "| bug | glibc | asan | memcheck | debug | efence=1 |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for bug in $BUGS; do
		line="| $bug"
		for tool in $TOOLS; do
			f=$(sed -E "s/ at pc 0x.*//" "$R/$bug.$tool.first")
			nf=$(grep -c . "$R/$bug.$tool.fails")
			c=${f:--}
			if [ "$nf" -gt 0 ] && [ "$nf" -le 2 ]; then
				c="$c [failed: $(tr '\n' ' ' <"$R/$bug.$tool.fails" | sed 's/ $//')]"
			elif [ "$nf" -gt 2 ]; then
				c="$c [$nf of $NT tests failed]"
			fi
			line="$line | $c"
		done
		echo "$line |"
	done
	echo
	echo "| caught (of 4 bugs) |$(for tool in $TOOLS; do n=0; for bug in $BUGS; do [ $bug = none ] && continue; [ -s "$R/$bug.$tool.first" ] && n=$((n + 1)); done; printf ' %s |' $n; done)"
} >"$W/planted.md"
[ -n "$OUT" ] && { mkdir -p "$(dirname "$OUT")"; cp "$W/planted.md" "$OUT"; }
cat "$W/planted.md"
