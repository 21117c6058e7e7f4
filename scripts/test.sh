#!/usr/bin/env bash
# Runs every test: the README's test command, and what .ci/run calls.
# Lint, typecheck, tests and package checks (publint, attw) run through turbo.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pnpm install --frozen-lockfile --reporter=append-only
status=0
pnpm exec turbo run lint typecheck test check:package --output-logs=errors-only --continue || status=$?
node scripts/summarize-tests.mjs || status=$?
exit $status
