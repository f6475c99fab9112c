#!/usr/bin/env bash
# Stops the daemons started by scripts/run.sh (simulated domains are kept in
# /var/lib/txend and come back with the next start).
set -u
for pidfile in /run/txend.pid /var/lib/txend/xsd.pid; do
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
    echo "stopped $(basename "$pidfile" .pid)"
  fi
done
exit 0
