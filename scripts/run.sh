#!/usr/bin/env bash
# The main job: installs packages, builds, and starts the daemons in the background —
# txend on the simulated hypervisor, serving xend's HTTP/SXP API on
# /var/lib/xend/xend-socket, with its bundled xsd on /run/xenstored/socket
# (store persisted in /var/lib/txend/xsd). Stop them with scripts/stop.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
BUILD_DIR="$top/build" "$top/scripts/build.sh"
bin="$top/build/bin"
mkdir -p /var/log/txend /var/lib/txend

if [ -S /var/lib/xend/xend-socket ] && [ -f /run/txend.pid ] && kill -0 "$(cat /run/txend.pid)" 2>/dev/null; then
  echo "txend: already running (pid $(cat /run/txend.pid))"
else
  # txend starts xsd itself when no xenstored answers on /run/xenstored/socket.
  "$bin/txend" --hypervisor sim --pid-file /run/txend.pid
  echo "txend: serving /var/lib/xend/xend-socket (pid $(cat /run/txend.pid)); log /var/log/txend/txend.log"
fi
[ -f /var/lib/txend/xsd.pid ] && echo "xsd: serving /run/xenstored/socket (pid $(cat /var/lib/txend/xsd.pid))"
echo "demo guest kernel for the simulator (README's tour): $top/build/share/txend/demo-vmlinuz"
