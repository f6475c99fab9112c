# shellcheck shell=dash
# Scenario "pvh": a PVH guest (/guest/pvh.cfg: Debian's cloud kernel booted directly, no
# firmware, no device model, tsc_mode "native") created, listed, paused, unpaused, saved,
# restored and destroyed, each checked with `xl list`; first with xl (the anchor), then with
# xm + txend on libxenctrl. The guest must have found its ACPI tables (the kernel's "ACPI:
# APIC" line: without the MADT it never suspends, docs/hvm.md). A failed save shows the
# guest's console and xenstore nodes. Needs a CPU with hardware virtualisation (run-lab.sh's
# default CPU model has SVM and NPT; with --cpu nehalem the scenario reports SKIP).
# Results: <tool>.create_s, <tool>.boot_s (create done to the guest's marker), <tool>.save_s,
# <tool>.restore_s, <tool>.destroy_s; anchors.xm_vs_xl.create.
# Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start xl-info txend-help txend-start xm-connect
#@steps {xl,xm}-create {xl,xm}-boot {xl,xm}-acpi {xl,xm}-list {xl,xm}-list-row
#@steps {xl,xm}-pause {xl,xm}-paused {xl,xm}-unpause {xl,xm}-unpaused
#@steps {xl,xm}-save {xl,xm}-saved-gone {xl,xm}-restore {xl,xm}-restored-runs
#@steps {xl,xm}-destroy {xl,xm}-destroy-gone

pvh_log=/var/log/xen/guest-pvh.log
state_of() { timeout "$LAB_T" xl list pvh 2>/dev/null | awk 'NR == 2 { print $5 }'; }
wait_until() {
  local n=0 limit=$(($1 * 2)); shift
  while [ $n -lt $limit ]; do "$@" && return 0; usleep 500000; n=$((n + 1)); done
  return 1
}
is_paused() { case $(state_of) in *p*) return 0 ;; esac; return 1; }
is_running() { s=$(state_of); [ -n "$s" ] && ! is_paused; }
is_gone() { lab_domain_gone pvh; }
check() {
  local name=$1 detail=$2; shift 2
  if wait_until 30 "$@"; then lab_step "$name" OK "$detail"; else lab_step "$name" FAIL "$detail: not reached in 30s"; fi
}

# guest_state STEP DOMID: what shows whether the guest talks to xenstore (its control/feature-*
# nodes) and what it printed last (an oops whole), when a save fails; tagged with the failed
# STEP, so the summary shows it.
guest_state() {
  tail -60 "$pvh_log" 2>/dev/null | sed "s/^/  [$1 guest] /"
  timeout "$LAB_T" xenstore-ls -fp "/local/domain/$2" 2>&1 | head -40 | sed "s/^/  [$1 xs] /"
}

if ! xl info 2>/dev/null | grep -q 'virt_caps.*hvm'; then
  lab_step scenario SKIP "this CPU model gives Xen no HVM support (run-lab.sh --cpu fast)"
  exit 0
fi

# pvh_life TOOL: the whole sequence with xl or xm.
pvh_life() {
  local tool=$1 t0 row domid
  rm -f "$pvh_log"
  lab_run "$tool-create" 180 "$tool" create /guest/pvh.cfg || return 1
  lab_result "$tool.create_s" "$LAB_SECONDS"
  eval "${tool}_create_s=\$LAB_SECONDS"
  t0=$(lab_now)
  if lab_boot_guest "$tool.pvh" "$tool" pvh 120 timeout 180 "$tool" create /guest/pvh.cfg; then
    lab_step "$tool-boot" OK "$LAB_MARKER"
    lab_result "$tool.boot_s" "$(lab_since "$t0")"
  else
    lab_step "$tool-boot" FAIL "no XENLAB-GUEST-OK on the guest console in 120s"
    tail -30 "$pvh_log" 2>/dev/null
    return 1
  fi
  if grep -q "ACPI: APIC" "$pvh_log" 2>/dev/null; then
    lab_step "$tool-acpi" OK "$(grep -m1 "ACPI: APIC" "$pvh_log" | tr -s ' ' | cut -c1-60)"
  else
    lab_step "$tool-acpi" FAIL "no 'ACPI: APIC' (the MADT) in the guest's boot log"
    grep ACPI "$pvh_log" 2>/dev/null | head -5
  fi
  domid=$(lab_domid pvh)
  lab_run "$tool-list" 30 "$tool" list
  row=$(awk '$1 == "pvh" { print $1, $2, $3, $4 }' "$LAB_LOGS/$tool-list.log")
  lab_expect "$tool-list-row" "pvh $domid 128 1" "$row"
  lab_run "$tool-pause" 30 "$tool" pause pvh && check "$tool-paused" "xl list state p" is_paused
  lab_run "$tool-unpause" 30 "$tool" unpause pvh && check "$tool-unpaused" "xl list state not p" is_running
  rm -f /tmp/pvh.save
  if lab_run "$tool-save" 180 "$tool" save pvh /tmp/pvh.save; then
    lab_result "$tool.save_s" "$LAB_SECONDS"
    check "$tool-saved-gone" "domain gone" is_gone
    if lab_run "$tool-restore" 180 "$tool" restore /tmp/pvh.save; then
      lab_result "$tool.restore_s" "$LAB_SECONDS"
      check "$tool-restored-runs" "xl list state not p" is_running
    fi
  else
    guest_state "$tool-save" "$domid"
  fi
  if lab_run "$tool-destroy" 60 "$tool" destroy pvh; then
    lab_result "$tool.destroy_s" "$LAB_SECONDS"
    check "$tool-destroy-gone" "domain gone" is_gone
  fi
}
cleanup_domain() { is_gone || timeout 60 xl destroy pvh; }

lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1
lab_run xl-info 30 xl info
if [ -z "${XENLAB_DOM0_PVH_XM_ONLY:-}" ]; then  # set on the host to skip the xl anchor
  pvh_life xl
  cleanup_domain
fi
if lab_start_txend; then
  pvh_life xm
  cleanup_domain
  lab_stop_daemon "$LAB_PID"
  lab_ratio anchors.xm_vs_xl.create "${xm_create_s:-}" "${xl_create_s:-}"
fi
