# shellcheck shell=dash
# Scenario "pygrub": PV guests booted by Xen's pygrub through txend, as xend ran it (issue 15).
# dom0 makes the guest's disk image itself: an ext2 filesystem (mke2fs -d, no mounts) holding
# the lab's guest kernel and initrd under /boot and a GRUB legacy /boot/grub/menu.lst with
# three entries (0 and 1 boot the guest with arguments naming the entry, 2 is no kernel),
# attached as /dev/loop0. Then:
#   pygrub itself lists the menu (-l), so python3 and Xen's fsimage work in this dom0;
#   xm create /guest/pygrub.cfg (bootloader = "/usr/bin/pygrub", no kernel): the guest boots
#     the default entry (its kernel command line, on its console, names entry0);
#   op=create over HTTP with libvirt's SXP ((bootloader '/usr/bin/pygrub')(bootloader_args
#     '-q --entry=1'), no kernel), then wait_for_devices and unpause as libvirt's xend driver
#     does: the guest boots entry 1;
#   after each create and each failure txend's private boot directory is empty (the extracted
#     kernel and ramdisk were removed); destroy leaves nothing of the domain in xenstore;
#   errors name the bootloader: a disk of zeros (pygrub finds no kernel), a bootloader that
#     does not exist, the menu's entry that is no kernel; no domain is left by any of them.
# Results: xm.pygrub_create_s, http.pygrub_create_s, <tool>.pygrub_boot_s (create done to the
# guest's marker). Sourced by dom0/init after lab.sh; lib/assemble.sh (install_pygrub) puts
# python3, pygrub and mke2fs in this scenario's dom0. scenarios/pvh-pygrub.sh runs the same
# with PVH guests (PYGRUB_GUEST=pvh: results pvh_pygrub_*, SKIP without HVM support).
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start txend-help txend-start xm-connect
#@steps disk-image pygrub-list
#@steps {xm,http}-create {xm,http}-create-boot {xm,http}-cmdline {xm,http}-boot-files-gone
#@steps {xm,http}-destroy {xm,http}-destroy-gone {xm,http}-destroy-xenstore-clean
#@steps http-wait-for-devices http-unpause
#@steps error-zero-disk error-zero-disk-gone error-missing-bootloader error-missing-bootloader-gone
#@steps error-not-a-kernel error-not-a-kernel-gone error-boot-files-gone

pygrub=/usr/lib/xen-4.17/bin/pygrub
boot_dir=/var/lib/txend/boot
tree=/tmp/pygrub-tree

# The guests' type: xm's config is /guest/pygrub.cfg plus, for PVH, what /guest/pvh.cfg says
# of the type; libvirt's SXP gets the matching image.
if [ "${PYGRUB_GUEST:-pv}" = pvh ]; then
  if ! xl info 2>/dev/null | grep -q 'virt_caps.*hvm'; then
    lab_step scenario SKIP "this CPU model gives Xen no HVM support (run-lab.sh --cpu fast)"
    exit 0
  fi
  key=pvh_pygrub image="(image (pvh (tsc_mode 2)))"
  { cat /guest/pygrub.cfg; printf 'type = "pvh"\ntsc_mode = "native"\n'; } > /tmp/pygrub.cfg
else
  key=pygrub image="(image (linux (localtime 0)))"
  cp /guest/pygrub.cfg /tmp/pygrub.cfg
fi

