# shellcheck shell=dash
# Scenario "devices": a guest with a disk and a network interface served by dom0's kernel
# backends, with xl first, then xm/txend (missing from the image: a failure):
#   vbd: an 8 MB file on /dev/loop0 with a signature in its first bytes,
#        `disk = ['phy:/dev/loop0,xvda,w']`, served by xen-blkback (hotplug script "block");
#   vif: the bridge xenbr0 in dom0, `vif = ['bridge=xenbr0']`, served by xen-netback
#        (hotplug script "vif-bridge").
# Checks: backend and frontend states reach 4 (Connected) and both backends' hotplug-status is
# "connected"; the guest's marker reports xvda, eth0, the signature it read from xvda and the
# bytes it wrote to xvda's second sector and read back; dom0 finds those bytes in the disk
# image after the guest is destroyed; vif<domid>.0 is a port of xenbr0 and dom0 pings the
# guest's IPv6 link-local address through it (and the vif counted the packets); after destroy
# the backend directories are gone and xenstore holds nothing of the domain. Results:
# <tool>.devices_create_s, <tool>.devices_boot_s (create done to guest marker).
# Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start dom0-devices-setup
#@steps txend-help txend-start xm-connect
#@steps {xl,xm}-create-devices {xl,xm}-vbd-connected {xl,xm}-vif-connected
#@steps {xl,xm}-vbd-hotplug {xl,xm}-vif-hotplug {xl,xm}-vbd-frontend {xl,xm}-vif-frontend
#@steps {xl,xm}-guest-devices {xl,xm}-vif-on-bridge {xl,xm}-vif-ping
#@steps {xl,xm}-destroy-devices {xl,xm}-disk-written {xl,xm}-vbd-removed {xl,xm}-vif-removed
#@steps {xl,xm}-xenstore-clean

signature=XENLAB-DISK-OK
guest_wrote=XENLAB-GUEST-WROTE

# backend_path KIND DEV: dom0's backend directory of the devices guest ($domid).
backend_path() { echo "/local/domain/0/backend/$1/$domid/$2"; }
# frontend_path KIND DEV: the guest's frontend directory.
frontend_path() { echo "/local/domain/$domid/device/$1/$2"; }

# wait_value PATH VALUE SECONDS: waits until xenstore PATH holds VALUE.
wait_value() {
  local n=0
  while [ $n -lt $(($3 * 2)) ]; do
    [ "$(lab_xs_read "$1")" = "$2" ] && return 0
    usleep 500000; n=$((n + 1))
  done
  return 1
}

# check_value NAME PATH VALUE SECONDS: a step that is OK when PATH reaches VALUE in time.
check_value() {
  if wait_value "$2" "$3" "$4"; then lab_step "$1" OK "$2 = $3"
  else lab_step "$1" FAIL "$2 = '$(lab_xs_read "$2")', want '$3' within $4s"; fi
}

# check_gone NAME PATH: a step that is OK when xenstore PATH no longer exists (within 30 s).
check_gone() {
  local n=0
  while [ $n -lt 60 ] && lab_xs_exists "$2"; do usleep 500000; n=$((n + 1)); done
  if lab_xs_exists "$2"; then lab_step "$1" FAIL "$2 still exists"; else lab_step "$1" OK "$2 removed"; fi
}

# check_ping TOOL ADDRESS: dom0 pings the guest's link-local ADDRESS through xenbr0 and the
# vif; OK when replies came back and the vif counted packets both ways.
check_ping() {
  local vif=/sys/class/net/vif$domid.0/statistics counts
  if [ -z "$2" ] || [ "$2" = none ]; then lab_step "$1-vif-ping" FAIL "the guest reported no link-local address"; return; fi
  timeout 40 ping6 -c 3 -w 30 -I xenbr0 "$2" > "$LAB_LOGS/$1-ping.log" 2>&1
  local rc=$?
  lab_show "$1-ping"
  counts="vif rx $(cat "$vif/rx_packets" 2>/dev/null) tx $(cat "$vif/tx_packets" 2>/dev/null)"
  if [ $rc -eq 0 ] && grep -q "bytes from $2" "$LAB_LOGS/$1-ping.log"; then
    lab_step "$1-vif-ping" OK "$(grep -c "bytes from" "$LAB_LOGS/$1-ping.log") replies from $2; $counts"
  else
    lab_step "$1-vif-ping" FAIL "ping6 -I xenbr0 $2 exit $rc; $counts"
  fi
}

