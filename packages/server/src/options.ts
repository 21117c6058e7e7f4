import { z } from 'zod';
import {
  type DatasetWriter,
  issuesFromZod,
  type Telemetry,
  TelemetryValidationError,
} from './core-api.ts';

/** The environment variable read when no `token` option is given. */
export const TOKEN_ENV_VAR = 'TELEMETRY_SERVER_TOKEN';

/** Options of `createTelemetryServer`; every default is in `SERVER_DEFAULTS`. */
export interface TelemetryServerOptions {
  /** The pipeline to serve: events go to its sinks; queries need a sink that answers them (e.g. SQLite). */
  readonly telemetry: Telemetry;
  /**
   * Address to bind. Anything but loopback exposes the store to the network: set a token.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Port of the Llama Stack API and OTLP/HTTP; 0 picks a free port.
   * @default 8321 (Llama Stack's port)
   */
  readonly port?: number;
  /**
   * A second port that serves only OTLP/HTTP, such as 4318 (the OTLP default),
   * so `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` works; 0 picks a free port.
   * @default undefined (OTLP on `port` only)
   */
  readonly otlpPort?: number;
  /**
   * Bearer token every request must carry (`Authorization: Bearer <token>`).
   * `null` turns authentication off even when the environment variable is set.
   * @default process.env.TELEMETRY_SERVER_TOKEN, else none
   */
  readonly token?: string | null;
  /**
   * Largest request body, in bytes, as sent and after gzip decompression.
   * @default 16_777_216 (16 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * Time a client has to send a whole request, and the longest a connection may stay silent.
   * @default 30_000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long an idle keep-alive connection is kept open.
   * @default 5_000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * How long `close()` waits for requests in flight before cutting their connections.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number;
  /**
   * Path prefix of every route, such as `/telemetry`.
   * @default ''
   */
  readonly basePath?: string;
  /**
   * Events waiting in the pipeline (queued or on their way to a sink) at which
   * writes are answered 503 with Retry-After instead of being accepted and dropped.
   * @default 50_000
   */
  readonly maxPendingEvents?: number;
  /**
   * The Retry-After of 503 answers, in seconds.
   * @default 1
   */
  readonly retryAfterSeconds?: number;
  /**
   * Most attributes in one OTLP attribute list (resource, span, event, log, data point);
   * an item over it is rejected.
   * @default 1_024
   */
  readonly maxAttributes?: number;
  /**
   * Most events in one OTLP span; a span over it is rejected.
   * @default 1_024
   */
  readonly maxSpanEvents?: number;
  /**
   * Where `POST /v1/telemetry/spans/export` writes rows.
   * @default undefined (the store's own writer, e.g. the SQLite sink's `datasetWriter`)
   */
  readonly datasetWriter?: DatasetWriter;
  /**
   * Host names that requests may address (the Host header), against DNS rebinding.
   * `['*']` allows any.
   * @default loopback names when `host` is loopback (localhost, 127.0.0.1, [::1]), else any
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Serve the viewer page at `basePath + '/'` (trace search, waterfall, logs,
   * metric charts), behind the same token.
   * @default true
   */
  readonly viewer?: boolean;
  /**
   * Receives unexpected errors (the client gets a 500 without details).
   * @default console.error
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Receives warnings (a non-loopback address without a token).
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

/** Every default of `createTelemetryServer`, in one place. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8321,
  maxBodyBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  closeTimeoutMs: 10_000,
  basePath: '',
  maxPendingEvents: 50_000,
  retryAfterSeconds: 1,
  maxAttributes: 1_024,
  maxSpanEvents: 1_024,
  viewer: true,
});

const port = z
  .number({ error: 'expected a port number' })
  .int({ error: 'expected a whole number' })
  .min(0, { error: 'expected a port from 0 to 65535' })
  .max(65_535, { error: 'expected a port from 0 to 65535' });
const positiveInt = z
  .number({ error: 'expected a whole number' })
  .int({ error: 'expected a whole number' })
  .positive({ error: 'expected a number above 0' });

const OptionsSchema = z.object({
  telemetry: z.custom<Telemetry>(
    (t) =>
      typeof t === 'object' &&
      t !== null &&
      typeof (t as Telemetry).logEvent === 'function' &&
      typeof (t as Telemetry).stats === 'function',
    { error: 'expected a Telemetry pipeline (createTelemetry() or createTelemetryFromConfig())' },
  ),
  host: z.string().min(1, { error: 'expected a host name or address' }).optional(),
  port: port.optional(),
  otlpPort: port.optional(),
  token: z.string().min(1, { error: 'expected a non-empty token, or null for none' }).nullish(),
  maxBodyBytes: positiveInt.optional(),
  requestTimeoutMs: positiveInt.optional(),
  keepAliveTimeoutMs: positiveInt.optional(),
  closeTimeoutMs: z.number().int().nonnegative().optional(),
  basePath: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*$/, {
      error: "expected '' or a path such as /telemetry (no trailing slash)",
    })
    .optional(),
  maxPendingEvents: positiveInt.optional(),
  retryAfterSeconds: positiveInt.optional(),
  maxAttributes: positiveInt.optional(),
  maxSpanEvents: positiveInt.optional(),
  datasetWriter: z
    .custom<DatasetWriter>(
      (w) => typeof (w as DatasetWriter | undefined)?.appendRows === 'function',
      { error: 'expected an object with appendRows(datasetId, rows)' },
    )
    .optional(),
  allowedHosts: z.array(z.string().min(1)).optional(),
  viewer: z.boolean({ error: 'expected true or false' }).optional(),
  onError: z.custom<(e: unknown) => void>((f) => typeof f === 'function').optional(),
  warn: z.custom<(m: string) => void>((f) => typeof f === 'function').optional(),
});

export interface ResolvedOptions {
  readonly telemetry: Telemetry;
  readonly host: string;
  readonly port: number;
  readonly otlpPort: number | undefined;
  readonly token: string | undefined;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly basePath: string;
  readonly maxPendingEvents: number;
  readonly retryAfterSeconds: number;
  readonly maxAttributes: number;
  readonly maxSpanEvents: number;
  readonly datasetWriter: DatasetWriter | undefined;
  /** Lowercase host names, or undefined for any. */
  readonly allowedHosts: ReadonlySet<string> | undefined;
  readonly viewer: boolean;
  readonly onError: (error: unknown) => void;
  readonly warn: (message: string) => void;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Validates the options (every problem at once) and applies the defaults. */
export function resolveOptions(options: TelemetryServerOptions): ResolvedOptions {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TelemetryValidationError('telemetry server options', issuesFromZod(parsed.error));
  }
  const o = parsed.data;
  const d = SERVER_DEFAULTS;
  const host = o.host ?? d.host;
  const envToken = process.env[TOKEN_ENV_VAR];
  const token = o.token === null ? undefined : (o.token ?? (envToken || undefined));
  let allowedHosts: Set<string> | undefined;
  if (o.allowedHosts) {
    allowedHosts = o.allowedHosts.includes('*')
      ? undefined
      : new Set(o.allowedHosts.map((h) => h.toLowerCase()));
  } else if (isLoopback(host)) {
    allowedHosts = new Set([...LOOPBACK_NAMES, host.toLowerCase()]);
  }
  return {
    telemetry: o.telemetry,
    host,
    port: o.port ?? d.port,
    otlpPort: o.otlpPort,
    token,
    maxBodyBytes: o.maxBodyBytes ?? d.maxBodyBytes,
    requestTimeoutMs: o.requestTimeoutMs ?? d.requestTimeoutMs,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? d.keepAliveTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs ?? d.closeTimeoutMs,
    basePath: o.basePath ?? d.basePath,
    maxPendingEvents: o.maxPendingEvents ?? d.maxPendingEvents,
    retryAfterSeconds: o.retryAfterSeconds ?? d.retryAfterSeconds,
    maxAttributes: o.maxAttributes ?? d.maxAttributes,
    maxSpanEvents: o.maxSpanEvents ?? d.maxSpanEvents,
    datasetWriter: o.datasetWriter,
    allowedHosts,
    viewer: o.viewer ?? d.viewer,
    onError: o.onError ?? ((error) => console.error('[telemetry-server]', error)),
    warn: o.warn ?? ((message) => console.warn(message)),
  };
}
