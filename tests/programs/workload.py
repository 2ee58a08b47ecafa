"""Allocation-heavy, deterministic Python workload for tests/programs/run.sh.

Builds and mutates dicts of strings, lists and tuples, sorts, joins, does a
JSON round trip, and prints a checksum-style summary.  Run it with
PYTHONMALLOC=malloc and PYTHONHASHSEED=0 so that every object goes through
malloc and set iteration order is fixed.
"""

import hashlib
import json
import random
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rng = random.Random(20240601)
WORDS = [
    "span", "arena", "mcache", "mcentral", "mheap", "tiny", "large", "sweep",
    "bitmap", "class", "page", "scavenge", "alloc", "free", "quarantine",
    "canary", "poison", "guard", "efence", "memcheck",
]
digest = hashlib.sha256()


def feed(label, value):
    digest.update(label.encode())
    digest.update(repr(value).encode())


# 1. A big dict of string keys to string values, rebuilt and mutated.
table = {}
for i in range(N):
    key = "%s-%d-%s" % (rng.choice(WORDS), i, rng.choice(WORDS))
    table[key] = rng.choice(WORDS) * rng.randint(1, 12)
for i, key in enumerate(list(table)):
    if i % 3 == 0:
        del table[key]
    elif i % 3 == 1:
        table[key] = table[key].upper() + "!" * (i % 50)
for i in range(N // 4):
    table["extra:%d" % i] = "x" * (i % 300)
feed("table", (len(table), sum(len(v) for v in table.values())))

# 2. Lists of tuples, sorted several ways, sliced and joined.
rows = [(rng.randint(0, 10**6), rng.choice(WORDS), "r%d" % i) for i in range(N)]
rows.sort()
feed("sorted-head", rows[:5])
rows.sort(key=lambda r: (r[1], -r[0]))
feed("sorted-word", rows[:5] + rows[-5:])
joined = ",".join(r[2] for r in rows)
feed("joined", (len(joined), hashlib.sha256(joined.encode()).hexdigest()))
parts = joined.split(",")
feed("split", (len(parts), parts[:3], parts[-3:]))
del joined, parts

# 3. Nested structures through a JSON round trip.
docs = []
for i in range(N // 10):
    docs.append({
        "id": i,
        "name": "doc-%06d" % i,
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 8))],
        "attrs": {w: rng.randint(0, 99) for w in rng.sample(WORDS, 5)},
        "blob": "".join(rng.choice("abcdef0123456789") for _ in range(rng.randint(0, 64))),
    })
text = json.dumps(docs, sort_keys=True)
back = json.loads(text)
assert back == docs, "json round trip changed the data"
feed("json", (len(text), hashlib.sha256(text.encode()).hexdigest()))
pretty = json.dumps(back, indent=2, sort_keys=True)
feed("pretty", len(pretty))
del text, back, pretty

# 4. String building, growing and shrinking (realloc-heavy).
buf = []
s = ""
for i in range(N // 20):
    s += WORDS[i % len(WORDS)]
    if len(s) > 4096:
        buf.append(s)
        s = s[len(s) // 2:]
big = "".join(buf)
feed("strings", (len(buf), len(big), big.count("span"), big[-40:]))

# 5. Sets, counters and a word index, iterated in hash order (PYTHONHASHSEED).
index = {}
for d in docs:
    for t in d["tags"]:
        index.setdefault(t, set()).add(d["id"])
feed("index", sorted((k, len(v), min(v), max(v)) for k, v in index.items()))
seen = set()
for key in table:
    seen.add(key[:8])
feed("set-order", list(seen)[:20])
feed("bytes", bytes(bytearray(i % 256 for i in range(N))).hex()[-32:])

print("table entries", len(table))
print("rows", len(rows))
print("docs", len(docs))
print("index keys", len(index))
print("prefixes", len(seen))
print("sha256", digest.hexdigest())
