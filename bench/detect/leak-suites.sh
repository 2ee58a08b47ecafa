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
#   env ONLY="cjson expat jsonc"  the projects to run; the others' rows come
#                        from an earlier run in the same LEAK_WORK, if any
# Needs: cc, cmake, python3, valgrind, liblsan0.  No network.  Each checkout is
# copied to the work directory and built there (CMake, RelWithDebInfo,
# -fno-omit-frame-pointer so that LSan's fast unwinder sees whole stacks),
# never modified.
#
# Every test of ctest's list runs three times, as ctest would run it (same
# command, same working directory): with LD_PRELOAD=libspanalloc-debug.so
# (its default options: detect_leaks=1), with LD_PRELOAD=liblsan.so.0 (LSan's
# defaults) and under valgrind --leak-check=full (memcheck's definitely and
# indirectly lost blocks: the arbiter when the two others differ).  Children
# are checked too (the preload is inherited; valgrind --trace-children):
# json-c's tests are shell scripts that run sed, diff and the test program.
# Every process's report goes to a file of its own (log_path, --log-file),
# so the tests' output, which json-c's compare with what they expect, stays
# clean.  A test's verdict is the sorted list of (bytes, blocks) of the
# processes that leaked; tests where the three differ are listed.
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
for t in cc cmake python3 ctest valgrind; do command -v $t >/dev/null || die "needs $t"; done
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
export W LSAN ONLY=${ONLY:-cjson expat jsonc} DBG=$W/lib/libspanalloc-debug.so
export SA_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
export REVS="cJSON $(git -C "$CJ" rev-parse --short HEAD 2>/dev/null || echo '?'), libexpat $(git -C "$EX" rev-parse --short HEAD 2>/dev/null || echo '?'), json-c $(git -C "$JC" rev-parse --short HEAD 2>/dev/null || echo '?')"
python3 - "$W/leak-suites.md" <<'EOF'
import glob, json, os, re, shutil, subprocess, sys

W, DBG, LSAN = os.environ["W"], os.environ["DBG"], os.environ["LSAN"]
SUMMARY = re.compile(r"SUMMARY: (?:\S+: )?(\d+) byte\(s\) leaked in (\d+) allocation\(s\)")
VG_DEF = re.compile(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks")
VG_IND = re.compile(r"indirectly lost: ([\d,]+) bytes in ([\d,]+) blocks")
TOOLS = ("spanalloc", "lsan", "memcheck")

def ctest_list(build):
    """ctest's tests: name, working directory, command.  Without a
    WORKING_DIRECTORY property ctest runs a test in the build directory of
    the CMakeLists.txt that added it (json-c's scripts find their program
    from there)."""
    out = json.loads(subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True,
                                    text=True, check=True).stdout)
    graph = out.get("backtraceGraph", {})
    src = os.path.join(os.path.dirname(build), "src")
    for t in out["tests"]:
        wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), None)
        if wd is None:
            wd = build
            try:
                f = graph["files"][graph["nodes"][t["backtrace"]]["file"]]
                rel = os.path.relpath(os.path.dirname(f), src)
                if not rel.startswith(".."):
                    wd = os.path.normpath(os.path.join(build, rel))
            except (KeyError, IndexError, TypeError):
                pass
        yield t["name"], wd, t["command"]

def num(x):
    return int(x.replace(",", ""))

def run(tool, wd, cmd, logdir):
    """Runs one test under tool; every process's report goes to a file of
    its own in logdir (log_path: the tests' own output, which some compare
    with what they expect, stays clean). Returns (passed, leaks)."""
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "SPANALLOC_OPTIONS", "LSAN_OPTIONS")}
    env["USE_VALGRIND"] = "0"  # json-c's scripts would run their program under valgrind
    if tool == "spanalloc":
        env["LD_PRELOAD"] = DBG
        env["SPANALLOC_OPTIONS"] = f"log_path={logdir}/sa"
    elif tool == "lsan":
        env["LD_PRELOAD"] = LSAN
        env["LSAN_OPTIONS"] = f"log_path={logdir}/lsan"
    else:
        cmd = ["valgrind", "--trace-children=yes", f"--log-file={logdir}/vg.%p",
               "--leak-check=full", "--show-leak-kinds=definite,indirect"] + list(cmd)
    try:
        rc = subprocess.run(cmd, cwd=wd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, timeout=1800).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    leaks = []
    for f in glob.glob(f"{logdir}/*"):
        text = open(f, errors="replace").read()
        if tool == "memcheck":
            d, i = VG_DEF.search(text), VG_IND.search(text)
            b = (num(d.group(1)) if d else 0) + (num(i.group(1)) if i else 0)
            n = (num(d.group(2)) if d else 0) + (num(i.group(2)) if i else 0)
            if n:
                leaks.append((b, n))
        else:
            leaks += [(int(b), int(a)) for b, a in SUMMARY.findall(text)]
    return rc == 0, sorted(leaks)

