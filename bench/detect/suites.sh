#!/usr/bin/env bash
# bench/detect/suites.sh — real projects' own test suites under glibc, the
# debug build (default options and efence=1) and an ASan build: same results,
# reports seen, CPU time.
#
#   bench/detect/suites.sh CJSON_DIR EXPAT_DIR LUA_DIR [OUT.md]
#
# Takes
#   CJSON_DIR  a checkout of github.com/DaveGamble/cJSON
#   EXPAT_DIR  a checkout of github.com/libexpat/libexpat (the repository
#              root or its expat/ directory)
#   LUA_DIR    a checkout of github.com/lua/lua (its makefile and testes/)
#   OUT.md     default bench/results/detect-suites.md
#   env SPANALLOC_BUILD  directory with libspanalloc-debug.so (default build/)
#   env SUITES_WORK      scratch directory (default a new /tmp/spanalloc-suites.*)
#   env ROUNDS=3         rounds (the four tools alternate within each round;
#                        0: only build)
#   env TIMEOUT=900      seconds per suite run; EFENCE_TIMEOUT=300 for efence=1.
#                        A run that passes it is killed and reported as not
#                        completed (with its CPU time and peak RSS so far); a
#                        tool that did not complete is not run again on that
#                        suite.
#   env ONLY="cjson expat lua"  a subset of the suites
#   env SUITES_TABLE_ONLY=1  with SUITES_WORK of an earlier run: print its
#                        table again (from results.json) without running
# Needs: cc, cmake, make, python3, timeout.  No network.  Each checkout is
# copied to the work directory and built there (twice: normally and with
# -fsanitize=address), never modified.
#
# Builds: cJSON and libexpat with CMake, CMAKE_BUILD_TYPE=RelWithDebInfo
# (-O2 -g; cJSON with ENABLE_CJSON_UTILS=On, expat with EXPAT_BUILD_TESTS=ON,
# docs/examples/tools off); Lua with its own makefile (`make`: -O2).  The ASan
# builds add -fsanitize=address -fno-omit-frame-pointer to the compile and
# link flags and run with ASAN_OPTIONS=detect_leaks=0 (leak checking is not
# what is compared).
#
# Suites:
#   cjson  every test in ctest's list (cJSON_test and the unity tests),
#          each command run in ctest's working directory with the tool's
#          environment; passes/fails counted per unity test case ("N Tests
#          M Failures") and per program;
#   expat  ctest's list (runtests: "Checks: N, Failed: M");
#   lua    the test files the repository carries: `cd testes && ../lua
#          -e _port=true all.lua` after `make -C testes/libs` (the C modules
#          some tests load); all.lua runs them in order; without ltests
#          compiled in, the internal "T" tests are skipped, as all.lua says.
#          _port=true ("avoid non-portable tests") skips main.lua, the
#          stand-alone interpreter's tests: its Ctrl-C test races the shell's
#          `echo $!` against the child's output and fails on a loaded
#          machine under any allocator.  Passes when it exits 0 and prints
#          "final OK".
# Tools: glibc (the normal build), debug (normal build, LD_PRELOAD=
# libspanalloc-debug.so), efence (the same, SPANALLOC_OPTIONS=efence=1), asan
# (the ASan build).  Every run's user+sys CPU time is that of all the
# processes it waited for (wait4 of each test command), peak RSS the largest
# single process's.
#
# Prints (and writes to OUT.md): per suite and tool, the results (passes /
# fails), the reports seen (spanalloc:, AddressSanitizer, glibc's
# "free(): ..." lines: count and first line), the median CPU time and its
# ratio to glibc, the median peak RSS, and the machine's load.
set -u
set -o pipefail

