# shellcheck shell=dash
# The scenario API inside dom0 (busybox sh). Scenarios report through markers on the console,
# which run-lab.sh parses on the host:
#   XENLAB-STEP <name> OK|FAIL|SKIP <detail>     one checked step
#   XENLAB-RESULT <key>=<value>                  one measured figure
# Every command runs under a timeout; its output goes to /tmp/lab/<name>.log and the console.
# busybox sh: functions use `local`; no bash-isms.

LAB_LOGS=/tmp/lab
LAB_XENSTORED_SOCKET=/var/run/xenstored/socket
mkdir -p "$LAB_LOGS"

lab_step() { local name=$1 status=$2; shift 2; echo "XENLAB-STEP $name $status $*"; }
lab_result() { echo "XENLAB-RESULT $1=$2"; }

# lab_abort NAME DETAIL: reports a failed step and ends the scenario.
lab_abort() { lab_step "$1" FAIL "$2"; exit 1; }

# lab_now: seconds since boot (10 ms resolution: busybox date has no %N).
lab_now() { cut -d' ' -f1 /proc/uptime; }

# lab_since T0: seconds from T0 (a lab_now value) to now.
lab_since() { awk -v a="$1" -v b="$(lab_now)" 'BEGIN { printf "%.2f", b - a }'; }

# lab_show NAME: a step's log on the console, each line prefixed with the step name.
lab_show() { sed "s/^/  [$1] /" "$LAB_LOGS/$1.log"; }

# lab_run NAME SECONDS CMD...: runs CMD with a time limit, shows its output, reports the step
# (OK when CMD exits 0) with its exit code and duration. LAB_SECONDS holds the duration.
lab_run() {
  local name=$1 limit=$2 t0 rc; shift 2
  t0=$(lab_now)
  timeout "$limit" "$@" > "$LAB_LOGS/$name.log" 2>&1
  rc=$?
  LAB_SECONDS=$(lab_since "$t0")
  lab_show "$name"
  if [ $rc -eq 0 ]; then lab_step "$name" OK "${LAB_SECONDS}s"
  elif [ $rc -eq 143 ] || [ $rc -eq 124 ]; then lab_step "$name" FAIL "timeout after ${limit}s: $*"
  else lab_step "$name" FAIL "exit $rc: $*"; fi
  return $rc
}

