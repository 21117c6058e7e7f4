# Sourced by scripts/demo.sh and scripts/telemetry.sh (and, for the install stamp, scripts/test.sh), after
# env.sh. Installs only when a manifest or the lockfile changed, builds only when a
# source changed since the last build, and keeps the tools' own output in log
# files: a person sees one line per step that runs, and nothing when nothing
# changed. When a step fails, its last lines and the log's path are printed.
#
# Needs ROOT (the repository) and pnpm on PATH; PNPM_VERSION when set.

LOG_DIR="$ROOT/.tools/logs"
# In node_modules, so deleting node_modules also forgets that it was installed.
INSTALL_STAMP="$ROOT/node_modules/.install-fingerprint"
# In the demo's dist/, so a clean build output also forgets that it was built.
BUILD_STAMP="$ROOT/apps/demo/dist/.build-stamp"

# Runs "$@" with its output in $LOG_DIR/<name>.log, saying "<message> ... done (Ns)"
# on stderr. On failure: the log's last lines, its path, and the step's exit code.
run_step() {
  local name=$1 message=$2
  shift 2
  local log="$LOG_DIR/$name.log" started=$SECONDS status=0
  mkdir -p "$LOG_DIR"
  printf '%s ... ' "$message" >&2
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    printf 'done (%ss)\n' "$((SECONDS - started))" >&2
    return 0
  fi
  printf 'failed\n' >&2
  {
    echo "---- last lines of $log ----"
    tail -n 20 "$log"
    echo "----"
    echo "error: '$*' exited with code $status. The full log is $log"
  } >&2
  exit "$status"
}

# What decides the content of node_modules: every manifest, the lockfile, the
# workspace file, and the Node and pnpm versions (native modules are built for one Node).
install_fingerprint() {
  {
    echo "node $(node --version) pnpm ${PNPM_VERSION:-$(pnpm --version)} $(uname -sm)"
    (
      cd "$ROOT" &&
        find . -maxdepth 3 \( -name node_modules -o -name .tools -o -name .git -o -name dist \) -prune \
          -o -type f \( -name package.json -o -name pnpm-lock.yaml -o -name pnpm-workspace.yaml \) -print0 |
        LC_ALL=C sort -z | xargs -0 cksum
    )
  } | cksum
}

# Remembers that node_modules matches the current manifests (after a successful install).
record_install() {
  install_fingerprint >"$INSTALL_STAMP"
}

ensure_installed() {
  local current
  current="$(install_fingerprint)"
  if [ -f "$INSTALL_STAMP" ] && [ "$(cat "$INSTALL_STAMP")" = "$current" ]; then
    return 0
  fi
  local message="Dependencies changed: installing"
  if [ ! -d "$ROOT/node_modules" ]; then
    message="Installing dependencies (first run: about a minute, better-sqlite3 compiles from source)"
  fi
  run_step install "$message" pnpm install --frozen-lockfile --reporter=append-only
  echo "$current" >"$INSTALL_STAMP"
}

# Sources, manifests and build configs of the workspace packages and the demo
# (what turbo's build task reads); tests are left out: the demo does not run them.
build_inputs_newer_than() {
  local ref=$1 dir
  for dir in "$ROOT"/packages/* "$ROOT/apps/demo"; do
    find "$dir/src" "$dir/package.json" "$dir/tsconfig.json" "$dir/tsup.config.ts" \
      \( -name test-support -o -name '*.test.ts' \) -prune -o -type f -newer "$ref" -print 2>/dev/null
  done | head -n 1
  find "$ROOT/tsconfig.base.json" "$ROOT/pnpm-lock.yaml" -newer "$ref" -print 2>/dev/null
}

build_is_current() {
  local ref="$BUILD_STAMP"
  # Built by turbo (scripts/test.sh, CI) but not by this script yet: the demo's bundle is the reference.
  [ -f "$ref" ] || ref="$ROOT/apps/demo/dist/index.js"
  [ -f "$ref" ] || return 1
  local dep real_root
  real_root="$(cd "$ROOT" && pwd -P)"
  for dep in "$ROOT"/apps/demo/node_modules/@telemetry/*/; do
    # Only the packages under packages/ are built; test support (tests/*) runs from source.
    case "$(cd "$dep" && pwd -P)" in "$real_root"/packages/*) ;; *) continue ;; esac
    [ -f "$dep/dist/index.js" ] || return 1
  done
  # The telemetry command (scripts/telemetry.sh) is built with the demo.
  if [ -d "$ROOT/packages/cli" ]; then [ -f "$ROOT/packages/cli/dist/bin.js" ] || return 1; fi
  [ -z "$(build_inputs_newer_than "$ref")" ]
}

ensure_built() {
  if build_is_current; then
    return 0
  fi
  local message="Sources changed: rebuilding"
  if [ ! -f "$ROOT/apps/demo/dist/index.js" ]; then
    message="Building the packages (first run: up to a minute)"
  fi
  run_step build "$message" pnpm exec turbo run build --filter=@telemetry/demo... --filter=@telemetry/cli... --output-logs=errors-only
  touch "$BUILD_STAMP"
}

# Debian's Chromium at /usr/bin/chromium, for the viewer's end-to-end test: installed
# quietly with apt-get when missing (as root); otherwise fails with the reason.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: /usr/bin/chromium is missing and only root can install it: run 'apt-get install -y chromium' as root (the viewer's end-to-end test needs it)." >&2
    return 1
  fi
  local log="$LOG_DIR/chromium.log" started=$SECONDS
  mkdir -p "$LOG_DIR"
  printf 'Installing chromium (Debian) for the viewer test ... ' >&2
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1 &&
    [ -x /usr/bin/chromium ]; then
    printf 'done (%ss)\n' "$((SECONDS - started))" >&2
    return 0
  fi
  printf 'failed\n' >&2
  tail -n 20 "$log" >&2
  echo "error: apt-get could not install chromium (the viewer's end-to-end test needs /usr/bin/chromium); the full log is $log" >&2
  return 1
}
