# shellcheck shell=dash
# Scenario "hvm" (on demand, not a CTest test: it takes minutes under double emulation): an
# HVM guest with Debian's qemu-system-xen as device model, first created by xl
# (/guest/hvm-xl.cfg), then by xm + txend (/guest/hvm.cfg, xend's paths). Checked: the device
# model reports "running" in xenstore, the port in console/vnc-port (both toolstacks write it)
# answers "RFB " on dom0's loopback, the firmware's output appears in Xen's console (xl dmesg
# "(d<id>) HVM Loader", then "(d<id>) SeaBIOS (version"). Needs a CPU model with SVM
# (run-lab.sh's default) and the host package qemu-system-xen (lib/assemble.sh copies it
# into dom0). Results: <tool>.create_s, then from create done <tool>.dm_running_s,
# <tool>.vnc_answers_s, <tool>.firmware_seen_s, <tool>.seabios_seen_s; <tool>.destroy_s;
# anchors.xm_vs_xl.create.
# Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start txend-help txend-start xm-connect
#@steps {xl,xm}-create {xl,xm}-dm_running {xl,xm}-vnc_answers {xl,xm}-firmware_seen
#@steps {xl,xm}-seabios_seen {xl,xm}-destroy {xl,xm}-gone

if ! xl info 2>/dev/null | grep -q 'virt_caps.*hvm'; then
  lab_step scenario SKIP "this CPU model gives Xen no HVM support (run-lab.sh --cpu fast)"
  exit 0
fi
if [ ! -x /usr/libexec/xen-qemu-system-i386 ]; then
  lab_step scenario SKIP "no qemu-system-xen in dom0 (install it on the host)"
  exit 0
fi

# wait_for SECONDS CMD...: polls CMD each second; LAB_WAITED holds the seconds from the
# create's end ($created, a lab_now value) to success.
wait_for() {
  local n=0 limit=$1; shift
  while [ $n -lt "$limit" ]; do
    if "$@"; then LAB_WAITED=$(lab_since "$created"); return 0; fi
    sleep 1; n=$((n + 1))
  done
  return 1
}
dm_running() { [ "$(xenstore-read "/local/domain/0/device-model/$domid/state" 2>/dev/null)" = running ]; }
firmware_seen() { xl dmesg 2>/dev/null | grep -q "(d$domid) HVM Loader"; }
seabios_seen() { xl dmesg 2>/dev/null | grep -q "(d$domid) SeaBIOS (version"; }
vnc_answers() {
  port=$(xenstore-read "/local/domain/$domid/console/vnc-port" 2>/dev/null) || return 1
  [ "$(timeout 5 nc 127.0.0.1 "$port" < /dev/null 2>/dev/null | head -c 4)" = "RFB " ]
}

# hvm_run TOOL CONFIG
hvm_run() {
  local tool=$1 step
  lab_run "$tool-create" 300 "$tool" create "$2" || return 1
  lab_result "$tool.create_s" "$LAB_SECONDS"
  eval "${tool}_create_s=\$LAB_SECONDS"
  created=$(lab_now)
  domid=$(lab_domid hvm)
  for step in dm_running:120 vnc_answers:60 firmware_seen:600 seabios_seen:300; do
    if wait_for "${step#*:}" "${step%:*}"; then
      lab_step "$tool-${step%:*}" OK "${LAB_WAITED}s after create"
      lab_result "$tool.${step%:*}_s" "$LAB_WAITED"
    else
      lab_step "$tool-${step%:*}" FAIL "not within ${step#*:}s"
    fi
  done
  xl dmesg 2>/dev/null | grep "(d$domid)" | tail -5 | sed "s/^/  [$tool-firmware] /"
  tail -5 /var/log/xen/qemu-dm-hvm.log 2>/dev/null | sed "s/^/  [$tool-qemu-log] /"
  if lab_run "$tool-destroy" 120 "$tool" destroy hvm; then
    lab_result "$tool.destroy_s" "$LAB_SECONDS"
    if lab_wait_domain_gone hvm 60; then lab_step "$tool-gone" OK "domain gone"
    else lab_step "$tool-gone" FAIL "domain still there after 60s"; fi
  fi
}
cleanup_domain() { lab_domain_gone hvm || timeout 60 xl destroy hvm; }

# The VNC servers listen on dom0's loopback, which nothing else in the lab brings up.
ip link set lo up
lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1
if [ -z "${XENLAB_DOM0_HVM_XM_ONLY:-}" ]; then  # set on the host to skip the xl anchor
  hvm_run xl /guest/hvm-xl.cfg
  cleanup_domain
fi
if lab_start_txend; then
  hvm_run xm /guest/hvm.cfg
  cleanup_domain
  lab_stop_daemon "$LAB_PID"
  lab_ratio anchors.xm_vs_xl.create "${xm_create_s:-}" "${xl_create_s:-}"
fi