# lab_wait_socket PATH SECONDS PID: waits for a unix socket while PID lives.
lab_wait_socket() {
  local n=0
  while [ $n -lt $(($2 * 10)) ]; do
    [ -S "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    usleep 100000; n=$((n + 1))
  done
  return 1
}

# lab_start_daemon NAME SOCKET CMD...: starts a foreground daemon in the background, waits for
# its socket (none when SOCKET is "-": then it must still live after a second). Sets LAB_PID.
lab_start_daemon() {
  local name=$1 sock=$2 t0 rc; shift 2
  [ "$sock" = - ] || rm -f "$sock"
  t0=$(lab_now)
  "$@" > "$LAB_LOGS/$name.log" 2>&1 &
  LAB_PID=$!
  if [ "$sock" = - ]; then sleep 1; kill -0 $LAB_PID 2>/dev/null; else lab_wait_socket "$sock" 30 $LAB_PID; fi
  rc=$?
  if [ $rc -eq 0 ]; then lab_step "$name-start" OK "pid $LAB_PID in $(lab_since "$t0")s: $*"; return 0; fi
  lab_show "$name"
  lab_step "$name-start" FAIL "no socket $sock or exited: $*"
  return 1
}

# lab_stop_daemon PID: SIGTERM, then SIGKILL after 5 s; waits for it.
lab_stop_daemon() {
  local n=0
  kill "$1" 2>/dev/null
  while kill -0 "$1" 2>/dev/null && [ $n -lt 50 ]; do usleep 100000; n=$((n + 1)); done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# lab_key TEXT: TEXT as a result key part ("ta rmw x" -> ta_rmw_x).
lab_key() { echo "$1" | sed 's/^ *//; s/ *$//; s/[^A-Za-z0-9]\{1,\}/_/g'; }

# lab_test_xenstore LABEL ITERATIONS: Xen's test-xenstore against the daemon on
# XENSTORED_PATH (default socket): all tests once (must pass), then each test ITERATIONS times;
# reports LABEL.<test>_avg_ns, LABEL.sum_avg_ns and LABEL.wall_s (the timed run's duration),
# and keeps the last two in LAB_SUM_NS and LAB_WALL_S.
lab_test_xenstore() {
  local label=$1 iterations=$2
  LAB_SUM_NS="" LAB_WALL_S=""
  lab_run "$label-test-xenstore" 120 test-xenstore || return 1
  lab_run "$label-test-xenstore-i$iterations" 600 test-xenstore -i "$iterations" || return 1
  LAB_WALL_S=$LAB_SECONDS
  lab_result "$label.wall_s" "$LAB_WALL_S"
  awk -F: -v label="$label" '
    / avg: / { name = $1; gsub(/^ +| +$/, "", name); gsub(/[^A-Za-z0-9]+/, "_", name)
               split($3, v, " "); print "XENLAB-RESULT " label "." name "_avg_ns=" v[1]; sum += v[1]; n++ }
    END { if (n) print "XENLAB-RESULT " label ".sum_avg_ns=" sum; exit n == 0 }' \
    "$LAB_LOGS/$label-test-xenstore-i$iterations.log" > "$LAB_LOGS/$label.results" ||
    { lab_step "$label-timing" FAIL "no 'avg:' lines from test-xenstore -i $iterations"; return 1; }
  cat "$LAB_LOGS/$label.results"
  LAB_SUM_NS=$(sed -n 's/.*\.sum_avg_ns=//p' "$LAB_LOGS/$label.results")
}

# lab_ratio KEY A B: reports KEY=A/B with two decimals (nothing when either is empty or B is 0).
lab_ratio() {
  [ -n "$2" ] && [ -n "$3" ] || return 0
  lab_result "$1" "$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2f", a / b }')"
}

# lab_dom0_services: what a xenstored needs around it before guests: xen-init-dom0 (dom0's
# xenstore entries) and xenconsoled (guest consoles logged to /var/log/xen/guest-<name>.log).
lab_dom0_services() {
  lab_run xen-init-dom0 60 xen-init-dom0 || return 1
  lab_start_daemon xenconsoled - xenconsoled -i --log=guest --log-dir=/var/log/xen
}

# lab_wait_domain_gone NAME SECONDS: polls `xl list NAME` until the domain no longer exists.
lab_wait_domain_gone() {
  local n=0
  while [ $n -lt "$2" ]; do
    timeout 10 xl list "$1" > /dev/null 2>&1 || return 0
    sleep 1; n=$((n + 1))
  done
  return 1
}

# lab_guest_marker NAME: the marker line the guest printed on its console, if any.
lab_guest_marker() { grep -a -m1 XENLAB-GUEST-OK "/var/log/xen/guest-$1.log" 2>/dev/null | tr -d '\r'; }

# lab_wait_guest_marker NAME SECONDS: waits for the guest's marker; LAB_MARKER holds it.
lab_wait_guest_marker() {
  local n=0
  while [ $n -lt $(($2 * 2)) ]; do
    LAB_MARKER=$(lab_guest_marker "$1")
    [ -n "$LAB_MARKER" ] && return 0
    usleep 500000; n=$((n + 1))
  done
  return 1
}

# lab_guest_probe TOOL: TOOL (xl, or xm) creates the probe guest (/guest/guest.cfg), which
# prints its marker and powers off; checks the domain goes away and the marker was printed.
# Results: TOOL.probe_create_s, TOOL.probe_run_s (create done to domain gone), TOOL.probe_uptime_s.
lab_guest_probe() {
  local tool=$1 t0
  lab_run "$tool-create-probe" 180 "$tool" create /guest/guest.cfg || return 1
  lab_result "$tool.probe_create_s" "$LAB_SECONDS"
  t0=$(lab_now)
  if lab_wait_domain_gone probe 180; then
    lab_step probe-gone OK "after $(lab_since "$t0")s"
    lab_result "$tool.probe_run_s" "$(lab_since "$t0")"
  else
    lab_step probe-gone FAIL "domain probe still exists after 180s"
    xl list
  fi
  LAB_MARKER=$(lab_guest_marker probe)
  if [ -n "$LAB_MARKER" ]; then
    lab_step probe-marker OK "$LAB_MARKER"
    lab_result "$tool.probe_uptime_s" "${LAB_MARKER##*uptime=}"
  else
    lab_step probe-marker FAIL "no XENLAB-GUEST-OK in /var/log/xen/guest-probe.log"
    tail -20 /var/log/xen/guest-probe.log 2>/dev/null
    return 1
  fi
}

# lab_daemon_transport PID: "socket+ring" when the daemon holds an event channel device open
# (it serves dom0's kernel through /proc/xen/xsd_kva and xsd_port), else "socket".
lab_daemon_transport() {
  local fd
  for fd in /proc/"$1"/fd/*; do
    [ "$(readlink "$fd")" = /dev/xen/evtchn ] && { echo socket+ring; return; }
  done
  echo socket
}

# lab_start_txend: starts txend on the libxenctrl backend and waits until `xm list` answers;
# LAB_PID is txend's. How txend starts is not settled yet: XENLAB_DOM0_TXEND_CMD (set on the
# host, copied into dom0) overrides the default; xm must find txend at its default socket.
# Reports "xm SKIP" and fails when txend or xm was not built.
lab_start_txend() {
  local n=0
  if [ ! -x /xenlab/bin/txend ] || [ ! -x /xenlab/bin/xm ]; then
    lab_step xm SKIP "build/bin/txend and build/bin/xm are not both built"
    return 1
  fi
  lab_run txend-help 10 txend --help
  # shellcheck disable=SC2086
  lab_start_daemon txend - ${XENLAB_DOM0_TXEND_CMD:-txend --no-fork --hypervisor xen} || return 1
  while ! timeout 10 xm list > /dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 30 ] || { lab_step xm-connect FAIL "xm list did not answer in 30s"; return 1; }
    sleep 1
  done
  lab_step xm-connect OK "xm list answers"
}
