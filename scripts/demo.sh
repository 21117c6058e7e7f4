#!/usr/bin/env bash
# Installs everything, builds, and runs the demo: the README's first command.
# Arguments go to the demo (try --help).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pnpm install --frozen-lockfile --reporter=append-only
pnpm exec turbo run build --filter=@telemetry/demo... --output-logs=errors-only
cd apps/demo
exec node dist/index.js "$@"
