#!/usr/bin/env python3
"""mimalloc-bench under every allocator (python3 standard library only).

    python3 bench/mimalloc_bench.py --mbench DIR [--rounds N] [--procs N]
                                    [--only B1,B2] [--allocators A,B]
                                    [--lib NAME=PATH ...] [--out DIR] [--list]

DIR is a checkout of daanx/mimalloc-bench (git clone
https://github.com/daanx/mimalloc-bench; nothing of it is committed here).
Builds the programs of its bench/ directory out of tree, into
build/mbench/ (by hand, with the flags of its CMakeLists.txt: its CMake
project refuses to configure without the downloaded sh6bench/sh8bench
sources), then runs, for procs=2 (--procs), the command lines of its
bench.sh for every benchmark that needs no download, under glibc, jemalloc,
tcmalloc, mimalloc and spanalloc (the allocators of bench/run.py, found
and checked the same way).

Each round runs every allocator once per benchmark, in an order rotated by
one each round (A B C D E, then B C D E A, ...), so that drift on a shared
machine and the first-run/last-run position hit all alike.  Time is what
bench.sh reports: the wall time (its `time -f %E`), except for the
benchmarks whose own throughput figure bench.sh turns into a relative
time: larson (its "relative time"), rptest (2e6 / memory ops per CPU
second), xmalloc-test (its "rtime") and glibc-thread (1e9 / iterations).
Peak RSS is wait4's ru_maxrss, through bench/tools/memrun.c.

Writes bench/results/mimalloc-bench.md (per benchmark median time and RSS
with min-max and ratios to glibc and to the best peer, geometric means with
and without malloc-large, the machine and its load), mimalloc-bench.csv
(every run) and mimalloc-bench.svg / .png (gnuplot, like bench/run.py).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (bench/run.py: allocators, memrun, tables, chart)

MB_BUILD = os.path.join(R.ROOT, "build", "mbench")

# Program -> (sources under bench/, language, extra flags, libraries), from
# mimalloc-bench's bench/CMakeLists.txt (Release: -O3 -DNDEBUG).
CFRAC = ("cfrac.c pops.c pconst.c pio.c pabs.c pneg.c pcmp.c podd.c phalf.c padd.c psub.c "
         "pmul.c pdivmod.c psqrt.c ppowmod.c atop.c ptoa.c itop.c utop.c ptou.c errorp.c "
         "pfloat.c pidiv.c pimod.c picmp.c primes.c pcfrac.c pgcd.c").split()
ESPRESSO = ("cofactor.c cols.c compl.c contain.c cubestr.c cvrin.c cvrm.c cvrmisc.c cvrout.c "
            "dominate.c equiv.c espresso.c essen.c exact.c expand.c gasp.c getopt.c gimpel.c "
            "globals.c hack.c indep.c irred.c main.c map.c matrix.c mincov.c opo.c pair.c part.c "
            "primes.c reduce.c rows.c set.c setc.c sharp.c sminterf.c solution.c sparse.c unate.c "
            "utility.c verify.c").split()
BARNES = "code.c code_io.c load.c grav.c getparam.c util.c".split()
QUIET = ["-w", "-Wno-implicit-function-declaration", "-Wno-implicit-int",
         "-Wno-int-conversion", "-Wno-incompatible-pointer-types"]
PROGRAMS = {
    "cfrac": (["cfrac/" + f for f in CFRAC], "c", ["-std=gnu89", "-DNOMEMOPT=1"], ["-lm"]),
    "espresso": (["espresso/" + f for f in ESPRESSO], "c", ["-std=gnu89"], ["-lm"]),
    "barnes": (["barnes/" + f for f in BARNES], "c", ["-std=gnu89"], ["-lm"]),
    "larson": (["larson/larson.cpp"], "c++", ["-DCPP=1"], ["-pthread"]),
    "larson-sized": (["larson/larson.cpp"], "c++", ["-DCPP=1", "-DSIZED=1", "-fsized-deallocation"],
                     ["-pthread"]),
    "alloc-test": (["alloc-test/test_common.cpp", "alloc-test/allocator_tester.cpp"], "c++",
                   ["-DBENCH=4"], ["-pthread"]),
    "cache-scratch": (["cache-scratch/cache-scratch.cpp"], "c++", [], ["-pthread"]),
    "cache-thrash": (["cache-thrash/cache-thrash.cpp"], "c++", [], ["-pthread"]),
    "xmalloc-test": (["xmalloc-test/xmalloc-test.c"], "c", [], ["-pthread"]),
    "malloc-large": (["malloc-large/malloc-large.cpp"], "c++", [], ["-pthread"]),
    "mstress": (["mstress/mstress.c"], "c", [], ["-pthread"]),
    "mleak": (["mleak/mleak.c"], "c", [], ["-pthread"]),
    "rptest": (["rptest/rptest.c", "rptest/thread.c", "rptest/timer.c"], "c",
               ["-Irptest_INC"], ["-pthread", "-lm"]),
    "glibc-simple": (["glibc-bench/bench-malloc-simple.c"], "c", [], ["-pthread"]),
    "glibc-thread": (["glibc-bench/bench-malloc-thread.c"], "c", [], ["-pthread"]),
}

# Benchmarks of bench.sh that need something downloaded (its
# build-bench-env.sh fetches them), or that are no timing benchmark.
SKIPPED = [
    ("sh6benchN, sh8benchN", "MicroQuill's sh6bench-new.c / sh8bench-new.c are downloaded by build-bench-env.sh"),
    ("gs", "needs large.pdf, downloaded by build-bench-env.sh"),
    ("lua", "builds a downloaded lua checkout"),
    ("redis, rocksdb, leanN, mathlib, linux", "downloaded and built by build-bench-env.sh"),
    ("spec-*", "SPEC CPU is not public"),
    ("security", "a pass/fail hardening test, not a timing benchmark"),
]


def benchmarks(mb, procs):
    """bench.sh's run_test command lines: (name, program or None, argv, parse)."""
    b = os.path.join(mb, "bench")
    p = str(procs)
    out = [
        ("cfrac", "cfrac", ["17545186520507317056371138836327483792789528"], None),
        ("espresso", "espresso", [os.path.join(b, "espresso", "largest.espresso")], None),
        ("barnes", "barnes", [], None),
        ("larsonN-sized", "larson-sized", "5 8 1000 5000 100 4141".split() + [p], "larson"),
        ("mstressN", "mstress", [p, "50", "25"], None),
        ("rptestN", "rptest", [p] + "0 1 2 500 1000 100 8 16000".split(), "rptest"),
        ("alloc-test1", "alloc-test", ["1"], None),
        ("alloc-testN", "alloc-test", [str(min(procs, 16))], None),
        ("xmalloc-testN", "xmalloc-test", ["-w", p, "-t", "5", "-s", "64"], "xmalloc"),
        ("cache-scratch1", "cache-scratch", "1 1000 1 2000000".split() + [p], None),
        ("cache-scratchN", "cache-scratch", [p] + "1000 1 2000000".split() + [p], None),
        ("glibc-simple", "glibc-simple", [], None),
        ("glibc-thread", "glibc-thread", [p], "glibc-thread"),
        ("larsonN", "larson", "5 8 1000 5000 100 4141".split() + [p], "larson"),
        ("malloc-large", "malloc-large", [], None),
        ("mleak10", "mleak", ["5"], None),
        ("mleak100", "mleak", ["50"], None),
        ("cache-thrash1", "cache-thrash", "1 1000 1 2000000".split() + [p], None),
        ("cache-thrashN", "cache-thrash", [p] + "1000 1 2000000".split() + [p], None),
        # Debian programs with their inputs in the checkout:
        ("z3", "@z3", ["-smt2", os.path.join(b, "z3", "test1.smt2")], None),
        ("rbstress1", "@ruby", [os.path.join(b, "rbstress", "stress_mem.rb"), "1"], None),
        ("rbstressN", "@ruby", [os.path.join(b, "rbstress", "stress_mem.rb"), p], None),
    ]
    if procs == 1:
        out = [x for x in out if not x[0].endswith("N") or x[0] == "larsonN"]
    return out