die() { echo "suites: $*" >&2; exit 2; }
[ $# -ge 3 ] || die "usage: $0 CJSON_DIR EXPAT_DIR LUA_DIR [OUT.md]"
CJ=$(cd "$1" 2>/dev/null && pwd) || die "no directory $1"
EX=$(cd "$2" 2>/dev/null && pwd) || die "no directory $2"
[ -f "$EX/expat/CMakeLists.txt" ] && EX=$EX/expat
LU=$(cd "$3" 2>/dev/null && pwd) || die "no directory $3"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${4:-$ROOT/bench/results/detect-suites.md}
LIB=${SPANALLOC_BUILD:-$ROOT/build}
[ -f "$CJ/cJSON.c" ] || die "$CJ is not a cJSON checkout"
[ -f "$EX/lib/xmlparse.c" ] || die "$EX is not a libexpat checkout"
[ -f "$LU/lvm.c" ] && [ -f "$LU/testes/all.lua" ] || die "$LU is not a Lua checkout with testes/"
[ -f "$LIB/libspanalloc-debug.so" ] || die "no $LIB/libspanalloc-debug.so (run make)"
for t in cc cmake make python3 timeout; do command -v $t >/dev/null || die "needs $t"; done
W=${SUITES_WORK:-$(mktemp -d /tmp/spanalloc-suites.XXXXXX)}
mkdir -p "$W/lib"
cp "$LIB/libspanalloc-debug.so" "$W/lib/"
ONLY=${ONLY:-cjson expat lua}
log() { echo "suites: $*" >&2; }
log "work directory $W"
ASANFL="-fsanitize=address -fno-omit-frame-pointer"

build_cmake() { # NAME SRC KIND EXTRA-CMAKE-ARGS...
	local name=$1 src=$2 kind=$3
	shift 3
	local d=$W/$name-$kind
	[ -f "$d/.built" ] && return 0
	rm -rf "$d" && mkdir -p "$d"
	cp -r "$src" "$d/src" && rm -rf "$d/src/build" "$d/src/.git"
	local fl=""
	[ "$kind" = asan ] && fl=$ASANFL
	log "building $name ($kind)"
	(cmake -S "$d/src" -B "$d/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS="$fl" -DCMAKE_CXX_FLAGS="$fl" -DCMAKE_EXE_LINKER_FLAGS="$fl" \
		-DCMAKE_SHARED_LINKER_FLAGS="$fl" "$@" &&
		cmake --build "$d/build" -j2) >"$d/build.log" 2>&1 || die "$name ($kind) did not build: $d/build.log"
	touch "$d/.built"
}
build_lua() { # KIND
	local d=$W/lua-$1
	[ -f "$d/.built" ] && return 0
	rm -rf "$d" && mkdir -p "$d"
	cp -r "$LU" "$d/src" && rm -rf "$d/src/.git"
	log "building lua ($1)"
	local cc=gcc
	command -v gcc >/dev/null || cc=cc
	[ "$1" = asan ] && cc="$cc $ASANFL"
	# testes/libs: the C modules main.lua and attrib.lua load (built as
	# their makefile says, without ASan in both cases)
	(cd "$d/src" && make clean && make -j2 CC="$cc" && make -C testes/libs) >"$d/build.log" 2>&1 ||
		die "lua ($1) did not build: $d/build.log"
	touch "$d/.built"
}

for s in $ONLY; do
	case $s in
	cjson) for k in normal asan; do build_cmake cjson "$CJ" $k -DENABLE_CJSON_UTILS=On -DENABLE_CJSON_TEST=On; done ;;
	expat) for k in normal asan; do build_cmake expat "$EX" $k -DEXPAT_BUILD_TESTS=ON -DEXPAT_BUILD_DOCS=OFF \
		-DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_FUZZERS=OFF; done ;;
	lua) for k in normal asan; do build_lua $k; done ;;
	*) die "unknown suite $s" ;;
	esac
done

[ "${ROUNDS:-3}" -gt 0 ] || { log "ROUNDS=0: built only"; exit 0; }
unset SPANALLOC_OPTIONS
export W ONLY ROUNDS=${ROUNDS:-3} TIMEOUT=${TIMEOUT:-900} EFENCE_TIMEOUT=${EFENCE_TIMEOUT:-300}
export DBG=$W/lib/libspanalloc-debug.so SA_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
export CJ_REV=$(git -C "$CJ" rev-parse --short HEAD 2>/dev/null || echo '?')
export EX_REV=$(git -C "$EX" rev-parse --short HEAD 2>/dev/null || echo '?')
export LU_REV=$(git -C "$LU" rev-parse --short HEAD 2>/dev/null || echo '?')
python3 - "$W/detect-suites.md" <<'EOF'
import json, os, re, signal, subprocess, sys, time, statistics

