#!/usr/bin/env bash
# Runs every test: the README's test command, and what .ci/run calls.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pnpm install --frozen-lockfile --reporter=append-only
status=0
echo "== lint (biome)"
pnpm exec biome check . || status=$?
echo "== typecheck, test, package checks (turbo)"
pnpm exec turbo run typecheck test check:package --output-logs=errors-only --continue || status=$?
node scripts/summarize-tests.mjs || status=$?
exit $status
