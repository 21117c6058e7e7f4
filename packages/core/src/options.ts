import { z } from 'zod';
import type { TelemetrySink } from './sink.ts';

/** Options of `createTelemetry`; every default lives in `TelemetryOptionsSchema` below. */
export interface TelemetryOptions {
  /**
   * Where events go.
   * @default []
   */
  readonly sinks?: readonly TelemetrySink[];
  /**
   * Events waiting in the queue at most; beyond it new events are refused and
   * counted (`queue_full`). The default takes a burst of 100,000 spans (a
   * start and an end event each) without a loss, in roughly 50 MB.
   * @default 200_000
   */
  readonly capacity?: number;
  /**
   * Events waiting for one sink at most (in its backlog, being written, or
   * being retried); beyond it that sink's new batches are dropped and counted
   * (`sink_backlog`). The backlog holds references to the queue's events, so
   * it costs little memory of its own.
   * @default capacity
   */
  readonly sinkCapacity?: number;
  /**
   * Items per write handed to a sink, unless the sink asks for another size
   * (`delivery.maxBatchSize`).
   * @default 1_000
   */
  readonly batchSize?: number;
  /**
   * At most one drop warning, and one error line per sink and error code, per interval.
   * @default 60_000
   */
  readonly warnIntervalMs?: number;
  /**
   * Spans written as raw `span_start` events through `logEvent` that are held
   * open at most, waiting for their end; a new one beyond it is refused (and
   * counted, `open_span_limit`), so the open ones, roots first, stay whole.
   * Spans of the tracing helpers and of `@opentelemetry/api` carry their own
   * state and are not held, nor limited.
   * @default 100_000
   */
  readonly maxOpenSpans?: number;
  /**
   * A raw span (see `maxOpenSpans`) open longer than this is given up (and counted).
   * @default 3_600_000 (one hour)
   */
  readonly openSpanTimeoutMs?: number;
  /**
   * A raw log or metric whose span has not started after this long is dropped (and counted).
   * @default 60_000
   */
  readonly orphanTimeoutMs?: number;
  /**
   * Time to live of the events that the tracing helpers log. Unset, each store
   * applies its own default (seven days in the SQLite sink, as Llama Stack's
   * log_event).
   * @default undefined
   */
  readonly ttlSeconds?: number;
  /**
   * What `logEvent` does with an invalid event: throw a TelemetryValidationError, or count it as dropped (`invalid`).
   * @default 'throw'
   */
  readonly onInvalidEvent?: 'throw' | 'drop';
  /**
   * One deadline for all of `shutdown()`: delivery to the sinks and their own
   * shutdown. What is not delivered by then is counted as dropped
   * (`shutdown_timeout`) and reported.
   * @default 10_000
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * How long `flush()` waits when not given `timeoutMs`.
   * @default 30_000
   */
  readonly flushTimeoutMs?: number;
  /**
   * Where warnings go (drops, sink errors, the loss summary at shutdown).
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

const count = (fallback: number) =>
  z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .positive({ error: 'expected a number above 0' })
    .default(fallback);
const millis = (fallback: number) =>
  z
    .number({ error: 'expected milliseconds' })
    .positive({ error: 'expected a number above 0' })
    .default(fallback);

/** Validates `createTelemetry` options (every problem at once) and holds every default. */
export const TelemetryOptionsSchema = z.object({
  sinks: z
    .array(
      z.custom<TelemetrySink>(
        (s) => typeof s === 'object' && s !== null && typeof (s as TelemetrySink).name === 'string',
        { error: 'expected a sink: an object with a `name` and writeEvents or writeSpans' },
      ),
    )
    .default([]),
  capacity: count(200_000),
  // No default of its own: unset, it is `capacity` (a zod default here would win over that).
  sinkCapacity: z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .positive({ error: 'expected a number above 0' })
    .optional(),
  batchSize: count(1_000),
  warnIntervalMs: z.number({ error: 'expected milliseconds' }).nonnegative().default(60_000),
  maxOpenSpans: count(100_000),
  openSpanTimeoutMs: millis(3_600_000),
  orphanTimeoutMs: millis(60_000),
  ttlSeconds: z.number().int({ error: 'expected a whole number of seconds' }).positive().optional(),
  onInvalidEvent: z.enum(['throw', 'drop']).default('throw'),
  shutdownTimeoutMs: millis(10_000),
  flushTimeoutMs: millis(30_000),
  warn: z
    .custom<(message: string) => void>((w) => typeof w === 'function', {
      error: 'expected a function',
    })
    .optional(),
});

export type ResolvedTelemetryOptions = z.output<typeof TelemetryOptionsSchema>;
