import { TelemetryConfigError } from '@telemetry/core';

/** How a metric name is exported as an OTLP metric. */
export type OtelMetricKind = 'counter' | 'updown' | 'histogram' | 'gauge';

/** Options of `createOtelSink`; every default lives in `DEFAULTS` below. */
export interface OtelSinkOptions {
  /**
   * Full OTLP/HTTP traces URL, such as `http://localhost:4318/v1/traces`
   * (Llama Stack's `otel_endpoint`). When it ends in `/v1/traces`, metrics go
   * to the same path with `/v1/metrics`.
   * @default OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`
   */
  readonly endpoint?: string;
  /**
   * Base OTLP/HTTP URL such as `http://localhost:4318`; `/v1/traces` and
   * `/v1/metrics` are appended (Llama Stack's `otel_exporter_otlp_endpoint`).
   * @default OTEL_EXPORTER_OTLP_ENDPOINT
   */
  readonly baseEndpoint?: string;
  /**
   * Traces URL, used as given; wins over `endpoint` and `baseEndpoint`.
   * @default see `endpoint`
   */
  readonly tracesEndpoint?: string;
  /**
   * Metrics URL, used as given.
   * @default `baseEndpoint` + `/v1/metrics`, else OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else the traces URL with `/v1/metrics` for `/v1/traces`, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/metrics`
   */
  readonly metricsEndpoint?: string;
  /**
   * HTTP headers sent with every export (an API key, for instance), over
   * those of the environment.
   * @default OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_METRICS_HEADERS over OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`), else none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * How long one export request (with the exporter's own quick retries) may take.
   * @default OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else 10_000
   */
  readonly timeoutMillis?: number;
  /**
   * The resource's `service.name`.
   * @default `resourceAttributes['service.name']`, else OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES' service.name, else the SDK's `unknown_service:<process>`
   */
  readonly serviceName?: string;
  /**
   * More resource attributes, over those of OTEL_RESOURCE_ATTRIBUTES.
   * @default {}
   */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Export spans.
   * @default true
   */
  readonly traces?: boolean;
  /**
   * Export metric events as OTLP metrics.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * Metric name -> instrument. Names not listed get a monotonic counter when
   * their first value is a whole number >= 0, an up-down counter otherwise.
   * @default {}
   */
  readonly metricKinds?: Readonly<Record<string, OtelMetricKind>>;
  /**
   * Spans held for export at most (waiting or being retried); beyond it new
   * spans are dropped and counted (`otlp_queue_full`).
   * @default 100_000
   */
  readonly maxQueueSize?: number;
  /**
   * Spans per export request.
   * @default 2_000
   */
  readonly maxExportBatchSize?: number;
  /**
   * How long a partial batch waits for more spans before it is sent.
   * @default 200
   */
  readonly scheduledDelayMillis?: number;
  /**
   * Interval between metric exports (cumulative sums, so a failed export is
   * made good by the next one).
   * @default OTEL_METRIC_EXPORT_INTERVAL, else 60_000
   */
  readonly metricExportIntervalMillis?: number;
  /**
   * How long `shutdown()` keeps trying to send what is left; what is still
   * unsent then is counted as dropped (`otlp_shutdown`) and reported.
   * @default 10_000
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * The sink's name in stats and error messages.
   * @default 'otel'
   */
  readonly name?: string;
}

