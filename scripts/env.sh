# Sourced by the other scripts: puts the pinned pnpm on PATH (installing it into
# .tools/ on first use) and sets what a fresh machine needs, so nobody exports
# anything by hand. See ../shared/TOOLCHAIN.md for why each line is here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PNPM_VERSION="12.4.2"
TOOLS="$ROOT/.tools"
# The version from pnpm's manifest: cheaper than starting pnpm, and this runs before every demo.
installed_pnpm() {
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$TOOLS/node_modules/pnpm/package.json" 2>/dev/null | head -n 1
}
if [ ! -x "$TOOLS/node_modules/.bin/pnpm" ] || [ "$(installed_pnpm)" != "$PNPM_VERSION" ]; then
  echo "Installing pnpm $PNPM_VERSION into .tools/ ..." >&2
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
fi
export PATH="$TOOLS/node_modules/.bin:$PATH"
# better-sqlite3 compiles from source here; pnpm does not pass npm's nodedir to node-gyp.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1
export CI="${CI:-}"
cd "$ROOT"
