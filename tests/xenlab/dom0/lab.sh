# shellcheck shell=dash
# The scenario API inside dom0 (busybox sh). Scenarios report through markers on the console,
# which run-lab.sh parses on the host:
#   XENLAB-STEP <name> OK|FAIL|SKIP <detail>     one checked step
#   XENLAB-RESULT <key>=<value>                  one measured figure
# Every step a scenario can report is declared in its "#@steps" lines (docs/xenlab.md). Every
# command that talks to Xen, xenstore, a daemon or a guest runs under a time limit: lab_run,
# or `timeout` directly (LAB_T is the limit for one short query). Output of lab_run goes to
# /tmp/lab/<name>.log and the console. busybox sh: functions use `local`; no bash-isms.

LAB_LOGS=/tmp/lab
LAB_XENSTORED_SOCKET=/var/run/xenstored/socket
LAB_T=10
mkdir -p "$LAB_LOGS"

lab_step() { local name=$1 status=$2; shift 2; echo "XENLAB-STEP $name $status $*"; }
lab_result() { echo "XENLAB-RESULT $1=$2"; }

# lab_abort NAME DETAIL: reports a failed step and ends the scenario.
lab_abort() { lab_step "$1" FAIL "$2"; exit 1; }

# lab_now: seconds since boot (10 ms resolution: busybox date has no %N).
lab_now() { cut -d' ' -f1 /proc/uptime; }

# lab_since T0: seconds from T0 (a lab_now value) to now.
lab_since() { awk -v a="$1" -v b="$(lab_now)" 'BEGIN { printf "%.2f", b - a }'; }

# lab_expect NAME WANT GOT: a step that is OK when GOT equals WANT.
lab_expect() {
  if [ "$3" = "$2" ]; then lab_step "$1" OK "$3"; else lab_step "$1" FAIL "want '$2', got '$3'"; fi
}

# lab_xs_read PATH: xenstore-read PATH (errors on stdout), bounded.
lab_xs_read() { timeout "$LAB_T" xenstore-read "$1" 2>&1; }

# lab_xs_exists PATH: whether PATH exists in xenstore; a hung query counts as existing.
lab_xs_exists() {
  timeout "$LAB_T" xenstore-exists "$1" > /dev/null 2>&1
  [ $? -ne 1 ]
}

# lab_domid NAME: the domain's id (`xl domid`), empty when it does not exist.
lab_domid() { timeout "$LAB_T" xl domid "$1" 2>/dev/null; }

# lab_expect_error NAME RC TEXT CMD...: a step that is OK when CMD (limited to 60 s) exits RC
# and its output contains TEXT: an error path, checked for its exit code and message.
lab_expect_error() {
  local name=$1 want=$2 text=$3 rc; shift 3
  timeout 60 "$@" > "$LAB_LOGS/$name.log" 2>&1
  rc=$?
  lab_show "$name"
  if [ $rc -eq "$want" ] && grep -qF -- "$text" "$LAB_LOGS/$name.log"; then
    lab_step "$name" OK "exit $rc, '$text': $*"
  else
    lab_step "$name" FAIL "exit $rc (want $want), want '$text' in the output: $*"
  fi
}

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
  [ $rc -eq 0 ] || lab_show_daemons "$name"
  if [ $rc -eq 0 ]; then lab_step "$name" OK "${LAB_SECONDS}s"
  elif [ $rc -eq 143 ] || [ $rc -eq 124 ]; then lab_step "$name" FAIL "timeout after ${limit}s: $*"
  else lab_step "$name" FAIL "exit $rc: $*"; fi
  return $rc
}