export const DEFAULTS = {
  name: 'otel',
  traces: true,
  metrics: true,
  timeoutMillis: 10_000,
  maxQueueSize: 100_000,
  maxExportBatchSize: 2_000,
  scheduledDelayMillis: 200,
  metricExportIntervalMillis: 60_000,
  shutdownTimeoutMs: 10_000,
  /** Exports in flight at once: encoding the next batches overlaps the network and a slow receiver. */
  maxConcurrentExports: 4,
  /** Backoff between retries of a batch the collector could not take. */
  retryInitialMs: 250,
  retryMaxMs: 5_000,
  /** At most one error report per kind in this interval. */
  reportIntervalMs: 10_000,
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

/** Where the sink sends, and how: every value resolved from options, then environment, then defaults. */
export interface ResolvedOtlpEndpoints {
  /** Traces URL, or undefined when none is configured. */
  readonly tracesUrl: string | undefined;
  /** Metrics URL, or undefined when none is configured or derivable. */
  readonly metricsUrl: string | undefined;
  /** Where `tracesUrl` came from: an option name or an environment variable. */
  readonly tracesSource: string | undefined;
  /** Where `metricsUrl` came from. */
  readonly metricsSource: string | undefined;
  readonly tracesHeaders: Readonly<Record<string, string>>;
  readonly metricsHeaders: Readonly<Record<string, string>>;
  readonly tracesTimeoutMillis: number;
  readonly metricsTimeoutMillis: number;
}

const TRACES_PATH = 'v1/traces';
const METRICS_PATH = 'v1/metrics';

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/** OTLP spec: the signal path is appended to the base URL's own path. */
function appendSignalPath(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`;
}

/** `http://h:4318/v1/traces` -> `http://h:4318/v1/metrics`; undefined when the URL does not end that way. */
function metricsUrlFromTracesUrl(tracesUrl: string): string | undefined {
  const m = /^(.*\/)v1\/traces\/?$/.exec(tracesUrl);
  return m ? `${m[1]}${METRICS_PATH}` : undefined;
}

/** Parses `k=v,k2=v2` (values percent-encoded, as the OTel spec says). Malformed pairs are skipped. */
export function parseKeyValueList(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = safeDecode(part.slice(0, eq).trim());
    const value = safeDecode(part.slice(eq + 1).trim());
    if (key) out[key] = value;
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function positiveNumber(raw: string | undefined): number | undefined {
  const v = nonEmpty(raw);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Resolves where traces and metrics go, with which headers and timeout:
 * an explicit option, else the signal's `OTEL_EXPORTER_OTLP_<SIGNAL>_*`
 * variable, else `OTEL_EXPORTER_OTLP_*`. Never throws; `createOtelSink`
 * checks the result.
 */
export function resolveOtlpEndpoints(
  options: OtelSinkOptions = {},
  env: Env = process.env,
): ResolvedOtlpEndpoints {
  const base = nonEmpty(options.baseEndpoint);
  const envBase = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const envTraces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const envMetrics = nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);

  let tracesUrl: string | undefined;
  let tracesSource: string | undefined;
  const pickTraces = (url: string | undefined, source: string) => {
    if (tracesUrl === undefined && url !== undefined) {
      tracesUrl = url;
      tracesSource = source;
    }
  };
  pickTraces(nonEmpty(options.tracesEndpoint), 'tracesEndpoint');
  pickTraces(nonEmpty(options.endpoint), 'endpoint');
  pickTraces(base && appendSignalPath(base, TRACES_PATH), 'baseEndpoint');
  pickTraces(envTraces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  pickTraces(envBase && appendSignalPath(envBase, TRACES_PATH), 'OTEL_EXPORTER_OTLP_ENDPOINT');

  let metricsUrl: string | undefined;
  let metricsSource: string | undefined;
  const pickMetrics = (url: string | undefined, source: string) => {
    if (metricsUrl === undefined && url !== undefined) {
      metricsUrl = url;
      metricsSource = source;
    }
  };
  const explicitTraces = nonEmpty(options.tracesEndpoint) ?? nonEmpty(options.endpoint);
  pickMetrics(nonEmpty(options.metricsEndpoint), 'metricsEndpoint');
  pickMetrics(base && appendSignalPath(base, METRICS_PATH), 'baseEndpoint');
  pickMetrics(envMetrics, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  // A configured traces URL says which collector the user means; metrics follow it.
  if (explicitTraces !== undefined) {
    pickMetrics(metricsUrlFromTracesUrl(explicitTraces), tracesSource ?? 'endpoint');
  }
  pickMetrics(envBase && appendSignalPath(envBase, METRICS_PATH), 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (envTraces !== undefined) {
    pickMetrics(metricsUrlFromTracesUrl(envTraces), 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  }

  // As the OTel exporters merge them: options over the signal's variable over the generic one.
  const envHeaders = parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS);
  const tracesHeaders = {
    ...envHeaders,
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    ...options.headers,
  };
  const metricsHeaders = {
    ...envHeaders,
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS),
    ...options.headers,
  };

  const envTimeout = positiveNumber(env.OTEL_EXPORTER_OTLP_TIMEOUT);
  const tracesTimeoutMillis =
    options.timeoutMillis ??
    positiveNumber(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) ??
    envTimeout ??
    DEFAULTS.timeoutMillis;
  const metricsTimeoutMillis =
    options.timeoutMillis ??
    positiveNumber(env.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT) ??
    envTimeout ??
    DEFAULTS.timeoutMillis;

  return {
    tracesUrl,
    metricsUrl,
    tracesSource,
    metricsSource,
    tracesHeaders,
    metricsHeaders,
    tracesTimeoutMillis,
    metricsTimeoutMillis,
  };
}

/** Options after defaults and environment, as the sink uses them. */
export interface ResolvedOtelSinkOptions {
  readonly name: string;
  readonly endpoints: ResolvedOtlpEndpoints;
  readonly traces: boolean;
  readonly metrics: boolean;
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string | number | boolean>>;
  readonly metricKinds: Readonly<Record<string, OtelMetricKind>>;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly metricExportIntervalMillis: number;
  readonly shutdownTimeoutMs: number;
}

const METRIC_KINDS: readonly OtelMetricKind[] = ['counter', 'updown', 'histogram', 'gauge'];

function checkUrl(url: string, source: string, problems: string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(
      `${source} is "${url}", which is not a URL; expected one such as http://localhost:4318/v1/traces`,
    );
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`${source} is "${url}"; OTLP/HTTP needs an http:// or https:// URL`);
  }
}

function checkPositive(
  value: number | undefined,
  name: string,
  problems: string[],
  integer = true,
): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value))) {
    problems.push(`${name} is ${value}; expected a positive ${integer ? 'whole ' : ''}number`);
  }
}

