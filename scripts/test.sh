#!/usr/bin/env bash
# Runs every test: the README's test command, and what .ci/run calls.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pnpm install --frozen-lockfile --reporter=append-only
pnpm exec biome check .
status=0
pnpm exec turbo run typecheck test check:package --output-logs=errors-only --continue || status=$?
node scripts/summarize-tests.mjs || status=$?
exit $status
