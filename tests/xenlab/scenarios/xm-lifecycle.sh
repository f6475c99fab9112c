# shellcheck shell=dash
# Scenario "xm-lifecycle": one domain's life driven by a toolstack and checked against the
# hypervisor with `xl list`: create (/guest/stay.cfg, 160 MB and 2 vcpus; the guest prints its
# marker and stays up), list (the row's name, id, memory, vcpus and state), the domain as the
# config says (xl list: Mem 160, VCPUs 2), pause, unpause, mem-set 96, shutdown -w (the guest
# itself reports the shutdown: a clean one, not a destroy), xenstore empty of the domain, create
# again, destroy, xenstore empty again. First with Xen's xl (the anchor), then with our xm
# talking to txend on the libxenctrl backend, with xm's error paths and exit codes (unknown
# domain 3, bad argument 1, unreadable config 1, a domain larger than the host 1 and nothing
# left of it). The stock C xenstored serves both. txend or xm missing from the image fails.
# Results: <tool>.create_s, <tool>.create_boot_s (create done to guest marker),
# <tool>.shutdown_s, <tool>.destroy_s; anchors.xm_vs_xl.create.
# Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start txend-help txend-start xm-connect
#@steps {xl,xm}-create {xl,xm}-create-boot {xl,xm}-list {xl,xm}-list-row {xl,xm}-as-configured
#@steps {xl,xm}-pause {xl,xm}-paused {xl,xm}-unpause {xl,xm}-unpaused
#@steps {xl,xm}-mem-set {xl,xm}-mem-target
#@steps {xl,xm}-shutdown {xl,xm}-shutdown-clean {xl,xm}-shutdown-gone {xl,xm}-shutdown-xenstore-clean
#@steps {xl,xm}-recreate {xl,xm}-recreate-boot
#@steps {xl,xm}-destroy {xl,xm}-destroy-gone {xl,xm}-destroy-xenstore-clean
#@steps xm-error-unknown-domain xm-error-destroy-unknown xm-error-bad-memory
#@steps xm-error-missing-config xm-error-too-big xm-error-too-big-gone

lifecycle_log=/var/log/xen/guest-lifecycle.log
config_memory=160 config_vcpus=2

# domain_field NAME COLUMN: a column of `xl list NAME` (3 Mem, 4 VCPUs, 5 State); empty when gone.
domain_field() { timeout "$LAB_T" xl list "$1" 2>/dev/null | awk -v c="$2" 'NR == 2 { print $c }'; }

# wait_until SECONDS CMD...: polls CMD every half second until it succeeds.
wait_until() {
  local n=0 limit=$(($1 * 2)); shift
  while [ $n -lt $limit ]; do "$@" && return 0; usleep 500000; n=$((n + 1)); done
  return 1
}
is_paused() { case $(domain_field lifecycle 5) in *p*) return 0 ;; esac; return 1; }
is_running() { s=$(domain_field lifecycle 5); [ -n "$s" ] && ! is_paused; }
is_gone() { lab_domain_gone lifecycle; }
mem_at_most_96() { m=$(domain_field lifecycle 3); [ -n "$m" ] && [ "$m" -le 96 ]; }

# check NAME DETAIL CMD...: a step that is OK when CMD succeeds within 30 s.
check() {
  local name=$1 detail=$2; shift 2
  if wait_until 30 "$@"; then lab_step "$name" OK "$detail"; else lab_step "$name" FAIL "$detail: not reached in 30s"; fi
}

# create_and_boot TOOL WHAT: TOOL create, then wait for the guest's marker; sets domid, uuid.
create_and_boot() {
  local t0
  rm -f "$lifecycle_log"
  lab_run "$1-$2" 180 "$1" create /guest/stay.cfg || return 1
  lab_result "$1.$2_s" "$LAB_SECONDS"
  eval "${1}_${2}_s=\$LAB_SECONDS"
  domid=$(lab_domid lifecycle) uuid=$(lab_domain_uuid "$domid")
  t0=$(lab_now)
  if lab_wait_guest_marker lifecycle 120; then
    lab_step "$1-$2-boot" OK "$LAB_MARKER"
    lab_result "$1.$2_boot_s" "$(lab_since "$t0")"
  else
    lab_step "$1-$2-boot" FAIL "no XENLAB-GUEST-OK on the guest console in 120s"
    return 1
  fi
}

