#!/usr/bin/env bash
# One-command Xen lab: boots real Xen 4.17 with a Debian dom0 kernel under QEMU, runs one
# scenario (scenarios/<name>.sh) inside dom0 and prints a summary of its markers.
#
#   tests/xenlab/run-lab.sh [--scenario NAME] [--cpu MODEL] [--keep] [--verbose] [--results DIR]
#   tests/xenlab/run-lab.sh --scenario NAME --summarize CONSOLE [--qemu-rc N]
#     (no boot: the summary and verdict of a recorded console.log, with QEMU's exit code N)
#
# Exit: 0 pass (the scenario ended by itself with rc 0 and every step it declares in its
# "#@steps" lines reported OK), 1 anything else (a step failed, skipped or never reported, a
# non-zero XENLAB-END, a truncated console), 2 usage, 3 timeout, 77 skipped (no QEMU, no
# downloads, or the scenario reported "scenario SKIP"). docs/xenlab.md.
# Environment: XENLAB_CACHE (downloads, default tests/xenlab/cache), XENLAB_BIN_DIR (our
# programs, default build/bin), XENLAB_RESULTS (default build/xenlab-results), XENLAB_TIMEOUT
# (seconds, default 600), XENLAB_ITERATIONS (test-xenstore -i, default 100), XENLAB_SAMPLES
# (anchors: measurement rounds, default 3), XENLAB_ACCEL
# (tcg: all vCPUs in one host thread, the default; tcg-mt; kvm), XENLAB_KERNEL_ABI (e.g.
# 6.1.0-56; default: Debian's current), XENLAB_CPU (QEMU -cpu model, as --cpu; default
# qemu64 with SVM, NPT and SSE4: "fast"; "nehalem" or any QEMU model), XENLAB_DOM0_* (copied
# into dom0 for scenarios).
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

SCENARIO=stock KEEP=0 VERBOSE=0 CPU_MODEL=${XENLAB_CPU:-fast} SUMMARIZE="" SUMMARIZE_QEMU_RC=0
RESULTS_ROOT=${XENLAB_RESULTS:-$TOP/build/xenlab-results}
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) [ $# -ge 2 ] || usage; SCENARIO=$2; shift 2 ;;
    --scenario=*) SCENARIO=${1#*=}; shift ;;
    --cpu) [ $# -ge 2 ] || usage; CPU_MODEL=$2; shift 2 ;;
    --cpu=*) CPU_MODEL=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    --verbose|-v) VERBOSE=1; shift ;;
    --results) [ $# -ge 2 ] || usage; RESULTS_ROOT=$2; shift 2 ;;
    --summarize) [ $# -ge 2 ] || usage; SUMMARIZE=$2; shift 2 ;;
    --qemu-rc) [ $# -ge 2 ] || usage; SUMMARIZE_QEMU_RC=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
[[ $SUMMARIZE_QEMU_RC =~ ^[0-9]+$ ]] || { log "--qemu-rc takes a number, not '$SUMMARIZE_QEMU_RC'"; usage; }
for setting in XENLAB_ITERATIONS XENLAB_SAMPLES XENLAB_TIMEOUT; do
  [[ ${!setting:-1} =~ ^[1-9][0-9]{0,5}$ ]] || { log "$setting must be a positive number, not '${!setting}'"; usage; }
done
[ -f "$LAB_DIR/scenarios/$SCENARIO.sh" ] || { log "no scenario '$SCENARIO'"; usage; }

CACHE=${XENLAB_CACHE:-$LAB_DIR/cache}
BIN_DIR=${XENLAB_BIN_DIR:-$TOP/build/bin}
TIMEOUT=${XENLAB_TIMEOUT:-600}
ACCEL=${XENLAB_ACCEL:-tcg}
# The scenario's own limit leaves time for booting and for its XENLAB-END marker.
SCENARIO_TIMEOUT=$((TIMEOUT > 240 ? TIMEOUT - 120 : TIMEOUT / 2))

QEMU_PID="" WORK=""
cleanup() {
  [ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
  [ $KEEP -eq 1 ] || [ -z "$WORK" ] || rm -rf "$WORK"
}

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

# cpu_option: QEMU's -cpu value. "fast" is qemu64 with what dom0 and Xen need (SSSE3/SSE4 for
# busybox, SVM+NPT for HVM/PVH guests with HAP): Xen turns XPTI off on it and runs take about
# half Nehalem's time. "nehalem" is the recipe's model; anything else goes to QEMU as it is.
cpu_option() {
  case $CPU_MODEL in
    fast) echo qemu64,+svm,+npt,+ssse3,+sse4.1,+sse4.2,+popcnt ;;
    nehalem) echo Nehalem ;;
    *) echo "$CPU_MODEL" ;;
  esac
}

