# shellcheck shell=bash
# Shared helpers for the host side of the xenlab harness (sourced by run-lab.sh and lib/*.sh).
# Exit codes: 0 pass, 1 a step failed, 2 usage, 3 timeout, 77 skipped (nothing to run with).

readonly XENLAB_SKIP=77

log() { printf 'xenlab: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
skip() { log "SKIP: $*"; exit "$XENLAB_SKIP"; }

# now_s: wall clock in seconds with milliseconds, for the host-side timings.
now_s() { date +%s.%3N; }

# elapsed_s START: seconds since START (from now_s), one decimal.
elapsed_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