def fmt(leaks):
    return ", ".join(f"{b} B/{a}" for b, a in leaks) if leaks else "none"

def same(x, y):
    return x == y

rows, totals = [], {}
ONLY = os.environ.get("ONLY", "cjson expat jsonc").split()
for proj in ("cjson", "expat", "jsonc"):
    for variant in ("normal", "planted"):
        build = f"{W}/{proj}-{variant}/build"
        saved = f"{W}/results-{proj}-{variant}.json"
        if proj not in ONLY:
            if os.path.exists(saved):  # an earlier run's, in this work directory
                r = json.load(open(saved))
                totals[(proj, variant)] = r["totals"]
                rows += [tuple(x) for x in r["rows"]]
            continue
        t = totals.setdefault((proj, variant), {"tests": 0, "passed": dict.fromkeys(TOOLS, 0),
                                                "leaky": dict.fromkeys(TOOLS, 0), "same_lsan": 0, "same_vg": 0})
        nrows = len(rows)
        for name, wd, cmd in ctest_list(build):
            res = {tool: run(tool, wd, cmd, f"{W}/logs/{proj}-{variant}/{name}.{tool}") for tool in TOOLS}
            t["tests"] += 1
            for tool in TOOLS:
                t["passed"][tool] += res[tool][0]
                t["leaky"][tool] += bool(res[tool][1])
            sa = res["spanalloc"][1]
            t["same_lsan"] += sa == res["lsan"][1]
            t["same_vg"] += sa == res["memcheck"][1]
            if not (sa == res["lsan"][1] == res["memcheck"][1]):
                rows.append((proj, variant, name) + tuple(fmt(res[tool][1]) for tool in TOOLS))
            print(f"leak-suites: {proj}-{variant} {name}: " +
                  "; ".join(f"{tool} {fmt(res[tool][1])}{'' if res[tool][0] else ' (test failed)'}" for tool in TOOLS),
                  file=sys.stderr)
        json.dump({"totals": t, "rows": rows[nrows:]}, open(saved, "w"))

names = {"cjson": "cJSON", "expat": "libexpat", "jsonc": "json-c"}
out = []
out.append("# Leak verdicts on three projects' own test suites: spanalloc's debug build, LeakSanitizer, memcheck\n")
out.append(f"`bench/detect/leak-suites.sh` at spanalloc {os.environ['SA_REV']}; {os.environ['REVS']}. "
           "spanalloc = libspanalloc-debug.so preloaded (default options); LSan = Debian's liblsan0 (gcc 12) "
           "preloaded; memcheck = valgrind --leak-check=full, definitely + indirectly lost. Every test of each "
           "project's ctest list, run as ctest runs it, children included (json-c's tests are shell scripts that "
           "run sed, diff and the test program); each process's report goes to a file of its own (log_path), so "
           "the tests' own output is the same as without a tool. A verdict is the sorted list of (bytes, blocks) "
           "of the processes that leaked. \"planted\": the same suite with one block per parsed item (cJSON), "
           "parser (libexpat) or object (json-c) never freed (see the script).\n")
out.append("| project | suite | tests | passed: spanalloc / LSan / memcheck | tests with leaks: spanalloc / LSan / memcheck | verdict = LSan's | = memcheck's |")
out.append("|---|---|---|---|---|---|---|")
for (proj, variant), t in totals.items():
    out.append(f"| {names[proj]} | {variant} | {t['tests']} | " + " / ".join(str(t['passed'][x]) for x in TOOLS) +
               " | " + " / ".join(str(t['leaky'][x]) for x in TOOLS) + f" | {t['same_lsan']} | {t['same_vg']} |")
if rows:
    out.append("\nTests whose verdicts differ between the three:\n")
    out.append("| project | suite | test | spanalloc | LSan | memcheck |")
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        out.append("| " + " | ".join([names[r[0]]] + list(r[1:])) + " |")
else:
    out.append("\nEvery test got the same verdict from the three tools.")
text = "\n".join(out) + "\n"
open(sys.argv[1], "w").write(text)
print(text)
EOF
rc=$?
[ $rc -eq 0 ] || die "the runs failed (rc $rc)"
cp "$W/leak-suites.md" "$OUT"
log "table written to $OUT"
