#!/usr/bin/env bash
# Runs every test: the README's test command, and what .ci/run calls.
# Lint, typecheck, tests and package checks (publint, attw) run through turbo.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$ROOT/scripts/lib/setup.sh"
source "$ROOT/scripts/lib/postgres.sh"
ensure_postgres_server
pnpm install --frozen-lockfile --reporter=append-only
# So that scripts/demo.sh, run later, knows that nothing needs installing.
record_install
status=0
# The viewer's end-to-end test (tests/viewer) drives Debian's Chromium: installed here when missing.
ensure_chromium || status=$?
pnpm exec turbo run lint typecheck test check:package --output-logs=errors-only --continue || status=$?
node scripts/summarize-tests.mjs || status=$?
exit $status
