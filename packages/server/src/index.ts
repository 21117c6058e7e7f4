export { HttpError, TelemetryServerError } from './errors.ts';
export { LLAMA_STACK_ROUTES } from './llama-routes.ts';
export type { TelemetryServerOptions } from './options.ts';
export { SERVER_DEFAULTS, TOKEN_ENV_VAR } from './options.ts';
export { LOGS_SPAN_NAME, METRICS_SPAN_NAME } from './otlp/ingest.ts';
export { OTLP_PATHS } from './otlp/routes.ts';
export { SEARCH_ROUTES } from './search-routes.ts';
export type { TelemetryServer, TelemetryServerAddress } from './server.ts';
export { createTelemetryServer } from './server.ts';
