#!/usr/bin/env bash
# bench/detect/leak-suites.sh — leak verdicts on three C projects' own test
# suites: the debug build's leak check next to LeakSanitizer's, test by test.
#
#   bench/detect/leak-suites.sh CJSON_DIR EXPAT_DIR JSONC_DIR [OUT.md]
#
# Takes
#   CJSON_DIR  a checkout of github.com/DaveGamble/cJSON
#   EXPAT_DIR  a checkout of github.com/libexpat/libexpat (root or expat/)
#   JSONC_DIR  a checkout of github.com/json-c/json-c
#   OUT.md     default bench/results/leak-suites.md
#   env SPANALLOC_BUILD  directory with libspanalloc-debug.so (default build/)
#   env LSAN_LIB         LeakSanitizer's runtime (default liblsan.so.0 of gcc,
#                        Debian's liblsan0)
#   env LEAK_WORK        scratch directory (default a new /tmp/spanalloc-leaksuites.*)
# Needs: cc, cmake, python3, timeout, liblsan0.  No network.  Each checkout is
# copied to the work directory and built there (CMake, RelWithDebInfo,
# -fno-omit-frame-pointer so that LSan's fast unwinder sees whole stacks),
# never modified.
#
# Every test of ctest's list runs twice, as ctest would run it (same command,
# same working directory), once with LD_PRELOAD=libspanalloc-debug.so (its
# default options: detect_leaks=1) and once with LD_PRELOAD=liblsan.so.0
# (LSan's defaults).  Children inherit the preload: json-c's tests are shell
# scripts that run the test program and diff its output, so the shell and
# diff are checked too, by both tools alike.  Each process that leaks prints
# one "SUMMARY: ... N byte(s) leaked in M allocation(s)." line; a test's
# verdict is the sorted list of those (bytes, allocations) pairs.  "same"
# means both tools gave the same list; anything else is listed with both.
#
# A planted leak per project (a sed edit of a copy: one allocation on a path
# every test takes is never freed) checks that both tools do report leaks in
# these builds: the "planted" rows must show leaks for both.
set -u
set -o pipefail

