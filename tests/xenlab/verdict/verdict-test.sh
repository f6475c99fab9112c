#!/usr/bin/env bash
# The lab's verdict on consoles that must not pass (docs/xenlab.md, "The verdict"): for each
# scenario, a console in which every declared step reported OK and the scenario ended with
# rc 0 passes; the same console truncated, killed by the scenario's time limit, with QEMU
# killed at the run's limit, with a non-zero END, with a declared step skipped or missing, with
# an undeclared step, and with txend missing (the xm half reported "xm SKIP" and nothing else)
# each fail with the summary line that says why; so do recorded consoles of real runs
# (verdict/*.markers) cut short or killed. Runs run-lab.sh --summarize: no QEMU needed.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0 cases=0

# declared_steps SCENARIO: the steps the scenario declares, as the verdict sees them (the
# "declared steps never reported" line of an empty console's summary).
declared_steps() {
  : > "$WORK/empty.log"
  "$LAB_DIR/run-lab.sh" --scenario "$1" --summarize "$WORK/empty.log" > "$WORK/declared" 2>&1 || true
  sed -n 's/^problem: declared steps never reported: //p' "$WORK/declared" | tr ' ' '\n'
}

# good_console SCENARIO FILE: a console in which every declared step reported OK.
good_console() {
  {
    echo "(XEN) some hypervisor chatter"
    echo "XENLAB-BEGIN scenario=$1 kernel=6.1.0 ours=xsd,txend,xm"
    declared_steps "$1" | while read -r step; do
      echo "XENLAB-STEP $step OK 1.00s"
      echo "XENLAB-RESULT $1.$step.seconds=1.00"
    done
    echo "XENLAB-END scenario=$1 rc=0 uptime=99.00"
  } > "$2"
}

# expect SCENARIO CASE WANT_RC WANT_LINE CONSOLE [QEMU_RC]: the summary of CONSOLE exits
# WANT_RC and has a line matching WANT_LINE (a grep -E pattern).
expect() {
  local scenario=$1 name=$2 want_rc=$3 want_line=$4 console=$5 qemu_rc=${6:-0} rc=0
  cases=$((cases + 1))
  "$LAB_DIR/run-lab.sh" --scenario "$scenario" --summarize "$console" --qemu-rc "$qemu_rc" \
    > "$WORK/out" 2>&1 || rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -Eq -- "$want_line" "$WORK/out"; then
    echo "FAIL $scenario/$name: exit $rc (want $want_rc), want a line matching '$want_line':"
    sed 's/^/    /' "$WORK/out"
    failures=$((failures + 1))
  else
    echo "ok   $scenario/$name: exit $rc, $(grep -E -m1 -- "$want_line" "$WORK/out")"
  fi
}

