#!/usr/bin/env python3
"""Write the seed inputs of the spanalloc fuzz harnesses.

    python3 fuzz/gen_corpus.py [CORPUS-DIR]        (default: corpus/)

For every harness, corpus/<harness>/seed-<name> files covering each
operation and each size tier, and a dictionary corpus/<harness>.dict.

The encoder mirrors the decoder in fuzz/ops.c (and fuzz_heap.c,
fuzz_fixalloc.c, fuzz_options.c): an operation byte chosen through the
harness's weight table (read from fuzz/fuzz_<harness>.c and the enum in
fuzz/ops.h), then that operation's argument bytes.  It also mirrors the
model's list of live blocks (appended on allocation, swap-removed on free)
so that "pick" bytes choose the intended block.  Change the two together;
a seed that drifts out of step is still a valid input, only a less useful
one.  Python 3 standard library only.
"""
import hashlib
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAGE = 8192
ARENA = 64 << 20
MAX_SMALL = 32768


def read(path):
    with open(path) as f:
        return f.read()


def class_table(name):
    src = read(os.path.join(ROOT, "src", "sizeclasses.c"))
    m = re.search(r"%s\[NUM_SIZE_CLASSES\]\s*=\s*\{([^}]*)\}" % name, src)
    return [int(x) for x in m.group(1).replace("\n", " ").split(",") if x.strip()]


CLASS_SIZE = class_table("class_to_size")
CLASS_NELEMS = class_table("class_to_nelems")


