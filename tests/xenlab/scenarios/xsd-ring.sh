# shellcheck shell=dash
# Scenario "xsd-ring": our xsd as dom0's only xenstore daemon, started the way the stock one is
# (`xsd --no-fork`, default socket, no -D): it must serve dom0's kernel through the ring page in
# /proc/xen/xsd_kva and the event channel in /proc/xen/xsd_port, and guests through the page and
# event channel that xl's INTRODUCE names. On top of it: a write through dom0's kernel
# (/dev/xen/xenbus) read back over the socket, test-xenstore over both transports, xen-init-dom0,
# xenconsoled and `xl create` of the probe guest (its kernel's xenbus talks to xsd).
# Skipped until xsd serves the ring (detected: xsd holds /dev/xen/evtchn open).
# Sourced by dom0/init after lab.sh.

[ -x /xenlab/bin/xsd ] || { lab_step scenario SKIP "build/bin/xsd was not built"; exit 0; }
lab_start_daemon xsd "$LAB_XENSTORED_SOCKET" xsd --no-fork || exit 1
if [ "$(lab_daemon_transport "$LAB_PID")" != socket+ring ]; then
  lab_step scenario SKIP "xsd does not serve dom0's ring yet (no /dev/xen/evtchn open)"
  exit 0
fi

lab_run ring-write 30 env XENSTORED_PATH=/dev/xen/xenbus xenstore-write /xenlab/ring ok || exit 1
lab_run socket-read 30 xenstore-read /xenlab/ring || exit 1
if [ "$(cat "$LAB_LOGS/socket-read.log")" = ok ]; then lab_step ring-roundtrip OK "kernel ring write, socket read"
else lab_step ring-roundtrip FAIL "read back '$(cat "$LAB_LOGS/socket-read.log")'"; fi

lab_test_xenstore xsd "$XENLAB_ITERATIONS"
export XENSTORED_PATH=/dev/xen/xenbus
lab_test_xenstore xsd-ring "$XENLAB_ITERATIONS"
unset XENSTORED_PATH

lab_dom0_services || exit 1
lab_guest_probe xl
