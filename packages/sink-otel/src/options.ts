import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Env,
  type LlamaStackConfig,
  SinkNameSchema,
  TelemetryConfigError,
  z,
} from '@telemetry/core/sink';

/** How a metric name is exported as an OTLP metric. */
export type OtelMetricKind = 'counter' | 'updown' | 'histogram' | 'gauge';

const METRIC_KINDS = ['counter', 'updown', 'histogram', 'gauge'] as const;
const COMPRESSIONS = ['none', 'gzip'] as const;

function oneOf(values: readonly string[]): string {
  return `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

const url = (example: string) =>
  z
    .string({ error: `expected a URL such as ${example}` })
    .trim()
    .min(1, {
      error: `expected a URL such as ${example}`,
    });
const positiveMillis = z
  .number({ error: 'expected a number of milliseconds > 0' })
  .positive({ error: 'expected a number of milliseconds > 0' })
  .finite({ error: 'expected a number of milliseconds > 0' });
const wholeAtLeast = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `expected a whole number from ${min} to ${max.toLocaleString('en-US')}`;
  // A refinement rather than `.int()`, whose failure would stop the checks of the other options.
  return z
    .number({ error })
    .min(min, { error })
    .max(max, { error })
    .refine(Number.isInteger, { error });
};

/**
 * Where neither an option nor the environment says. Used after the `OTEL_*`
 * variables, which the schema cannot see (they come from `env`).
 */
export const ENVIRONMENT_FALLBACKS = Object.freeze({
  timeoutMillis: 10_000,
  metricExportIntervalMillis: 60_000,
  compression: 'none' as 'none' | 'gzip',
});

const OptionsObject = z.strictObject({
  /**
   * The sink's name in stats and error messages.
   * @default 'otel'
   */
  name: SinkNameSchema.default('otel'),
  /**
   * Full OTLP/HTTP traces URL, such as `http://localhost:4318/v1/traces`
   * (Llama Stack's `otel_endpoint`). When it ends in `/v1/traces`, metrics go
   * to the same path with `/v1/metrics`.
   * @default OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`
   */
  endpoint: url('http://localhost:4318/v1/traces').optional(),
  /**
   * Base OTLP/HTTP URL such as `http://localhost:4318`; `/v1/traces` and
   * `/v1/metrics` are appended to its path (Llama Stack's `otel_exporter_otlp_endpoint`).
   * @default OTEL_EXPORTER_OTLP_ENDPOINT
   */
  baseEndpoint: url('http://localhost:4318').optional(),
  /**
   * Traces URL, used as given; wins over `endpoint` and `baseEndpoint`
   * (Llama Stack 0.1's `otel_trace_endpoint`).
   * @default see `endpoint`
   */
  tracesEndpoint: url('http://localhost:4318/v1/traces').optional(),
  /**
   * Metrics URL, used as given (Llama Stack 0.1's `otel_metric_endpoint`).
   * @default `baseEndpoint` + `/v1/metrics`, else OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else the configured traces URL with `/v1/metrics` for `/v1/traces`, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/metrics`
   */
  metricsEndpoint: url('http://localhost:4318/v1/metrics').optional(),
  /**
   * HTTP headers sent with every export (an API key, for instance); they win
   * key by key over those of the environment.
   * @default {} (over OTEL_EXPORTER_OTLP_{TRACES,METRICS}_HEADERS over OTEL_EXPORTER_OTLP_HEADERS)
   */
  headers: z
    .record(z.string(), z.string({ error: 'expected a string header value' }), {
      error: 'expected an object of header names to string values',
    })
    .default({}),
  /**
   * How long one export request may take, from connecting to the last byte
   * of the answer; then it counts as failed and is retried.
   * @default OTEL_EXPORTER_OTLP_{TRACES,METRICS}_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else 10_000
   */
  timeoutMillis: positiveMillis.optional(),
  /**
   * Request body compression.
   * @default OTEL_EXPORTER_OTLP_{TRACES,METRICS}_COMPRESSION, else OTEL_EXPORTER_OTLP_COMPRESSION, else 'none'
   */
  compression: z.enum(COMPRESSIONS, { error: oneOf(COMPRESSIONS) }).optional(),
  /**
   * The resource's `service.name` (Llama Stack's `service_name`).
   * @default `resourceAttributes['service.name']`, else OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES' service.name, else the SDK's `unknown_service:<process>`
   */
  serviceName: z.string({ error: 'expected a string' }).trim().min(1).optional(),
  /**
   * More resource attributes; they win key by key over OTEL_RESOURCE_ATTRIBUTES.
   * @default {}
   */
  resourceAttributes: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
      error: 'expected an object of strings, numbers or booleans',
    })
    .default({}),
  /**
   * Export spans (Llama Stack's `otel_trace` sink).
   * @default true
   */
  traces: z.boolean({ error: 'expected true or false' }).default(true),
  /**
   * Export metric events as OTLP metrics (Llama Stack's `otel_metric` sink).
   * @default true
   */
  metrics: z.boolean({ error: 'expected true or false' }).default(true),
  /**
   * Metric name -> instrument. Names not listed get a monotonic counter when
   * their first value is a whole number >= 0, an up-down counter otherwise.
   * @default {}
   */
  metricKinds: z
    .record(z.string(), z.enum(METRIC_KINDS, { error: oneOf(METRIC_KINDS) }))
    .default({}),
  /**
   * Spans per export request at most (core joins what waits into batches of
   * up to this many).
   * @default 2_000
   */
  maxExportBatchSize: wholeAtLeast(1, 1_000_000).default(2_000),
  /**
   * Export requests in flight at once: encoding the next batch overlaps the
   * network and a slow collector.
   * @default 4
   */
  maxConcurrentExports: wholeAtLeast(1, 64).default(4),
  /**
   * Interval between metric exports (sums are cumulative, so a failed export
   * is made good by the next one).
   * @default OTEL_METRIC_EXPORT_INTERVAL, else 60_000
   */
  metricExportIntervalMillis: positiveMillis.optional(),
  /**
   * Where the `OTEL_*` variables are read from.
   * @default process.env (read when the sink is created)
   */
  env: z
    .custom<Env>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
      error: 'expected an object of environment variables, such as process.env',
    })
    .optional(),
});

