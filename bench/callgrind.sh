#!/bin/sh
# Cost model: instructions per malloc+free pair, per allocator and size, from
# valgrind --tool=callgrind: (Ir(2N pairs) - Ir(N pairs)) / N, so that the
# start-up cost cancels.  Prints a Markdown table.  Options are run.py's:
#   bench/callgrind.sh [--callgrind-iters N] [--lib NAME=PATH] [--allocators A,B]
# (bench/run.py includes the same table in bench/results/latest.md.)
here=$(dirname "$0")
exec python3 "$here/run.py" --callgrind-only "$@"
