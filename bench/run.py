#!/usr/bin/env python3
"""spanalloc benchmark runner (python3 standard library only).

    python3 bench/run.py [--quick] [--runs N] [--lib NAME=PATH ...]
                         [--with-debug] [--with-memcheck]
                         [--only W1,W2] [--allocators A,B] [--no-callgrind]
                         [--callgrind-only] [--list]
    python3 bench/run.py --debug-compare [--runs N] [--scale X] [--only ...]

Builds the workloads in bench/workloads/ into build/bench/, finds the
allocators (glibc without a preload; jemalloc, tcmalloc, mimalloc from their
Debian packages; spanalloc from build/libspanalloc.so; more with --lib),
and runs every workload under every allocator, alternating the allocators
run by run (A B C D E A B C D E ...) so that drift on a shared machine hits
all of them alike.  Each run goes through build/bench/memrun, a tiny
launcher that sets LD_PRELOAD for the command only and reports its wall
time and peak RSS (wait4's ru_maxrss).

Writes, under bench/results/ (or --out):
    latest.md    tables per workload, summary with geometric means, the
                 callgrind cost model, the machine and the allocator builds
    latest.csv   every run
    ratios.svg, ratios.png   time and peak-RSS ratios to glibc (gnuplot)
and prints latest.md to stdout at the end.

The callgrind cost model (also: bench/callgrind.sh, or --callgrind-only)
runs the single-thread pair benchmark at each size under
valgrind --tool=callgrind with N and 2N pairs, so that start-up cancels:
instructions per malloc+free pair = (Ir(2N) - Ir(N)) / N.

The debug build and valgrind memcheck are reported apart from the
production allocators (their own section; they never enter the peer
ratios, geometric means, chart or cost model):
    --with-debug     adds spanalloc-debug = build/libspanalloc-debug.so
    --with-memcheck  adds "memcheck": glibc malloc with the workload run
                     under valgrind --tool=memcheck (slow: use --scale)
    --debug-compare  production spanalloc, spanalloc-debug and memcheck on
                     every workload at a reduced BENCH_SCALE (DEBUG_SCALE),
                     3 runs alternated;
                     writes debug.md and debug.csv (the issue 4 goals:
                     debug <= 3x production time and <= 2x peak RSS,
                     memcheck >= 10x debug time), not latest.*
"""

import argparse
import concurrent.futures
import csv
import datetime
import hashlib
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOAD_SRC = os.path.join(HERE, "workloads")
TOOLS_SRC = os.path.join(HERE, "tools")
BUILD = os.path.join(ROOT, "build", "bench")
RESULTS = os.path.join(HERE, "results")

PEERS = ["glibc", "jemalloc", "tcmalloc", "mimalloc"]
PROD = "spanalloc"
DEBUG = "spanalloc-debug"
MEMCHECK = "memcheck"
# Reported in their own section only: never in the peer tables, ratios to the
# best peer, geometric means, chart or callgrind cost model.
SEPARATE = (DEBUG, MEMCHECK)
# memcheck on glibc: the command is run under valgrind, with no preload.
# --trace-children=yes so that multi-process workloads (gcc runs cc1 and as)
# are checked whole; --error-exitcode=0 so that an error memcheck reports in
# a program does not count as a failed run (the reports are counted apart).
MEMCHECK_ARGV = ["--tool=memcheck", "--error-exitcode=0", "-q", "--trace-children=yes"]
WRAP = {}  # allocator name -> argv prefix the workload command is run under
DEBUG_SCALE = 0.1  # BENCH_SCALE of --debug-compare: memcheck is 20-100x slower
DEBUG_GOALS = {"time": 3.0, "rss": 2.0, "memcheck": 10.0}
DEFAULT_LIBS = [
    ("jemalloc", "libjemalloc.so.2"),
    ("tcmalloc", "libtcmalloc_minimal.so.4"),
    ("mimalloc", "libmimalloc.so.2"),
]
PAIR_SIZES = [16, 64, 256, 4096, 40000]
LOOP = "(loop)"  # callgrind baseline: the pair loop without malloc/free
CFLAGS = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"]
RUN_TIMEOUT = 90.0  # seconds for one run; a run past it counts as failed (--timeout)
try:
    LOAD_AT_START = "%.2f %.2f %.2f" % os.getloadavg()
except OSError:
    LOAD_AT_START = "?"


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def warn(msg):
    log("warning: " + msg)


# --------------------------------------------------------------------------
# build


def build(cc):
    os.makedirs(BUILD, exist_ok=True)
    jobs = []
    for f in sorted(os.listdir(WORKLOAD_SRC)):
        if f.endswith(".c"):
            jobs.append((os.path.join(WORKLOAD_SRC, f), os.path.join(BUILD, f[:-2]), []))
    for f in sorted(os.listdir(TOOLS_SRC)):
        if f.endswith(".c"):
            extra = ["-ldl"] if f == "whichmalloc.c" else []
            jobs.append((os.path.join(TOOLS_SRC, f), os.path.join(BUILD, f[:-2]), extra))
    cc_argv = cc.split()
    common_h = os.path.join(WORKLOAD_SRC, "common.h")

    def one(job):
        src, out, extra = job
        deps = [src, common_h, os.path.abspath(__file__)]
        stamp = out + ".cc"
        if (os.path.exists(out) and os.path.exists(stamp)
                and read_text(stamp) == cc
                and all(os.path.getmtime(d) <= os.path.getmtime(out) for d in deps)):
            return None
        cmd = cc_argv + CFLAGS + ["-o", out, src] + extra
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return "%s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr)
        with open(stamp, "w") as f:
            f.write(cc)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        errors = [e for e in ex.map(one, jobs) if e]
    if errors:
        for e in errors:
            log(e)
        sys.exit("bench: build failed")


# --------------------------------------------------------------------------
# allocators


def find_lib(soname):
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            line = line.strip()
            if line.startswith(soname + " ") and "=>" in line:
                path = line.split("=>", 1)[1].strip()
                if os.path.exists(path):
                    return path
    except OSError:
        pass
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
              "/usr/local/lib", "/usr/lib", "/lib"):
        p = os.path.join(d, soname)
        if os.path.exists(p):
            return p
    return None


def find_allocators(extra_libs, with_debug=False, with_memcheck=False, peers=True):
    allocs = [("glibc", None)] if peers else []
    for name, soname in (DEFAULT_LIBS if peers else []):
        path = find_lib(soname)
        if path:
            allocs.append((name, path))
        else:
            warn("%s (%s) not found, skipped (install it with ci/install-deps.sh)"
                 % (name, soname))
            allocs.append((name, "MISSING:" + soname))
    allocs.append((PROD, os.path.join(ROOT, "build", "libspanalloc.so")))
    if with_debug:
        allocs.append((DEBUG, os.path.join(ROOT, "build", "libspanalloc-debug.so")))
    if with_memcheck:
        valgrind = shutil.which("valgrind")
        if valgrind:
            WRAP[MEMCHECK] = [valgrind] + MEMCHECK_ARGV
            allocs.append((MEMCHECK, None))
        else:
            warn("valgrind not installed: memcheck skipped")
    for spec in extra_libs:
        if "=" not in spec:
            sys.exit("bench: --lib wants NAME=PATH, got %r" % spec)
        name, path = spec.split("=", 1)
        path = os.path.abspath(path)
        allocs = [a for a in allocs if a[0] != name]
        allocs.append((name, path))
    out = []
    for name, path in allocs:
        if path is not None and (path.startswith("MISSING:") or not os.path.exists(path)):
            if not path.startswith("MISSING:"):
                warn("%s: %s does not exist, skipped%s" % (
                    name, path, " (build it first: make)" if name in (PROD, DEBUG) else ""))
            continue
        out.append((name, path))
    return out