/**
 * Applies defaults and the environment, and checks everything at once.
 * Throws a TelemetryConfigError listing every problem with how to fix it.
 */
export function resolveOtelSinkOptions(
  options: OtelSinkOptions = {},
  env: Env = process.env,
): ResolvedOtelSinkOptions {
  const endpoints = resolveOtlpEndpoints(options, env);
  const traces = options.traces ?? DEFAULTS.traces;
  const metrics = options.metrics ?? DEFAULTS.metrics;
  const name = options.name ?? DEFAULTS.name;
  const problems: string[] = [];

  if (!traces && !metrics) {
    problems.push(
      'traces and metrics are both off, so this sink would export nothing; enable one or remove the sink',
    );
  }
  if (traces && endpoints.tracesUrl === undefined) {
    problems.push(
      'no OTLP endpoint is configured: pass `endpoint` (the `otel_endpoint` config key, e.g. http://localhost:4318/v1/traces) or `baseEndpoint` (`otel_exporter_otlp_endpoint`, e.g. http://localhost:4318), or set the environment variable OTEL_EXPORTER_OTLP_ENDPOINT',
    );
  }
  if (metrics && endpoints.metricsUrl === undefined) {
    if (endpoints.tracesUrl === undefined) {
      if (!traces) {
        problems.push(
          'no OTLP metrics endpoint is configured: pass `metricsEndpoint` or `baseEndpoint` (e.g. http://localhost:4318), or set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
        );
      }
    } else {
      problems.push(
        `cannot tell where metrics go: the traces URL ${endpoints.tracesUrl} does not end in /v1/traces; pass \`metricsEndpoint\` (or set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT), or \`metrics: false\``,
      );
    }
  }
  if (traces && endpoints.tracesUrl !== undefined)
    checkUrl(endpoints.tracesUrl, endpoints.tracesSource!, problems);
  if (
    metrics &&
    endpoints.metricsUrl !== undefined &&
    (!traces || endpoints.metricsSource !== endpoints.tracesSource)
  ) {
    checkUrl(endpoints.metricsUrl, endpoints.metricsSource!, problems);
  }
  checkPositive(options.timeoutMillis, 'timeoutMillis', problems, false);
  checkPositive(options.maxQueueSize, 'maxQueueSize', problems);
  checkPositive(options.maxExportBatchSize, 'maxExportBatchSize', problems);
  checkPositive(options.shutdownTimeoutMs, 'shutdownTimeoutMs', problems, false);
  checkPositive(options.metricExportIntervalMillis, 'metricExportIntervalMillis', problems, false);
  if (options.scheduledDelayMillis !== undefined && !(options.scheduledDelayMillis >= 0)) {
    problems.push(
      `scheduledDelayMillis is ${options.scheduledDelayMillis}; expected a number >= 0`,
    );
  }
  for (const [metric, kind] of Object.entries(options.metricKinds ?? {})) {
    if (!METRIC_KINDS.includes(kind)) {
      problems.push(
        `metricKinds["${metric}"] is "${String(kind)}"; expected one of ${METRIC_KINDS.join(', ')}`,
      );
    }
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `  - ${p}`).join('\n');
    throw new TelemetryConfigError(
      `Cannot create the OTLP sink "${name}" (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`,
    );
  }

  const envResource = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES);
  const resourceAttributes: Record<string, string | number | boolean> = {
    ...envResource,
    ...options.resourceAttributes,
  };
  const serviceName =
    nonEmpty(options.serviceName) ??
    (options.resourceAttributes?.['service.name'] !== undefined
      ? String(options.resourceAttributes['service.name'])
      : undefined) ??
    nonEmpty(env.OTEL_SERVICE_NAME) ??
    nonEmpty(envResource['service.name']);

  return {
    name,
    endpoints,
    traces,
    metrics,
    serviceName,
    resourceAttributes,
    metricKinds: { ...options.metricKinds },
    maxQueueSize: options.maxQueueSize ?? DEFAULTS.maxQueueSize,
    maxExportBatchSize: Math.min(
      options.maxExportBatchSize ?? DEFAULTS.maxExportBatchSize,
      options.maxQueueSize ?? DEFAULTS.maxQueueSize,
    ),
    scheduledDelayMillis: options.scheduledDelayMillis ?? DEFAULTS.scheduledDelayMillis,
    metricExportIntervalMillis:
      options.metricExportIntervalMillis ??
      positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ??
      DEFAULTS.metricExportIntervalMillis,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
  };
}
