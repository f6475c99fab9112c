# shellcheck shell=bash
# Builds the two boot images from the unpacked packages and the host's Xen tools:
#   dom0 initramfs: busybox, dom0 kernel modules, Xen tools with their shared libraries, our
#                   programs from build/bin when present, the lab's init, helpers and scenarios,
#                   and the guest's kernel, initrd and config;
#   guest initrd:   busybox and an init that prints a marker on its console and powers off.
# Sourced by run-lab.sh after lib/fetch.sh.

# Modules copied into dom0 (with their dependencies); dom0/init loads the first five.
readonly XENLAB_MODULES="xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc
  xen-blkback xen-netback loop bridge"
# Modules copied into the guests: the block and network frontends (modules in Debian's kernels).
readonly XENLAB_GUEST_MODULES="xen-blkfront xen-netfront"
# Xen's programs dom0 runs (from xen-utils-4.17); xenstore-utils' clients are added too.
readonly XENLAB_XEN_PROGRAMS="xl libxl-save-helper xenstored oxenstored xen-init-dom0
  xenconsoled xenconsole test-xenstore xenstore-control"
readonly XENLAB_XENSTORE_CLIENTS="xenstore-read xenstore-write xenstore-ls xenstore-list
  xenstore-rm xenstore-exists xenstore-chmod xenstore-watch"
# The Python that runs Xen's pygrub in the "pygrub" scenario, and what of its standard library
# is left out of dom0 (neither pygrub nor the scenario's HTTP client needs it).
readonly XENLAB_PYTHON=python3.11
readonly XENLAB_PYTHON_SKIP="test idlelib tkinter turtledemo ensurepip lib2to3 pydoc_data
  site-packages dist-packages unittest distutils asyncio xml multiprocessing sqlite3
  config-3.11-x86_64-linux-gnu"
# Our programs, copied from the build's bin directory when they exist.
readonly XENLAB_OUR_PROGRAMS="xsd txend xm"

# copy_file ROOT PATH: PATH (symlinks resolved) into ROOT at the same place.
copy_file() {
  mkdir -p "$1$(dirname "$2")"
  cp -L "$2" "$1$2"
}