# make_disk: the guest's disk image with its grub menu on /dev/loop0, and 8 MB of zeros on
# /dev/loop1.
make_disk() {
  mkdir -p "$tree/boot/grub" &&
    cp /guest/vmlinuz "$tree/boot/vmlinuz-lab" &&
    cp /guest/initrd "$tree/boot/initrd.img-lab" &&
    echo "not a kernel" > "$tree/boot/notakernel" &&
    cat > "$tree/boot/grub/menu.lst" <<'MENU' &&
default 0
timeout 1

title Lab guest
  root (hd0,0)
  kernel /boot/vmlinuz-lab console=hvc0 rdinit=/init xenlab.stay xenlab.pygrub=entry0
  initrd /boot/initrd.img-lab

title Lab guest, second entry
  root (hd0,0)
  kernel /boot/vmlinuz-lab console=hvc0 rdinit=/init xenlab.stay xenlab.pygrub=entry1
  initrd /boot/initrd.img-lab

title Broken
  root (hd0,0)
  kernel /boot/notakernel
MENU
    /usr/sbin/mke2fs -q -F -t ext2 -d "$tree" /tmp/pygrub.img 64M &&
    dd if=/dev/zero of=/tmp/zero.img bs=1M count=8 2>/dev/null &&
    losetup /dev/loop0 /tmp/pygrub.img && losetup /dev/loop1 /tmp/zero.img
}

# check_boot_files_gone NAME: a step that is OK when txend's boot directory holds nothing.
check_boot_files_gone() {
  local left
  left=$(ls -A "$boot_dir" 2>/dev/null | tr '\n' ' ')
  if [ -z "$left" ]; then lab_step "$1" OK "$boot_dir empty"
  else lab_step "$1" FAIL "left in $boot_dir: $left"; fi
}

# check_booted TOOL NAME ENTRY T0 CREATE...: the guest's marker on its console (CREATE...
# makes the guest again after a kernel panic under emulation: lab_boot_guest), and its kernel
# command line naming the menu entry pygrub chose.
check_booted() {
  local tool=$1 name=$2 entry=$3 t0=$4 line; shift 4
  if lab_boot_guest "$tool.$key" xm "$name" 120 "$@"; then
    lab_step "$tool-create-boot" OK "$LAB_MARKER"
    lab_result "$tool.${key}_boot_s" "$(lab_since "$t0")"
  else
    lab_step "$tool-create-boot" FAIL "no XENLAB-GUEST-OK on $name's console in 120s"
    tail -20 "/var/log/xen/guest-$name.log" 2>/dev/null
  fi
  line=$(grep -a -i -m1 "command line:.*xenlab.pygrub=" "/var/log/xen/guest-$name.log" | tr -d '\r')
  case $line in
    *"xenlab.pygrub=$entry"*) lab_step "$tool-cmdline" OK "$line" ;;
    *) lab_step "$tool-cmdline" FAIL "want xenlab.pygrub=$entry on the kernel command line, got '$line'" ;;
  esac
}

# destroy_and_check TOOL NAME: destroys the domain and checks it and its xenstore entries go.
destroy_and_check() {
  local domid uuid
  domid=$(lab_domid "$2") uuid=$(lab_domain_uuid "$domid")
  lab_run "$1-destroy" 60 xm destroy "$2"
  if lab_wait_domain_gone "$2" 30; then lab_step "$1-destroy-gone" OK "domain $2 gone"
  else lab_step "$1-destroy-gone" FAIL "domain $2 still exists"; fi
  lab_check_xenstore_clean "$1-destroy-xenstore-clean" "$domid" "$uuid"
}

# expect_refused STEP TEXT CONFIG: xm create CONFIG exits 1 naming the bootloader, and leaves
# no domain.
expect_refused() {
  lab_expect_error "$1" 1 "$2" xm create "$3"
  if lab_wait_domain_gone pygrub-bad 10; then lab_step "$1-gone" OK "no domain pygrub-bad"
  else lab_step "$1-gone" FAIL "domain pygrub-bad exists after the failed create"
    timeout 60 xm destroy pygrub-bad; fi
}

# http_create SXP: libvirt's three requests for a new domain (each bounded by xend_post.py).
http_create() {
  python3 /tmp/xend_post.py /xend/domain/ op=create "config=$1" &&
    python3 /tmp/xend_post.py /xend/domain/pygrub-http op=wait_for_devices &&
    python3 /tmp/xend_post.py /xend/domain/pygrub-http op=unpause
}

# A client that posts a form to txend's unix socket (what libvirt's xend driver sends).
cat > /tmp/xend_post.py <<'PY'
import http.client, socket, sys, urllib.parse
class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(150)
        self.sock.connect("/var/lib/xend/xend-socket")