def check_preload(allocs):
    """Keep the allocators whose malloc is really the one that runs."""
    which = os.path.join(BUILD, "whichmalloc")
    good = []
    for name, path in allocs:
        env = clean_env()
        if path:
            env["LD_PRELOAD"] = path
        try:
            p = subprocess.run(WRAP.get(name, []) + [which], capture_output=True, text=True,
                               env=env, timeout=60)
        except subprocess.TimeoutExpired:
            warn("%s: a test program hung under it, skipped" % name)
            continue
        got = p.stdout.strip()
        if p.returncode != 0:
            warn("%s: test program failed under it (status %d): %s, skipped"
                 % (name, p.returncode, (p.stderr or "").strip()[-300:]))
            continue
        if name in WRAP:
            ok = True  # memcheck replaces malloc in its own way; it ran, that is the check
        elif path is None:
            ok = "libc.so" in got
        else:
            ok = os.path.realpath(got) == os.path.realpath(path)
        if not ok:
            warn("%s: malloc resolves to %r, not %s; skipped"
                 % (name, got, path or "libc"))
            continue
        good.append((name, path))
    return good


ORIGIN = {}  # run path -> (original path, description) for snapshotted libraries


def snapshot_libs(allocs, tmp):
    """Copy every library that no Debian package owns (spanalloc's own build,
    --lib builds) into the temporary directory, so that a rebuild of
    build/libspanalloc.so while the benchmark runs cannot mix two versions
    into one table.  Reports keep naming the original path."""
    out = []
    for name, path in allocs:
        if path is None or dpkg_version_of(path):
            out.append((name, path))
            continue
        d = os.path.join(tmp, "lib", name)
        os.makedirs(d, exist_ok=True)
        copy = os.path.join(d, os.path.basename(path))
        shutil.copy2(path, copy)
        ORIGIN[copy] = (path, describe_allocator(name, path, copy))
        out.append((name, copy))
    return out


def dpkg_version_of(path):
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        if c.startswith("/lib/"):
            cands.append("/usr" + c)
        elif c.startswith("/usr/lib/"):
            cands.append(c[4:])
    for c in cands:
        p = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
        if p.returncode == 0 and ":" in p.stdout:
            pkg = p.stdout.split(": ", 1)[0].split(",")[0].strip()
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                               capture_output=True, text=True)
            if v.returncode == 0:
                return "%s %s" % (pkg, v.stdout.strip())
    return None


def describe_allocator(name, path, snapshot=None):
    if path in ORIGIN:
        return ORIGIN[path][1]
    if name in WRAP:
        return ("glibc malloc (no preload) under `%s` (%s): memcheck's own malloc replacement "
                "with its shadow memory; peak RSS is the valgrind process's, so it includes "
                "valgrind itself, the translated code and the shadow memory" % (
                    " ".join(["valgrind"] + WRAP[name][1:]), tool_version(["valgrind", "--version"])))
    if path is None:
        v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libc6"],
                           capture_output=True, text=True)
        ver = ("libc6 " + v.stdout.strip()) if v.returncode == 0 else platform.libc_ver()[1]
        return "(no preload) glibc malloc, %s" % ver
    ver = dpkg_version_of(path)
    if ver:
        return "`%s` (%s)" % (path, ver)
    with open(snapshot or path, "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()[:12]
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(snapshot or path)).strftime(
        "%Y-%m-%d %H:%M")
    where = "sha256 %s, %s" % (h, mtime)
    if os.path.realpath(path).startswith(os.path.realpath(ROOT) + os.sep):
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True)
        rev = rev.stdout.strip() if rev.returncode == 0 else "no commit"
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "src", "include"],
                               capture_output=True, text=True)
        if dirty.returncode == 0 and dirty.stdout.strip():
            rev += ", src/ or include/ modified since"
        where += ", git %s" % rev
    return "`%s` (%s)" % (path, where)


# --------------------------------------------------------------------------
# workloads


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    # Every build runs with its default options: the configuration users get.
    env.pop("SPANALLOC_OPTIONS", None)
    return env


class Workload:
    def __init__(self, name, kind, argv, desc, stdin=None, env=None, ns_op=False,
                 prepare=None, cwd=None):
        self.name = name
        self.kind = kind  # "micro" or "real"
        self.argv = argv
        self.desc = desc
        self.stdin = stdin
        self.env = env or {}
        self.ns_op = ns_op
        self.prepare = prepare
        self.cwd = cwd