W = os.environ["W"]; DBG = os.environ["DBG"]
ROUNDS = int(os.environ["ROUNDS"]); TIMEOUT = int(os.environ["TIMEOUT"])
EF_TIMEOUT = int(os.environ["EFENCE_TIMEOUT"])
SUITES = os.environ["ONLY"].split()
TOOLS = ["glibc", "debug", "efence", "asan"]
REPORT = re.compile(r"spanalloc:|AddressSanitizer|^[a-z_]+\(\): |double free or corruption|^Fatal glibc error", re.M)

def tool_env(tool):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "SPANALLOC_OPTIONS", "ASAN_OPTIONS"):
        e.pop(k, None)
    if tool in ("debug", "efence"):
        e["LD_PRELOAD"] = DBG
    if tool == "efence":
        e["SPANALLOC_OPTIONS"] = "efence=1"
    if tool == "asan":
        e["ASAN_OPTIONS"] = "detect_leaks=0"
    return e

def ctest_list(build):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True, text=True, check=True).stdout
    tests = []
    for t in json.loads(out)["tests"]:
        wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), build)
        tests.append((t["name"], wd, t["command"]))
    return tests

def commands(suite, tool):
    kind = "asan" if tool == "asan" else "normal"
    if suite in ("cjson", "expat"):
        return ctest_list(f"{W}/{suite}-{kind}/build")
    return [("all.lua", f"{W}/lua-{kind}/src/testes", ["../lua", "-e", "_port=true", "all.lua"])]

def run_suite(suite, tool, tag):
    """Runs the suite's commands one after another; returns a dict."""
    limit = EF_TIMEOUT if tool == "efence" else TIMEOUT
    env = tool_env(tool)
    t0 = time.monotonic()
    res = {"programs": 0, "prog_fail": [], "cases": 0, "case_fail": 0, "reports": 0, "first": "",
           "completed": True, "maxrss": 0, "cpu": 0.0}
    logdir = f"{W}/logs/{suite}.{tool}.{tag}"
    os.makedirs(logdir, exist_ok=True)
    for name, wd, cmd in commands(suite, tool):
        left = limit - (time.monotonic() - t0)
        if left <= 0:
            res["completed"] = False
            break
        with open(f"{logdir}/{name}.out", "w") as fo, open(f"{logdir}/{name}.err", "w") as fe:
            p = subprocess.Popen(cmd, cwd=wd, env=env, stdout=fo, stderr=fe, stdin=subprocess.PIPE,
                                 start_new_session=True)
            p.stdin.close()  # an empty pipe: files.lua expects seeking stdin to fail
            # wait4 on this child alone: its CPU and peak RSS (its own
            # waited-for descendants included), killed at the time limit
            deadline = time.monotonic() + left
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    os.killpg(p.pid, signal.SIGKILL)
                    pid, status, ru = os.wait4(p.pid, 0)
                    res["completed"] = False
                    break
                time.sleep(0.05)
            p.returncode = 0  # reaped above
            rc = os.waitstatus_to_exitcode(status)
            res["cpu"] += ru.ru_utime + ru.ru_stime
            res["maxrss"] = max(res["maxrss"], ru.ru_maxrss)
        out = open(f"{logdir}/{name}.out", errors="replace").read()
        err = open(f"{logdir}/{name}.err", errors="replace").read()
        res["programs"] += 1
        if rc != 0:
            res["prog_fail"].append(f"{name}(rc {rc})")
        for m in re.finditer(r"^(\d+) Tests (\d+) Failures", out, re.M):       # unity
            res["cases"] += int(m.group(1)); res["case_fail"] += int(m.group(2))
        for m in re.finditer(r"Checks: (\d+), Failed: (\d+)", out):           # expat minicheck
            res["cases"] += int(m.group(1)); res["case_fail"] += int(m.group(2))
        if suite == "lua":
            res["cases"] += 1
            if rc != 0 or "final OK" not in out:
                res["case_fail"] += 1
        reps = [l for l in err.splitlines() if REPORT.search(l)]
        res["reports"] += len(reps)
        if reps and not res["first"]:
            res["first"] = f"{name}: " + re.sub(r"^==\d+== ?", "", reps[0])[:120]
        if not res["completed"]:
            break
    res["wall"] = time.monotonic() - t0
    return res

