#!/usr/bin/env bash
# Installs everything, builds, and runs the demo: the README's first command.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pnpm install --frozen-lockfile --reporter=append-only
pnpm exec turbo run build --output-logs=errors-only
pnpm --filter @telemetry/demo start -- "$@"
