# shellcheck shell=dash
# Scenario "devices": a guest with a disk and a network interface served by dom0's kernel
# backends, with xl first (then xm/txend when both are built):
#   vbd: an 8 MB file on /dev/loop0 with a signature in its first bytes,
#        `disk = ['phy:/dev/loop0,xvda,w']`, served by xen-blkback (hotplug script "block");
#   vif: the bridge xenbr0 in dom0, `vif = ['bridge=xenbr0']`, served by xen-netback
#        (hotplug script "vif-bridge").
# Checks: backend states reach 4 (Connected) in xenstore; the guest's marker reports xvda, eth0
# and the signature it read from xvda; vif<domid>.0 is a port of xenbr0; after destroy the
# backend directories are gone. Results: <tool>.devices_create_s, <tool>.devices_boot_s
# (create done to guest marker).
# Sourced by dom0/init after lab.sh.

signature=XENLAB-DISK-OK

# backend_path KIND DEV: dom0's backend directory of the devices guest ($domid).
backend_path() { echo "/local/domain/0/backend/$1/$domid/$2"; }

# wait_state PATH SECONDS: waits until xenstore PATH/state is 4 (Connected).
wait_state() {
  local n=0
  while [ $n -lt $(($2 * 2)) ]; do
    [ "$(xenstore-read "$1/state" 2>/dev/null)" = 4 ] && return 0
    usleep 500000; n=$((n + 1))
  done
  return 1
}

# check_gone NAME PATH: a step that is OK when xenstore PATH no longer exists (within 30 s).
check_gone() {
  local n=0
  while [ $n -lt 60 ] && xenstore-exists "$2" 2>/dev/null; do usleep 500000; n=$((n + 1)); done
  if xenstore-exists "$2" 2>/dev/null; then lab_step "$1" FAIL "$2 still exists"; else lab_step "$1" OK "$2 removed"; fi
}

# devices TOOL: create the devices guest with TOOL, check both devices, destroy it.
devices() {
  local tool=$1 t0 vbd vif
  rm -f /var/log/xen/guest-devices.log
  if ! lab_run "$tool-create-devices" 180 "$tool" create /guest/devices.cfg; then
    tail -40 /var/log/xen/xen-hotplug.log 2>/dev/null
    return 1
  fi
  lab_result "$tool.devices_create_s" "$LAB_SECONDS"
  t0=$(lab_now)
  domid=$(xl domid devices)
  vbd=$(backend_path vbd 51712) vif=$(backend_path vif 0)
  if wait_state "$vbd" 60; then lab_step "$tool-vbd-connected" OK "$vbd/state = 4"
  else lab_step "$tool-vbd-connected" FAIL "$vbd/state = $(xenstore-read "$vbd/state" 2>&1)"; fi
  if wait_state "$vif" 60; then lab_step "$tool-vif-connected" OK "$vif/state = 4"
  else lab_step "$tool-vif-connected" FAIL "$vif/state = $(xenstore-read "$vif/state" 2>&1)"; fi
  if lab_wait_guest_marker devices 120; then
    lab_result "$tool.devices_boot_s" "$(lab_since "$t0")"
    case $LAB_MARKER in
      *"xvda=yes eth0=yes disk=$signature "*) lab_step "$tool-guest-devices" OK "$LAB_MARKER" ;;
      *) lab_step "$tool-guest-devices" FAIL "$LAB_MARKER" ;;
    esac
  else
    lab_step "$tool-guest-devices" FAIL "no XENLAB-GUEST-OK on the guest console in 120s"
  fi
  if [ -e "/sys/class/net/xenbr0/brif/vif$domid.0" ]; then lab_step "$tool-vif-on-bridge" OK "vif$domid.0 on xenbr0"
  else lab_step "$tool-vif-on-bridge" FAIL "no vif$domid.0 on xenbr0"; fi
  lab_run "$tool-destroy-devices" 60 "$tool" destroy devices
  check_gone "$tool-vbd-removed" "$vbd"
  check_gone "$tool-vif-removed" "$vif"
}

modprobe -a xen-blkback xen-netback loop bridge ||
  lab_abort backend-modules "modprobe xen-blkback xen-netback loop bridge"
lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1

dd if=/dev/zero of=/tmp/disk.img bs=1M count=8 2>/dev/null &&
  printf '%s' "$signature" | dd of=/tmp/disk.img conv=notrunc 2>/dev/null &&
  losetup /dev/loop0 /tmp/disk.img || lab_abort disk-setup "disk image on /dev/loop0"
brctl addbr xenbr0 && ip link set xenbr0 up || lab_abort bridge-setup "brctl addbr xenbr0"
lab_step dom0-devices-setup OK "/dev/loop0 on /tmp/disk.img, bridge xenbr0"

devices xl
if lab_start_txend; then
  devices xm
  lab_stop_daemon "$LAB_PID"
fi
