# shellcheck shell=dash
# Scenario "xsd-ring": our xsd as dom0's only xenstore daemon, started where the stock one is
# (`xsd --no-fork`, default socket, no -D): it serves dom0's kernel through the ring page in
# /proc/xen/xsd_kva and the event channel in /proc/xen/xsd_port, and guests through the page and
# event channel that xl's INTRODUCE names. Checked on top of it: a write through dom0's kernel
# (/dev/xen/xenbus) read back over the socket; test-xenstore over both transports; xen-init-dom0;
# the stock tools (xenstore-ls, xl list); xenconsoled; the probe guest (`xl create`, boots, powers
# off, reaped); a long-lived guest whose kernel writes its control/feature-* nodes and acts on
# `xl shutdown -w` (a watch and a transaction over its ring); @introduceDomain and @releaseDomain
# seen by xenstore-watch for both guests. Fails when xsd is not in the image or does not serve
# dom0's ring (detected: xsd holds /dev/xen/evtchn open). Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xsd-start xsd-serves-ring ring-write socket-read ring-roundtrip
#@steps xsd-test-xenstore xsd-test-xenstore-timed xsd-ring-test-xenstore xsd-ring-test-xenstore-timed
#@steps xen-init-dom0 xenconsoled-start xenstore-ls dom0-name xl-list xl-list-dom0
#@steps xl-create-probe probe-gone probe-marker
#@steps xl-create-stay stay-boot stay-ls guest-wrote-feature-poweroff stay-ring-mapped stay-introduced
#@steps xl-shutdown-stay stay-shutdown-clean stay-gone stay-ring-unmapped stay-released
#@steps watch-introduce watch-release xsd-alive

[ -x /xenlab/bin/xsd ] || lab_abort xsd-start "build/bin/xsd was not built (XENLAB_BIN_DIR)"
lab_start_daemon xsd "$LAB_XENSTORED_SOCKET" xsd --no-fork || exit 1
XSD_PID=$LAB_PID
if [ "$(lab_daemon_transport "$XSD_PID")" != socket+ring ]; then
  lab_show xsd
  lab_abort xsd-serves-ring "xsd does not serve dom0's ring (no /dev/xen/evtchn open)"
fi
lab_step xsd-serves-ring OK "xsd holds /dev/xen/evtchn"
expect() { lab_expect "$@"; }
# lines FILE PATTERN: how many lines of FILE match PATTERN.
lines() { grep -c "$2" "$1" 2>/dev/null || true; }
# guest_pages: guest ring pages xsd has mapped (grant mappings through /dev/xen/gntdev).
guest_pages() { grep -c gntdev "/proc/$XSD_PID/maps" || true; }
# introduced: xsd's count of introduced domains (dom0 included), from `xenstore-control stats`.
introduced() { timeout "$LAB_T" xenstore-control stats 2>/dev/null | awk '$1 == "domains_introduced" { print $2 }'; }

lab_run ring-write 30 env XENSTORED_PATH=/dev/xen/xenbus xenstore-write /xenlab/ring ok || exit 1
lab_run socket-read 30 xenstore-read /xenlab/ring || exit 1
expect ring-roundtrip ok "$(cat "$LAB_LOGS/socket-read.log")"

lab_test_xenstore xsd "$XENLAB_ITERATIONS"
export XENSTORED_PATH=/dev/xen/xenbus
lab_test_xenstore xsd-ring "$XENLAB_ITERATIONS"
unset XENSTORED_PATH

lab_dom0_services || exit 1
lab_run xenstore-ls 30 xenstore-ls /local/domain/0
expect dom0-name '"Domain-0"' "$(sed -n 's/^name = //p' "$LAB_LOGS/xenstore-ls.log")"
lab_run xl-list 30 xl list
expect xl-list-dom0 0 "$(awk '$1 == "Domain-0" { print $2 }' "$LAB_LOGS/xl-list.log")"

timeout 600 xenstore-watch @introduceDomain > "$LAB_LOGS/watch-introduce.log" 2>&1 &
watch_introduce=$!
timeout 600 xenstore-watch @releaseDomain > "$LAB_LOGS/watch-release.log" 2>&1 &
watch_release=$!

lab_guest_probe xl

# A guest that stays up: its kernel talks to xsd through its ring until xl shuts it down.
rm -f /var/log/xen/guest-lifecycle.log
lab_run xl-create-stay 180 xl create /guest/stay.cfg || exit 1
if lab_wait_guest_marker lifecycle 120; then lab_step stay-boot OK "$LAB_MARKER"
else lab_step stay-boot FAIL "no XENLAB-GUEST-OK on the guest console in 120s"; fi
domid=$(lab_domid lifecycle)
lab_run stay-ls 30 xenstore-ls "/local/domain/$domid"
expect guest-wrote-feature-poweroff 1 "$(lab_xs_read "/local/domain/$domid/control/feature-poweroff")"
expect stay-ring-mapped 1 "$(guest_pages)"
expect stay-introduced 2 "$(introduced)"
if lab_run xl-shutdown-stay 180 xl shutdown -w lifecycle; then
  lab_result xl.shutdown_s "$LAB_SECONDS"
  lab_check_clean_shutdown stay-shutdown-clean lifecycle
  if lab_wait_domain_gone lifecycle 60; then lab_step stay-gone OK "the guest acted on control/shutdown"
  else lab_step stay-gone FAIL "domain lifecycle still exists"; fi
fi
n=0
while [ "$(guest_pages)" != 0 ] && [ $n -lt 20 ]; do usleep 500000; n=$((n + 1)); done
expect stay-ring-unmapped 0 "$(guest_pages)"
expect stay-released 1 "$(introduced)"

# Each watcher saw its initial event and at least one per guest.
sleep 1
kill "$watch_introduce" "$watch_release" 2>/dev/null
lab_result xsd-ring.introduce_events "$(lines "$LAB_LOGS/watch-introduce.log" @introduceDomain)"
lab_result xsd-ring.release_events "$(lines "$LAB_LOGS/watch-release.log" @releaseDomain)"
n=$(lines "$LAB_LOGS/watch-introduce.log" @introduceDomain)
if [ "$n" -ge 3 ]; then lab_step watch-introduce OK "$n events (initial + 2 guests)"
else lab_step watch-introduce FAIL "$n events, want >= 3: $(tr '\n' ' ' < "$LAB_LOGS/watch-introduce.log")"; fi
n=$(lines "$LAB_LOGS/watch-release.log" @releaseDomain)
if [ "$n" -ge 3 ]; then lab_step watch-release OK "$n events (initial, then shutdown and death of each guest)"
else lab_step watch-release FAIL "$n events, want >= 3: $(tr '\n' ' ' < "$LAB_LOGS/watch-release.log")"; fi

lab_show xsd
kill -0 "$XSD_PID" 2>/dev/null && lab_step xsd-alive OK "pid $XSD_PID" || lab_step xsd-alive FAIL "xsd exited"