# copy_libs ROOT BINARY: BINARY's shared-library closure (ldd) into ROOT.
copy_libs() {
  local lib
  for lib in $(ldd "$2" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$1$lib" ] || copy_file "$1" "$lib"
  done
}

# copy_program ROOT PATH [DEST]: a program and its libraries into ROOT (at DEST, default PATH).
copy_program() {
  local dest=${3:-$2}
  mkdir -p "$1$(dirname "$dest")"
  cp -L "$2" "$1$dest"
  copy_libs "$1" "$2"
}

# install_busybox ROOT: the static busybox as /bin/busybox with a link per applet.
install_busybox() {
  local applet
  mkdir -p "$1/bin"
  cp "$BUSYBOX" "$1/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"
  done
}

# ensure_modules_dep KROOT KVER: modules.dep in an unpacked kernel (dpkg -x runs no depmod).
ensure_modules_dep() {
  local dir="$1/lib/modules/$2"
  [ -s "$dir/modules.dep" ] && return 0
  ( flock 9; [ -s "$dir/modules.dep" ] || "$BUSYBOX" depmod -b "$1" "$2" ) 9>"$CACHE/.lock"
}

# module_closure DEPFILE NAME...: DEPFILE's lines for NAME and everything they depend on.
module_closure() {
  local depfile=$1; shift
  awk -v want="$*" '
    BEGIN { n = split(want, w, /[ \n]+/); for (i = 1; i <= n; i++) if (w[i] != "") todo[w[i] ".ko"] = 1 }
    { line[$1] = $0; sub(/:$/, "", $1); file = $1; base = file; sub(/.*\//, "", base); path[base] = file
      deps[file] = ""; for (i = 2; i <= NF; i++) deps[file] = deps[file] " " $i }
    END {
      for (b in todo) { if (!(b in path)) { print "missing module " b > "/dev/stderr"; exit 1 } queue[path[b]] = 1 }
      do { grew = 0
        for (f in queue) { m = split(deps[f], d, " "); for (i = 1; i <= m; i++) if (!(d[i] in queue)) { queue[d[i]] = 1; grew = 1 } }
      } while (grew)
      for (f in queue) print line[f ":"]
    }' "$depfile"
}

# install_modules ROOT KROOT KVER NAME...: modules of the kernel unpacked in KROOT, with their
# dependencies and a modules.dep for busybox modprobe.
install_modules() {
  local root=$1 kroot=$2 kver=$3 dir="/lib/modules/$3" closure file; shift 3
  ensure_modules_dep "$kroot" "$kver"
  closure=$(module_closure "$kroot$dir/modules.dep" "$@") || die "kernel $kver lacks a lab module"
  mkdir -p "$root$dir"
  printf '%s\n' "$closure" > "$root$dir/modules.dep"
  for file in $(printf '%s\n' "$closure" | awk '{ sub(/:$/, "", $1); print $1 }'); do
    mkdir -p "$root$dir/$(dirname "$file")"
    cp "$kroot$dir/$file" "$root$dir/$file"
  done
}

# install_xen_tools ROOT: Xen's dom0 programs, xenstore clients, configs, libgcc_s (xl needs
# it), and the hotplug scripts with what they run.
install_xen_tools() {
  local p libgcc
  for p in $XENLAB_XEN_PROGRAMS; do copy_program "$1" "$XENLAB_XEN_TOOLS/$p"; done
  copy_program "$1" /usr/bin/xenstore
  for p in $XENLAB_XENSTORE_CLIENTS; do ln -sf xenstore "$1/usr/bin/$p"; done
  libgcc=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ && !found { print $NF; found = 1 }')
  [ -n "$libgcc" ] || die "libgcc_s.so.1 not found on the host"
  copy_file "$1" "$libgcc"
  mkdir -p "$1/etc/xen"
  cp /etc/xen/xl.conf /etc/xen/oxenstored.conf "$1/etc/xen/"
  # Device hotplug: libxl runs /etc/xen/scripts/{block,vif-bridge} (bash, flock) itself.
  cp -a /etc/xen/scripts "$1/etc/xen/"
  copy_program "$1" /bin/bash
  copy_program "$1" /usr/bin/flock
}

# install_pygrub ROOT: for the "pygrub" and "pvh-pygrub" scenarios, Xen's pygrub as
# xen-utils-4.17 installs it (the script, its grub and xenfsimage modules, libxenfsimage with
# its ext2 plugin), the
# python3 that runs it with its standard library and extension modules, the vt100 terminfo of
# its menu, and mke2fs, with which the scenario makes the guest's disk image (mke2fs -d).
install_pygrub() {
  local root=$1 py=/usr/lib/$XENLAB_PYTHON xen=/usr/lib/xen-4.17 so skip excludes=""
  copy_program "$root" "/usr/bin/$XENLAB_PYTHON"
  ln -sf "$XENLAB_PYTHON" "$root/usr/bin/python3"
  for skip in $XENLAB_PYTHON_SKIP; do excludes="$excludes --exclude=./$skip"; done
  mkdir -p "$root$py"
  # shellcheck disable=SC2086
  tar -C "$py" -ch $excludes . | tar -C "$root$py" -x
  for so in "$root$py"/lib-dynload/*.so; do copy_libs "$root" "$so"; done
  copy_file "$root" "$XENLAB_XEN_TOOLS/pygrub"
  mkdir -p "$root$xen/lib"
  cp -a "$xen/lib/python" "$root$xen/lib/"
  for so in "$xen"/lib/python/*.so "$xen"/lib/x86_64-linux-gnu/xenfsimage/ext2fs-lib/fsimage.so; do
    copy_file "$root" "$so"
    copy_libs "$root" "$so"
  done
  copy_file "$root" /lib/terminfo/v/vt100
  copy_program "$root" /usr/sbin/mke2fs
  copy_file "$root" /etc/mke2fs.conf
}

# install_our_programs ROOT: xsd, txend, xm from XENLAB_BIN_DIR when built; prints their names.
# Debug information is stripped from the copies (a debug build's is ~100 MB of initramfs that
# dom0 would unpack on every boot); symbols stay for backtraces.
install_our_programs() {
  local p found=""
  for p in $XENLAB_OUR_PROGRAMS; do
    [ -x "$BIN_DIR/$p" ] || continue
    copy_program "$1" "$BIN_DIR/$p" "/xenlab/bin/$p"
    strip --strip-debug "$1/xenlab/bin/$p" 2>/dev/null || true
    found="$found $p"
  done
  echo "${found# }"
}

# install_lab ROOT SCENARIO: init, helpers, scenarios and the run's settings (/xenlab/env).
install_lab() {
  mkdir -p "$1/xenlab/scenarios"
  cp "$LAB_DIR/dom0/init" "$1/init"
  cp "$LAB_DIR/dom0/lab.sh" "$1/xenlab/lab.sh"
  cp "$LAB_DIR"/scenarios/*.sh "$1/xenlab/scenarios/"
  chmod 755 "$1/init"
  {
    echo "XENLAB_SCENARIO=$2"
    echo "XENLAB_ITERATIONS=${XENLAB_ITERATIONS:-100}"
    echo "XENLAB_SAMPLES=${XENLAB_SAMPLES:-3}"
    echo "XENLAB_SCENARIO_TIMEOUT=$SCENARIO_TIMEOUT"
    echo "XENLAB_OUR_PROGRAMS=\"$OUR_PROGRAMS\""
    # Settings for scenarios, passed from the host: every XENLAB_DOM0_* variable.
    local var
    for var in $(compgen -v XENLAB_DOM0_ || true); do
      printf "%s='%s'\n" "$var" "$(printf '%s' "${!var}" | sed "s/'/'\\\\''/g")"
    done
  } > "$1/xenlab/env"
}

# make_cpio DIR OUT: DIR as a newc archive (root-owned), uncompressed: faster to boot under TCG.
make_cpio() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2"
}

# make_guest_initrd WORK: the guests' busybox initrd as WORK/guest.cpio.
make_guest_initrd() {
  local root="$1/guest-root"
  rm -rf "$root"
  mkdir -p "$root/proc" "$root/sys" "$root/dev"
  install_busybox "$root"
  ln -s bin "$root/sbin"
  install_modules "$root" "$GUEST_ROOT" "$GUEST_KVER" $XENLAB_GUEST_MODULES
  cp "$LAB_DIR/guest/init" "$root/init"
  chmod 755 "$root/init"
  make_cpio "$root" "$1/guest.cpio"
}

# install_hvm_tools ROOT: for the hvm scenario, Debian's device model (qemu-system-xen,
# installed on the host if missing) with its libraries and data, SeaBIOS and hvmloader.
# Without it the scenario reports SKIP.
install_hvm_tools() {
  local qemu=/usr/libexec/xen-qemu-system-i386 policy=/usr/sbin/policy-rc.d
  if [ ! -x $qemu ] && [ "$(id -u)" -eq 0 ]; then
    log "installing qemu-system-xen for the hvm scenario"
    [ -e $policy ] || { printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; local made=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      qemu-system-xen >&2 || true
    [ -z "${made:-}" ] || rm -f $policy
  fi
  [ -x $qemu ] || { log "no $qemu: the hvm scenario will skip"; return 0; }
  copy_program "$1" $qemu
  mkdir -p "$1/usr/share" "$1/usr/lib/xen-4.17"
  cp -a /usr/share/qemu /usr/share/seabios "$1/usr/share/"
  cp -a /usr/lib/xen-4.17/boot "$1/usr/lib/xen-4.17/"
}

# make_dom0_initramfs WORK SCENARIO: the dom0 image as WORK/dom0.cpio. Sets OUR_PROGRAMS.
make_dom0_initramfs() {
  local root="$1/dom0-root" d
  rm -rf "$root"
  for d in proc sys dev tmp run var/lib/xen var/log/xen etc guest; do mkdir -p "$root/$d"; done
  ln -s ../run "$root/var/run"
  ln -s ../run/lock "$root/var/lock"
  install_busybox "$root"
  install_modules "$root" "$DOM0_ROOT" "$DOM0_KVER" $XENLAB_MODULES
  install_xen_tools "$root"
  OUR_PROGRAMS=$(install_our_programs "$root")
  [ "$2" != hvm ] || install_hvm_tools "$root"
  case $2 in pygrub | pvh-pygrub) install_pygrub "$root" ;; esac
  install_lab "$root" "$2"
  make_guest_initrd "$1"
  cp "$GUEST_ROOT/boot/vmlinuz-$GUEST_KVER" "$root/guest/vmlinuz"
  cp "$1/guest.cpio" "$root/guest/initrd"
  cp "$LAB_DIR"/guest/*.cfg "$root/guest/"
  make_cpio "$root" "$1/dom0.cpio"
}
