#!/usr/bin/env bash
# The `telemetry` command (packages/cli) of this checkout: installs what is missing
# and builds what changed, as scripts/demo.sh does, then runs it. Arguments go to
# the command (try --help); paths in them are relative to where you run this script.
set -euo pipefail
CALLER_DIR="$PWD"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$ROOT/scripts/lib/setup.sh"
ensure_installed
ensure_built
cd "$CALLER_DIR"
exec node "$ROOT/packages/cli/dist/bin.js" "$@"
