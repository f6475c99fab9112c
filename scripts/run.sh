#!/usr/bin/env bash
# The main job: installs packages, builds, and starts the daemons in the background.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
BUILD_DIR="$top/build" "$top/scripts/build.sh"
bin="$top/build/bin"
echo "built: $(ls "$bin" | tr '\n' ' ')"
# Daemons are started here as they are implemented (xsd, then txend).
