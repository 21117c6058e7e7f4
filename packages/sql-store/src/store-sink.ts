import {
  type CompletedSpan,
  type SinkContext,
  TelemetryError,
  type TelemetrySink,
  type TraceSearchStore,
  type TraceStore,
  type TraceStoreAdmin,
} from '@telemetry/core/sink';
import type { RetentionResult } from './retention.ts';

/**
 * A telemetry sink that stores completed spans, their logs and their metrics
 * in a SQL database, and answers the whole query API (`TraceStore`), the
 * search extensions (`TraceSearchStore`) and the store admin
 * (`TraceStoreAdmin`): what `SqliteSink` and `PostgresSink` have in common.
 */
export interface StoreSink extends TelemetrySink, TraceStore, TraceSearchStore, TraceStoreAdmin {
  readonly name: string;
  /**
   * Stores spans, one transaction per `transactionSize` of them. A database
   * that cannot take the write now rejects with a `RetryableSinkError`: core's
   * dispatcher writes the batch again after a backoff (spans already stored
   * are skipped by id).
   */
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
  /** Called by the pipeline the sink joins: from then on, spans it cannot store are counted there. */
  attach(context: SinkContext): void;
  /** Resolves once every write started so far has committed or failed. */
  forceFlush(): Promise<void>;
  /** Waits for writes in flight, stops retention, closes the database. Idempotent. */
  shutdown(): Promise<void>;
  /** The same as `shutdown()`. */
  close(): Promise<void>;
  /** Resolves when the database is open and migrated; rejects with the reason it is not. */
  whenReady(): Promise<void>;
  /** Deletes expired rows (and spans past `maxSpans`) now; retention also runs on open and every `retentionIntervalMs`. */
  purgeExpired(): Promise<RetentionResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Thrown by a store sink's queries and writes after `shutdown()`. Each sink
 * exports its own subclass (`SqliteSinkClosedError`, `PostgresSinkClosedError`)
 * so the error's `name` says which store it came from.
 */
export class StoreSinkClosedError extends TelemetryError {
  constructor(name: string) {
    super(
      'TELEMETRY_SINK_CLOSED',
      `The '${name}' sink is shut down; create a new sink to read or write this database.`,
    );
  }
}
