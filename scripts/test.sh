#!/usr/bin/env bash
# The whole test suite: installs packages, builds a normal and an ASan/UBSan tree,
# runs every CTest test in both, then fuzzes in a clang tree (tests/fuzz).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
BUILD_DIR="$top/build" "$top/scripts/build.sh"
# Label reliability-long: the long variants of the reliability tests, run on demand only.
# Label package (tests/packaging) builds the .deb, installs it on this machine and purges it.
(cd "$top/build" && ctest --output-on-failure -j2 --timeout 600 -LE reliability-long)
BUILD_DIR="$top/build-asan" "$top/scripts/build.sh" -DTXEND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Label package installs the .deb built from the normal tree; it ran there.
(cd "$top/build-asan" && ctest --output-on-failure -j2 --timeout 900 -LE 'bench|xenlab|reliability-long|package')
# libFuzzer needs clang: a third tree builds the fuzz targets (tests/fuzz) and
# fuzzes each for TXEND_FUZZ_RUNS iterations. It also compiles the daemon's
# libraries, where clang checks the lock annotations (-Werror=thread-safety-analysis).
if command -v clang++ >/dev/null; then
  CC=clang CXX=clang++ cmake -S "$top" -B "$top/build-fuzz" -G Ninja -DTXEND_FUZZ=ON >/dev/null
  cmake --build "$top/build-fuzz" -j"$(nproc)" --target fuzzers xend_api toolstack_agents
  (cd "$top/build-fuzz" && ctest --output-on-failure -j2 --timeout 300 -L fuzz)
fi