# boot_lab: QEMU with the recipe's machine; Xen on com1, dom0 on hvc0 (mirrored by Xen to com1).
# Streams the console into RUN_DIR/console.log and shows markers (everything with --verbose).
boot_lab() {
  local t0 us line console="$WORK/console.fifo" rc=0
  zcat "$XEN_GZ" > "$WORK/xen.bin"
  mkfifo "$console"
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -machine q35 -accel "$(accel_option)" \
    -m 3072 -smp 2 -cpu "$(cpu_option)" -display none -monitor none -serial stdio -no-reboot \
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

# summarize CONSOLE QEMU_RC RESULTS HOST_TIMES: the summary table and verdict of a console log
# (lib/summary.awk, against the scenario's #@steps); results as key=value lines into RESULTS.
# Returns run-lab.sh's exit code for the verdict.
summarize() {
  local console=$1 qemu_rc=$2 results=$3 host_times=$4 markers verdict
  markers=$(awk -v qemu_rc="$qemu_rc" -v results="$results" -f "$LAB_DIR/lib/summary.awk" \
    "$LAB_DIR/scenarios/$SCENARIO.sh" "$console") || markers="problem: lib/summary.awk failed
verdict error"
  verdict=${markers##*verdict }
  echo "xenlab summary: scenario $SCENARIO, cpu $(cpu_option), accel $ACCEL, qemu exit $qemu_rc"
  printf '%s\n' "${markers%verdict *}" | sed '$d'
  if [ -s "$host_times" ]; then
    echo "host times:"
    sed 's/=/ /' "$host_times" | awk '{ printf "  %-50s %s\n", $1, $2 }'
  fi
  echo "verdict: $verdict  (console: $console)"
  case $verdict in
    pass) return 0 ;;
    skip) return "$XENLAB_SKIP" ;;
    timeout) return 3 ;;
    *) return 1 ;;
  esac
}

if [ -n "$SUMMARIZE" ]; then
  [ -f "$SUMMARIZE" ] || die "no console log '$SUMMARIZE'"
  rc=0
  summarize "$SUMMARIZE" "$SUMMARIZE_QEMU_RC" /dev/null /dev/null || rc=$?
  exit $rc
fi

RUN_DIR="$RESULTS_ROOT/$(date +%Y%m%d-%H%M%S)-$SCENARIO"
mkdir -p "$RUN_DIR"
if [ $KEEP -eq 1 ]; then WORK="$RUN_DIR/work"; mkdir -p "$WORK"; else WORK=$(mktemp -d); fi
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$(now_s)
log "scenario $SCENARIO on $(cpu_option); results in $RUN_DIR"
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
rc=0
summarize "$RUN_DIR/console.log" "$QEMU_RC" "$RUN_DIR/results.txt" "$RUN_DIR/host-times.txt" \
  > "$RUN_DIR/summary.txt" || rc=$?
cat "$RUN_DIR/summary.txt"
cat "$RUN_DIR/host-times.txt" >> "$RUN_DIR/results.txt"
exit $rc