def gen_sqlite(tmp, scale):
    rng = random.Random(2024)
    ncust = max(200, int(10000 * scale))
    norders = max(1000, int(60000 * scale))
    cities = ["city%03d" % i for i in range(300)]
    items = ["item-%s" % "".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(2000)]
    path = os.path.join(tmp, "bench.sql")
    with open(path, "w") as f:
        w = f.write
        w("PRAGMA journal_mode=OFF;\nPRAGMA synchronous=OFF;\n")
        w("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, joined INTEGER);\n")
        w("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, item TEXT, qty INTEGER,"
          " price REAL, note TEXT);\n")
        w("BEGIN;\n")
        for i in range(1, ncust + 1):
            w("INSERT INTO customers VALUES(%d,'%s %s','%s',%d);\n" % (
                i, "".join(rng.choice("klmnopqrst") for _ in range(rng.randint(3, 9))),
                "".join(rng.choice("uvwxyzabcd") for _ in range(rng.randint(4, 12))),
                rng.choice(cities), 1500000000 + rng.randint(0, 10 ** 8)))
        for i in range(1, norders + 1):
            note = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(rng.randint(0, 120)))
            w("INSERT INTO orders(customer,item,qty,price,note) VALUES(%d,'%s',%d,%.2f,'%s');\n" % (
                rng.randint(1, ncust), rng.choice(items), rng.randint(1, 20),
                rng.uniform(0.5, 500), note))
        w("COMMIT;\n")
        w("CREATE INDEX orders_customer ON orders(customer);\n")
        w("CREATE INDEX orders_item_price ON orders(item, price);\n")
        w("CREATE INDEX customers_city ON customers(city, joined);\n")
        w("SELECT c.city, count(*), round(sum(o.qty*o.price),2) FROM orders o JOIN customers c"
          " ON c.id=o.customer GROUP BY c.city ORDER BY 3 DESC LIMIT 10;\n")
        w("SELECT item, count(*), round(avg(price),2) FROM orders GROUP BY item ORDER BY 3 DESC LIMIT 10;\n")
        w("SELECT count(*) FROM orders WHERE note LIKE '%abc%';\n")
        w("SELECT customer, group_concat(item, ',') FROM orders WHERE customer < %d"
          " GROUP BY customer ORDER BY customer;\n" % max(10, ncust // 20))
        w("SELECT name, city FROM customers WHERE id IN (SELECT customer FROM orders"
          " WHERE price > 450 AND qty > 15) ORDER BY name LIMIT 50;\n")
        w("UPDATE orders SET note = note || ' (bulk)' WHERE qty > 15;\n")
        w("DELETE FROM orders WHERE qty = 1;\n")
        w("SELECT upper(substr(note, 1, 20)) AS k, count(*) FROM orders GROUP BY k"
          " ORDER BY 2 DESC, 1 LIMIT 5;\n")
        for k in range(max(5, int(300 * scale))):
            w("SELECT count(*), max(price) FROM orders WHERE customer = %d;\n" % rng.randint(1, ncust))
        w("CREATE TABLE summary AS SELECT customer, count(*) n, sum(qty) q, group_concat(note) notes"
          " FROM orders GROUP BY customer;\n")
        w("SELECT count(*), sum(length(notes)) FROM summary;\n")
    return path


def gen_c_file(tmp, scale):
    """A large generated translation unit: many small functions that call one
    another (inlining, constant propagation), a few bigger ones with loops
    and switches, and a large table of initialised structs and strings."""
    rng = random.Random(77)
    nsmall = max(50, int(250 * scale))
    nbig = max(3, int(8 * scale))
    ntable = max(500, int(6000 * scale))
    path = os.path.join(tmp, "big.c")
    ops = ["+", "-", "*", "^", "|", "&"]
    with open(path, "w") as f:
        w = f.write
        w("#include <stddef.h>\n#include <string.h>\n\n")
        w("struct rec { int a, b; long c; double d; const char *name; struct rec *next; };\n\n")
        for i in range(nsmall):
            w("long s%d(long x, long y)\n{\n" % i)
            w("\tlong t = (x %s %d) %s (y %s %d);\n" % (
                rng.choice(ops), rng.randint(1, 999), rng.choice(ops), rng.choice(ops), rng.randint(1, 999)))
            w("\tif (t & %d)\n\t\tt = t * %d + x;\n\telse\n\t\tt ^= y >> %d;\n" % (
                rng.randint(1, 255), rng.randint(2, 17), rng.randint(1, 9)))
            if i > 0:
                w("\treturn t + s%d(t, x);\n}\n\n" % rng.randint(max(0, i - 50), i - 1)
                  if rng.random() < 0.3 else "\treturn t;\n}\n\n")
            else:
                w("\treturn t;\n}\n\n")
        for i in range(nbig):
            w("long big%d(long x, long y, struct rec *r)\n{\n\tlong acc = %d;\n" % (i, rng.randint(1, 1000)))
            w("\tfor (long i = 0; i < (x & 63); i++) {\n")
            for _ in range(rng.randint(4, 10)):
                w("\t\tacc = (acc %s (i * %d + y)) %s %d;\n" % (
                    rng.choice(ops), rng.randint(1, 99), rng.choice(ops), rng.randint(1, 99)))
            w("\t\tif (r && (acc & %d)) { r->a += (int)acc; r = r->next; }\n" % rng.randint(1, 255))
            w("\t}\n\tswitch ((int)(x %% %d)) {\n" % rng.randint(4, 12))
            for c in range(rng.randint(3, 8)):
                w("\tcase %d: acc += s%d(acc + %d, y); break;\n" % (c, rng.randint(0, nsmall - 1), c))
            w("\tdefault: acc -= y; break;\n\t}\n\treturn acc;\n}\n\n")
        w("const struct rec table[] = {\n")
        for i in range(ntable):
            w("\t{ %d, %d, %dL, %.3f, \"%s\", 0 },\n" % (
                rng.randint(-9999, 9999), rng.randint(0, 99), rng.randint(0, 10 ** 9),
                rng.uniform(-1e3, 1e3), "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(4, 24)))))
        w("};\n\nlong entry(long x)\n{\n\tlong s = 0;\n")
        for i in range(0, nsmall, 4):
            w("\ts += s%d(x + %d, s);\n" % (i, i))
        w("\treturn s + (long)sizeof table;\n}\n")
    return path


def gen_sort_input(tmp, scale):
    rng = random.Random(99)
    n = max(5000, int(600000 * scale))
    path = os.path.join(tmp, "sort.txt")
    alpha = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(alpha) for _ in range(rng.randint(3, 14))) for _ in range(50000)]
    with open(path, "w") as f:
        lines = []
        for i in range(n):
            lines.append("%d,%s,%s %s,%08x\n" % (
                rng.randint(0, 10 ** 9), rng.choice(words), rng.choice(words),
                rng.choice(words), rng.getrandbits(32)))
            if len(lines) >= 10000:
                f.write("".join(lines))
                lines = []
        f.write("".join(lines))
    return path


def python_for_workload():
    for p in ("/usr/bin/python3",):
        if os.path.exists(p):
            return os.path.realpath(p)
    return os.path.realpath(sys.executable)


def make_workloads(tmp, scale):
    wl = []
    b = lambda name: os.path.join(BUILD, name)
    for s in PAIR_SIZES:
        wl.append(Workload("pairs_%d" % s, "micro", [b("pairs"), str(s)],
                           "single-thread malloc+free of %d bytes" % s, ns_op=True))
    wl += [
        Workload("batch", "micro", [b("batch")], "10k x 64 B allocated, then all freed, repeated",
                 ns_op=True),
        Workload("mixed_batch", "micro", [b("mixed_batch")],
                 "10k mixed 8 B-4 KiB allocated, freed in shuffled order, repeated", ns_op=True),
        Workload("prodcons", "micro", [b("prodcons")],
                 "producer thread allocates, consumer thread frees (SPSC queue)", ns_op=True),
        Workload("larson", "micro", [b("larson")],
                 "4 threads replace random blocks in tables that rotate among them", ns_op=True),
        Workload("realloc_chain", "micro", [b("realloc_chain")],
                 "64 growing buffers: append-by-realloc and x1.5 growth chains", ns_op=True),
        Workload("thread_churn", "micro", [b("thread_churn")],
                 "rounds of 4 short-lived threads, 2000 malloc/free each", ns_op=True),
        Workload("large", "micro", [b("large")], "64 KiB-4 MiB objects, 16 live, pages touched",
                 ns_op=True),
        Workload("frag", "micro", [b("frag")],
                 "8 phases of different sizes (48 MiB live), 1/32 survivors kept", ns_op=True),
    ]
    sqlite = shutil.which("sqlite3")
    if sqlite:
        wl.append(Workload("sqlite3", "real", [os.path.realpath(sqlite), "-batch"],
                           "sqlite3 CLI, in-memory DB: inserts, 3 indexes, joins, group by, update",
                           stdin=("sqlite", gen_sqlite), cwd=tmp))
    else:
        warn("sqlite3 not installed: workload sqlite3 skipped")
    wl.append(Workload("python3", "real",
                       [python_for_workload(), os.path.join(WORKLOAD_SRC, "pywork.py")],
                       "python3 dict/list/string/json script (bench/workloads/pywork.py)",
                       env={"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}, cwd=tmp))
    gcc = shutil.which("gcc")
    if gcc:
        wl.append(Workload("gcc", "real", [gcc, "-O2", "-c", "big.c", "-o", "big.o"],
                           "gcc -O2 -c on a generated C file", prepare=gen_c_file, cwd=tmp))
    else:
        warn("gcc not found: workload gcc skipped")
    sort = shutil.which("sort")
    if sort:
        wl.append(Workload("sort", "real",
                           [sort, "-t", ",", "-k2,2", "-k1,1n", "-o", "/dev/null", "sort.txt"],
                           "coreutils sort of a generated CSV file by two keys",
                           env={"LC_ALL": "C"}, prepare=gen_sort_input, cwd=tmp))
    else:
        warn("sort not found: workload sort skipped")
    return wl


# --------------------------------------------------------------------------
# running


def count_reports(err, wrapped):
    """Heap-bug reports in a run's stderr: under valgrind (-q: only errors are
    printed), memcheck's errors, one "==PID== <headline>" line each (the stack
    and detail lines below it are indented); else the headlines of spanalloc's
    own reports ("==PID== spanalloc: ...", "spanalloc: fatal: ..." ...)."""
    if wrapped:
        return len(re.findall(r"^==\d+== \S", err, re.M))
    return len(re.findall(r"^(?:==\d+== )?spanalloc: ", err, re.M))


def run_once(w, alloc_path, tmp, scale, stdin_path, wrap=None):
    res = os.path.join(tmp, "memrun.result")
    out_path = os.path.join(tmp, "run.stdout")
    err_path = os.path.join(tmp, "run.stderr")
    for p in (res,):
        if os.path.exists(p):
            os.unlink(p)
    env = clean_env()
    env.update(w.env)
    env["BENCH_SCALE"] = repr(scale)
    cmd = [os.path.join(BUILD, "memrun"), "-r", res]
    if alloc_path:
        cmd += ["-p", alloc_path]
    cmd += ["--"] + (wrap or []) + w.argv
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=env,
                             cwd=w.cwd or tmp, start_new_session=True)
        timed_out = False
        try:
            p.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    if stdin_path:
        stdin.close()
    r = {"status": None, "wall_s": None, "maxrss_kb": None, "ns_per_op": None,
         "user_s": None, "sys_s": None, "note": "", "reports": None, "stderr": ""}
    err = read_text(err_path)
    r["reports"] = count_reports(err, bool(wrap))
    if r["reports"]:
        r["stderr"] = err
    if timed_out:
        r["status"] = "timeout"
        r["note"] = "timed out after %.0f s" % RUN_TIMEOUT
        r["stderr"] = err
        return r
    if not os.path.exists(res):
        r["status"] = "launcher-%d" % p.returncode
        r["note"] = read_text(err_path)[-500:]
        return r
    kv = dict(line.split(None, 1) for line in read_text(res).splitlines() if line.strip())
    r["status"] = int(kv["status"])
    if r["status"] > 128:
        try:
            r["status"] = "signal %d (%s)" % (r["status"] - 128,
                                             signal.Signals(r["status"] - 128).name)
        except ValueError:
            pass
    r["wall_s"] = int(kv["wall_ns"]) / 1e9
    r["maxrss_kb"] = int(kv["maxrss_kb"])
    r["user_s"] = float(kv["user_s"])
    r["sys_s"] = float(kv["sys_s"])
    if "cannot be preloaded" in err:
        r["status"] = "preload-failed"
    if r["status"] != 0:
        r["note"] = err[-500:]
        r["stderr"] = err
    if w.ns_op:
        m = re.search(r"^ns_per_op\s+([0-9.eE+-]+)", read_text(out_path), re.M)
        if m:
            r["ns_per_op"] = float(m.group(1))
    return r


def run_all(workloads, allocs, runs, tmp, scale, progress=True):
    rows = []
    seq = 0
    t_start = time.monotonic()
    for wi, w in enumerate(workloads):
        stdin_path = None
        if w.prepare:
            t0 = time.monotonic()
            w.prepare(tmp, scale)
            log("  prepared input for %s (%.1f s)" % (w.name, time.monotonic() - t0))
        if w.stdin:
            t0 = time.monotonic()
            stdin_path = w.stdin[1](tmp, scale)
            log("  prepared input for %s (%.1f s)" % (w.name, time.monotonic() - t0))
        failed = set()
        t_w = time.monotonic()
        for r in range(runs):
            for name, path in allocs:
                if name in failed:
                    continue
                seq += 1
                res = run_once(w, path, tmp, scale, stdin_path, WRAP.get(name))
                res.update({"workload": w.name, "allocator": name, "run": r + 1, "seq": seq})
                rows.append(res)
                if res["status"] != 0:
                    failed.add(name)
                    warn("%s under %s failed (%s)%s; its remaining runs skipped" % (
                        w.name, name, res["status"],
                        (": " + res["note"].strip().replace("\n", " | ")[-300:]) if res["note"] else ""))
                elif res["reports"] and name != MEMCHECK:
                    warn("%s under %s: %d report line(s) on stderr: %s" % (
                        w.name, name, res["reports"],
                        res["stderr"].strip().replace("\n", " | ")[:300]))
        if progress:
            log("[%2d/%d] %-14s %5.1f s   (total %5.1f s)" % (
                wi + 1, len(workloads), w.name, time.monotonic() - t_w, time.monotonic() - t_start))
    return rows


# --------------------------------------------------------------------------
# callgrind cost model


def callgrind_ir(out_file):
    ir = None
    with open(out_file, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                v = int(line.split()[1])
                ir = v if ir is None else max(ir, v)
    return ir


def run_callgrind(allocs, iters, tmp, jobs=None):
    """Returns {(alloc, size): instructions per pair}, and a list of notes."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None, ["valgrind not installed: cost model skipped"]
    pairs = os.path.join(BUILD, "pairs")
    cgdir = os.path.join(tmp, "callgrind")
    os.makedirs(cgdir, exist_ok=True)
    tasks = []
    for size in PAIR_SIZES:
        for n in (iters, 2 * iters):
            tasks.append((LOOP, None, size, n))
    for name, path in allocs:
        for size in PAIR_SIZES:
            for n in (iters, 2 * iters):
                tasks.append((name, path, size, n))

    def one(t):
        name, path, size, n = t
        out = os.path.join(cgdir, "cg.%s.%d.%d" % (name, size, n))
        env = clean_env()
        if path:
            env["LD_PRELOAD"] = path
        cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=" + out,
               pairs, str(size), str(n)] + (["baseline"] if name == LOOP else [])
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if p.returncode != 0 or not os.path.exists(out):
            return t, None, (p.stderr or "")[-300:]
        return t, callgrind_ir(out), ""

    results = {}
    notes = []
    jobs = jobs or (os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for t, ir, err in ex.map(one, tasks):
            if ir is None:
                notes.append("callgrind failed for %s at %d B: %s" % (t[0], t[2], err.strip()))
            results[t] = ir
    table = {}
    for name, path in [(LOOP, None)] + list(allocs):
        for size in PAIR_SIZES:
            a = results.get((name, path, size, iters))
            b2 = results.get((name, path, size, 2 * iters))
            if a is not None and b2 is not None:
                table[(name, size)] = (b2 - a) / iters
    return table, notes


def callgrind_markdown(table, allocs, iters, ns=None):
    names = [a for a, _ in allocs]
    lines = ["| size (bytes) | " + " | ".join(names) + " |",
             "|---:|" + "---:|" * len(names)]
    for size in PAIR_SIZES:
        loop = table.get((LOOP, size))
        cells = []
        for n in names:
            v = table.get((n, size))
            if v is None:
                cells.append("–")
                continue
            c = "%.1f" % (v - loop) if loop is not None else "%.1f (with loop)" % v
            if ns and ns.get((n, size)) is not None:
                c += " (%.1f ns)" % ns[(n, size)]
            cells.append(c)
        lines.append("| %d | %s |" % (size, " | ".join(cells)))
    loops = sorted(set("%.0f" % table[(LOOP, s)] for s in PAIR_SIZES if (LOOP, s) in table))
    lines.append("")
    lines.append(
        "Instructions in malloc + free per pair, from `valgrind --tool=callgrind` on "
        "`build/bench/pairs SIZE N`: (Ir(%d pairs) - Ir(%d pairs)) / %d, so start-up cancels, "
        "minus the benchmark loop's own %s instructions per iteration (the same loop writing "
        "the first 16 bytes of a static buffer: `pairs SIZE N baseline`). Repeatable whatever "
        "the machine's load." % (2 * iters, iters, iters, "/".join(loops) or "?")
        + (" In parentheses: the median wall-clock ns per pair from the timed runs."
           if ns else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# report


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt_time(s):
    if s is None:
        return "–"
    if s >= 1:
        return "%.3f s" % s
    return "%.1f ms" % (s * 1e3)


def fmt_rss(kb):
    if kb is None:
        return "–"
    if kb >= 1024 * 10:
        return "%.0f MiB" % (kb / 1024)
    return "%.1f MiB" % (kb / 1024)


def fmt_ratio(x):
    return "–" if x is None else "%.2f" % x


def summarize(rows, workloads, allocs):
    names = [a for a, _ in allocs]
    stats = {}
    for w in workloads:
        for n in names:
            rs = [r for r in rows if r["workload"] == w.name and r["allocator"] == n]
            ok = [r for r in rs if r["status"] == 0]
            bad = [r for r in rs if r["status"] != 0]
            if not rs:
                continue
            st = {"n": len(ok), "failed": bad[0]["status"] if bad else None,
                  "reports": max([r.get("reports") or 0 for r in rs]),
                  "stderr": next((r for r in rs if r.get("stderr")), None)}
            if ok:
                t = [r["wall_s"] for r in ok]
                st["time"] = median(t)
                st["tmin"] = min(t)
                st["tmax"] = max(t)
                st["rss"] = median([r["maxrss_kb"] for r in ok])
                nsv = [r["ns_per_op"] for r in ok if r["ns_per_op"] is not None]
                st["ns"] = median(nsv) if nsv else None
            if bad and not ok:
                st["time"] = None
            stats[(w.name, n)] = st
    return stats


def best_peer(stats, wname, names, key):
    best = None
    for n in names:
        if n not in PEERS:
            continue
        st = stats.get((wname, n))
        if st and st.get(key) is not None and (best is None or st[key] < best[1]):
            best = (n, st[key])
    return best


def ratios(stats, workloads, names):
    """(wname, alloc) -> dict of ratios"""
    out = {}
    for w in workloads:
        g = stats.get((w.name, "glibc"))
        bt = best_peer(stats, w.name, names, "time")
        br = best_peer(stats, w.name, names, "rss")
        for n in names:
            st = stats.get((w.name, n))
            if not st or st.get("time") is None:
                continue
            r = {}
            r["t_glibc"] = st["time"] / g["time"] if g and g.get("time") else None
            r["r_glibc"] = st["rss"] / g["rss"] if g and g.get("rss") else None
            r["t_best"] = st["time"] / bt[1] if bt else None
            r["r_best"] = st["rss"] / br[1] if br else None
            out[(w.name, n)] = r
    return out


def workload_markdown(w, stats, rat, names):
    bt = best_peer(stats, w.name, names, "time")
    br = best_peer(stats, w.name, names, "rss")
    head = "### %s\n\n%s. Best peer: time %s, RSS %s.\n\n" % (
        w.name, w.desc, bt[0] if bt else "–", br[0] if br else "–")
    cols = ["allocator", "median time", "min–max"]
    if w.ns_op:
        cols.append("ns/op")
    cols += ["peak RSS", "time ×glibc", "time ×best peer", "RSS ×glibc", "RSS ×best peer"]
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]
    for n in names:
        st = stats.get((w.name, n))
        if not st:
            continue
        if st.get("time") is None:
            cells = [n, "FAILED (%s)" % st["failed"]] + ["–"] * (len(cols) - 2)
        else:
            r = rat.get((w.name, n), {})
            cells = [n, fmt_time(st["time"]),
                     "%s–%s" % (fmt_time(st["tmin"]), fmt_time(st["tmax"]))]
            if w.ns_op:
                cells.append("%.1f" % st["ns"] if st.get("ns") is not None else "–")
            cells += [fmt_rss(st["rss"]), fmt_ratio(r.get("t_glibc")), fmt_ratio(r.get("t_best")),
                      fmt_ratio(r.get("r_glibc")), fmt_ratio(r.get("r_best"))]
            if st.get("failed") is not None:
                cells[0] += " (failed %s after %d runs)" % (st["failed"], st["n"])
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def summary_markdown(workloads, stats, rat, names):
    lines = ["| workload | " + " | ".join(names) + " |",
             "|---|" + "---:|" * len(names)]
    for w in workloads:
        cells = []
        for n in names:
            r = rat.get((w.name, n))
            st = stats.get((w.name, n))
            if r is None:
                cells.append("FAIL" if st else "–")
            else:
                cells.append("%s / %s" % (fmt_ratio(r["t_glibc"]), fmt_ratio(r["r_glibc"])))
        lines.append("| %s | %s |" % (w.name, " | ".join(cells)))
    # geometric means
    gm = {}
    for n in names:
        have = [w.name for w in workloads if (w.name, n) in rat]
        gm[n] = {
            "t_glibc": geomean([rat[(x, n)]["t_glibc"] for x in have]),
            "r_glibc": geomean([rat[(x, n)]["r_glibc"] for x in have]),
            "t_best": geomean([rat[(x, n)]["t_best"] for x in have]),
            "r_best": geomean([rat[(x, n)]["r_best"] for x in have]),
            "count": len(have),
        }
    total = len(workloads)

    def mark(n):
        return "" if gm[n]["count"] == total else " (%d/%d)" % (gm[n]["count"], total)

    lines.append("| **geomean ×glibc** | %s |" % " | ".join(
        "**%s / %s**%s" % (fmt_ratio(gm[n]["t_glibc"]), fmt_ratio(gm[n]["r_glibc"]), mark(n))
        for n in names))
    lines.append("| geomean ×best peer | %s |" % " | ".join(
        "%s / %s%s" % (fmt_ratio(gm[n]["t_best"]), fmt_ratio(gm[n]["r_best"]), mark(n))
        for n in names))
    return "\n".join(lines), gm


def fmt_x(x):
    if x is None:
        return "–"
    return "%.0f×" % x if x >= 100 else "%.1f×" % x if x >= 10 else "%.2f×" % x


def debug_ratios(workloads, stats):
    """(wname) -> {"t_dbg": debug/production time, "r_dbg": RSS, "t_mc": memcheck/debug
    time, "r_mc": RSS}, medians of the runs; absent when either side failed."""
    out = {}
    for w in workloads:
        p, d, m = (stats.get((w.name, n)) for n in (PROD, DEBUG, MEMCHECK))
        ok = lambda st: st is not None and st.get("time") is not None
        r = {}
        if ok(p) and ok(d):
            r["t_dbg"] = d["time"] / p["time"]
            r["r_dbg"] = d["rss"] / p["rss"]
        if ok(d) and ok(m):
            r["t_mc"] = m["time"] / d["time"]
            r["r_mc"] = m["rss"] / d["rss"]
        out[w.name] = r
    return out


def debug_markdown(workloads, stats, names):
    """The debug build against production spanalloc, and memcheck on glibc
    against the debug build: table, geometric means and one verdict per goal
    of issue 4, all computed from the medians."""
    have_mc = MEMCHECK in names
    dr = debug_ratios(workloads, stats)

    def cell_time(wn, n):
        st = stats.get((wn, n))
        if not st:
            return "–"
        if st.get("time") is None:
            return "FAILED (%s)" % st["failed"]
        c = fmt_time(st["time"])
        if st.get("failed") is not None:
            c += " (failed %s after %d runs)" % (st["failed"], st["n"])
        return c

    def cell_rss(wn, n):
        st = stats.get((wn, n))
        return fmt_rss(st.get("rss")) if st and st.get("time") is not None else "–"

    cols = ["workload", "spanalloc", "debug"] + (["memcheck"] if have_mc else []) + \
        ["debug ×prod"] + (["memcheck ×debug"] if have_mc else []) + \
        ["RSS spanalloc", "RSS debug"] + (["RSS memcheck"] if have_mc else []) + \
        ["RSS debug ×prod"] + (["RSS memcheck ×debug"] if have_mc else []) + \
        ["reports debug" + (" / memcheck" if have_mc else "")]
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]
    for w in workloads:
        r = dr[w.name]
        c = [w.name, cell_time(w.name, PROD), cell_time(w.name, DEBUG)]
        if have_mc:
            c.append(cell_time(w.name, MEMCHECK))
        flag = lambda x, lim, le: ("**%s**" % fmt_x(x)) if x is not None and (
            x > lim if le else x < lim) else fmt_x(x)
        c.append(flag(r.get("t_dbg"), DEBUG_GOALS["time"], True))
        if have_mc:
            c.append(flag(r.get("t_mc"), DEBUG_GOALS["memcheck"], False))
        c += [cell_rss(w.name, PROD), cell_rss(w.name, DEBUG)]
        if have_mc:
            c.append(cell_rss(w.name, MEMCHECK))
        c.append(flag(r.get("r_dbg"), DEBUG_GOALS["rss"], True))
        if have_mc:
            c.append(fmt_x(r.get("r_mc")))
        rep = []
        for n in (DEBUG, MEMCHECK) if have_mc else (DEBUG,):
            st = stats.get((w.name, n))
            rep.append("–" if not st else str(st.get("reports") or 0))
        c.append(" / ".join(rep))
        lines.append("| " + " | ".join(c) + " |")
    gm = {}
    for k in ("t_dbg", "r_dbg", "t_mc", "r_mc"):
        xs = [dr[w.name][k] for w in workloads if k in dr[w.name]]
        gm[k] = (geomean(xs), len(xs))
    total = len(workloads)

    def g(k):
        v, cnt = gm[k]
        return "**%s**%s" % (fmt_x(v), "" if cnt == total else " (%d/%d)" % (cnt, total))

    row = ["**geomean**", "", ""] + ([""] if have_mc else []) + [g("t_dbg")] + \
        ([g("t_mc")] if have_mc else []) + ["", ""] + ([""] if have_mc else []) + [g("r_dbg")] + \
        ([g("r_mc")] if have_mc else []) + [""]
    lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Median wall time and median peak RSS of the runs; ratios are of the medians, "
                 "**bold** where a goal is missed on that workload. \"reports\": the most "
                 "report lines on stderr in one run (the debug build's `spanalloc:` lines; "
                 "memcheck's `==PID==` error lines).")
    lines.append("")

    # verdicts
    lines.append("### Verdicts (issue 4, \"Goals the benchmark shows\")\n")
    checks = [("t_dbg", "debug build median time ≤ %g× production", DEBUG_GOALS["time"], True),
              ("r_dbg", "debug build peak RSS ≤ %g× production", DEBUG_GOALS["rss"], True)]
    if have_mc:
        checks.append(("t_mc", "valgrind memcheck on glibc ≥ %g× slower than the debug build",
                       DEBUG_GOALS["memcheck"], False))
    verdicts = []
    for k, what, lim, le in checks:
        v, cnt = gm[k]
        per = [(w.name, dr[w.name][k]) for w in workloads if k in dr[w.name]]
        bad = [(n, x) for n, x in per if (x > lim if le else x < lim)]
        bad.sort(key=lambda t: -t[1] if le else t[1])
        if v is None:
            verdict = "NO DATA"
        else:
            verdict = "PASS" if (v <= lim if le else v >= lim) else "FAIL"
        if cnt < total and verdict != "NO DATA":
            verdict += " (incomplete: %d/%d workloads)" % (cnt, total)
        line = "- **%s**: %s: geomean over the suite %s; %d of %d workloads miss it%s" % (
            verdict, what % lim, fmt_x(v), len(bad), cnt,
            (" (%s%s)" % (", ".join("%s %s" % (n, fmt_x(x)) for n, x in bad[:6]),
                          ", …" if len(bad) > 6 else "")) if bad else "")
        lines.append(line + ".")
        verdicts.append(line)
    failed = ["%s under %s (%s)" % (w.name, n, stats[(w.name, n)]["failed"])
              for w in workloads for n in (PROD, DEBUG, MEMCHECK)
              if (w.name, n) in stats and stats[(w.name, n)].get("failed") is not None]
    reported = ["%s under %s" % (w.name, n) for w in workloads for n in (PROD, DEBUG)
                if stats.get((w.name, n), {}).get("reports")]
    if failed:
        lines.append("- **Failed runs**: " + "; ".join(failed) + ".")
    if reported:
        lines.append("- **spanalloc reports on stderr**: " + "; ".join(reported)
                     + " (excerpts below).")
    lines.append("")
    return "\n".join(lines), verdicts


def stderr_markdown(workloads, stats, names, max_lines=60, memcheck_lines=25):
    """stderr of the first failed or reporting run of each workload and
    allocator, so that a report can be judged (bug in the program, false
    positive, or crash of the allocator) without rerunning."""
    md = []
    for w in workloads:
        for n in names:
            st = stats.get((w.name, n))
            if not st or not st.get("stderr"):
                continue
            r = st["stderr"]
            lines = r["stderr"].rstrip("\n").splitlines()
            md.append("#### %s under %s, run %d: status %s, %d %s\n" % (
                w.name, n, r["run"], r["status"], r.get("reports") or 0,
                "memcheck error(s) in the program (glibc malloc)" if n in WRAP
                else "report line(s)"))
            if n in WRAP:
                heads = {}
                for l in lines:
                    m = re.match(r"^==\d+== (\S.*)", l)
                    if m:
                        heads[m.group(1)] = heads.get(m.group(1), 0) + 1
                md.append("Kinds: " + "; ".join("%d × %s" % (c, h) for h, c in sorted(
                    heads.items(), key=lambda t: -t[1])[:8]) + ". First lines:\n")
            lim = memcheck_lines if n in WRAP else max_lines
            md.append("```")
            md += [l[:300] for l in lines[:lim]]
            if len(lines) > lim:
                md.append("... (%d more lines)" % (len(lines) - lim))
            md.append("```\n")
    return "\n".join(md)


def machine_info():
    info = []
    info.append(("nproc", str(os.cpu_count())))
    cpu = "?"
    try:
        for line in read_text("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info.append(("CPU", cpu))
    try:
        mem = [l for l in read_text("/proc/meminfo").splitlines() if l.startswith("MemTotal")][0].split()[1]
        info.append(("memory", "%.1f GiB" % (int(mem) / 1024 / 1024)))
    except (OSError, IndexError):
        pass
    info.append(("kernel", "%s %s" % (platform.system(), platform.release())))
    try:
        osr = dict(l.rstrip().split("=", 1) for l in read_text("/etc/os-release").splitlines() if "=" in l)
        info.append(("OS", osr.get("PRETTY_NAME", "?").strip('"')))
    except OSError:
        pass
    info.append(("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    try:
        info.append(("load average (1/5/15 min) at start / at end", "%s / %s" % (
            LOAD_AT_START, "%.2f %.2f %.2f" % os.getloadavg())))
    except OSError:
        pass
    return info


def tool_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return ((p.stdout or p.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return None


def write_csv(path, rows):
    cols = ["seq", "workload", "allocator", "run", "status", "wall_s", "maxrss_kb",
            "ns_per_op", "user_s", "sys_s", "reports"]
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for r in rows:
            wr.writerow(["" if r.get(c) is None else r.get(c) for c in cols])


def write_chart(outdir, workloads, rat, names, basename="ratios"):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        warn("gnuplot not installed: no chart")
        return []
    for fname in (basename + ".svg", basename + ".png"):
        if os.path.exists(os.path.join(outdir, fname)):
            os.unlink(os.path.join(outdir, fname))
    show = [n for n in names if n != "glibc"]
    if not any(rat.get((w.name, n), {}).get(k) for w in workloads for n in show
               for k in ("t_glibc", "r_glibc")):
        warn("no ratios to glibc to chart (glibc or every other allocator missing or failed)")
        return []
    dat = os.path.join(outdir, basename + ".dat")
    with open(dat, "w") as f:
        f.write("# workload " + " ".join("t_%s" % n for n in show) + " "
                + " ".join("r_%s" % n for n in show) + "\n")
        for w in workloads:
            cells = []
            for key in ("t_glibc", "r_glibc"):
                for n in show:
                    v = rat.get((w.name, n), {}).get(key)
                    cells.append("%.4f" % v if v else "NaN")
            f.write("%s %s\n" % (w.name, " ".join(cells)))
    k = len(show)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    color = {n: colors[i % len(colors)] for i, n in enumerate(show)}
    if "spanalloc" in color:
        color["spanalloc"] = "#d62728"
        others = [c for c in colors if c != "#d62728"]
        for i, n in enumerate([x for x in show if x != "spanalloc"]):
            color[n] = others[i % len(others)]

    def plot(col0, title):
        parts = []
        for i, n in enumerate(show):
            col = col0 + i
            parts.append("'%s' using %d:xtic(1) title '%s' lc rgb '%s'" % (dat, col, n, color[n]))
        return ("set title '%s' noenhanced\nplot " % title) + ", \\\n     ".join(parts) + "\n"

    common = """
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set yrange [*:*]
set ylabel 'ratio to glibc (log scale; < 1 is better)'
set xtics rotate by -40 noenhanced
set key outside right top noenhanced
set datafile missing 'NaN'
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 lc rgb '#000000' front
set multiplot layout 2,1
"""
    body = (plot(2, "wall time, median, relative to glibc")
            + plot(2 + k, "peak RSS, median, relative to glibc")
            + "unset multiplot\n")
    made = []
    for term, fname in (("svg size 1400,900 dynamic font 'sans,11' background '#ffffff'", basename + ".svg"),
                        ("pngcairo size 1400,900 font 'sans,10' background '#ffffff'", basename + ".png")):
        script = "set terminal %s\nset output '%s'\n%s%s" % (
            term, os.path.join(outdir, fname), common, body)
        p = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        if p.returncode != 0 and "pngcairo" in term:
            script = script.replace(term, "png size 1400,900")
            p = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        if p.returncode != 0:
            warn("gnuplot failed for %s: %s" % (fname, p.stderr.strip()[-500:]))
        else:
            made.append(fname)
    os.unlink(dat)
    return made


def build_markdown(args, workloads, allocs, stats, rat, cg, cg_notes, cg_iters, elapsed, scale,
                   charts=()):
    all_names = [a for a, _ in allocs]
    names = [n for n in all_names if n not in SEPARATE]
    md = []
    md.append("# spanalloc benchmark results\n")
    mode = "quick" if args.quick else "full"
    md.append("Mode: **%s** (BENCH_SCALE=%s, %d runs per allocator and workload, allocators "
              "alternated run by run), wall %.0f s. Generated by `python3 bench/run.py%s`.\n" % (
                  mode, scale, args.runs, elapsed, "".join(f for f, on in (
                      (" --quick", args.quick), (" --with-debug", args.with_debug),
                      (" --with-memcheck", args.with_memcheck)) if on)))
    md.append("## Machine\n")
    for k, v in machine_info():
        md.append("- %s: %s" % (k, v))
    md.append("")
    md.append("## Allocators\n")
    for n, p in allocs:
        md.append("- **%s**: %s" % (n, describe_allocator(n, p)))
    md.append("")
    md.append("Real programs: " + "; ".join(x for x in [
        tool_version(["sqlite3", "--version"]) and "sqlite3 " + tool_version(["sqlite3", "--version"]).split()[0],
        "python3 %s (`%s`)" % (tool_version([python_for_workload(), "--version"]).split()[-1],
                               python_for_workload()),
        tool_version(["gcc", "--version"]),
        tool_version(["sort", "--version"]),
    ] if x) + ". Workloads built with `%s %s`.\n" % (args.cc, " ".join(CFLAGS)))

    md.append("## Summary: ratio to glibc, time / peak RSS (median of runs; < 1 is better)\n")
    summ, gm = summary_markdown(workloads, stats, rat, names)
    md.append(summ)
    md.append("")
    md.append("Best peer = the best of glibc, jemalloc, tcmalloc and mimalloc on that workload "
              "(time and RSS judged separately). Geometric means are over the workloads the "
              "allocator completed (a count is shown when it is not all of them).\n")
    if "ratios.svg" in charts:
        md.append("![time and RSS ratios to glibc](ratios.svg)\n")
    if any(n in SEPARATE for n in all_names):
        md.append("## Debug build%s (apart from the table above)\n" % (
            " and valgrind memcheck" if MEMCHECK in all_names else ""))
        md.append(debug_notes(all_names))
        dmd, _ = debug_markdown(workloads, stats, all_names)
        md.append(dmd)

    if cg is not None:
        md.append("## Cost model: instructions per malloc+free pair (callgrind)\n")
        ns = {}
        for n in names:
            for s in PAIR_SIZES:
                st = stats.get(("pairs_%d" % s, n))
                if st and st.get("ns") is not None:
                    ns[(n, s)] = st["ns"]
        md.append(callgrind_markdown(cg, [a for a in allocs if a[0] not in SEPARATE], cg_iters, ns))
        md.append("")
    for note in cg_notes:
        md.append("- " + note)
    if cg_notes:
        md.append("")

    md.append("## Per workload\n")
    md.append("Time is the wall time of the whole process (median, min–max over the runs); "
              "ns/op is the program's own timing of its loop; peak RSS is `ru_maxrss` from "
              "`wait4` (the process and its children).\n")
    for w in workloads:
        md.append(workload_markdown(w, stats, rat, names))
    se = stderr_markdown(workloads, stats, all_names)
    if se:
        md.append("## stderr of failed or reporting runs\n")
        md.append(se)
    return "\n".join(md)


def debug_notes(names):
    out = ["The debug build (`%s`) runs with `SPANALLOC_OPTIONS` unset: its defaults, the "
           "configuration users get (the runner removes the variable for every allocator)."
           % DEBUG]
    if MEMCHECK in names:
        out.append("`memcheck` is glibc malloc with the workload run under `valgrind %s` "
                   "(inside memrun, which measures the valgrind process): its peak RSS is "
                   "valgrind's, so it includes valgrind's own core, the translated code and "
                   "memcheck's shadow memory, not just the program's heap. `--trace-children=yes` "
                   "checks multi-process workloads whole (gcc runs cc1 and as); a memcheck error "
                   "does not fail the run (`--error-exitcode=0`) but is counted." % " ".join(
                       MEMCHECK_ARGV))
    return " ".join(out) + "\n"


def debug_compare_markdown(args, workloads, allocs, stats, elapsed, scale):
    names = [a for a, _ in allocs]
    md = ["# spanalloc debug build: cost against production and against valgrind memcheck\n"]
    md.append("Mode: **debug-compare** (BENCH_SCALE=%s, %d runs per allocator and workload, "
              "allocators alternated run by run), wall %.0f s. Generated by "
              "`python3 bench/run.py --debug-compare` (`make bench-debug`).\n" % (
                  scale, args.runs, elapsed))
    md.append("Goals (issue 4): the debug build at most %g× the production build's median time "
              "and %g× its peak RSS on the suite, and valgrind memcheck on glibc at least %g× "
              "slower than the debug build on the same workloads.\n" % (
                  DEBUG_GOALS["time"], DEBUG_GOALS["rss"], DEBUG_GOALS["memcheck"]))
    md.append("## Machine\n")
    for k, v in machine_info():
        md.append("- %s: %s" % (k, v))
    md.append("")
    md.append("## Allocators\n")
    for n, p in allocs:
        md.append("- **%s**: %s" % (n, describe_allocator(n, p)))
    md.append("")
    md.append(debug_notes(names))
    md.append("## Results\n")
    dmd, _ = debug_markdown(workloads, stats, names)
    md.append(dmd)
    md.append("Workloads: " + "; ".join("%s: %s" % (w.name, w.desc) for w in workloads) + ".\n")
    se = stderr_markdown(workloads, stats, names)
    if se:
        md.append("## stderr of failed or reporting runs\n")
        md.append(se)
    return "\n".join(md)


# --------------------------------------------------------------------------
# main


def main():
    global RUN_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="short version for CI: BENCH_SCALE=0.2, 3 runs")
    ap.add_argument("--runs", type=int, help="runs per allocator and workload (default 5, quick 3)")
    ap.add_argument("--scale", type=float, help="BENCH_SCALE (default 1, quick 0.2)")
    ap.add_argument("--lib", action="append", default=[], metavar="NAME=PATH",
                    help="add (or replace) an allocator to preload; repeatable")
    ap.add_argument("--with-debug", action="store_true",
                    help="add %s (build/libspanalloc-debug.so), reported in its own section" % DEBUG)
    ap.add_argument("--with-memcheck", action="store_true",
                    help="add %s: glibc under valgrind memcheck (20-100x slower: lower --scale)"
                    % MEMCHECK)
    ap.add_argument("--debug-compare", action="store_true",
                    help="spanalloc, %s and %s only, BENCH_SCALE=%s, 3 runs: writes debug.md "
                    "and debug.csv with the issue 4 verdicts" % (DEBUG, MEMCHECK, DEBUG_SCALE))
    ap.add_argument("--only", help="comma-separated workload names or prefixes")
    ap.add_argument("--allocators", help="comma-separated allocator names to keep")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the callgrind cost model")
    ap.add_argument("--callgrind-only", action="store_true",
                    help="only the callgrind cost model, printed as Markdown")
    ap.add_argument("--callgrind-iters", type=int,
                    help="pairs N in the callgrind runs (N and 2N; default 200000, quick 50000)")
    ap.add_argument("--out", default=RESULTS, help="results directory (default bench/results)")
    ap.add_argument("--cc", default=os.environ.get("CC") or "gcc", help="C compiler (default $CC or gcc)")
    ap.add_argument("--timeout", type=float,
                    help="seconds before one run counts as failed (default 90, debug-compare 300)")
    ap.add_argument("--list", action="store_true", help="list workloads and allocators, then exit")
    args = ap.parse_args()
    if args.debug_compare and (args.quick or args.callgrind_only):
        sys.exit("bench: --debug-compare goes with neither --quick nor --callgrind-only")
    RUN_TIMEOUT = args.timeout or (300.0 if args.debug_compare else 90.0)

    if args.runs is None:
        args.runs = 3 if (args.quick or args.debug_compare) else 5
    scale = args.scale if args.scale else (
        DEBUG_SCALE if args.debug_compare else 0.2 if args.quick else 1.0)
    cg_iters = args.callgrind_iters or (50000 if args.quick else 200000)
    args.out = os.path.abspath(args.out)

    t0 = time.monotonic()
    log("bench: building workloads with %s into %s" % (args.cc, os.path.relpath(BUILD, ROOT)))
    build(args.cc)
    if args.debug_compare:
        allocs = find_allocators(args.lib, with_debug=True, with_memcheck=True, peers=False)
    else:
        allocs = find_allocators(args.lib, args.with_debug, args.with_memcheck)
    if args.allocators:
        keep = args.allocators.split(",")
        allocs = [a for a in allocs if a[0] in keep]

    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="spanalloc-bench-")
    try:
        allocs = snapshot_libs(allocs, tmp)
        allocs = check_preload(allocs)
        if not allocs:
            sys.exit("bench: no allocator to run")
        log("bench: allocators: " + ", ".join(n for n, _ in allocs))
        cg_allocs = [a for a in allocs if a[0] not in SEPARATE]
        if args.callgrind_only:
            table, notes = run_callgrind(cg_allocs, cg_iters, tmp)
            for n in notes:
                warn(n)
            if table is None:
                return 0
            print(callgrind_markdown(table, cg_allocs, cg_iters))
            return 0

        workloads = make_workloads(tmp, scale)
        if args.only:
            pats = args.only.split(",")
            workloads = [w for w in workloads if any(w.name == p or w.name.startswith(p) for p in pats)]
        if args.list:
            for w in workloads:
                print("%-14s %-5s %s" % (w.name, w.kind, w.desc))
            for n, p in allocs:
                print("allocator %-10s %s" % (n, " ".join(WRAP[n]) if n in WRAP else p or "(none)"))
            return 0
        log("bench: %d workloads x %d allocators x %d runs, BENCH_SCALE=%s"
            % (len(workloads), len(allocs), args.runs, scale))
        rows = run_all(workloads, allocs, args.runs, tmp, scale)

        if args.debug_compare:
            stats = summarize(rows, workloads, allocs)
            write_csv(os.path.join(args.out, "debug.csv"), rows)
            md = debug_compare_markdown(args, workloads, allocs, stats,
                                        time.monotonic() - t0, scale)
            with open(os.path.join(args.out, "debug.md"), "w") as f:
                f.write(md + "\n")
            print(md)
            log("bench: wrote %s (debug.md, debug.csv) in %.0f s" % (
                os.path.relpath(args.out, os.getcwd()), time.monotonic() - t0))
            return 0

        cg, cg_notes = None, []
        if not args.no_callgrind and cg_allocs:
            t_cg = time.monotonic()
            log("bench: callgrind cost model (%d and %d pairs per size)" % (cg_iters, 2 * cg_iters))
            cg, cg_notes = run_callgrind(cg_allocs, cg_iters, tmp)
            for n in cg_notes:
                warn(n)
            log("bench: callgrind took %.1f s" % (time.monotonic() - t_cg))

        names = [n for n, _ in allocs]
        stats = summarize(rows, workloads, allocs)
        rat = ratios(stats, workloads, names)
        write_csv(os.path.join(args.out, "latest.csv"), rows)
        made = write_chart(args.out, workloads, rat, [n for n in names if n not in SEPARATE])
        elapsed = time.monotonic() - t0
        md = build_markdown(args, workloads, allocs, stats, rat, cg, cg_notes, cg_iters,
                            elapsed, scale, made)
        with open(os.path.join(args.out, "latest.md"), "w") as f:
            f.write(md + "\n")
        print(md)
        log("bench: wrote %s (latest.md, latest.csv%s) in %.0f s" % (
            os.path.relpath(args.out, os.getcwd()), "".join(", " + m for m in made), elapsed))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