def rtime(kind, stdout):
    """bench.sh's relative time from a benchmark's own output, or None."""
    if kind == "larson":
        m = re.search(r"relative time: ([0-9.]+)", stdout)
        return float(m.group(1)) if m else None
    if kind == "rptest":
        m = re.search(r"([0-9]+) memory ops", stdout)
        return 2000000.0 / int(m.group(1)) if m and int(m.group(1)) else None
    if kind == "xmalloc":
        m = re.search(r"rtime: ([0-9.]+)", stdout)
        return float(m.group(1)) if m else None
    if kind == "glibc-thread":
        m = re.search(r"^([0-9.]+)", stdout, re.M)
        return 1e9 / float(m.group(1)) if m and float(m.group(1)) else None
    return None


def build_programs(mb, names):
    os.makedirs(MB_BUILD, exist_ok=True)
    b = os.path.join(mb, "bench")
    cc = os.environ.get("CC") or "gcc"
    cxx = os.environ.get("CXX") or "g++"
    built = {}
    for name in names:
        srcs, lang, flags, libs = PROGRAMS[name]
        srcs = [os.path.join(b, s) for s in srcs]
        flags = [f.replace("rptest_INC", os.path.join(b, "rptest")) for f in flags]
        out = os.path.join(MB_BUILD, name)
        if os.path.exists(out) and all(os.path.getmtime(s) <= os.path.getmtime(out) for s in srcs):
            built[name] = out
            continue
        comp = [cc] if lang == "c" else [cxx, "-std=c++17"]
        cmd = comp + ["-O3", "-DNDEBUG"] + QUIET + flags + ["-o", out] + srcs + libs
        if lang == "c++":
            cmd.insert(2, "-fpermissive")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            R.warn("mimalloc-bench: %s does not build, skipped:\n%s%s" % (
                name, " ".join(cmd), (p.stdout + p.stderr)[-1500:]))
            continue
        built[name] = out
    return built