die() { echo "leak-suites: $*" >&2; exit 2; }
[ $# -ge 3 ] || die "usage: $0 CJSON_DIR EXPAT_DIR JSONC_DIR [OUT.md]"
CJ=$(cd "$1" 2>/dev/null && pwd) || die "no directory $1"
EX=$(cd "$2" 2>/dev/null && pwd) || die "no directory $2"
[ -f "$EX/expat/CMakeLists.txt" ] && EX=$EX/expat
JC=$(cd "$3" 2>/dev/null && pwd) || die "no directory $3"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${4:-$ROOT/bench/results/leak-suites.md}
LIB=${SPANALLOC_BUILD:-$ROOT/build}
LSAN=${LSAN_LIB:-$(gcc -print-file-name=liblsan.so.0 2>/dev/null)}
[ -f "$LSAN" ] || LSAN=$(ls /usr/lib/*/liblsan.so.0 2>/dev/null | head -1)
[ -f "$LSAN" ] || die "no liblsan.so.0 (apt-get install liblsan0, or set LSAN_LIB)"
[ -f "$CJ/cJSON.c" ] || die "$CJ is not a cJSON checkout"
[ -f "$EX/lib/xmlparse.c" ] || die "$EX is not a libexpat checkout"
[ -f "$JC/json_object.c" ] || die "$JC is not a json-c checkout"
[ -f "$LIB/libspanalloc-debug.so" ] || die "no $LIB/libspanalloc-debug.so (run make)"
for t in cc cmake python3 timeout ctest; do command -v $t >/dev/null || die "needs $t"; done
W=${LEAK_WORK:-$(mktemp -d /tmp/spanalloc-leaksuites.XXXXXX)}
mkdir -p "$W/lib"
cp "$LIB/libspanalloc-debug.so" "$W/lib/"
log() { echo "leak-suites: $*" >&2; }
log "work directory $W"

# build NAME SRC VARIANT CMAKE-ARGS...   (VARIANT: normal or planted)
build() {
	local name=$1 src=$2 variant=$3
	shift 3
	local d=$W/$name-$variant
	[ -f "$d/.built" ] && return 0
	rm -rf "$d" && mkdir -p "$d"
	cp -r "$src" "$d/src" && rm -rf "$d/src/build" "$d/src/.git"
	if [ "$variant" = planted ]; then
		plant_$name "$d/src" || die "the planted leak does not apply to $name (its code moved?)"
	fi
	log "building $name ($variant)"
	(cmake -S "$d/src" -B "$d/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS=-fno-omit-frame-pointer "$@" &&
		cmake --build "$d/build" -j2) >"$d/build.log" 2>&1 || die "$name ($variant) did not build: $d/build.log"
	touch "$d/.built"
}
# The planted leaks: a copy of the object every test creates, never freed.
plant_cjson() { # cJSON_New_Item: a 16-byte block per item, dropped
	sed -i 's|^\(    cJSON\* node = (cJSON\*)hooks->allocate(sizeof(cJSON));\)$|\1 (void)hooks->allocate(16);|' "$1/cJSON.c" &&
		grep -q '(void)hooks->allocate(16);' "$1/cJSON.c"
}
plant_expat() { # parserCreate: a 24-byte block per parser, dropped
	sed -i 's|^\(  XML_Parser parser = NULL;\)$|\1 __asm__ volatile("" : : "r"(malloc(24)));|' "$1/lib/xmlparse.c" &&
		grep -q 'malloc(24)' "$1/lib/xmlparse.c"
}
plant_jsonc() { # json_object_new: a 40-byte block per object, dropped
	sed -i 's|^\(\tjso = (struct json_object \*)malloc(alloc_size);\)$|\1 __asm__ volatile("" : : "r"(malloc(40)));|' "$1/json_object.c" &&
		grep -q 'malloc(40)' "$1/json_object.c"
}

for v in normal planted; do
	build cjson "$CJ" $v -DENABLE_CJSON_UTILS=On -DENABLE_CJSON_TEST=On
	build expat "$EX" $v -DEXPAT_BUILD_TESTS=ON -DEXPAT_BUILD_DOCS=OFF \
		-DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_FUZZERS=OFF
	build jsonc "$JC" $v -DBUILD_TESTING=ON -DBUILD_SHARED_LIBS=OFF
done

unset SPANALLOC_OPTIONS LSAN_OPTIONS ASAN_OPTIONS
export W LSAN DBG=$W/lib/libspanalloc-debug.so
export SA_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
export REVS="cJSON $(git -C "$CJ" rev-parse --short HEAD 2>/dev/null || echo '?'), libexpat $(git -C "$EX" rev-parse --short HEAD 2>/dev/null || echo '?'), json-c $(git -C "$JC" rev-parse --short HEAD 2>/dev/null || echo '?')"
python3 - "$W/leak-suites.md" <<'EOF'
import json, os, re, subprocess, sys

W, DBG, LSAN = os.environ["W"], os.environ["DBG"], os.environ["LSAN"]
SUMMARY = re.compile(r"SUMMARY: (?:\S+: )?(\d+) byte\(s\) leaked in (\d+) allocation\(s\)")

def ctest_list(build):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True,
                         text=True, check=True).stdout
    for t in json.loads(out)["tests"]:
        wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), build)
        yield t["name"], wd, t["command"]

def run(tool, wd, cmd, log):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "SPANALLOC_OPTIONS", "LSAN_OPTIONS")}
    env["LD_PRELOAD"] = DBG if tool == "spanalloc" else LSAN
    with open(log, "w") as fe:
        try:
            rc = subprocess.run(cmd, cwd=wd, env=env, stdout=subprocess.DEVNULL, stderr=fe,
                                stdin=subprocess.DEVNULL, timeout=600).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    text = open(log, errors="replace").read()
    leaks = sorted((int(b), int(a)) for b, a in SUMMARY.findall(text))
    crashed = "LeakSanitizer has encountered a fatal error" in text or "Tracer caught signal" in text
    return rc, leaks, crashed

def fmt(leaks, rc, crashed):
    if crashed:
        return "LSan failed (fatal error)"
    if not leaks:
        return "none"
    s = ", ".join(f"{b} B/{a}" for b, a in leaks)
    return s

rows, totals = [], {}
for proj in ("cjson", "expat", "jsonc"):
    for variant in ("normal", "planted"):
        build = f"{W}/{proj}-{variant}/build"
        logdir = f"{W}/logs/{proj}-{variant}"
        os.makedirs(logdir, exist_ok=True)
        t = totals.setdefault((proj, variant), {"tests": 0, "same": 0, "sa_leaky": 0, "lsan_leaky": 0, "lsan_failed": 0})
        for name, wd, cmd in ctest_list(build):
            sa = run("spanalloc", wd, cmd, f"{logdir}/{name}.spanalloc.err")
            ls = run("lsan", wd, cmd, f"{logdir}/{name}.lsan.err")
            t["tests"] += 1
            t["sa_leaky"] += bool(sa[1])
            t["lsan_leaky"] += bool(ls[1])
            t["lsan_failed"] += ls[2]
            if sa[1] == ls[1] and not ls[2]:
                t["same"] += 1
            else:
                rows.append((proj, variant, name, fmt(sa[1], sa[0], sa[2]), fmt(ls[1], ls[0], ls[2])))
            print(f"leak-suites: {proj}-{variant} {name}: spanalloc {fmt(sa[1], sa[0], sa[2])}; lsan {fmt(ls[1], ls[0], ls[2])}",
                  file=sys.stderr)

names = {"cjson": "cJSON", "expat": "libexpat", "jsonc": "json-c"}
out = []
out.append("# Leak verdicts on three projects' own test suites: spanalloc's debug build vs LeakSanitizer\n")
out.append(f"`bench/detect/leak-suites.sh` at spanalloc {os.environ['SA_REV']}; {os.environ['REVS']}; "
           "LeakSanitizer = Debian's liblsan0 (gcc 12), preloaded; spanalloc = libspanalloc-debug.so preloaded, "
           "default options. Every test of each project's ctest list, run as ctest runs it; a verdict is the list of "
           "(bytes, allocations) of every process that reported a leak (SUMMARY lines). \"planted\": the same suite "
           "with one allocation per parsed object / parser never freed (see the script).\n")
out.append("| project | suite | tests | same verdict | tests with leaks: spanalloc | LSan | LSan failed |")
out.append("|---|---|---|---|---|---|---|")
for (proj, variant), t in totals.items():
    out.append(f"| {names[proj]} | {variant} | {t['tests']} | {t['same']} | {t['sa_leaky']} | {t['lsan_leaky']} | {t['lsan_failed']} |")
if rows:
    out.append("\nTests whose verdicts differ:\n")
    out.append("| project | suite | test | spanalloc | LSan |")
    out.append("|---|---|---|---|---|")
    for r in rows:
        out.append(f"| {names[r[0]]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |")
else:
    out.append("\nEvery test got the same verdict from both tools.")
text = "\n".join(out) + "\n"
open(sys.argv[1], "w").write(text)
print(text)
EOF
rc=$?
[ $rc -eq 0 ] || die "the runs failed (rc $rc)"
cp "$W/leak-suites.md" "$OUT"
log "table written to $OUT"