type ParsedOptions = z.output<typeof OptionsObject>;

/**
 * The OTLP sink's options: their validation and every default, in one place
 * (the types below are inferred from it). Beyond each option's own checks it
 * checks that, with the environment, there is somewhere to send each signal
 * that is on, and that it is an http(s) URL.
 */
export const OtelSinkOptionsSchema = OptionsObject.superRefine(
  (options, ctx) => {
    // Runs even when single options are invalid, so that every problem is listed at once.
    if (typeof options !== 'object' || options === null) return;
    const traces = options.traces !== false;
    const metrics = options.metrics !== false;
    if (!traces && !metrics) {
      ctx.addIssue({
        code: 'custom',
        path: ['traces'],
        message:
          'traces and metrics are both off, so this sink would export nothing; enable one or remove the sink',
      });
      return;
    }
    const env = isEnv(options.env) ? options.env : process.env;
    const endpoints = resolveOtlpEndpoints(options, env);
    if (traces && endpoints.tracesUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message:
          'no OTLP endpoint is configured: pass `endpoint` (the `otel_endpoint` config key, e.g. http://localhost:4318/v1/traces) or `baseEndpoint` (`otel_exporter_otlp_endpoint`, e.g. http://localhost:4318), or set the environment variable OTEL_EXPORTER_OTLP_ENDPOINT',
      });
    }
    if (metrics && endpoints.metricsUrl === undefined) {
      if (endpoints.tracesUrl !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['metricsEndpoint'],
          message: `cannot tell where metrics go: the traces URL ${endpoints.tracesUrl} does not end in /v1/traces; pass \`metricsEndpoint\` (or set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT), or \`metrics: false\``,
        });
      } else if (!traces) {
        ctx.addIssue({
          code: 'custom',
          path: ['metricsEndpoint'],
          message:
            'no OTLP metrics endpoint is configured: pass `metricsEndpoint` or `baseEndpoint` (e.g. http://localhost:4318), or set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
        });
      }
    }
    const checked = new Set<string>();
    const check = (value: string | undefined, source: string | undefined) => {
      if (value === undefined || source === undefined || checked.has(source)) return;
      checked.add(source);
      const problem = urlProblem(value);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          path: source.startsWith('OTEL_') ? ['env', source] : [source],
          message: problem,
        });
      }
    };
    if (traces) check(endpoints.tracesUrl, endpoints.tracesSource);
    if (metrics) check(endpoints.metricsUrl, endpoints.metricsSource);
  },
  { when: () => true },
);