for scenario in $(cd "$LAB_DIR/scenarios" && ls ./*.sh | sed 's|^\./||; s/\.sh$//'); do
  good="$WORK/$scenario.good.log"
  good_console "$scenario" "$good"
  n=$(grep -c "XENLAB-STEP" "$good" || true)
  [ "$n" -ge 5 ] || { echo "FAIL $scenario: only $n declared steps found"; failures=$((failures + 1)); }
  expect "$scenario" good 0 '^verdict: pass' "$good"

  # Truncated: the console stops half-way (QEMU killed, or the log cut short).
  head -n $(($(wc -l < "$good") / 2)) "$good" > "$WORK/c.log"
  expect "$scenario" truncated 1 '^problem: no XENLAB-END' "$WORK/c.log"
  expect "$scenario" truncated-qemu-timeout 3 '^problem: QEMU was killed at the run.s time limit' "$WORK/c.log" 124

  # Killed by the scenario's own time limit: busybox timeout's 143 in the END line.
  sed 's/ rc=0 / rc=143 /' "$good" > "$WORK/c.log"
  expect "$scenario" killed 1 '^problem: the scenario was killed by its time limit \(XENLAB-END rc=143\)' "$WORK/c.log"
  # ...and with its last steps missing, as a killed scenario would have them.
  { head -n $(($(wc -l < "$good") * 2 / 3)) "$good" | grep -v XENLAB-END
    echo "XENLAB-END scenario=$scenario rc=143 uptime=480.00"; } > "$WORK/c.log"
  expect "$scenario" killed-early 1 '^problem: declared steps never reported: ' "$WORK/c.log"

  sed 's/ rc=0 / rc=1 /' "$good" > "$WORK/c.log"
  expect "$scenario" nonzero-end 1 '^problem: the scenario exited rc=1$' "$WORK/c.log"
  expect "$scenario" qemu-failed 1 '^problem: QEMU exited 1$' "$good" 1

  # One declared step skipped; one missing; one failed; one not declared.
  step=$(declared_steps "$scenario" | tail -n 1)
  sed "s/XENLAB-STEP $step OK .*/XENLAB-STEP $step SKIP not built/" "$good" > "$WORK/c.log"
  expect "$scenario" step-skipped 1 "^problem: declared steps skipped: $step\$" "$WORK/c.log"
  grep -v "XENLAB-STEP $step " "$good" > "$WORK/c.log"
  expect "$scenario" step-missing 1 "^problem: declared steps never reported: $step\$" "$WORK/c.log"
  sed "s/XENLAB-STEP $step OK .*/XENLAB-STEP $step FAIL exit 1/" "$good" > "$WORK/c.log"
  expect "$scenario" step-failed 1 '^problem: 1 step\(s\) failed$' "$WORK/c.log"
  # A failed step's output and the daemons' lines tagged with it appear in the summary.
  sed "s/XENLAB-STEP $step OK .*/  [$step] Error: it broke\n  [$step txend] the daemon's view\n  [other] unrelated\nXENLAB-STEP $step FAIL exit 1/" "$good" > "$WORK/c.log"
  expect "$scenario" step-failed-output 1 "^  \\[$step\\] Error: it broke\$" "$WORK/c.log"
  expect "$scenario" step-failed-daemon 1 "^  \\[$step txend\\] the daemon's view\$" "$WORK/c.log"
  sed "s/^XENLAB-END /XENLAB-STEP surprise OK\n&/" "$good" > "$WORK/c.log"
  expect "$scenario" undeclared-step 1 '^problem: steps reported but not declared in #@steps: surprise$' "$WORK/c.log"

  # Interleaved console output before a marker still counts; CRLF line ends too.
  sed 's/^XENLAB-STEP /[  12.3] xen_netback: noise XENLAB-STEP /; s/$/\r/' "$good" > "$WORK/c.log"
  expect "$scenario" interleaved 0 '^verdict: pass' "$WORK/c.log"
done

# txend missing from the image, as the lab reported it before: "xm SKIP" and no xm steps.
for scenario in xm-lifecycle devices; do
  good_console "$scenario" "$WORK/good.log"
  grep -v -E 'XENLAB-STEP (xm|txend)-' "$WORK/good.log" |
    sed 's/^XENLAB-END /XENLAB-STEP xm SKIP build\/bin\/txend and build\/bin\/xm are not both built\n&/' > "$WORK/c.log"
  expect "$scenario" txend-missing-skip 1 '^problem: declared steps never reported: .*xm-' "$WORK/c.log"
  # ...and as it reports it now: a failed txend-start.
  grep -v -E 'XENLAB-STEP (xm|txend)-' "$WORK/good.log" |
    sed 's/^XENLAB-END /XENLAB-STEP txend-start FAIL build\/bin\/txend or build\/bin\/xm was not built\n&/' > "$WORK/c.log"
  expect "$scenario" txend-missing 1 '^problem: 1 step\(s\) failed$' "$WORK/c.log"
done

# Recorded consoles (the marker lines of real runs, verdict/<scenario>.markers): as recorded
# they pass; cut short, killed, or with the xm half gone they fail.
for recorded in "$LAB_DIR"/verdict/*.markers; do
  scenario=$(basename "$recorded" .markers)
  expect "$scenario" recorded 0 '^verdict: pass' "$recorded"
  head -n $(($(wc -l < "$recorded") / 2)) "$recorded" > "$WORK/c.log"
  expect "$scenario" recorded-truncated 1 '^problem: no XENLAB-END' "$WORK/c.log"
  { head -n $(($(wc -l < "$recorded") * 2 / 3)) "$recorded"
    echo "XENLAB-END scenario=$scenario rc=143 uptime=480.00"; } > "$WORK/c.log"
  expect "$scenario" recorded-killed 1 '^problem: the scenario was killed by its time limit' "$WORK/c.log"
  if grep -q 'XENLAB-STEP xm-' "$recorded"; then
    grep -v -E 'XENLAB-STEP (xm|txend)-' "$recorded" |
      sed 's/^XENLAB-END /XENLAB-STEP xm SKIP build\/bin\/txend and build\/bin\/xm are not both built\n&/' > "$WORK/c.log"
    expect "$scenario" recorded-txend-missing 1 '^problem: declared steps never reported: .*xm-create' "$WORK/c.log"
  fi
done

# A scenario that cannot run here says so: skip (77), not pass.
printf 'XENLAB-BEGIN scenario=xsd-ring\nXENLAB-STEP dom0-setup OK\nXENLAB-STEP scenario SKIP no xsd\nXENLAB-END scenario=xsd-ring rc=0 uptime=9\n' > "$WORK/c.log"
expect xsd-ring scenario-skip 77 '^verdict: skip' "$WORK/c.log"
# An empty console (QEMU never started the scenario).
: > "$WORK/c.log"
expect stock empty 1 '^problem: no XENLAB-BEGIN' "$WORK/c.log"

echo "$((cases - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
