#!/bin/sh
# run_fuzzer.sh FUZZER SEED_CORPUS RUNS ARTIFACT_DIR [libFuzzer flags...]
# Fuzzes RUNS iterations (-1: no limit) starting from SEED_CORPUS (never
# modified: new inputs go to a scratch directory), for at most 25 s unless a
# flag such as -max_total_time=3600 says otherwise. A crash input lands in
# ARTIFACT_DIR; copy it into tests/fuzz/corpus/<target>/ once fixed, so every
# build replays it.
set -eu
fuzzer=$1 seeds=$2 runs=$3 artifacts=$4
shift 4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
"$fuzzer" -runs="$runs" -max_total_time=25 -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$scratch" "$seeds"