def run_rounds(benches, allocs, rounds, tmp, stdin, after=None):
    """after(rows, done): called when each benchmark is complete (partial reports)."""
    rows = []
    seq = 0
    t0 = time.monotonic()
    for bi, (name, argv, parse) in enumerate(benches):
        w = R.Workload(name, "real", argv, name, cwd=tmp)
        failed = set()
        t_b = time.monotonic()
        for r in range(rounds):
            order = allocs[r % len(allocs):] + allocs[:r % len(allocs)]
            for aname, path in order:
                if aname in failed:
                    continue
                seq += 1
                res = R.run_once(w, path, tmp, 1.0, stdin.get(name), None)
                res.update({"workload": name, "allocator": aname, "run": r + 1, "seq": seq,
                            "elapsed_s": res["wall_s"]})
                if res["status"] == 0 and parse:
                    t = rtime(parse, R.read_text(os.path.join(tmp, "run.stdout")))
                    if t is None:
                        res["status"] = "no throughput figure in the output"
                    else:
                        res["wall_s"] = t
                rows.append(res)
                if res["status"] != 0:
                    failed.add(aname)
                    R.warn("%s under %s failed (%s)%s; its remaining runs skipped" % (
                        name, aname, res["status"],
                        (": " + res["note"].strip().replace("\n", " | ")[-300:]) if res["note"] else ""))
        LOADS.append(os.getloadavg()[0])
        R.log("[%2d/%d] %-15s %5.1f s   (total %5.1f s, load %.2f)" % (
            bi + 1, len(benches), name, time.monotonic() - t_b, time.monotonic() - t0,
            os.getloadavg()[0]))
        if after:
            after(rows, bi + 1)
    return rows


def geo_row(label, bnames, rat, names, key):
    cells = []
    for n in names:
        have = [b for b in bnames if (b, n) in rat and rat[(b, n)].get(key)]
        g = R.geomean([rat[(b, n)][key] for b in have])
        cells.append(R.fmt_ratio(g) + ("" if len(have) == len(bnames) else " (%d/%d)" % (
            len(have), len(bnames))))
    return "| %s | %s |" % (label, " | ".join(cells))


