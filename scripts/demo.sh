#!/usr/bin/env bash
# The README's first command: installs what is missing, builds what changed, and
# runs the demo. The first run says what it installs and builds (the tools' own
# output goes to .tools/logs/); later runs print only the demo. Arguments go to
# the demo (try --help); paths in them are relative to where you run this script.
set -euo pipefail
CALLER_DIR="$PWD"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$ROOT/scripts/lib/setup.sh"
ensure_installed
ensure_built
cd "$CALLER_DIR"
exec node "$ROOT/apps/demo/dist/index.js" "$@"
