"""python3 workload for the spanalloc benchmark: dict, list and string heavy.

Run by bench/run.py under each allocator (LD_PRELOAD) with the system
python3.  Deterministic (fixed seed); BENCH_SCALE scales the work.  CPython
serves objects up to 512 bytes from its own pymalloc arenas (256 KiB each,
taken from the system allocator), so the allocator sees the arenas, every
larger string, list and dict table, and their resizes.
"""
import json
import zlib
import os
import random
import sys

SCALE = float(os.environ.get("BENCH_SCALE", "1") or 1)
if SCALE <= 0:
    SCALE = 1.0


def n(base):
    return max(1, int(base * SCALE))


rng = random.Random(12345)
ALPHA = "abcdefghijklmnopqrstuvwxyz"


def word():
    return "".join(rng.choice(ALPHA) for _ in range(rng.randint(2, 12)))


def text_and_counts():
    vocab = [word() for _ in range(5000)]
    lines = [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 40)))
             for _ in range(n(10000))]
    doc = "\n".join(lines)
    counts = {}
    for line in doc.split("\n"):
        for w in line.split():
            counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    return len(doc), top[0]


def records_json():
    recs = []
    for i in range(n(20000)):
        recs.append({
            "id": i,
            "name": word().title() + " " + word().title(),
            "tags": [word() for _ in range(rng.randint(0, 6))],
            "score": rng.random() * 100,
            "blob": "x" * rng.randint(0, 2000),
        })
    s = json.dumps(recs)
    back = json.loads(s)
    by_tag = {}
    for r in back:
        for t in r["tags"]:
            by_tag.setdefault(t, []).append(r["id"])
    return len(s), len(by_tag)


def growing_structures():
    # dicts and lists that grow and shrink: the allocator sees every resize
    total = 0
    for round_ in range(n(20)):
        d = {}
        for i in range(20000):
            d[(round_, i)] = [i] * (i % 50)
        for i in range(0, 20000, 2):
            del d[(round_, i)]
        lst = [str(k) * 3 for k in d]
        lst.sort()
        total += len(lst) + sum(len(v) for v in d.values())
    return total


def string_building():
    parts = []
    acc = ""
    for i in range(n(30000)):
        acc += word()
        if len(acc) > 4000:
            parts.append(acc.upper())
            acc = ""
    big = "|".join(parts)
    pieces = big.split("|")
    return len(big), len(pieces), len(big.replace("A", "bb"))


def main():
    out = [text_and_counts(), records_json(), growing_structures(), string_building()]
    print("checksum", zlib.crc32(repr(out).encode()), file=sys.stderr)
    print("ok")


if __name__ == "__main__":
    main()
