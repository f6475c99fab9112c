# shellcheck shell=dash
# Scenario "anchors": the same Xen test-xenstore run (all tests once, then -i N timed) against
# each xenstore daemon in turn, one at a time on /var/run/xenstored/socket, in one boot:
#   xenstored   the stock C daemon, started as in production (it also serves dom0's kernel ring)
#   oxenstored  the stock OCaml daemon (it takes the dom0 ring over after xenstored stops)
#   xsd         ours, when build/bin/xsd was in the image
# Each daemon is measured over its unix socket (<daemon>.*) and, when it serves dom0's ring
# (it holds /dev/xen/evtchn open: <daemon>.transport=socket+ring), also through the kernel's
# /dev/xen/xenbus, i.e. the shared ring and event channel (<daemon>-ring.*). Results per run:
# <test>_avg_ns, sum_avg_ns, wall_s; ratios anchors.<daemon>_vs_xenstored.{sum_avg,wall} and
# anchors.<daemon>-ring_vs_xenstored-ring.* (below 1 = faster than the stock C xenstored).
# Compare ratios within one run, not absolute emulated times. Sourced by dom0/init after lab.sh.

iterations=$XENLAB_ITERATIONS

# measure LABEL VAR: test-xenstore against the current XENSTORED_PATH; VAR_sum, VAR_wall.
measure() {
  lab_test_xenstore "$1" "$iterations"
  eval "${2}_sum=\$LAB_SUM_NS ${2}_wall=\$LAB_WALL_S"
}

# anchor NAME CMD...: starts one daemon, measures it (socket, then ring if it serves one), stops it.
anchor() {
  local name=$1 transport; shift
  lab_start_daemon "$name" "$LAB_XENSTORED_SOCKET" "$@" || return 1
  transport=$(lab_daemon_transport "$LAB_PID")
  lab_result "$name.transport" "$transport"
  measure "$name" "$name"
  if [ "$transport" = socket+ring ]; then
    export XENSTORED_PATH=/dev/xen/xenbus
    measure "$name-ring" "${name}_ring"
    unset XENSTORED_PATH
  fi
  [ "$transport" = socket+ring ] ||
    lab_step "$name-ring" SKIP "$name does not serve dom0's ring (no /dev/xen/evtchn open): socket only"
  lab_stop_daemon "$LAB_PID"
}

lab_result anchors.iterations "$iterations"
anchor xenstored xenstored -N
anchor oxenstored oxenstored --no-fork
if [ -x /xenlab/bin/xsd ]; then
  lab_run xsd-help 10 xsd --help
  anchor xsd xsd --no-fork --socket "$LAB_XENSTORED_SOCKET"
else
  lab_step xsd-start SKIP "build/bin/xsd was not built"
fi

for d in oxenstored xsd; do
  for via in "" _ring; do
    eval "sum=\$${d}${via}_sum wall=\$${d}${via}_wall base_sum=\$xenstored${via}_sum base_wall=\$xenstored${via}_wall"
    key="anchors.${d}${via:+-ring}_vs_xenstored${via:+-ring}"
    lab_ratio "$key.sum_avg" "$sum" "$base_sum"
    lab_ratio "$key.wall" "$wall" "$base_wall"
  done
done
