# A small Python workload for memcheck (run with PYTHONMALLOC=malloc so
# that every object goes through malloc): dicts, strings, json, regular
# expressions, a class, sorting, and two threads.
import collections
import json
import re
import threading


class Item:
    def __init__(self, key, values):
        self.key = key
        self.values = values

    def weight(self):
        return sum(self.values) + len(self.key)


def work(n, out):
    d = {str(i): [i] * (i % 7) for i in range(n)}
    s = json.dumps(d, sort_keys=True)
    assert json.loads(s) == d
    items = sorted((Item(k, v) for k, v in d.items()), key=Item.weight)
    c = collections.Counter(re.findall(r"\d+", s))
    out.append((len(s), items[-1].key, c.most_common(1)[0]))


results = []
threads = [threading.Thread(target=work, args=(400 + 100 * i, results)) for i in range(2)]
for t in threads:
    t.start()
work(1000, results)
for t in threads:
    t.join()
print(sorted(results))
