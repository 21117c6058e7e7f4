/**
 * The options every store sink has, defined once: each sink's schema spreads
 * `storeSinkOptionFields` into its own, next to its engine's options.
 */
import { type DatasetWriter, DEFAULT_TTL_SECONDS, type Env, z } from '@telemetry/core/sink';

/** `service_name` of the traces written when none is given: OpenTelemetry's variable, else its fallback. */
export function serviceNameFrom(env: Env): string {
  return env.OTEL_SERVICE_NAME || 'unknown_service';
}

/** A whole number option of at least `min`, with the store sinks' wording when it is not one. */
export function wholeNumberOption(min: 0 | 1) {
  const error = `expected a whole number >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
}

/** The zod fields (validation and default) of the options both store sinks take. */
export const storeSinkOptionFields = {
  /**
   * How long a span (with its logs and metrics) is kept when its events carry
   * no `ttl_seconds`; counted from the span's end.
   * @default 604800 (7 days, Llama Stack's `log_event` default)
   */
  ttlSeconds: wholeNumberOption(1).default(DEFAULT_TTL_SECONDS),
  /**
   * The `service_name` of the traces this process writes.
   * @default process.env.OTEL_SERVICE_NAME, else 'unknown_service'
   */
  serviceName: z
    .string({ error: 'expected a service name' })
    .default(() => serviceNameFrom(process.env)),
  /**
   * Keep at most about this many spans: the oldest written past it are
   * deleted, with their events and attributes. Unlimited when absent.
   * @default undefined
   */
  maxSpans: wholeNumberOption(1).optional(),
  /**
   * How often expired rows are deleted (they are also deleted on open).
   * `0` turns the periodic run off.
   * @default 60000
   */
  retentionIntervalMs: wholeNumberOption(0).default(60_000),
  /**
   * Delete expired rows when the store opens. `false` leaves them to the
   * periodic run (or to nobody, with `retentionIntervalMs: 0`), so that a
   * tool such as `telemetry prune` deletes exactly what it reports.
   * @default true
   */
  purgeOnOpen: z.boolean({ error: 'expected true or false' }).default(true),
  /**
   * Where `saveSpansToDataset` appends rows when the caller passes no writer.
   * @default undefined (saveSpansToDataset then needs a writer argument)
   */
  datasetWriter: z
    .custom<DatasetWriter>(
      (value) => typeof (value as { appendRows?: unknown } | null)?.appendRows === 'function',
      { error: 'expected an object with appendRows(datasetId, rows)' },
    )
    .optional(),
};