# check_list_row TOOL: TOOL list's row for the domain: name, the id xl domid gives, the
# configured memory and vcpus, a state that is neither paused, shut down, crashed nor dying.
check_list_row() {
  local row want
  lab_run "$1-list" 30 "$1" list || return 1
  row=$(awk '$1 == "lifecycle" { print $1, $2, $3, $4, $5 }' "$LAB_LOGS/$1-list.log")
  want="lifecycle $domid $config_memory $config_vcpus"
  case $row in
    "$want "[r-][b-]----) lab_step "$1-list-row" OK "$row" ;;
    *) lab_step "$1-list-row" FAIL "row '$row', want '$want' and state [r-][b-]----" ;;
  esac
}

# check_as_configured TOOL: the hypervisor's view (xl list, xenstore memory/target) of the
# domain TOOL created equals /guest/stay.cfg.
check_as_configured() {
  local got want
  got="Mem $(domain_field lifecycle 3) VCPUs $(domain_field lifecycle 4) target $(lab_xs_read "/local/domain/$domid/memory/target")"
  want="Mem $config_memory VCPUs $config_vcpus target $((config_memory * 1024))"
  lab_expect "$1-as-configured" "$want" "$got"
}

# xm_errors: xm's error paths against txend on real Xen, with their exit codes (man/xm.1).
xm_errors() {
  lab_expect_error xm-error-unknown-domain 3 "Error: Domain 'nosuch' does not exist." xm pause nosuch
  lab_expect_error xm-error-destroy-unknown 3 "Error: Domain 'nosuch' does not exist." xm destroy nosuch
  lab_expect_error xm-error-bad-memory 1 "Error: Invalid argument." xm mem-set lifecycle lots
  lab_expect_error xm-error-missing-config 1 "Error: Unable to open config file" xm create /guest/missing.cfg
  sed 's/^name = .*/name = "toobig"/; s/^memory = .*/memory = 65536/' /guest/stay.cfg > /tmp/toobig.cfg
  lab_expect_error xm-error-too-big 1 "Error:" xm create /tmp/toobig.cfg
  if lab_wait_domain_gone toobig 30; then lab_step xm-error-too-big-gone OK "no domain toobig"
  else lab_step xm-error-too-big-gone FAIL "domain toobig exists after the failed create"; fi
}

# lifecycle TOOL: the whole sequence with xl or xm.
lifecycle() {
  local tool=$1
  create_and_boot "$tool" create || return 1
  check_list_row "$tool"
  check_as_configured "$tool"
  [ "$tool" = xl ] || xm_errors
  lab_run "$tool-pause" 30 "$tool" pause lifecycle && check "$tool-paused" "xl list state p" is_paused
  lab_run "$tool-unpause" 30 "$tool" unpause lifecycle && check "$tool-unpaused" "xl list state not p" is_running
  lab_run "$tool-mem-set" 30 "$tool" mem-set lifecycle 96 && check "$tool-mem-target" "xl list Mem <= 96" mem_at_most_96
  if lab_run "$tool-shutdown" 180 "$tool" shutdown -w lifecycle; then
    lab_result "$tool.shutdown_s" "$LAB_SECONDS"
    lab_check_clean_shutdown "$tool-shutdown-clean" lifecycle
    check "$tool-shutdown-gone" "domain gone" is_gone
    lab_check_xenstore_clean "$tool-shutdown-xenstore-clean" "$domid" "$uuid"
  fi
  create_and_boot "$tool" recreate || return 1
  if lab_run "$tool-destroy" 60 "$tool" destroy lifecycle; then
    lab_result "$tool.destroy_s" "$LAB_SECONDS"
    check "$tool-destroy-gone" "domain gone" is_gone
    lab_check_xenstore_clean "$tool-destroy-xenstore-clean" "$domid" "$uuid"
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