def markdown(args, benches, allocs, stats, rat, charts, elapsed, skipped_here, loads):
    names = [n for n, _ in allocs]
    bnames = [b[0] for b in benches]
    nolarge = [b for b in bnames if b != "malloc-large"]
    L = ["# mimalloc-bench: spanalloc against the peers", ""]
    L.append("Generated by `make bench-mimalloc MBENCH=%s` (bench/mimalloc_bench.py), "
             "procs=%d, %d rounds, allocators rotated each round; medians. Time is bench.sh's: "
             "wall time, except larson, rptest, xmalloc-test and glibc-thread, whose own "
             "throughput bench.sh turns into a relative time. Peak RSS: ru_maxrss. "
             "Ratios < 1 are better than glibc.%s" % (args.mbench_shown, args.procs, args.rounds,
                                                        getattr(args, "merged_note", "")))
    L.append("")
    L.append("## Machine")
    L.append("")
    for k, v in R.machine_info():
        if getattr(args, "merge", None) and k.startswith("load average"):
            continue  # the merging process's load says nothing about the runs
        L.append("- %s: %s" % (k, v))
    L.append("- load average (1 min) after each benchmark: min %.2f, median %.2f, max %.2f "
             "(a 2-core machine shared with other jobs: figures are noisy, ratios and medians "
             "are what to read)" % (min(loads), R.median(loads), max(loads)) if loads else "")
    L.append("")
    L.append("## Allocators")
    L.append("")
    for n, p in allocs:
        L.append("- **%s**: %s" % (n, R.describe_allocator(n, p)))
    L.append("")
    L.append("## Summary: time / peak RSS, ratio to glibc")
    L.append("")
    L.append("| benchmark | " + " | ".join(names) + " |")
    L.append("|---|" + "---:|" * len(names))
    for b in bnames:
        cells = []
        for n in names:
            r = rat.get((b, n))
            st = stats.get((b, n))
            cells.append("FAIL" if r is None and st else "–" if r is None else
                         "%s / %s" % (R.fmt_ratio(r["t_glibc"]), R.fmt_ratio(r["r_glibc"])))
        L.append("| %s | %s |" % (b, " | ".join(cells)))
    L.append(geo_row("**geomean time ×glibc**", bnames, rat, names, "t_glibc"))
    L.append(geo_row("geomean time ×glibc, without malloc-large", nolarge, rat, names, "t_glibc"))
    L.append(geo_row("**geomean peak RSS ×glibc**", bnames, rat, names, "r_glibc"))
    L.append(geo_row("geomean time ×best peer", bnames, rat, names, "t_best"))
    L.append(geo_row("geomean peak RSS ×best peer", bnames, rat, names, "r_best"))
    L.append("")
    if R.PROD in names:
        slower = [b for b in bnames if rat.get((b, R.PROD), {}).get("t_glibc", 0) > 1.0]
        behind = [b for b in bnames if rat.get((b, R.PROD), {}).get("t_best", 0) > 1.0]
        L.append("spanalloc slower than glibc on %d of %d: %s." % (
            len(slower), len(bnames), ", ".join("%s %.2f×" % (b, rat[(b, R.PROD)]["t_glibc"])
                                                for b in slower) or "none"))
        L.append("Behind the fastest peer on %d of %d: %s." % (
            len(behind), len(bnames), ", ".join("%s %.2f×" % (b, rat[(b, R.PROD)]["t_best"])
                                                for b in behind) or "none"))
        L.append("")
    for c in charts:
        if c.endswith(".svg"):
            L.append("![time and peak RSS relative to glibc](%s)" % c)
            L.append("")
    L.append("## Benchmarks skipped")
    L.append("")
    for what, why in SKIPPED + skipped_here:
        L.append("- %s: %s" % (what, why))
    L.append("")
    L.append("## Per benchmark")
    L.append("")
    cmd = {b[0]: b[1] for b in benches}
    for b in bnames:
        w = R.Workload(b, "real", [], "`%s`" % cmd[b])
        L.append(R.workload_markdown(w, stats, rat, names))
    if elapsed is not None:
        L.append("Run time of the whole suite: %.0f s." % elapsed)
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mbench", required=True, help="checkout of daanx/mimalloc-bench")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--procs", type=int, default=2, help="bench.sh's procs (default 2)")
    ap.add_argument("--only", help="comma-separated benchmark names or prefixes, run in that order")
    ap.add_argument("--allocators", help="comma-separated allocator names to keep")
    ap.add_argument("--lib", action="append", default=[], metavar="NAME=PATH",
                    help="add (or replace) an allocator to preload; repeatable")
    ap.add_argument("--out", default=R.RESULTS, help="results directory (default bench/results)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run (default 120)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks, then exit")
    ap.add_argument("--merge", nargs="+", metavar="DIR",
                    help="no run: one report from the runs saved in these --out directories "
                    "(each benchmark from the first directory that has it complete)")
    args = ap.parse_args()
    R.RUN_TIMEOUT = args.timeout
    mb = os.path.abspath(args.mbench)
    args.mbench_shown = args.mbench
    if not os.path.isfile(os.path.join(mb, "bench.sh")) or not os.path.isdir(os.path.join(mb, "bench")):
        sys.exit("bench-mimalloc: %s is not a mimalloc-bench checkout (no bench.sh, bench/); get "
                 "one with: git clone https://github.com/daanx/mimalloc-bench" % mb)
    args.out = os.path.abspath(args.out)

    t0 = time.monotonic()
    want = benchmarks(mb, args.procs)
    if args.only:
        # In the order given: the first ones are reported first if the run is cut short.
        pats = args.only.split(",")

        def rank(x):
            return min(i for i, p in enumerate(pats) if x[0] == p or x[0].startswith(p))
        want = sorted((x for x in want if any(x[0] == p or x[0].startswith(p) for p in pats)), key=rank)
    R.build(os.environ.get("CC") or "gcc")  # memrun, whichmalloc
    built = build_programs(mb, sorted({x[1] for x in want if not x[1].startswith("@")}))
    benches, skipped_here = [], []
    for name, prog, argv, parse in want:
        if prog.startswith("@"):
            exe = shutil.which(prog[1:])
            if not exe:
                skipped_here.append((name, "`%s` not installed (Debian package %s)" % (
                    prog[1:], {"z3": "z3", "ruby": "ruby"}[prog[1:]])))
                continue
        else:
            exe = built.get(prog)
            if not exe:
                skipped_here.append((name, "did not build"))
                continue
        benches.append((name, " ".join([prog.lstrip("@")] + [os.path.basename(a) if os.sep in a
                                                              else a for a in argv]),
                        [exe] + argv, parse))
    if args.list:
        for b in benches:
            print("%-15s %s" % (b[0], b[1]))
        for what, why in SKIPPED + skipped_here:
            print("skipped %s: %s" % (what, why))
        return 0

    if args.merge:
        return merge(args, benches, skipped_here, t0)
    allocs = R.find_allocators(args.lib)
    if args.allocators:
        keep = args.allocators.split(",")
        allocs = [a for a in allocs if a[0] in keep]
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="spanalloc-mbench-")
    try:
        allocs = R.snapshot_libs(allocs, tmp)
        allocs = R.check_preload(allocs)
        if not allocs:
            sys.exit("bench-mimalloc: no allocator to run")
        R.log("bench-mimalloc: %d benchmarks x %d allocators (%s) x %d rounds, procs=%d, load %s"
              % (len(benches), len(allocs), ", ".join(n for n, _ in allocs), args.rounds,
                 args.procs, R.LOAD_AT_START))
        # bench.sh feeds barnes its input on stdin (every other gets /dev/null).
        stdin = {"barnes": os.path.join(mb, "bench", "barnes", "input")}
        names = [n for n, _ in allocs]

        def report(rows, done, final=False):
            # Written after every benchmark, so an interrupted run leaves the
            # complete benchmarks reported (and says which are missing).
            part = benches[:done]
            wls = [R.Workload(b[0], "real", [], b[1]) for b in part]
            stats = R.summarize(rows, wls, allocs)
            rat = R.ratios(stats, wls, names)
            R.write_csv(os.path.join(args.out, "mimalloc-bench.csv"), rows)
            charts = R.write_chart(args.out, wls, rat, names, basename="mimalloc-bench") if final else []
            notrun = [] if final else [(b[0], "not run yet: the run was interrupted before it")
                                       for b in benches[done:]]
            md = markdown(args, [(b[0], b[1]) for b in part], allocs, stats, rat, charts,
                          time.monotonic() - t0, skipped_here + notrun, list(LOADS))
            with open(os.path.join(args.out, "mimalloc-bench.md"), "w") as f:
                f.write(md + "\n")
            with open(os.path.join(args.out, "mimalloc-bench.loads"), "w") as f:
                for b, l in zip(part, LOADS):
                    f.write("%s %.2f\n" % (b[0], l))
            return md

        rows = run_rounds([(b[0], b[2], b[3]) for b in benches], allocs, args.rounds, tmp, stdin,
                          after=report)
        print(report(rows, len(benches), final=True))
        R.log("bench-mimalloc: wrote %s in %.0f s" % (
            os.path.relpath(os.path.join(args.out, "mimalloc-bench.md"), os.getcwd()),
            time.monotonic() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def read_rows(path):
    rows = []
    import csv
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k in ("seq", "run", "maxrss_kb", "reports"):
                r[k] = int(r[k]) if r.get(k) not in (None, "") else None
            for k in ("wall_s", "ns_per_op", "user_s", "sys_s"):
                r[k] = float(r[k]) if r.get(k) not in (None, "") else None
            st = r["status"]
            r["status"] = int(st) if st.lstrip("-").isdigit() else st
            r["note"], r["stderr"] = "", ""
            rows.append(r)
    return rows


def merge(args, benches, skipped_here, t0):
    """One report from saved runs: runs that were split over several
    processes (--only) when the machine was too loaded for one."""
    allocs = R.find_allocators(args.lib)
    if args.allocators:
        keep = args.allocators.split(",")
        allocs = [a for a in allocs if a[0] in keep]
    names = [n for n, _ in allocs]
    rows, loads, have = [], {}, set()
    for d in args.merge:
        rs = read_rows(os.path.join(d, "mimalloc-bench.csv"))
        lp = os.path.join(d, "mimalloc-bench.loads")
        dl = dict(l.split() for l in R.read_text(lp).splitlines() if l.strip()) if os.path.exists(lp) else {}
        for b in {r["workload"] for r in rs} - have:
            mine = [r for r in rs if r["workload"] == b]
            if {r["allocator"] for r in mine} >= set(names) and \
                    min(sum(1 for r in mine if r["allocator"] == n) for n in names) >= args.rounds:
                rows += mine
                have.add(b)
                if b in dl:
                    loads[b] = float(dl[b])
    part = [b for b in benches if b[0] in have]
    missing = [(b[0], "not in the merged runs") for b in benches if b[0] not in have]
    wls = [R.Workload(b[0], "real", [], b[1]) for b in part]
    stats = R.summarize(rows, wls, allocs)
    rat = R.ratios(stats, wls, names)
    os.makedirs(args.out, exist_ok=True)
    R.write_csv(os.path.join(args.out, "mimalloc-bench.csv"), rows)
    charts = R.write_chart(args.out, wls, rat, names, basename="mimalloc-bench")
    LOADS[:] = [loads[b[0]] for b in part if b[0] in loads]
    args.merged_note = (" Merged (`--merge`) from %d processes that ran subsets of the "
                        "benchmarks (`--only`) at the same time." % len(args.merge))
    md = markdown(args, [(b[0], b[1]) for b in part], allocs, stats, rat, charts,
                  None, skipped_here + missing, list(LOADS))
    with open(os.path.join(args.out, "mimalloc-bench.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    return 0


LOADS = []

if __name__ == "__main__":
    sys.exit(main())