def enum(name):
    src = read(os.path.join(HERE, "ops.h"))
    body = re.search(r"enum %s \{(.*?)\};" % name, src, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return [x.strip() for x in body.split(",") if x.strip()]


OPS = enum("op")
TIERS = enum("tier")


def cexpr(s):
    s = s.strip().rstrip(",")
    if not re.fullmatch(r"[0-9 <>()*+]+", s):
        raise ValueError(s)
    return int(eval(s))  # digits, shifts and products only (checked above)


class Profile:
    def __init__(self, harness):
        src = read(os.path.join(HERE, "fuzz_%s.c" % harness))
        self.name = harness

        def weights(field, names):
            m = re.search(r"\.%s\s*=\s*\{(.*?)\}," % field, src, re.S)
            w = [0] * len(names)
            for k, v in re.findall(r"\[(\w+)\]\s*=\s*(\d+)", m.group(1)):
                w[names.index(k)] = int(v)
            return w

        def scalar(field):
            return cexpr(re.search(r"\.%s\s*=\s*([^,\n]+)" % field, src).group(1))

        self.opw = weights("op_weight", OPS)
        self.tierw = weights("tier_weight", TIERS)
        self.max_live = scalar("max_live")
        self.max_batch = scalar("max_batch")
        self.nthreads = scalar("nthreads")
        self.max_large = scalar("max_large")
        self.max_align_log2 = scalar("max_align_log2")
        self.opbyte = self.first_bytes(self.opw, OPS)
        self.tierbyte = self.first_bytes(self.tierw, TIERS)

    @staticmethod
    def first_bytes(w, names):
        """ops.c build_tables: byte b -> entry; the first byte of each entry."""
        total = sum(w)
        table, k, acc = [], 0, w[0]
        for b in range(256):
            while b * total >= acc * 256 and k + 1 < len(w):
                k += 1
                acc += w[k]
            table.append(k)
        first = {}
        for b, k in enumerate(table):
            first.setdefault(names[k], b)
        return first

    def has(self, op):
        return op in self.opbyte

    def tier(self, t):
        return t in self.tierbyte


def needs(op_of):
    """Skip the method when the harness has no such operation (op_of: the
    operation's name, or a function of the call's arguments giving it)."""
    def wrap(fn):
        def call(self, *a, **k):
            name = op_of(*a, **k) if callable(op_of) else op_of
            if not self.p.has("OP_" + name):
                return None
            return fn(self, *a, **k)
        return call
    return wrap


class Seed:
    """An input under construction, with the model's live list."""

    def __init__(self, prof):
        self.p = prof
        self.b = bytearray()
        self.live = []  # requested sizes, in the model's order
        self.grave = 0  # freed addresses in the model's graveyard

    # -- raw bytes
    def u8(self, v):
        self.b.append(v & 0xFF)

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xFFFF)

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)

    def u64(self, v):
        self.b += struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

    def op(self, name):
        self.u8(self.p.opbyte["OP_" + name])

    # -- sizes: the bytes of gen_size for the best tier the harness has
    def size(self, n):
        p = self.p
        if n < 16 and p.tier("T_TINY"):
            self.u8(p.tierbyte["T_TINY"])
            self.u8(n)
        elif 16 <= n <= MAX_SMALL and p.tier("T_SMALL"):
            self.u8(p.tierbyte["T_SMALL"])
            self.u16(n - 16)
        elif 1 <= n <= MAX_SMALL and p.tier("T_SMALL_EDGE"):
            c = next(i for i in range(1, len(CLASS_SIZE)) if CLASS_SIZE[i] >= n)
            lo = CLASS_SIZE[c - 1]
            self.u8(p.tierbyte["T_SMALL_EDGE"])
            self.u8(c - 1)
            self.u8(3)
            self.u16(n - lo - 1)
        elif 1 <= n <= 1024 and p.tier("T_MEDIUM"):
            self.u8(p.tierbyte["T_MEDIUM"])
            self.u16(n - 1)
        elif n > MAX_SMALL and p.tier("T_LARGE"):
            k = (n + PAGE - 1) // PAGE
            self.u8(p.tierbyte["T_LARGE"])
            self.u16(k - 5)
            self.u8(3)
            self.u16(k * PAGE - n)
        elif n > MAX_SMALL and p.tier("T_LARGE_CACHE") and n <= 40 * PAGE:
            k = (n + PAGE - 1) // PAGE
            self.u8(p.tierbyte["T_LARGE_CACHE"])
            self.u8(k - 5)
            self.u8(1)
            self.u16(k * PAGE - n)
        else:
            return self.size(min(max(n, 1), 1024) if n <= MAX_SMALL else 1000)
        return n

    def edge(self, cls, variant):
        """A class-edge size (T_SMALL_EDGE variant 0: the class size, 1: one
        less, 2: one more than the class below)."""
        if not self.p.tier("T_SMALL_EDGE"):
            return self.size(CLASS_SIZE[cls])
        self.u8(self.p.tierbyte["T_SMALL_EDGE"])
        self.u8(cls - 1)
        self.u8(variant)
        hi, lo = CLASS_SIZE[cls], CLASS_SIZE[cls - 1]
        return [hi, hi - 1 if hi - 1 > lo else hi, lo + 1][variant]

    def pick_newest(self):
        if self.live:
            self.u16(0x8000)
            return len(self.live) - 1
        return -1

    def pick_index(self, i):
        if self.live:
            self.u16(i % len(self.live))
            return i % len(self.live)
        return -1

    def room(self, n=1):
        return len(self.live) + n <= self.p.max_live

    def remove(self, i):
        self.live[i] = self.live[-1]
        self.live.pop()
        self.grave += 1

    # -- operations
    @needs("MALLOC")
    def malloc(self, n):
        if not self.room():
            return
        self.op("MALLOC")
        self.live.append(self.size(n))

    @needs("CALLOC")
    def calloc(self, n):
        if not self.room():
            return
        self.op("CALLOC")
        n = self.size(n)
        k = 1 + n % 7
        self.live.append(k * (n // k))

    @needs("FREE")
    def free_newest(self):
        self.op("FREE")
        i = self.pick_newest()
        if i >= 0:
            self.remove(i)

    @needs("FREE")
    def free_index(self, i):
        self.op("FREE")
        i = self.pick_index(i)
        if i >= 0:
            self.remove(i)

    @needs(lambda n, array=False: "REALLOCARRAY" if array else "REALLOC")
    def realloc_to(self, n, array=False):
        """Reallocate the newest block to about n bytes (variant 4: a new size)."""
        self.op("REALLOCARRAY" if array else "REALLOC")
        i = self.pick_newest()
        if i < 0:
            self.u8(15)  # realloc(NULL, n)
            self.live.append(self.size(n))
            return
        self.u8(4)
        n = self.size(n)
        if array and n:
            k = 1 + n % 5
            n = k * (n // k)
        self.remove(i)
        if n:
            self.live.append(n)

    @needs("REALLOC")
    def realloc_variant(self, v, extra=0):
        """op_realloc variants 0..7 on the newest block."""
        self.op("REALLOC")
        i = self.pick_newest()
        old = self.live[i]
        self.u8(v)
        if v % 8 == 0:
            self.u8(extra)
            n = old + 1 + extra % 64
        elif v % 8 == 1:
            n = old // 2
        elif v % 8 == 2:
            n = max(old - 1, 0)
        elif v % 8 == 3:
            self.u8(extra)
            n = 0 if extra % 4 == 0 else old
        elif v % 8 in (4, 5):
            n = self.size(extra * 10 + 1)
        elif v % 8 == 6:
            n = old * 2 + 1
        elif v % 8 == 7:
            self.u8(extra)
            n = old + PAGE * (1 + extra % 8)
        if n > self.p.max_large * 2:
            n = self.p.max_large
        self.remove(i)
        if n:
            self.live.append(n)

    @needs(lambda which, *a, **k: which)
    def aligned(self, which, align_code, n, valid=True):
        """which: ALIGNED_ALLOC, POSIX_MEMALIGN, MEMALIGN (align_code: the
        gen_align bytes), VALLOC or PVALLOC."""
        if not self.room():
            return
        self.op(which)
        if which not in ("VALLOC", "PVALLOC"):
            for b in align_code:
                self.u8(b)
        n = self.size(n)
        if which == "PVALLOC":
            n = (n + 4095) // 4096 * 4096 if n else 4096
        if valid:
            self.live.append(n)

    def simple(self, name):
        if self.p.has("OP_" + name):
            self.op(name)

    @needs("BATCH_ALLOC")
    def batch_alloc(self, n, count, zero=False):
        self.op("BATCH_ALLOC")
        n = self.size(n)
        self.u16(count - 1)
        self.u8(0 if zero else 1)
        count = 1 + (count - 1) % self.p.max_batch
        if 16 <= n <= MAX_SMALL:
            c = next(i for i in range(1, len(CLASS_SIZE)) if CLASS_SIZE[i] >= n)
            count = min(count, 3 * CLASS_NELEMS[c] + 1)
        elif n > MAX_SMALL:
            count = min(count, 8)
        if zero:
            k = 1 + n % 7
            n = k * (n // k)
        for _ in range(count):
            if self.room():
                self.live.append(n)

    @needs("BATCH_FREE")
    def batch_free(self, mode, k=1, mask=0, order=0):
        """Modes 0 (every k-th), 2 (the last 8k), 3 (mask), 4 (all)."""
        self.op("BATCH_FREE")
        if not self.live:
            return
        self.u8(mode)
        self.u8(k - 1)
        self.pick_index(0)
        self.u64(mask)
        n = len(self.live)
        take = [i for i in range(n)
                if (mode == 0 and i % k == 0) or (mode == 2 and i + 8 * k >= n)
                or (mode == 3 and (mask >> (i % 64)) & 1) or mode == 4]
        for i in reversed(take):
            self.remove(i)
        self.u8(order)

    @needs("SCAV_MS")
    def scav_ms(self, v):
        self.op("SCAV_MS")
        self.u8(v)

    @needs("FAIL")
    def fail(self, k, *args):
        """op_fail case k; args: its argument bytes (u16/u32 as ints, in order)."""
        self.op("FAIL")
        self.u8(k)
        layout = {0: "H", 1: "I", 2: "BB", 3: "", 4: "BB", 5: "BB", 6: "BB", 7: "H", 8: "H", 9: "HB"}
        if k in layout:
            vals = list(args) + [0] * (len(layout[k]) - len(args))
            self.b += struct.pack("<" + layout[k], *vals) if layout[k] else b""
        else:  # 10, 11: a live block (or NULL) to an impossible size
            self.pick_newest()
            if k == 10:
                self.u16(args[0] if args else 0)
            else:
                self.u8(args[0] if args else 0)

    @needs("CENTRAL_CYCLE")
    def central_cycle(self, spc):
        self.op("CENTRAL_CYCLE")
        if self.p.nthreads == 1:
            self.u8(spc - 1)

    @needs("REALLOC_CHAIN")
    def realloc_chain(self, n, style, sizes=()):
        """n reallocs of the newest block; style: 2 bits per step (0 creep,
        1 double, 2 shrink, 3 a size from sizes)."""
        self.op("REALLOC_CHAIN")
        i = self.pick_newest()
        if i < 0:
            return
        self.u8(n - 2)
        self.u8(style)
        sizes = list(sizes)
        cur = self.live[i]
        for j in range(n):
            kind = (style >> (j % 4 * 2)) & 3
            if kind == 0:
                self.u8(7)
                new = cur + 1 + 7
            elif kind == 1:
                self.u8(3)
                new = cur * 2 + 3
            elif kind == 2:
                self.u8(0)
                new = cur - cur // 2
            else:
                new = self.size(sizes.pop(0) if sizes else 100)
            if new == 0:
                new = 1
            if new > self.p.max_large:
                self.u8(0)
                new = self.p.max_large
            self.remove(i)
            self.live.append(new)
            i = len(self.live) - 1
            cur = new

    @needs("FORK")
    def fork(self, how=0):
        self.op("FORK")
        self.u8(how)

    @needs("HUGE")
    def huge(self, pages, zero=False):
        """A block of 64 MiB + 1 + pages * 8 KiB (op_huge)."""
        self.op("HUGE")
        self.u16(pages)
        self.u8(1 if zero else 0)

    @needs("DEBUG_MODE")
    def debug_mode(self, efence, quarantine, nops):
        """Debug build: efence on/off and quarantine_kb (0, 1, 64, 4096 KiB:
        index 0..3) for the next nops operations."""
        self.op("DEBUG_MODE")
        self.u8((1 if efence else 0) | (quarantine << 1))
        self.u8(nops - 1)

    @needs("OOM")
    def oom(self, how, room_mib):
        self.op("OOM")
        self.u8(how)
        self.u8(room_mib)

    @needs("DEBUG_BUG")
    def debug_bug(self, kind, v=5):
        """0 overflow, 1 underflow, 2 write after free, 3 efence overflow,
        4 efence use after free (debug build without ASan)."""
        self.op("DEBUG_BUG")
        self.u8(kind)
        self.u16(v)

    @needs("SWITCH")
    def switch(self):
        self.op("SWITCH")

    @needs("BURST")
    def burst(self, plan0, plan1):
        """plans: lists of ('m', size) or ('f', None) (free the newest)."""
        self.op("BURST")
        added = []
        for plan in (plan0, plan1):
            self.u8(len(plan))
            for kind, n in plan:
                if kind == "f":
                    assert self.live, "burst: nothing to free"
                    self.u8(1)
                    self.pick_newest()
                    self.remove(len(self.live) - 1)
                else:
                    self.u8(0)
                    added.append(self.size(n))
        self.live += added

    @needs("BAD")
    def bad(self, kind, api, *args):
        """One bad call (badfree harness).  kind 0/1: a freed address;
        2: interior of the newest; 3: outside the heap (args[0]: which);
        5: the newest + args[0] (int16); 6: a span's tail.  api: 0 free,
        1 realloc, 2 malloc_usable_size."""
        self.op("BAD")
        self.u8(kind)
        if kind in (0, 1):
            self.u8(args[0] if args else 0)
        elif kind == 2:
            self.pick_newest()
            self.u32(args[0] if args else 1)
        elif kind == 3:
            self.u8(args[0] if args else 0)
        elif kind == 4:
            self.u8(0)
            self.u32(args[0] if args else 12345)
        elif kind == 5:
            self.pick_newest()
            self.u16(args[0] if args else 1)
        elif kind == 6:
            self.pick_newest()
            self.u8(args[0] if args else 0)
        elif kind == 7:
            self.u8(0)
            self.u8(args[0] if args else 0)
        self.u8(api)
        if api == 1:
            self.u8(10)


# ---- the seeds of each harness ---------------------------------------------------------

def common(prof):
    """Seeds every allocation harness gets: each operation once or twice."""
    seeds = {}

    def new():
        return Seed(prof)

    s = new()
    for n in (0, 1, 7, 8, 15, 16, 17, 100, 1024, 4096, 32768):
        s.malloc(n)
    if prof.has("OP_USABLE"):
        s.op("USABLE")
        s.pick_newest()
    for _ in range(11):
        s.free_newest()
    seeds["malloc-free"] = s

    s = new()
    for n in (1, 13, 48, 1000, 20000, 40000):
        s.calloc(n)
    s.simple("CHECK")
    seeds["calloc"] = s

    s = new()
    s.malloc(5)
    s.realloc_to(9)
    s.realloc_to(100)
    s.realloc_to(3000)
    s.realloc_to(50000)
    s.realloc_to(20)
    s.realloc_to(0)
    s.malloc(24)
    s.realloc_to(200, array=True)
    seeds["realloc"] = s

    if prof.has("OP_REALLOC"):
        s = new()
        s.malloc(100)
        for v in range(8):
            s.realloc_variant(v, extra=5 + v)
            if not s.live:
                s.malloc(100)
        seeds["realloc-variants"] = s

    s = new()
    for code, n in (((0, 4), 10), ((0, 6), 100), ((0, 12), 5000), ((0, 13), 40000),
                    ((7, 0x30, 0), 10), ((8, 2), 64), ((9, 0), 8), ((9, 8), 1), ((0, 3), 0)):
        align = {0: None}.get(code[0])
        valid = True
        if code[0] == 7:
            valid = False  # 48: not a power of two
        if code[0] == 9:
            valid = code[1] in (1, 2, 3, 8, 9, 14)  # odd[]: 1, 2, 4, 64 MiB, 32 MiB, PAGE_SIZE
        if code[0] == 8:
            valid = ((code[1] % 64) + 1) in (1, 2, 4, 8, 16, 32, 64)
        if code[0] == 0:
            valid = True
        _ = align
        if prof.has("OP_ALIGNED_ALLOC"):
            s.aligned("ALIGNED_ALLOC", code, n, valid)
    if prof.has("OP_POSIX_MEMALIGN"):
        s.aligned("POSIX_MEMALIGN", (0, 5), 100)
        s.aligned("POSIX_MEMALIGN", (7, 12, 0), 100, valid=False)
        s.aligned("POSIX_MEMALIGN", (0, 2), 100, valid=False)  # 4: not a multiple of sizeof(void *)
    if prof.has("OP_MEMALIGN"):
        s.aligned("MEMALIGN", (0, 7), 300)
    if prof.has("OP_VALLOC"):
        s.aligned("VALLOC", (), 10)
    if prof.has("OP_PVALLOC"):
        s.aligned("PVALLOC", (), 5000)
    s.batch_free(4) if prof.has("OP_BATCH_FREE") and s.live else None
    if s.b:
        seeds["aligned"] = s

    if prof.has("OP_FAIL"):
        s = new()
        s.malloc(64)
        for k in range(12):
            s.fail(k, *([3] if k in (0, 7, 8) else []))
        seeds["fail"] = s

    if prof.has("OP_BATCH_ALLOC"):
        s = new()
        s.batch_alloc(48, 400)
        s.batch_free(0, k=2)
        s.simple("FLUSH")
        s.batch_free(4)
        s.simple("STATS")
        s.batch_alloc(5, 300)
        s.batch_free(3, mask=0x5555AAAA5555AAAA, order=3)
        s.batch_free(2, k=3, order=1)
        s.simple("CHECK")
        seeds["batch"] = s

    s = new()
    s.malloc(40000)
    s.malloc(300000)
    s.free_index(0)
    s.simple("SCAVENGE")
    s.scav_ms(1) if prof.has("OP_SCAV_MS") else None
    s.malloc(40000)
    s.malloc(3)
    s.simple("PRINT_STATS")
    s.simple("FLUSH")
    s.simple("CHECK")
    seeds["scavenge"] = s

    if prof.has("OP_FORK"):
        s = new()
        for n in (3, 100, 5000, 50000):
            s.malloc(n)
        s.fork(0)
        s.free_newest()
        s.fork(1)
        seeds["fork"] = s

    if prof.has("OP_DEBUG_MODE"):
        s = new()
        s.debug_mode(True, 0, 6)
        for n in (5, 100, 3000, 40000):
            s.malloc(n)
        s.free_index(1)
        s.realloc_to(200)
        s.debug_mode(False, 1, 8)
        for n in (24, 24, 24, 500):
            s.malloc(n)
        for _ in range(4):
            s.free_newest()
        s.debug_mode(False, 0, 3)
        s.malloc(64)
        s.free_newest()
        seeds["debug-efence-quarantine"] = s

    if prof.has("OP_DEBUG_BUG"):
        for pair in ((0, 1), (2, 3), (4, 0)):
            s = new()
            s.malloc(100)
            for k in pair:
                s.debug_bug(k, 7 + k)
            seeds["debug-bug-%d%d" % pair] = s

    if prof.has("OP_OOM"):
        for how, room in ((0, 2), (3, 9)):
            s = new()
            s.malloc(100)
            s.oom(how, room)
            seeds["oom-%d" % how] = s

    if prof.has("OP_HUGE"):
        s = new()
        s.malloc(100000)
        s.huge(1)
        s.huge(3000, zero=True)
        seeds["huge"] = s

    if prof.has("OP_REALLOC_CHAIN"):
        s = new()
        s.malloc(1)
        s.realloc_chain(30, 0b00000000)
        s.malloc(10)
        s.realloc_chain(20, 0b01010101)
        s.malloc(60000)
        s.realloc_chain(12, 0b10101010)
        s.malloc(700)
        s.realloc_chain(8, 0b11111111, sizes=(5, 17, 40000, 300, 2, 33000, 9000, 1))
        seeds["realloc-chain"] = s

    if prof.has("OP_CENTRAL_CYCLE"):
        s = new()
        s.batch_alloc(256, 200) if prof.has("OP_BATCH_ALLOC") else s.malloc(256)
        s.simple("FLUSH")
        for spc in (1, 2, 17, 30, 66, 67):
            s.central_cycle(spc)
        s.simple("STATS")
        seeds["central-cycle"] = s
    return seeds


def edges(prof, classes):
    """Sizes at the edges of the given classes."""
    seeds = {}
    for chunk in range(0, len(classes), 11):
        s = Seed(prof)
        for c in classes[chunk:chunk + 11]:
            for v in range(3):
                if s.room():
                    s.op("MALLOC")
                    s.live.append(s.edge(c, v))
        s.simple("STATS")
        s.simple("CHECK")
        for i in range(len(s.live)):
            s.free_index(i * 7)
        seeds["edges-%02d" % classes[chunk]] = s
    return seeds


def seeds_tiny(p):
    seeds = common(p)
    s = Seed(p)
    for n in list(range(16)) * 3:
        s.malloc(n)
    for i in range(0, 48, 3):
        s.free_index(i)
    s.simple("FLUSH")
    for i in range(len(s.live)):
        s.free_newest()
    seeds["tiny-every-size"] = s
    s = Seed(p)
    s.malloc(4)
    s.malloc(4)
    s.malloc(8)
    s.free_index(0)
    s.malloc(2)
    s.realloc_to(12)
    s.realloc_to(1)
    s.aligned("ALIGNED_ALLOC", (0, 4), 3)
    s.aligned("ALIGNED_ALLOC", (0, 5), 7)
    seeds["tiny-pack"] = s
    seeds.update(edges(p, [1, 2, 3]))
    return seeds


def seeds_small(p):
    seeds = common(p)
    seeds.update(edges(p, list(range(1, 67))))
    s = Seed(p)
    for c in (2, 5, 25, 43, 50, 66):
        s.batch_alloc(CLASS_SIZE[c], CLASS_NELEMS[c] + 1)
    s.simple("STATS")
    s.batch_free(4, order=2)
    seeds["span-plus-one"] = s
    return seeds


def seeds_large(p):
    seeds = common(p)
    s = Seed(p)
    for k in (5, 8, 31, 32, 33, 40, 100, 511):
        s.malloc(k * PAGE)
        s.malloc(k * PAGE + 1)
    for i in range(0, 16, 2):
        s.free_index(i)
    s.calloc(32 * PAGE)
    s.simple("CHECK")
    seeds["large-pages"] = s
    s = Seed(p)
    s.malloc(5 * PAGE)
    s.realloc_variant(7, extra=3)
    s.realloc_variant(7, extra=7)
    s.realloc_variant(1)
    s.realloc_variant(6)
    s.scav_ms(0)
    s.malloc(40 * PAGE)
    s.free_newest()
    s.calloc(40 * PAGE)
    seeds["large-grow"] = s
    s = Seed(p)
    for lg in (14, 16, 18, 20, 21):
        s.aligned("ALIGNED_ALLOC", (0, lg), 40000)
        s.aligned("POSIX_MEMALIGN", (0, lg), 100)
    s.aligned("ALIGNED_ALLOC", (9, 8), 100)  # 64 MiB: one arena's start
    seeds["large-align"] = s
    return seeds


def seeds_realloc(p):
    seeds = common(p)
    s = Seed(p)
    s.malloc(1)
    s.realloc_chain(31, 0b01010101)
    s.realloc_chain(31, 0b10101010)
    seeds["chain-up-down"] = s
    return seeds


def seeds_central(p):
    seeds = common(p)
    for c in (2, 3, 9, 18, 26, 40, 50, 58, 66):
        s = Seed(p)
        n = CLASS_NELEMS[c]
        s.batch_alloc(CLASS_SIZE[c], 2 * n + 1)
        s.simple("FLUSH")
        s.batch_free(0, k=2, order=1)
        s.simple("STATS")
        s.batch_alloc(CLASS_SIZE[c], n)
        s.central_cycle(c)
        s.batch_free(4, order=3)
        s.simple("STATS")
        s.simple("CHECK")
        seeds["cycle-class-%02d" % c] = s
    s = Seed(p)
    s.batch_alloc(4, 1500)
    s.simple("FLUSH")
    s.batch_free(0, k=3)
    s.simple("STATS")
    seeds["cycle-tiny"] = s
    return seeds


def seeds_threads(p):
    seeds = common(p)
    s = Seed(p)
    for n in (5, 100, 2000, 40000):
        s.malloc(n)
    s.switch()
    for i in range(4):
        s.free_newest()
    s.malloc(100)
    s.switch()
    s.free_newest()
    seeds["cross-free"] = s
    s = Seed(p)
    s.batch_alloc(64, 300)
    s.switch()
    s.batch_free(0, k=2)
    s.switch()
    s.batch_alloc(64, 300)
    s.switch()
    s.batch_free(4)
    s.simple("CHECK")
    seeds["cross-batch"] = s
    s = Seed(p)
    for n in (8, 64, 64, 64, 500, 3000):
        s.malloc(n)
    s.burst([("m", 32), ("f", None), ("m", 3), ("f", None)], [("f", None), ("m", 100), ("m", 40000), ("f", None)])
    s.switch()
    s.burst([("m", 16)] * 8, [("f", None)] * 4)
    s.simple("CHECK")
    seeds["burst"] = s
    s = Seed(p)
    s.malloc(48)
    s.switch()
    s.realloc_to(5000)
    s.switch()
    s.realloc_to(10)
    s.switch()
    s.simple("FLUSH")
    s.free_newest()
    seeds["cross-realloc"] = s
    s = Seed(p)
    for n in (8, 100, 40000):
        s.malloc(n)
    s.switch()
    s.free_newest()  # remote free of t0's blocks
    s.bad(0, 0)      # and a double free of it, from either thread
    s.switch()
    s.bad(0, 0)
    s.free_newest()
    s.bad(0, 1)
    s.switch()
    s.fork(1)
    seeds["cross-double-free"] = s
    return seeds


def seeds_badfree(p):
    seeds = common(p)
    for name, size in (("tiny", 8), ("small", 100), ("large", 40000), ("huge", 400000)):
        s = Seed(p)
        s.malloc(size)
        s.free_newest()
        s.bad(0, 0)  # double free
        s.bad(1, 1)  # realloc of freed
        s.bad(0, 2)  # malloc_usable_size of freed
        seeds["double-" + name] = s
    s = Seed(p)
    s.malloc(100)
    s.bad(2, 0, 5)
    s.malloc(40000)
    s.bad(2, 0, 4096)
    s.bad(2, 1, 8)
    s.malloc(12)
    s.bad(2, 0, 3)
    seeds["interior"] = s
    s = Seed(p)
    s.malloc(32)
    for w in range(10):
        s.bad(3, w % 3, w)
    seeds["outside"] = s
    s = Seed(p)
    s.malloc(48)  # 48-byte class: 32 bytes of tail in each span
    s.bad(6, 0, 0)
    s.bad(6, 2, 5)
    s.malloc(100)
    s.bad(5, 0, 1)
    s.bad(5, 0, 0xFFF0)
    s.bad(4, 0, 77777)
    seeds["tail-near-arena"] = s
    s = Seed(p)
    s.batch_alloc(64, 200)
    s.simple("FLUSH")
    s.batch_free(0, k=2)
    s.bad(0, 0, 3)
    s.bad(7, 0, 1)
    seeds["double-in-central"] = s
    return seeds


# ---- the harnesses with engines of their own ---------------------------------------------

def heap_seeds():
    def alloc(np, align=1):
        if np <= 4:
            b = [0, np - 1]
        elif np <= 64:
            b = [3, np - 1]
        elif np <= 512:
            b = [5] + list(struct.pack("<H", np - 1))
        elif np <= 4096:
            b = [6] + list(struct.pack("<H", np - 1))
        else:
            b = [7, 8192 - np]
        k = align.bit_length() - 1
        a = 0 if align == 1 else 160 + (k - 160) % 14  # gen_align: 1 << (v % 14)
        return bytes([0] + b + [a])

    def free(i):
        return bytes([5, i])

    def grow(i, extra, small=False):
        return bytes([9, i, extra - 1, 1 if small else 0])

    seeds = {
        "alloc-free": alloc(1) + alloc(3) + alloc(40) + alloc(300) + free(0) + free(0) + free(0) + free(0),
        "coalesce": alloc(2) + alloc(5) + alloc(1) + bytes([11, 0, 0]) + bytes([11, 1, 1]),
        "align": alloc(1) + alloc(3, 4) + alloc(7, 64) + alloc(1, 512) + alloc(100, 8192) + free(2),
        "grow": alloc(4) + alloc(1) + free(1) + grow(0, 1, True) + grow(0, 100) + alloc(2) + grow(1, 3, True),
        "whole-arena": alloc(8192) + alloc(8190) + alloc(1) + free(0) + alloc(4000) + alloc(4096),
        "scavenge": alloc(50) + alloc(10) + free(0) + bytes([13, 1]) + alloc(50) + bytes([14, 1]) + free(0)
        + alloc(20) + bytes([13, 0]) + free(0),
        "holes": bytes([15, 18] + [0, 1] * 10) + alloc(1) + alloc(2) + alloc(3),
        "big": alloc(4000) + alloc(3000) + grow(0, 200) + free(1) + grow(0, 250),
    }
    return seeds


def fixalloc_seeds():
    npool = 20
    seeds = {}
    b = bytearray()
    for i in range(npool):
        b += bytes([0, i])
    for i in range(npool):
        b += bytes([4, 0]) + struct.pack("<H", i)
    seeds["every-pool"] = b
    seeds["lifo"] = bytes([3, 0, 20, 6, 0, 5, 0, 0, 0, 0, 0, 6, 3, 9, 0, 3])
    seeds["runs"] = bytes([3, 5, 63, 3, 16, 3, 7, 17, 0, 3, 18, 10, 7, 5])
    seeds["chunk"] = bytes([0, 16, 0, 16, 0, 15, 4, 0, 0, 0, 0, 16, 0, 15])
    return seeds


def options_seeds():
    strs = [
        "", "stats=1", "stats=0,scavenge_ms=0", "scavenge_ms=-1", "scavenge_ms=1000000000",
        "scavenge_ms=1000000001", "scavenge_ms=-2", "scavenge_ms=+5", "scavenge_ms=", "abort_on_error=true",
        "abort_on_error=false", "help=1", "stats=yes", "nosuchoption=1", "stats", "=1", ",,,", "stats=1,,stats=0",
        "efence=1", "quarantine_kb=0", "malloc_context=30", "log_path=/tmp/x", "log_path=" + "a" * 300,
        "exitcode=23", "Stats=1", "stats =1", "stats=1 ", "scavenge_ms=00000000000000000000001",
        "scavenge_ms=99999999999999999999",
    ]
    seeds = {}
    for i, s in enumerate(strs):
        seeds["opt-%02d" % i] = bytes([i & 1]) + s.encode()
    return seeds


def dict_for(prof):
    """Operation headers: an operation byte, then the tier byte of its size."""
    out = []
    sized = {"OP_MALLOC", "OP_CALLOC", "OP_BATCH_ALLOC"}
    for op, b in sorted(prof.opbyte.items(), key=lambda x: x[1]):
        if op in sized:
            for t, tb in prof.tierbyte.items():
                out.append(("%s_%s" % (op[3:].lower(), t[2:].lower()), bytes([b, tb])))
    out.append(("size_max", b"\xff" * 8))
    out.append(("page_u16", struct.pack("<H", PAGE)))
    out.append(("u16_top", b"\x00\x80"))
    return out


def write_dict(path, entries):
    with open(path, "w") as f:
        f.write("# Generated by fuzz/gen_corpus.py\n")
        for name, val in entries:
            esc = "".join(chr(c) if 32 <= c < 127 and chr(c) not in '"\\' else "\\x%02x" % c for c in val)
            f.write('%s="%s"\n' % (re.sub(r"\W", "_", name), esc))


def write_seeds(dirpath, seeds):
    os.makedirs(dirpath, exist_ok=True)
    for name, s in sorted(seeds.items()):
        data = bytes(s.b) if isinstance(s, Seed) else bytes(s)
        if not data:
            continue
        with open(os.path.join(dirpath, "seed-" + name), "wb") as f:
            f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "corpus")
    engine = {
        "tiny": seeds_tiny, "small": seeds_small, "large": seeds_large, "realloc": seeds_realloc,
        "central": seeds_central, "threads": seeds_threads, "badfree": seeds_badfree,
    }
    total = 0
    for h, fn in engine.items():
        p = Profile(h)
        seeds = fn(p)
        write_seeds(os.path.join(out, h), seeds)
        write_dict(os.path.join(out, h + ".dict"), dict_for(p))
        total += len(seeds)
    write_seeds(os.path.join(out, "heap"), heap_seeds())
    write_dict(os.path.join(out, "heap.dict"), [("alloc_page", b"\x00\x00\x00\x00"), ("free0", b"\x05\x00"),
                                               ("whole_arena", b"\x00\x07\x00\x00"), ("align_arena", b"\xad")])
    write_seeds(os.path.join(out, "fixalloc"), fixalloc_seeds())
    write_seeds(os.path.join(out, "options"), options_seeds())
    keys = ["stats", "scavenge_ms", "abort_on_error", "help", "efence", "quarantine_kb", "malloc_context",
            "log_path", "exitcode"]
    write_dict(os.path.join(out, "options.dict"),
               [("k_" + k, (k + "=").encode()) for k in keys]
               + [("v_" + n, v.encode()) for n, v in (("true", "true"), ("false", "false"), ("minus1", "-1"),
                                                       ("max", "1000000000"), ("over", "1000000001"),
                                                       ("comma", ","), ("eq", "="))])
    total += len(heap_seeds()) + len(fixalloc_seeds()) + len(options_seeds())
    print("gen_corpus: %d seeds under %s" % (total, os.path.relpath(out)))


if __name__ == "__main__":
    main()
