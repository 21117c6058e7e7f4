#!/usr/bin/env bash
# Opens the viewer page over the demo's store: installs and builds what is
# missing, runs the demo once when the store does not exist yet, then serves the
# store at http://127.0.0.1:8321/ until Ctrl-C. Run scripts/demo.sh in another
# terminal meanwhile and the new traces appear in the open page.
#   bash scripts/viewer.sh [store.db]   (default .telemetry/demo.db, the demo's; PORT=8321)
# TELEMETRY_SERVER_TOKEN=<token> puts the page behind a token: open it once with ?token=<token>.
set -euo pipefail
CALLER_DIR="$PWD"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$ROOT/scripts/lib/setup.sh"
ensure_installed
ensure_built
run_step build-server "Building the server and its page" \
  pnpm exec turbo run build --filter=@telemetry/server --output-logs=errors-only
cd "$CALLER_DIR"
store="${1:-.telemetry/demo.db}"
if [ ! -f "$store" ]; then
  echo "No store at $store yet: running the demo once to fill it ..." >&2
  node "$ROOT/apps/demo/dist/index.js" --sinks sqlite --db "$store" >/dev/null
fi
exec node "$ROOT/packages/server/scripts/serve-store.mjs" "$store" "${PORT:-8321}"