# marker_field NAME: the value of NAME=... in the guest's marker (LAB_MARKER).
marker_field() { echo "$LAB_MARKER" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# devices TOOL: create the devices guest with TOOL, check both devices, destroy it.
devices() {
  local tool=$1 t0 vbd vif uuid on_disk
  rm -f /var/log/xen/guest-devices.log
  # The guest's write goes to the second sector: clear it so this run's write is what we see.
  dd if=/dev/zero of=/tmp/disk.img bs=512 seek=1 count=1 conv=notrunc 2>/dev/null
  if ! lab_run "$tool-create-devices" 180 "$tool" create /guest/devices.cfg; then
    tail -40 /var/log/xen/xen-hotplug.log 2>/dev/null
    return 1
  fi
  lab_result "$tool.devices_create_s" "$LAB_SECONDS"
  t0=$(lab_now)
  domid=$(lab_domid devices)
  [ -n "$domid" ] || { lab_step "$tool-create-devices" FAIL "xl domid devices: no such domain"; return 1; }
  uuid=$(lab_domain_uuid "$domid")
  vbd=$(backend_path vbd 51712) vif=$(backend_path vif 0)
  check_value "$tool-vbd-connected" "$vbd/state" 4 60
  check_value "$tool-vif-connected" "$vif/state" 4 60
  check_value "$tool-vbd-hotplug" "$vbd/hotplug-status" connected 30
  check_value "$tool-vif-hotplug" "$vif/hotplug-status" connected 30
  check_value "$tool-vbd-frontend" "$(frontend_path vbd 51712)/state" 4 60
  check_value "$tool-vif-frontend" "$(frontend_path vif 0)/state" 4 60
  if lab_wait_guest_marker devices 120; then
    lab_result "$tool.devices_boot_s" "$(lab_since "$t0")"
    case $LAB_MARKER in
      *"xvda=yes eth0=yes disk=$signature wrote=$guest_wrote "*) lab_step "$tool-guest-devices" OK "$LAB_MARKER" ;;
      *) lab_step "$tool-guest-devices" FAIL "$LAB_MARKER" ;;
    esac
  else
    lab_step "$tool-guest-devices" FAIL "no XENLAB-GUEST-OK on the guest console in 120s"
  fi
  if [ -e "/sys/class/net/xenbr0/brif/vif$domid.0" ]; then lab_step "$tool-vif-on-bridge" OK "vif$domid.0 on xenbr0"
  else lab_step "$tool-vif-on-bridge" FAIL "no vif$domid.0 on xenbr0"; fi
  check_ping "$tool" "$(marker_field ll)"
  lab_run "$tool-destroy-devices" 60 "$tool" destroy devices
  on_disk=$(dd if=/tmp/disk.img bs=512 skip=1 count=1 2>/dev/null | tr -cd 'A-Za-z0-9-')
  lab_expect "$tool-disk-written" "$guest_wrote" "$on_disk"
  check_gone "$tool-vbd-removed" "$vbd"
  check_gone "$tool-vif-removed" "$vif"
  lab_check_xenstore_clean "$tool-xenstore-clean" "$domid" "$uuid"
}

timeout 60 modprobe -a xen-blkback xen-netback loop bridge ||
  lab_abort backend-modules "modprobe xen-blkback xen-netback loop bridge"
lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1

dd if=/dev/zero of=/tmp/disk.img bs=1M count=8 2>/dev/null &&
  printf '%s' "$signature" | dd of=/tmp/disk.img conv=notrunc 2>/dev/null &&
  timeout "$LAB_T" losetup /dev/loop0 /tmp/disk.img || lab_abort disk-setup "disk image on /dev/loop0"
timeout "$LAB_T" brctl addbr xenbr0 && timeout "$LAB_T" ip link set xenbr0 up ||
  lab_abort bridge-setup "brctl addbr xenbr0"
lab_step dom0-devices-setup OK "/dev/loop0 on /tmp/disk.img, bridge xenbr0"

devices xl
if lab_start_txend; then
  devices xm
  lab_stop_daemon "$LAB_PID"
fi
