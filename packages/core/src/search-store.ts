import type {
  PruneParams,
  PruneResult,
  SpanEvents,
  SpanEventsParams,
  StoreStats,
  Suggestions,
  SuggestParams,
  TailSpansParams,
  TailSpansResult,
  TraceDetail,
  TraceDetailParams,
  TraceSearchParams,
  TraceSearchResult,
} from './search-schemas.ts';

/**
 * The search extensions a store may implement next to `TraceStore` (the
 * Llama Stack queries): what a trace viewer and a command-line tool need.
 * `@telemetry/server` serves them under `/api/v1`; a store without them gets
 * a 501 there. Parameters are validated with the schemas of the same names
 * (`parseSearchParams`); bad input throws `TelemetryValidationError` naming
 * the field, an unknown trace or span throws `TelemetryNotFoundError`.
 *
 * Cursors are opaque strings the store makes and reads back: a store must
 * reject (with `TelemetryValidationError` at `cursor` / `newer_than`) any
 * cursor it did not make, and never let one reach its query text.
 */
export interface TraceSearchStore {
  /** Traces by time, service, root span name, status, duration and attributes; newest first, paged. */
  searchTraces(params?: TraceSearchParams): Promise<TraceSearchResult>;
  /** A trace with its spans and their logs and metric events, bounded by the limits. */
  getTraceDetail(traceId: string, params?: TraceDetailParams): Promise<TraceDetail>;
  /** The logs and metric events of one span. */
  getSpanEvents(traceId: string, spanId: string, params?: SpanEventsParams): Promise<SpanEvents>;
  /** Distinct services, root span names, attribute keys or metric names, for a search form. */
  suggest(params: SuggestParams): Promise<Suggestions>;
  /** Spans in the order they were written, after a cursor: poll it to follow the store. */
  tailSpans(params?: TailSpansParams): Promise<TailSpansResult>;
}

/** True when a sink (or any object) implements the search extensions. */
export function isTraceSearchStore(value: unknown): value is TraceSearchStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.searchTraces === 'function' &&
    typeof v.getTraceDetail === 'function' &&
    typeof v.getSpanEvents === 'function' &&
    typeof v.suggest === 'function' &&
    typeof v.tailSpans === 'function'
  );
}

/**
 * Housekeeping of a store, apart from its queries: `@telemetry/server` serves
 * it under `/api/v1/admin` (pruning only to a caller with the token), the CLI's
 * `stats` and `prune` call it.
 */
export interface TraceStoreAdmin {
  /** Counts, size on disk, time span, per service. */
  storeStats(): Promise<StoreStats>;
  /** Deletes old traces and/or the oldest spans past a count, then optionally compacts; says exactly what it deleted. */
  prune(params: PruneParams): Promise<PruneResult>;
}

/** True when a sink (or any object) implements the store admin methods. */
export function isTraceStoreAdmin(value: unknown): value is TraceStoreAdmin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.storeStats === 'function' && typeof v.prune === 'function';
}