results = {}   # (suite, tool) -> list of runs
skip = set()
loads = []
if os.environ.get("SUITES_TABLE_ONLY"):   # reprint an earlier run's table
    j = json.load(open(f"{W}/results.json"))
    loads = j["loads"]
    results = {(s_, t_): v for s_, t_, v in j["results"]}
    SUITES = [s_ for s_ in SUITES if any(k[0] == s_ for k in results)]
    ROUNDS = max(len(v) for v in results.values())
for r in range(0 if os.environ.get("SUITES_TABLE_ONLY") else ROUNDS):
    for suite in SUITES:
        for tool in TOOLS:
            if (suite, tool) in skip:
                continue
            loads.append(os.getloadavg()[0])
            print(f"suites: round {r+1} {suite} {tool}", file=sys.stderr, flush=True)
            x = run_suite(suite, tool, f"r{r+1}")
            results.setdefault((suite, tool), []).append(x)
            print(f"suites:   cpu {x['cpu']:.1f} s, wall {x['wall']:.1f} s, cases {x['cases']} failed {x['case_fail']}, "
                  f"programs failed {len(x['prog_fail'])}, reports {x['reports']}, completed {x['completed']}",
                  file=sys.stderr, flush=True)
            if not x["completed"]:
                skip.add((suite, tool))

json.dump({"loads": loads, "results": [[k[0], k[1], v] for k, v in results.items()]},
          open(f"{W}/results.json", "w"))
revs = {"cjson": os.environ["CJ_REV"], "expat": os.environ["EX_REV"], "lua": os.environ["LU_REV"]}
L = []
L.append("# Real test suites under the debug build, efence=1 and ASan")
L.append("")
L.append(f"Made by `bench/detect/suites.sh` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, spanalloc "
         f"{os.environ['SA_REV']}; cJSON {revs['cjson']}, libexpat {revs['expat']}, Lua {revs['lua']}); "
         f"{ROUNDS} rounds, tools alternating within each round; load average (1 min) at the runs' starts "
         f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs. CPU = user+sys of every process of the "
         f"run, median of the rounds (min–max); ratio to glibc's median. Peak RSS: largest single process "
         f"of the run (wait4), largest over the rounds. Cases: unity test cases (cJSON), minicheck checks (expat), all.lua as one case (Lua).")
L.append("")
L.append("| suite | tool | completed | cases (failed) | programs failed | reports (first) | CPU s median (min–max) | × glibc | wall s | peak RSS MiB |")
L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for suite in SUITES:
    g = results.get((suite, "glibc"))
    gmed = statistics.median([x["cpu"] for x in g]) if g else None
    for tool in TOOLS:
        runs = results.get((suite, tool), [])
        if not runs:
            continue
        ok = [x for x in runs if x["completed"]]
        cpus = [x["cpu"] for x in runs]
        med = statistics.median(cpus)
        comp = f"{len(ok)}/{len(runs)}"
        if len(ok) < len(runs):
            comp += f" (killed at {EF_TIMEOUT if tool == 'efence' else TIMEOUT} s)"
        cases = "; ".join(sorted({f"{x['cases']} ({x['case_fail']})" for x in runs}))
        pf = "; ".join(sorted({(", ".join(x["prog_fail"]) or "0") for x in runs}))
        reps = "; ".join(sorted({str(x["reports"]) for x in runs}))
        first = next((x["first"] for x in runs if x["first"]), "")
        first = first.replace("|", "/").replace("`", "'")
        ratio = f"{med / gmed:.2f}" if gmed else "-"
        wall = statistics.median([x["wall"] for x in runs])
        rss = max(x["maxrss"] for x in runs) / 1024
        d = 2 if med < 1 else 1  # cJSON's whole suite takes a few hundredths of a second
        L.append(f"| {suite} | {tool} | {comp} | {cases} | {pf} | {reps}{' (' + first + ')' if first else ''} | "
                 f"{med:.{d}f} ({min(cpus):.{d}f}–{max(cpus):.{d}f}) | {ratio} | {wall:.1f} | {rss:.0f} |")
open(sys.argv[1], "w").write("\n".join(L) + "\n")
EOF
[ -f "$W/detect-suites.md" ] || die "no table made"
mkdir -p "$(dirname "$OUT")"
cp "$W/detect-suites.md" "$OUT"
cat "$W/detect-suites.md"
log "written to $OUT (logs in $W/logs)"