# lab_show_daemons STEP: the last lines of each daemon's logs (LAB_DAEMON_LOGS: NAME=FILE
# words), tagged "[STEP NAME]", so a failed step's summary shows what the daemons said.
lab_show_daemons() {
  local entry
  for entry in $LAB_DAEMON_LOGS; do
    [ -s "${entry#*=}" ] && tail -n 15 "${entry#*=}" | sed "s/^/  [$1 ${entry%%=*}] /"
  done
  return 0
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
# its socket (none when SOCKET is "-": then it must still live after a second). Sets LAB_PID
# and adds its output to LAB_DAEMON_LOGS.
lab_start_daemon() {
  local name=$1 sock=$2 t0 rc; shift 2
  [ "$sock" = - ] || rm -f "$sock"
  t0=$(lab_now)
  "$@" > "$LAB_LOGS/$name.log" 2>&1 &
  LAB_PID=$!
  LAB_DAEMON_LOGS="$LAB_DAEMON_LOGS $name=$LAB_LOGS/$name.log"
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

# lab_test_xenstore LABEL ITERATIONS [KEY]: Xen's test-xenstore against the daemon on
# XENSTORED_PATH (default socket): all tests once (step LABEL-test-xenstore, must pass), then
# each test ITERATIONS times (step LABEL-test-xenstore-timed); reports KEY.<test>_avg_ns,
# KEY.sum_avg_ns and KEY.wall_s (the timed run's duration; KEY defaults to LABEL, the results
# also go to /tmp/lab/LABEL.results) and keeps the wall time in LAB_WALL_S.
lab_test_xenstore() {
  local label=$1 iterations=$2 key=${3:-$1}
  LAB_WALL_S=""
  lab_run "$label-test-xenstore" 120 test-xenstore || return 1
  lab_run "$label-test-xenstore-timed" 600 test-xenstore -i "$iterations" || return 1
  LAB_WALL_S=$LAB_SECONDS
  lab_result "$key.wall_s" "$LAB_WALL_S"
  awk -F: -v key="$key" '
    / avg: / { name = $1; gsub(/^ +| +$/, "", name); gsub(/[^A-Za-z0-9]+/, "_", name)
               split($3, v, " "); print "XENLAB-RESULT " key "." name "_avg_ns=" v[1]; sum += v[1]; n++ }
    END { if (n) print "XENLAB-RESULT " key ".sum_avg_ns=" sum; exit n == 0 }' \
    "$LAB_LOGS/$label-test-xenstore-timed.log" > "$LAB_LOGS/$label.results" ||
    { lab_step "$label-timing" FAIL "no 'avg:' lines from test-xenstore -i $iterations"; return 1; }
  cat "$LAB_LOGS/$label.results"
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

# lab_domain_gone NAME: whether `xl list NAME` says the domain does not exist (a hung or
# killed query does not count as gone).
lab_domain_gone() {
  timeout "$LAB_T" xl list "$1" > /dev/null 2>&1
  case $? in 0 | 124 | 137 | 143) return 1 ;; esac
  return 0
}

# lab_wait_domain_gone NAME SECONDS: polls until the domain no longer exists.
lab_wait_domain_gone() {
  local n=0
  while [ $n -lt "$2" ]; do
    lab_domain_gone "$1" && return 0
    sleep 1; n=$((n + 1))
  done
  return 1
}

# lab_domain_uuid DOMID: the uuid in the domain's `vm` node (/vm/<uuid>), empty when unknown.
lab_domain_uuid() { lab_xs_read "/local/domain/$1/vm" | sed -n 's|^/vm/\([0-9a-f-]\{36\}\).*|\1|p'; }

# lab_xenstore_leftovers DOMID UUID: xenstore paths that still belong to the domain (its home,
# dom0's backend directories for it, libxl's and the device model's records, anything naming
# its uuid), at most five; "xenstore-ls failed" when the tree cannot be read.
lab_xenstore_leftovers() {
  timeout 30 xenstore-ls -f / > "$LAB_LOGS/xenstore-tree.log" 2>&1 || { echo "xenstore-ls failed"; return; }
  awk -v d="$1" -v uuid="${2:-no-uuid}" '
    { p = $1 }
    p ~ ("^/local/domain/" d "(/|$)") || p ~ ("^/local/domain/0/backend/[^/]+/" d "(/|$)") ||
    p ~ ("^/local/domain/0/device-model/" d "(/|$)") || p ~ ("^/libxl/" d "(/|$)") ||
    index($0, uuid) { if (n++ < 5) print p }' "$LAB_LOGS/xenstore-tree.log" | tr '\n' ' '
}

# lab_check_xenstore_clean NAME DOMID UUID: a step that is OK when, within 30 s, xenstore
# holds nothing of the domain (lab_xenstore_leftovers). Without both ids there is nothing to
# check against: a failure, not a vacuous pass.
lab_check_xenstore_clean() {
  local n=0 left
  [ -n "$2" ] && [ -n "$3" ] || { lab_step "$1" FAIL "domain id '$2' or uuid '$3' unknown"; return 1; }
  while :; do
    left=$(lab_xenstore_leftovers "$2" "$3")
    [ -z "$left" ] && { lab_step "$1" OK "nothing of domain $2 (uuid ${3:-?}) left in xenstore"; return 0; }
    [ $n -lt 30 ] || break
    sleep 1; n=$((n + 1))
  done
  lab_step "$1" FAIL "left in xenstore after 30s: $left"
  return 1
}

# lab_guest_marker NAME: the marker line the guest printed on its console, if any.
lab_guest_marker() { grep -a -m1 XENLAB-GUEST-OK "/var/log/xen/guest-$1.log" 2>/dev/null | tr -d '\r'; }

# lab_wait_guest_marker NAME SECONDS [MARKER]: waits for the guest's marker (default
# XENLAB-GUEST-OK) on its console; LAB_MARKER holds the line. Returns 1 after SECONDS, 2 at
# once when the guest's kernel has panicked (it will print nothing more).
lab_wait_guest_marker() {
  local n=0 marker=${3:-XENLAB-GUEST-OK} log="/var/log/xen/guest-$1.log"
  while [ $n -lt $(($2 * 2)) ]; do
    LAB_MARKER=$(grep -a -m1 "$marker" "$log" 2>/dev/null | tr -d '\r')
    [ -n "$LAB_MARKER" ] && return 0
    grep -a -q "Kernel panic - not syncing" "$log" 2>/dev/null && return 2
    usleep 500000; n=$((n + 1))
  done
  return 1
}

# lab_boot_guest KEY TOOL NAME SECONDS CREATE...: waits for guest NAME's marker, as
# lab_wait_guest_marker. A guest with hardware virtualisation (PVH) runs on QEMU's emulated
# SVM, whose faults can panic the guest's kernel in its exception entry (docs/xenlab.md,
# "Guest kernel panics"): then, once, the panic is kept (result KEY_guest_panics=1, its lines
# on the console, the log as guest-NAME.log.panicked), the domain left to go (on_crash
# destroy; else TOOL, xl or xm, destroys it) and CREATE... (a command or function creating
# NAME again, bounded by itself; its output in $LAB_LOGS/KEY-again.log) run, and the wait
# starts over. A second panic fails.
lab_boot_guest() {
  local key=$1 tool=$2 name=$3 secs=$4 rc log="/var/log/xen/guest-$3.log"; shift 4
  lab_wait_guest_marker "$name" "$secs"; rc=$?
  [ $rc -eq 2 ] || return $rc
  lab_result "${key}_guest_panics" 1
  echo "XENLAB-NOTE $key: $name's kernel panicked; created once more. Its last lines:"
  grep -a -m1 -B2 "Kernel panic - not syncing" "$log" | tr -d '\r'
  mv "$log" "$log.panicked"
  lab_wait_domain_gone "$name" 30 || timeout "$LAB_T" "$tool" destroy "$name" > /dev/null 2>&1
  "$@" > "$LAB_LOGS/$key-again.log" 2>&1 || { cat "$LAB_LOGS/$key-again.log"; return 1; }
  lab_wait_guest_marker "$name" "$secs"
}

# lab_check_clean_shutdown NAME DOMAIN: a step that is OK when the guest printed
# XENLAB-GUEST-SHUTDOWN (guest/init: its kernel acted on control/shutdown and ran poweroff),
# which a destroy never makes it print.
lab_check_clean_shutdown() {
  if lab_wait_guest_marker "$2" 10 XENLAB-GUEST-SHUTDOWN; then lab_step "$1" OK "$LAB_MARKER"
  else lab_step "$1" FAIL "no XENLAB-GUEST-SHUTDOWN on $2's console: not a clean shutdown"; fi
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
    timeout "$LAB_T" xl list
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
# LAB_PID is txend's. XENLAB_DOM0_TXEND_CMD (set on the host, copied into dom0) overrides the
# default; xm must find txend at its default socket. Steps txend-help, txend-start (FAIL when
# txend or xm is not in the image: the xm half of a scenario cannot be skipped), xm-connect.
lab_start_txend() {
  local n=0
  if [ ! -x /xenlab/bin/txend ] || [ ! -x /xenlab/bin/xm ]; then
    lab_step txend-start FAIL "build/bin/txend or build/bin/xm was not built (XENLAB_BIN_DIR)"
    return 1
  fi
  lab_run txend-help 10 txend --help
  # shellcheck disable=SC2086
  lab_start_daemon txend - ${XENLAB_DOM0_TXEND_CMD:-txend --no-fork --hypervisor xen} || return 1
  LAB_DAEMON_LOGS="$LAB_DAEMON_LOGS txend-log=/var/log/txend/txend.log"
  while ! timeout 10 xm list > /dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 30 ] || { lab_step xm-connect FAIL "xm list did not answer in 30s"; return 1; }
    sleep 1
  done
  lab_step xm-connect OK "xm list answers"
}
