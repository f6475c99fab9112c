# shellcheck shell=dash
# Scenario "stock": Xen's own tools only, the measured recipe. The C xenstored serves the dom0
# kernel (/proc/xen/xsd_kva) and the unix socket; xen-init-dom0, xenconsoled, `xl info`,
# test-xenstore (all tests, then -i N timed), then `xl create` of a PV guest that prints
# XENLAB-GUEST-OK on its console and powers off; the run waits until the domain is gone.
# Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start xl-info
#@steps xenstored-test-xenstore xenstored-test-xenstore-timed
#@steps xl-create-probe probe-gone probe-marker

lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1

lab_run xl-info 60 xl info || exit 1
lab_result xen.version "$(awk -F': ' '/^xen_version/ { print $2 }' "$LAB_LOGS/xl-info.log")"
lab_result xen.free_memory_mb "$(awk -F': ' '/^free_memory/ { print $2 }' "$LAB_LOGS/xl-info.log")"

lab_test_xenstore xenstored "$XENLAB_ITERATIONS"
lab_guest_probe xl