/** Options of `createOtelSink`; each is documented, with its default, in `OtelSinkOptionsSchema`. */
export type OtelSinkOptions = z.input<typeof OtelSinkOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ResolvedOtelSinkOptions = ParsedOptions;

function isEnv(value: unknown): value is Env {
  return typeof value === 'object' && value !== null;
}

function urlProblem(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return `"${value}" is not a URL; expected one such as http://localhost:4318/v1/traces`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `"${value}" is not an http:// or https:// URL, which OTLP/HTTP needs`;
  }
  return undefined;
}

const TRACES_PATH = 'v1/traces';
const METRICS_PATH = 'v1/metrics';

function nonEmpty(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
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
function parseKeyValueList(raw: string | undefined): Record<string, string> {
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

/** A positive number from the environment; anything else is ignored, as the OpenTelemetry SDKs do. */
function positiveNumber(raw: string | undefined): number | undefined {
  const v = nonEmpty(raw);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function compressionFrom(raw: string | undefined): 'none' | 'gzip' | undefined {
  const v = nonEmpty(raw)?.toLowerCase();
  return v === 'gzip' || v === 'none' ? v : undefined;
}

type EndpointOptions = Pick<
  ParsedOptions,
  'endpoint' | 'baseEndpoint' | 'tracesEndpoint' | 'metricsEndpoint'
>;

interface ResolvedEndpoints {
  readonly tracesUrl: string | undefined;
  readonly metricsUrl: string | undefined;
  /** Where each URL came from: an option name or an environment variable. */
  readonly tracesSource: string | undefined;
  readonly metricsSource: string | undefined;
}

/**
 * Where traces and metrics go: an explicit option, else the signal's
 * `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`
 * with the signal's path. Never throws; the schema checks the result.
 */
function resolveOtlpEndpoints(options: Partial<EndpointOptions>, env: Env): ResolvedEndpoints {
  const base = nonEmpty(options.baseEndpoint);
  const envBase = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const envTraces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const envMetrics = nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);

  let tracesUrl: string | undefined;
  let tracesSource: string | undefined;
  const pickTraces = (value: string | undefined, source: string) => {
    if (tracesUrl === undefined && value !== undefined) {
      tracesUrl = value;
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
  const pickMetrics = (value: string | undefined, source: string) => {
    if (metricsUrl === undefined && value !== undefined) {
      metricsUrl = value;
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
  return { tracesUrl, metricsUrl, tracesSource, metricsSource };
}

/** PEM files for https: a root certificate to trust, and a client certificate and key (mTLS). */
export interface TlsFiles {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** How one signal is sent. */
export interface SignalTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
  readonly compression: 'none' | 'gzip';
  readonly tls: TlsFiles;
}

/**
 * `OTEL_EXPORTER_OTLP_[<SIGNAL>_]CERTIFICATE`, `..._CLIENT_CERTIFICATE` and
 * `..._CLIENT_KEY`: files read once, when the sink is created.
 * @throws TelemetryConfigError naming the variable when a file cannot be read.
 */
function tlsFromEnv(env: Env, signal: 'TRACES' | 'METRICS'): TlsFiles {
  const read = (suffix: string): Buffer | undefined => {
    const specific = `OTEL_EXPORTER_OTLP_${signal}_${suffix}`;
    const generic = `OTEL_EXPORTER_OTLP_${suffix}`;
    const variable = nonEmpty(env[specific]) !== undefined ? specific : generic;
    const file = nonEmpty(env[variable]);
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(file));
    } catch (error) {
      throw new TelemetryConfigError(
        `Cannot read ${variable}="${file}" (${error instanceof Error ? error.message : String(error)}): set it to a readable PEM file, or unset it.`,
        { cause: error },
      );
    }
  };
  const files: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  const ca = read('CERTIFICATE');
  const cert = read('CLIENT_CERTIFICATE');
  const key = read('CLIENT_KEY');
  if (ca) files.ca = ca;
  if (cert) files.cert = cert;
  if (key) files.key = key;
  return files;
}

/** Everything the sink sends with, resolved from options, then the environment, then the fallbacks. */
export interface OtlpSettings {
  /** Undefined when traces are off. */
  readonly traces: SignalTarget | undefined;
  /** Undefined when metrics are off. */
  readonly metrics: SignalTarget | undefined;
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string | number | boolean>>;
  readonly metricExportIntervalMillis: number;
}

/**
 * Resolves validated options against their environment (`options.env`, else
 * `process.env`), as the OpenTelemetry SDKs do: an explicit option wins, then
 * the signal's `OTEL_EXPORTER_OTLP_<SIGNAL>_*` variable, then the generic one.
 * @throws TelemetryConfigError when a certificate file the environment names cannot be read.
 */
export function resolveOtlpSettings(options: ParsedOptions): OtlpSettings {
  const env = options.env ?? process.env;
  const endpoints = resolveOtlpEndpoints(options, env);
  const envHeaders = parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS);
  const target = (
    signal: 'TRACES' | 'METRICS',
    url: string | undefined,
  ): SignalTarget | undefined =>
    url === undefined
      ? undefined
      : {
          url,
          headers: {
            ...envHeaders,
            ...parseKeyValueList(env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`]),
            ...options.headers,
          },
          timeoutMillis:
            options.timeoutMillis ??
            positiveNumber(env[`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`]) ??
            positiveNumber(env.OTEL_EXPORTER_OTLP_TIMEOUT) ??
            ENVIRONMENT_FALLBACKS.timeoutMillis,
          compression:
            options.compression ??
            compressionFrom(env[`OTEL_EXPORTER_OTLP_${signal}_COMPRESSION`]) ??
            compressionFrom(env.OTEL_EXPORTER_OTLP_COMPRESSION) ??
            ENVIRONMENT_FALLBACKS.compression,
          tls: url.startsWith('https:') ? tlsFromEnv(env, signal) : {},
        };

  const envResource = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES);
  const given = options.resourceAttributes['service.name'];
  return {
    traces: options.traces ? target('TRACES', endpoints.tracesUrl) : undefined,
    metrics: options.metrics ? target('METRICS', endpoints.metricsUrl) : undefined,
    serviceName:
      options.serviceName ??
      (given !== undefined ? String(given) : undefined) ??
      nonEmpty(env.OTEL_SERVICE_NAME) ??
      nonEmpty(envResource['service.name']),
    resourceAttributes: { ...envResource, ...options.resourceAttributes },
    metricExportIntervalMillis:
      options.metricExportIntervalMillis ??
      positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ??
      ENVIRONMENT_FALLBACKS.metricExportIntervalMillis,
  };
}

/**
 * The options a Llama Stack config block asks for: `otel_endpoint`,
 * `otel_exporter_otlp_endpoint`, `otel_trace_endpoint`, `otel_metric_endpoint`,
 * `service_name`, and which of `otel` / `otel_trace` / `otel_metric` the
 * `sinks` list names; the `OTEL_*` variables are read from `env`.
 */
export function otelOptionsFromConfig(config: LlamaStackConfig, env: Env): OtelSinkOptions {
  const out: Record<string, unknown> = { env };
  const set = (key: keyof OtelSinkOptions, value: unknown) => {
    const v = nonEmpty(value);
    if (v !== undefined) out[key] = v;
  };
  set('endpoint', config.otel_endpoint);
  set('baseEndpoint', config.otel_exporter_otlp_endpoint);
  set('tracesEndpoint', config.otel_trace_endpoint);
  set('metricsEndpoint', config.otel_metric_endpoint);
  set('serviceName', config.service_name);
  if (Array.isArray(config.sinks)) {
    const names = new Set(config.sinks.map((s) => String(s).trim()));
    out.traces = names.has('otel') || names.has('otel_trace');
    out.metrics = names.has('otel') || names.has('otel_metric');
  }
  return out as OtelSinkOptions;
}
