#!/usr/bin/env bash
# The main job: installs packages, builds, and starts the daemons in the background:
# xsd on /run/xenstored/socket (the default libxenstore path). Stop them with
# scripts/stop.sh. Logs: /var/log/txend/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
BUILD_DIR="$top/build" "$top/scripts/build.sh"
bin="$top/build/bin"
mkdir -p /run/xenstored /var/log/txend /var/lib/txend

if [ -S /run/xenstored/socket ] && XENSTORED_PATH=/run/xenstored/socket xenstore-exists / 2>/dev/null; then
  echo "xsd: already serving /run/xenstored/socket"
else
  "$bin/xsd" --socket /run/xenstored/socket --pid-file /run/xenstored.pid \
    --persist /var/lib/txend/xsd 2>>/var/log/txend/xsd.log
  echo "xsd: serving /run/xenstored/socket (pid $(cat /run/xenstored.pid), store persisted in /var/lib/txend/xsd)"
fi
