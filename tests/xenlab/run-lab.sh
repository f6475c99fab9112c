#!/usr/bin/env bash
# One-command Xen lab: boots real Xen 4.17 with a Debian dom0 kernel under QEMU, runs one
# scenario (scenarios/<name>.sh) inside dom0 and prints a summary of its markers.
#
#   tests/xenlab/run-lab.sh [--scenario NAME] [--keep] [--verbose] [--results DIR]
#
# Exit: 0 all steps passed, 1 a step failed or the run ended early, 2 usage, 3 timeout,
# 77 skipped (no QEMU, no downloads, or the scenario reported "scenario SKIP"). docs/xenlab.md.
# Environment: XENLAB_CACHE (downloads, default tests/xenlab/cache), XENLAB_BIN_DIR (our
# programs, default build/bin), XENLAB_RESULTS (default build/xenlab-results), XENLAB_TIMEOUT
# (seconds, default 600), XENLAB_ITERATIONS (test-xenstore -i, default 100), XENLAB_ACCEL
# (tcg: all vCPUs in one host thread, the default; tcg-mt; kvm), XENLAB_KERNEL_ABI (e.g.
# 6.1.0-56; default: Debian's current), XENLAB_DOM0_* (copied into dom0 for scenarios).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB_DIR/../.." && pwd)
# shellcheck source=lib/common.sh
. "$LAB_DIR/lib/common.sh"
# shellcheck source=lib/fetch.sh
. "$LAB_DIR/lib/fetch.sh"
# shellcheck source=lib/assemble.sh
. "$LAB_DIR/lib/assemble.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  echo "scenarios: $(cd "$LAB_DIR/scenarios" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' ')" >&2
  exit 2
}

SCENARIO=stock KEEP=0 VERBOSE=0
RESULTS_ROOT=${XENLAB_RESULTS:-$TOP/build/xenlab-results}
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) [ $# -ge 2 ] || usage; SCENARIO=$2; shift 2 ;;
    --scenario=*) SCENARIO=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    --verbose|-v) VERBOSE=1; shift ;;
    --results) [ $# -ge 2 ] || usage; RESULTS_ROOT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
[ -f "$LAB_DIR/scenarios/$SCENARIO.sh" ] || { log "no scenario '$SCENARIO'"; usage; }

CACHE=${XENLAB_CACHE:-$LAB_DIR/cache}
BIN_DIR=${XENLAB_BIN_DIR:-$TOP/build/bin}
TIMEOUT=${XENLAB_TIMEOUT:-600}
ACCEL=${XENLAB_ACCEL:-tcg}
# The scenario's own limit leaves time for booting and for its XENLAB-END marker.
SCENARIO_TIMEOUT=$((TIMEOUT > 240 ? TIMEOUT - 120 : TIMEOUT / 2))

RUN_DIR="$RESULTS_ROOT/$(date +%Y%m%d-%H%M%S)-$SCENARIO"
mkdir -p "$RUN_DIR"
if [ $KEEP -eq 1 ]; then WORK="$RUN_DIR/work"; mkdir -p "$WORK"; else WORK=$(mktemp -d); fi
QEMU_PID=""
cleanup() {
  [ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
  [ $KEEP -eq 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# accel_option: QEMU's -accel value. TCG runs all vCPUs in one host thread by default: with
# one thread per vCPU (tcg-mt), a loaded host preempts lock holders and runs get 30x slower.
accel_option() {
  case $ACCEL in
    tcg) echo tcg,thread=single ;;
    tcg-mt) echo tcg,thread=multi ;;
    kvm) echo kvm ;;
    *) die "XENLAB_ACCEL must be tcg, tcg-mt or kvm, not '$ACCEL'" ;;
  esac
}

# boot_lab: QEMU with the recipe's machine; Xen on com1, dom0 on hvc0 (mirrored by Xen to com1).
# Streams the console into RUN_DIR/console.log and shows markers (everything with --verbose).
boot_lab() {
  local t0 us line console="$WORK/console.fifo" rc=0
  zcat "$XEN_GZ" > "$WORK/xen.bin"
  mkfifo "$console"
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -machine q35 -accel "$(accel_option)" \
    -m 3072 -smp 2 -cpu Nehalem -display none -monitor none -serial stdio -no-reboot \
    -kernel "$WORK/xen.bin" \
    -append "console=com1 com1=115200 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all" \
    -initrd "$DOM0_ROOT/boot/vmlinuz-$DOM0_KVER console=hvc0 earlyprintk=xen rdinit=/init,$WORK/dom0.cpio" \
    < /dev/null > "$console" 2>&1 &
  QEMU_PID=$!
  t0=${EPOCHREALTIME/./}
  while IFS= read -r line; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >> "$RUN_DIR/console.log"
    if [ $VERBOSE -eq 1 ]; then printf '%s\n' "$line"
    elif [[ $line == *XENLAB-* ]]; then
      us=$((${EPOCHREALTIME/./} - t0))
      printf '%4d.%d %s\n' $((us / 1000000)) $((us / 100000 % 10)) "${line#*XENLAB-}"
    fi
  done < "$console"
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=""
  return $rc
}

T_START=$(now_s)
log "scenario $SCENARIO; results in $RUN_DIR"
ensure_host_tools
fetch_all
T_FETCHED=$(now_s)
make_dom0_initramfs "$WORK" "$SCENARIO"
log "dom0 initramfs $(du -h "$WORK/dom0.cpio" | cut -f1); our programs: ${OUR_PROGRAMS:-none}"
T_ASSEMBLED=$(now_s)
QEMU_RC=0
boot_lab || QEMU_RC=$?
T_END=$(now_s)

{
  echo "host.fetch_s=$(awk -v a="$T_START" -v b="$T_FETCHED" 'BEGIN { printf "%.1f", b - a }')"
  echo "host.assemble_s=$(awk -v a="$T_FETCHED" -v b="$T_ASSEMBLED" 'BEGIN { printf "%.1f", b - a }')"
  echo "host.qemu_s=$(awk -v a="$T_ASSEMBLED" -v b="$T_END" 'BEGIN { printf "%.1f", b - a }')"
  echo "host.total_s=$(elapsed_s "$T_START")"
} > "$RUN_DIR/host-times.txt"
touch "$RUN_DIR/console.log"
MARKERS=$(awk -v results="$RUN_DIR/results.txt" -f "$LAB_DIR/lib/summary.awk" "$RUN_DIR/console.log")
VERDICT=${MARKERS##*verdict }
if [ "$QEMU_RC" -eq 124 ] || [ "$QEMU_RC" -eq 137 ]; then VERDICT=timeout; fi
{
  echo "xenlab summary: scenario $SCENARIO, accel $ACCEL, qemu exit $QEMU_RC"
  printf '%s\n' "${MARKERS%verdict *}" | sed '$d'
  echo "host times:"
  sed 's/=/ /' "$RUN_DIR/host-times.txt" | awk '{ printf "  %-50s %s\n", $1, $2 }'
  echo "verdict: $VERDICT  (console: $RUN_DIR/console.log)"
} | tee "$RUN_DIR/summary.txt"
cat "$RUN_DIR/host-times.txt" >> "$RUN_DIR/results.txt"

case $VERDICT in
  pass) exit 0 ;;
  skip) exit "$XENLAB_SKIP" ;;
  timeout) exit 3 ;;
  *) exit 1 ;;
esac
