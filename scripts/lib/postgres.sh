# Sourced by scripts/test.sh after setup.sh. The PostgreSQL store's tests start
# a throwaway server from Debian's binaries (/usr/lib/postgresql/*/bin): this
# installs the postgresql package when they are missing, quietly, as root. A
# machine where that cannot be done gets one line saying so, and those tests
# then fail with the same reason (they never skip).
ensure_postgres_server() {
  if [ -n "${TELEMETRY_TEST_POSTGRES_URL:-}" ] || compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "PostgreSQL server binaries are missing: install Debian's postgresql package (apt-get install -y postgresql) or set TELEMETRY_TEST_POSTGRES_URL; the sink-postgres tests need one of them." >&2
    return 0
  fi
  run_step postgres-install "Installing PostgreSQL (Debian's postgresql package) for the sink-postgres tests" \
    env DEBIAN_FRONTEND=noninteractive bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql'
}
