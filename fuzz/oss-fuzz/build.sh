#!/bin/bash -eu
# projects/spanalloc/build.sh for google/oss-fuzz: the same build as
# ClusterFuzzLite's, kept in the repository.
exec bash "$SRC/spanalloc/.clusterfuzzlite/build.sh"
