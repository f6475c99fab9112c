# shellcheck shell=dash
# Scenario "xm-lifecycle": one domain's life driven by a toolstack and checked against the
# hypervisor with `xl list`: create (/guest/stay.cfg; the guest prints its marker and stays up),
# list, pause, unpause, mem-set 96, shutdown -w, create again, destroy. First with Xen's xl
# (the anchor), then with our xm talking to txend on the libxenctrl backend, when both are in
# the image. The stock C xenstored serves both.
# Results: <tool>.create_s, <tool>.boot_s (create done to guest marker), <tool>.shutdown_s,
# <tool>.destroy_s; anchors.xm_vs_xl.create when both ran.
# txend is started by lab_start_txend (lab.sh). Sourced by dom0/init after lab.sh.

lifecycle_log=/var/log/xen/guest-lifecycle.log

# domain_field NAME COLUMN: a column of `xl list NAME` (3 Mem, 5 State); empty when gone.
domain_field() { timeout 10 xl list "$1" 2>/dev/null | awk -v c="$2" 'NR == 2 { print $c }'; }

# wait_until SECONDS CMD...: polls CMD every half second until it succeeds.
wait_until() {
  local n=0 limit=$(($1 * 2)); shift
  while [ $n -lt $limit ]; do "$@" && return 0; usleep 500000; n=$((n + 1)); done
  return 1
}
is_paused() { case $(domain_field lifecycle 5) in *p*) return 0 ;; esac; return 1; }
is_running() { s=$(domain_field lifecycle 5); [ -n "$s" ] && ! is_paused; }
is_gone() { ! timeout 10 xl list lifecycle > /dev/null 2>&1; }
mem_at_most_96() { m=$(domain_field lifecycle 3); [ -n "$m" ] && [ "$m" -le 96 ]; }

# check NAME DETAIL CMD...: a step that is OK when CMD succeeds within 30 s.
check() {
  local name=$1 detail=$2; shift 2
  if wait_until 30 "$@"; then lab_step "$name" OK "$detail"; else lab_step "$name" FAIL "$detail: not reached in 30s"; fi
}

# create_and_boot TOOL WHAT: TOOL create, then wait for the guest's marker.
create_and_boot() {
  local t0
  rm -f "$lifecycle_log"
  lab_run "$1-$2" 180 "$1" create /guest/stay.cfg || return 1
  lab_result "$1.$2_s" "$LAB_SECONDS"
  eval "${1}_${2}_s=\$LAB_SECONDS"
  t0=$(lab_now)
  if lab_wait_guest_marker lifecycle 120; then
    lab_step "$1-$2-boot" OK "$LAB_MARKER"
    lab_result "$1.$2_boot_s" "$(lab_since "$t0")"
  else
    lab_step "$1-$2-boot" FAIL "no XENLAB-GUEST-OK on the guest console in 120s"
    return 1
  fi
}

# lifecycle TOOL: the whole sequence with xl or xm.
lifecycle() {
  local tool=$1
  create_and_boot "$tool" create || return 1
  lab_run "$tool-list" 30 "$tool" list
  grep -q lifecycle "$LAB_LOGS/$tool-list.log" || lab_step "$tool-list-shows-domain" FAIL "no 'lifecycle' line"
  lab_run "$tool-pause" 30 "$tool" pause lifecycle && check "$tool-paused" "xl list state p" is_paused
  lab_run "$tool-unpause" 30 "$tool" unpause lifecycle && check "$tool-unpaused" "xl list state not p" is_running
  lab_run "$tool-mem-set" 30 "$tool" mem-set lifecycle 96 && check "$tool-mem-target" "xl list Mem <= 96" mem_at_most_96
  if lab_run "$tool-shutdown" 180 "$tool" shutdown -w lifecycle; then
    lab_result "$tool.shutdown_s" "$LAB_SECONDS"
    check "$tool-shutdown-gone" "domain gone" is_gone
  fi
  create_and_boot "$tool" recreate || return 1
  if lab_run "$tool-destroy" 60 "$tool" destroy lifecycle; then
    lab_result "$tool.destroy_s" "$LAB_SECONDS"
    check "$tool-destroy-gone" "domain gone" is_gone
  fi
}

# cleanup_domain: destroys what a failed sequence left behind, so the next one starts clean.
cleanup_domain() { is_gone || timeout 60 xl destroy lifecycle; }

lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1
lifecycle xl
cleanup_domain

if lab_start_txend; then
  lifecycle xm
  cleanup_domain
  lab_stop_daemon "$LAB_PID"
  lab_ratio anchors.xm_vs_xl.create "$xm_create_s" "$xl_create_s"
fi
