#!/usr/bin/env bash
# The Debian package on this machine: builds it (the `deb` target), checks it with
# lintian, installs it with apt, checks its files, conffiles and units (systemd-analyze
# verify; enabling offline), runs the installed programs with the installed config,
# completes xm's words, then purges it and checks that nothing of it is left.
# Usage: deb_package_test.sh BUILD_DIR. Exit 77 (skipped) where it would disturb a host.
set -euo pipefail
build=$1
state_dirs=(/var/lib/txend /var/log/txend /var/lib/xend)
units=(xsd.service txend.service)
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
if dpkg-query -W -f='${Status}' txend 2>/dev/null | grep -q installed; then
  skip "txend is installed on this machine; the test would replace and purge it"
fi
for d in "${state_dirs[@]}" /run/xenstored /etc/xen/xend-config.sxp; do
  [ -e "$d" ] && skip "$d exists (a txend or xenstored of this machine?); the test would disturb it"
done

echo "== build the package"
cmake --build "$build" --target deb >/dev/null
deb=$(ls "$build"/txend_*.deb)
[ "$(echo "$deb" | wc -l)" -eq 1 ] || fail "expected one package in $build: $deb"
dpkg-deb --info "$deb"

echo "== lintian"
lintian --fail-on error,warning --info "$deb" || fail "lintian complains about $deb"

tmp=$(mktemp -d)
# Runs under set -e at exit: no step may fail it (a daemon may be gone while its pid file stays).
purge() {
  local f
  for f in "$tmp/txend.pid" "$tmp/state/xsd.pid"; do
    if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  if dpkg-query -W txend >/dev/null 2>&1; then dpkg --purge txend >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap purge EXIT

echo "== install"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o DPkg::Lock::Timeout=120 "$deb"
dpkg-query -W -f='${Status}\n' txend | grep -q "install ok installed" || fail "not installed"

echo "== files"
for f in /usr/sbin/xsd /usr/sbin/txend /usr/sbin/xm /usr/libexec/txend/txend-sim-qemu; do
  [ -x "$f" ] || fail "$f is not an installed program"
done
for page in xm.1 xmdomain.cfg.5 txend.8 xsd.8; do
  f=/usr/share/man/man${page##*.}/$page.gz
  [ -f "$f" ] || fail "no man page $f"
done
for f in /etc/logrotate.d/txend /usr/share/bash-completion/completions/xm \
         /usr/share/doc/txend/copyright /usr/share/doc/txend/changelog.gz \
         /lib/systemd/system/xsd.service /lib/systemd/system/txend.service; do
  [ -f "$f" ] || fail "$f is missing"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' txend)
for f in /etc/xen/xend-config.sxp /etc/logrotate.d/txend; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
# Whole output first: `logrotate | grep -q` under pipefail fails when grep quits
# at the match while logrotate still writes (SIGPIPE), which it did under load.
rotate=$(logrotate --debug /etc/logrotate.d/txend 2>&1) || fail "logrotate --debug failed: $rotate"
grep -q "/var/log/txend/txend.log" <<<"$rotate" ||
  fail "logrotate does not read /etc/logrotate.d/txend: $rotate"
# A log that outgrows 100 MiB (a read logged per line: libvirt polling 1000 domains a second
# writes ~6 GiB a day) is rotated at logrotate's next daily run, not only weekly.
mkdir -p /var/log/txend
truncate -s 101M /var/log/txend/txend.log
rotate=$(logrotate --debug --state "$tmp/logrotate.state" /etc/logrotate.d/txend 2>&1) ||
  fail "logrotate --debug failed: $rotate"
grep -q "log needs rotating" <<<"$rotate" || fail "a 101 MiB log is not rotated before its week: $rotate"
rm -rf /var/log/txend  # as before: the checks below find it only if txend makes it

echo "== units"
out=$(systemd-analyze verify "${units[@]/#//lib/systemd/system/}" 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
grep -qx "Type=notify" /lib/systemd/system/xsd.service || fail "xsd.service is not Type=notify"
grep -q "^ExecStart=/usr/sbin/txend .*--config /etc/xen/xend-config.sxp" \
  /lib/systemd/system/txend.service || fail "txend.service does not read the config"
grep -q "(xend-unix-path /var/lib/xend/xend-socket)" /etc/xen/xend-config.sxp ||
  fail "the config does not put the socket at /var/lib/xend/xend-socket"
systemctl enable txend.service
for unit in "${units[@]}"; do  # Also=xsd.service: enabling txend enables xsd
  [ -L "/etc/systemd/system/multi-user.target.wants/$unit" ] || fail "$unit not enabled"
done

echo "== the installed programs, with the installed config"
/usr/sbin/txend --config /etc/xen/xend-config.sxp --hypervisor sim \
  --unix-socket "$tmp/xend-socket" --xenstored "$tmp/xs/socket" --state-dir "$tmp/state" \
  --log-file "$tmp/txend.log" --pid-file "$tmp/txend.pid" ||
  fail "txend did not start: $(cat "$tmp/txend.log" 2>/dev/null)"
list=$(TXEND_SOCKET=$tmp/xend-socket timeout 20 xm list) || fail "xm list failed"
grep -q "^Domain-0 " <<<"$list" || fail "xm list shows no Domain-0: $list"

echo "== xm completion"
complete_xm() {
  TXEND_SOCKET=$tmp/xend-socket PATH=/usr/sbin:$PATH bash -c \
    'source /usr/share/bash-completion/completions/xm; COMP_WORDS=($1); COMP_CWORD=$2; _xm;
     echo "${COMPREPLY[*]}"' _ "$1" "$2"
}
[ "$(complete_xm "xm cre" 1)" = create ] || fail "xm cre<TAB>: '$(complete_xm "xm cre" 1)'"
[ "$(complete_xm "xm pause Dom" 2)" = Domain-0 ] || fail "xm pause Dom<TAB>"

for d in "${state_dirs[@]}" /run/xenstored; do  # the flags override the installed config
  [ -e "$d" ] && fail "txend used $d despite its flags"
done

echo "== purge"
kill "$(cat "$tmp/txend.pid")" "$(cat "$tmp/state/xsd.pid")"
mkdir -p /var/lib/txend/xsd /var/log/txend /var/lib/xend  # as the services leave them
echo "log" >/var/log/txend/txend.log
dpkg --purge txend
dpkg-query -W -f='${Status}\n' txend 2>/dev/null | grep -q installed && fail "still installed"
for f in /usr/sbin/xsd /usr/sbin/txend /usr/sbin/xm /usr/libexec/txend /etc/xen/xend-config.sxp \
         /etc/logrotate.d/txend /lib/systemd/system/xsd.service \
         /lib/systemd/system/txend.service /usr/share/doc/txend "${state_dirs[@]}"; do
  [ -e "$f" ] && fail "$f is left after purge"
done
for unit in "${units[@]}"; do
  left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled -name "$unit*" 2>/dev/null)
  [ -z "$left" ] || fail "purge left $left"
done
echo "PASS"