form = urllib.parse.urlencode([tuple(a.split("=", 1)) for a in sys.argv[2:]])
c = UnixConnection("localhost")
c.request("POST", sys.argv[1], form, {"Content-Type": "application/x-www-form-urlencoded",
                                      "Accept-Encoding": "identity"})
r = c.getresponse()
body = r.read().decode(errors="replace")
print(r.status, body)
sys.exit(0 if 200 <= r.status <= 202 and "xend.err" not in body else 1)
PY

modprobe -a xen-blkback loop || lab_abort backend-modules "modprobe xen-blkback loop"
if make_disk; then lab_step disk-image OK "$(ls -l /tmp/pygrub.img | awk '{ print $5 }') bytes on /dev/loop0"
else lab_abort disk-image "mke2fs -d of the guest's /boot, or losetup"; fi
lab_run pygrub-list 120 "$pygrub" -l /dev/loop0

lab_start_daemon xenstored "$LAB_XENSTORED_SOCKET" xenstored -N || exit 1
lab_dom0_services || exit 1
lab_start_txend || exit 1

# xm create of the classic config: the menu's default entry.
rm -f /var/log/xen/guest-pygrub-xm.log
t0=$(lab_now)
if lab_run xm-create 240 xm create /tmp/pygrub.cfg; then
  lab_result "xm.${key}_create_s" "$LAB_SECONDS"
  check_boot_files_gone xm-boot-files-gone
  check_booted xm pygrub-xm entry0 "$t0" timeout 240 xm create /tmp/pygrub.cfg
  destroy_and_check xm pygrub-xm
fi

# libvirt's op=create, wait_for_devices, unpause: entry 1 through bootloader_args.
rm -f /var/log/xen/guest-pygrub-http.log
sxp="(vm (name 'pygrub-http')(memory 128)(maxmem 128)(vcpus 1)(uuid '$(cat /proc/sys/kernel/random/uuid)')"
sxp="$sxp(bootloader '/usr/bin/pygrub')(bootloader_args '-q --entry=1')"
sxp="$sxp(on_poweroff 'destroy')(on_reboot 'destroy')(on_crash 'destroy')"
sxp="$sxp$image(localtime 0)"
sxp="$sxp(device (vbd (dev 'xvda')(uname 'phy:/dev/loop0')(mode 'w'))))"
t0=$(lab_now)
if lab_run http-create 240 python3 /tmp/xend_post.py /xend/domain/ op=create "config=$sxp"; then
  lab_result "http.${key}_create_s" "$LAB_SECONDS"
  check_boot_files_gone http-boot-files-gone
  lab_run http-wait-for-devices 120 python3 /tmp/xend_post.py /xend/domain/pygrub-http op=wait_for_devices
  lab_run http-unpause 60 python3 /tmp/xend_post.py /xend/domain/pygrub-http op=unpause
  check_booted http pygrub-http entry1 "$t0" http_create "$sxp"
  destroy_and_check http pygrub-http
fi

# Failures name the bootloader and leave neither a domain nor boot files.
sed 's/^name = .*/name = "pygrub-bad"/; s|/dev/loop0|/dev/loop1|' /tmp/pygrub.cfg > /tmp/zero-disk.cfg
expect_refused error-zero-disk "Error: bootloader $pygrub failed" /tmp/zero-disk.cfg
sed 's/^name = .*/name = "pygrub-bad"/; s|^bootloader = .*|bootloader = "/usr/bin/pypxeboot"|' \
  /tmp/pygrub.cfg > /tmp/missing-bootloader.cfg
expect_refused error-missing-bootloader "bootloader /usr/bin/pypxeboot" /tmp/missing-bootloader.cfg
{ sed 's/^name = .*/name = "pygrub-bad"/' /tmp/pygrub.cfg; echo 'bootloader_args = "-q --entry=2"'; } \
  > /tmp/not-a-kernel.cfg
expect_refused error-not-a-kernel "Error: the kernel bootloader $pygrub extracted" /tmp/not-a-kernel.cfg
check_boot_files_gone error-boot-files-gone
