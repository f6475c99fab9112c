# shellcheck shell=dash
# Scenario "pvh-pygrub": scenarios/pygrub.sh with PVH guests booted by Xen's pygrub through
# txend (issue 16): the same disk, menu, steps and failures; xm's config gains type = "pvh"
# and tsc_mode = "native" (as /guest/pvh.cfg), libvirt's op=create SXP carries
# (image (pvh (tsc_mode 2))). Each guest's marker and kernel command line show that the PVH
# guest booted the kernel pygrub extracted. Needs a CPU with hardware virtualisation
# (run-lab.sh's default CPU model; with --cpu nehalem the scenario reports SKIP).
# Results: xm.pvh_pygrub_create_s, http.pvh_pygrub_create_s, <tool>.pvh_pygrub_boot_s.
# Sourced by dom0/init after lab.sh; lib/assemble.sh installs pygrub as for "pygrub".
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xenstored-start xen-init-dom0 xenconsoled-start txend-help txend-start xm-connect
#@steps disk-image pygrub-list
#@steps {xm,http}-create {xm,http}-create-boot {xm,http}-cmdline {xm,http}-boot-files-gone
#@steps {xm,http}-destroy {xm,http}-destroy-gone {xm,http}-destroy-xenstore-clean
#@steps http-wait-for-devices http-unpause
#@steps error-zero-disk error-zero-disk-gone error-missing-bootloader error-missing-bootloader-gone
#@steps error-not-a-kernel error-not-a-kernel-gone error-boot-files-gone

# shellcheck disable=SC2034 # read by scenarios/pygrub.sh
PYGRUB_GUEST=pvh
# shellcheck source=/dev/null
. /xenlab/scenarios/pygrub.sh
