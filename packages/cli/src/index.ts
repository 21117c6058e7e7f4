// `telemetry` as a library: run it with arguments (as the bin does), or reuse its parts.

export { CliError, EXIT_CODES, UsageError } from './errors.ts';
export { traceToResourceSpans } from './otlp-json.ts';
export type { Io, Stream } from './output.ts';
export { DB_ENV_VAR, defaultDbPath, URL_ENV_VAR } from './paths.ts';
export { createProgram, describeFailure, processIo, runCli } from './program.ts';
export type { CliStore, StoreMode, StoreSink } from './store.ts';
export { openStoreSink } from './store.ts';
