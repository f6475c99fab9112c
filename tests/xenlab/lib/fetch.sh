# shellcheck shell=bash
# Host tools and Debian packages for the lab: installs what the host lacks (qemu, cpio, Xen's
# tools), downloads the hypervisor, both kernels and busybox into the cache with apt-get download,
# and unpacks each .deb once with dpkg -x. Sourced by run-lab.sh; needs lib/common.sh.
#
# After fetch_all: XEN_GZ, DOM0_ROOT, DOM0_KVER, GUEST_ROOT, GUEST_KVER, BUSYBOX.

readonly XENLAB_HOST_PACKAGES="qemu-system-x86 cpio xen-utils-4.17 xenstore-utils"
readonly XENLAB_XEN_TOOLS=/usr/lib/xen-4.17/bin

# host_tools_present: every host program the lab runs is installed.
host_tools_present() {
  command -v qemu-system-x86_64 >/dev/null && command -v cpio >/dev/null &&
    [ -x "$XENLAB_XEN_TOOLS/xl" ] && command -v xenstore-read >/dev/null
}

# ensure_host_tools: installs the missing host packages (root only), else skips the run.
# The lab is optional, so its packages are not in scripts/apt-packages.txt.
ensure_host_tools() {
  host_tools_present && return 0
  [ "$(id -u)" -eq 0 ] || skip "need $XENLAB_HOST_PACKAGES installed (or run as root to install them)"
  log "installing host packages: $XENLAB_HOST_PACKAGES"
  # xen-utils ships init scripts: never let the installation start daemons on the host.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [ -e "$policy" ] && had_policy=1
  if [ $had_policy -eq 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; fi
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $XENLAB_HOST_PACKAGES >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $XENLAB_HOST_PACKAGES >&2; } || true
  [ $had_policy -eq 1 ] || rm -f "$policy"
  host_tools_present || skip "could not install $XENLAB_HOST_PACKAGES"
}

# apt_lists_ready: apt knows packages (an image may ship without lists); updates them once.
apt_lists_ready() {
  apt-cache show busybox-static >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] && apt-get update -qq >&2 && apt-cache show busybox-static >/dev/null 2>&1
}

# deb_file_name SPEC: the file name apt-get download would write for NAME or NAME=VERSION.
deb_file_name() {
  apt-get download --print-uris "$1" 2>/dev/null | awk 'NR == 1 { print $2 }'
}

# cached_deb NAME: the newest cached .deb of package NAME (offline fallback).
cached_deb() {
  find "$CACHE/debs" -maxdepth 1 -name "${1}_*.deb" -printf '%f\n' 2>/dev/null | sort -V | tail -1
}

# fetch_deb SPEC: downloads NAME[=VERSION] into $CACHE/debs unless there; prints the file path.
fetch_deb() {
  local spec=$1 name=${1%%=*} file tmp out
  file=$(deb_file_name "$spec")
  if [ -z "$file" ]; then
    file=$(cached_deb "$name")
    [ -n "$file" ] || skip "apt cannot resolve $spec and nothing is cached"
    log "apt cannot resolve $spec; using cached $file"
  fi
  if [ ! -s "$CACHE/debs/$file" ]; then
    log "downloading $spec"
    tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
    out=$(cd "$tmp" && apt-get download -qq "$spec" 2>&1) ||
      { rm -rf "$tmp"; log "$out"; skip "apt-get download $spec failed (no network?)"; }
    mv "$tmp"/*.deb "$CACHE/debs/$file"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$CACHE/debs/$file"
}

# unpacked DEB: dpkg -x DEB once into $CACHE/root/<name>; prints that directory.
unpacked() {
  local deb=$1 dir tmp
  dir="$CACHE/root/$(basename "$deb" .deb)"
  if [ ! -d "$dir" ]; then
    tmp=$(mktemp -d "$CACHE/root/.x.XXXXXX")
    dpkg -x "$deb" "$tmp" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
    mv "$tmp" "$dir"
  fi
  printf '%s\n' "$dir"
}

# kernel_abi: the 6.1.0-NN of Debian's current amd64 kernel, or XENLAB_KERNEL_ABI.
kernel_abi() {
  local pkg
  if [ -n "${XENLAB_KERNEL_ABI:-}" ]; then echo "$XENLAB_KERNEL_ABI"; return; fi
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && !found { print $2; found = 1 }')
  [ -n "$pkg" ] || pkg=$(cached_deb 'linux-image-*-cloud-amd64' | sed 's/_.*//; s/-cloud-amd64$/-amd64/')
  [ -n "$pkg" ] || skip "cannot find Debian's amd64 kernel package"
  pkg=${pkg#linux-image-}
  echo "${pkg%-amd64}"
}

# kernel_release ROOT: the one release under ROOT/lib/modules (e.g. 6.1.0-56-amd64).
kernel_release() { local d; for d in "$1"/lib/modules/*; do basename "$d"; return; done; }

fetch_all() {
  mkdir -p "$CACHE/debs" "$CACHE/root"
  exec 9>"$CACHE/.lock"
  flock 9
  apt_lists_ready || log "apt package lists unavailable; relying on the cache"
  local xen_version abi root
  # The hypervisor must match the host's libxenctrl (domctl interface version), so pin it.
  xen_version=$(dpkg-query -W -f='${Version}' xen-utils-4.17)
  root=$(unpacked "$(fetch_deb "xen-hypervisor-4.17-amd64=$xen_version")")
  XEN_GZ=$(ls "$root"/boot/xen-4.17-amd64.gz)
  abi=$(kernel_abi)
  DOM0_ROOT=$(unpacked "$(fetch_deb "linux-image-$abi-amd64")")
  DOM0_KVER=$(kernel_release "$DOM0_ROOT")
  GUEST_ROOT=$(unpacked "$(fetch_deb "linux-image-$abi-cloud-amd64")")
  GUEST_KVER=$(kernel_release "$GUEST_ROOT")
  root=$(unpacked "$(fetch_deb busybox-static)")
  BUSYBOX=$root/bin/busybox
  flock -u 9
  log "xen $xen_version, dom0 kernel $DOM0_KVER, guest kernel $GUEST_KVER"
}
