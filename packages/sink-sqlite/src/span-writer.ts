/**
 * The write path: completed spans become rows in one IMMEDIATE transaction per
 * chunk, through statements that Kysely builds once and better-sqlite3 keeps
 * prepared (compiling a query per row would cost more than the insert).
 */
import type { CompletedSpan } from '@telemetry/core';
import type BetterSqlite3 from 'better-sqlite3';
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { encodeAttributeValue, ValueType } from './attribute-values.ts';
import { isLocalRoot } from './roots.ts';
import type { Database } from './schema.ts';

/** What one chunk did. */
export interface ChunkResult {
  /** Spans stored. */
  readonly written: number;
  /** Spans whose id was already stored: skipped, with their events. */
  readonly duplicates: number;
  /** Spans that could not be turned into rows (counted, skipped). */
  readonly invalid: readonly CompletedSpan[];
}

interface PreparedSpan {
  readonly span: CompletedSpan;
  readonly attributesJson: string;
  readonly expiresAt: number;
  readonly isRoot: boolean;
  /** Its `service.name` attribute (from an OTLP resource), else the writer's service. */
  readonly service: string;
  readonly events: readonly PreparedEvent[];
}

interface PreparedEvent {
  readonly name: string;
  readonly timestamp: number;
  readonly attributesJson: string;
  readonly metric?: {
    readonly name: string;
    readonly unit: string;
    readonly labels: string;
    readonly value: number;
  };
}

interface TraceAggregate {
  start: number;
  end: number;
  root: PreparedSpan | null;
  /** The first span's service: the trace's until its root is written. */
  service: string;
  spans: number;
  errors: number;
}

/**
 * Compiles a Kysely query whose parameters are marker strings, checks that they
 * come out in the order the caller will bind them, and prepares it.
 */
function prepareCompiled(
  raw: BetterSqlite3.Database,
  compiled: CompiledQuery,
  order: readonly string[],
): BetterSqlite3.Statement {
  const got = compiled.parameters.map((p) => String(p));
  const want = order.map(marker);
  if (got.length !== want.length || got.some((p, i) => p !== want[i])) {
    throw new Error(`internal: unexpected parameter order ${got.join(',')} in ${compiled.sql}`);
  }
  return raw.prepare(compiled.sql);
}

function marker(name: string): string {
  return `\u0000${name}`;
}

/** Canonical label set of a metric event: sorted by name, values as strings, nulls left out. */
export function canonicalLabels(attributes: Readonly<Record<string, unknown>> | undefined): string {
  if (!attributes) return '[]';
  const pairs: [string, string][] = [];
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    if (value === null || value === undefined) continue;
    pairs.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return JSON.stringify(pairs);
}

export interface SpanWriterOptions {
  readonly serviceName: string;
  readonly defaultTtlSeconds: number;
}

export class SpanWriter {
  readonly #insertSpan: BetterSqlite3.Statement;
  readonly #insertAttribute: BetterSqlite3.Statement;
  readonly #insertEvent: BetterSqlite3.Statement;
  readonly #upsertTrace: BetterSqlite3.Statement;
  readonly #findSeries: BetterSqlite3.Statement;
  readonly #insertSeries: BetterSqlite3.Statement;
  readonly #transaction: BetterSqlite3.Transaction<(spans: readonly PreparedSpan[]) => ChunkResult>;
  readonly #options: SpanWriterOptions;

  constructor(raw: BetterSqlite3.Database, db: Kysely<Database>, options: SpanWriterOptions) {
    this.#options = options;
    const m = marker;
    const spanColumns = [
      'span_id',
      'trace_id',
      'parent_span_id',
      'name',
      'start_time',
      'end_time',
      'attributes',
      'status',
      'kind',
      'status_message',
      'expires_at',
    ] as const;
    this.#insertSpan = prepareCompiled(
      raw,
      db
        .insertInto('spans')
        .values(Object.fromEntries(spanColumns.map((c) => [c, m(c)])) as never)
        .onConflict((oc) => oc.column('span_id').doNothing())
        .compile(),
      spanColumns,
    );
    const attributeColumns = ['span_rowid', 'key', 'value_type', 'value'] as const;
    this.#insertAttribute = prepareCompiled(
      raw,
      db
        .insertInto('span_attributes')
        .values(Object.fromEntries(attributeColumns.map((c) => [c, m(c)])) as never)
        .compile(),
      attributeColumns,
    );
    const eventColumns = [
      'span_id',
      'span_rowid',
      'name',
      'timestamp',
      'attributes',
      'series_id',
      'value',
    ] as const;
    this.#insertEvent = prepareCompiled(
      raw,
      db
        .insertInto('span_events')
        .values(Object.fromEntries(eventColumns.map((c) => [c, m(c)])) as never)
        .compile(),
      eventColumns,
    );
    const traceColumns = [
      'trace_id',
      'service_name',
      'root_span_id',
      'root_name',
      'start_time',
      'end_time',
      'span_count',
      'error_count',
    ] as const;
    // Two candidates (another batch, another process): a span without a
    // parent beats a marked local root under a remote parent, then the earlier.
    const chosenRoot = sql<string | null>`case
              when traces.root_span_id is null then excluded.root_span_id
              when excluded.root_span_id is null or excluded.root_span_id = traces.root_span_id then traces.root_span_id
              else coalesce((select s.span_id from spans s
                where s.span_id in (traces.root_span_id, excluded.root_span_id)
                order by s.parent_span_id is not null, s.start_time, s.span_id limit 1), excluded.root_span_id)
            end`;
    // The root's name and service come with it (the trace's service is its root's).
    const newRootWins = sql`excluded.root_span_id is not null
              and excluded.root_span_id is not traces.root_span_id
              and (${chosenRoot}) = excluded.root_span_id`;
    this.#upsertTrace = prepareCompiled(
      raw,
      db
        .insertInto('traces')
        .values(Object.fromEntries(traceColumns.map((c) => [c, m(c)])) as never)
        .onConflict((oc) =>
          oc.column('trace_id').doUpdateSet({
            service_name: sql`case when ${newRootWins} then excluded.service_name
              else coalesce(traces.service_name, excluded.service_name) end`,
            root_name: sql`case when ${newRootWins} then excluded.root_name else traces.root_name end`,
            start_time: sql`min(traces.start_time, excluded.start_time)`,
            end_time: sql`max(traces.end_time, excluded.end_time)`,
            root_span_id: chosenRoot,
            span_count: sql`traces.span_count + excluded.span_count`,
            error_count: sql`traces.error_count + excluded.error_count`,
          }),
        )
        .compile(),
      traceColumns,
    );
    const seriesColumns = ['metric', 'unit', 'labels'] as const;
    this.#findSeries = prepareCompiled(
      raw,
      db
        .selectFrom('metric_series')
        .select('id')
        .where('metric', '=', m('metric'))
        .where('unit', '=', m('unit'))
        .where('labels', '=', m('labels'))
        .compile(),
      seriesColumns,
    ).pluck();
    this.#insertSeries = prepareCompiled(
      raw,
      db
        .insertInto('metric_series')
        .values(Object.fromEntries(seriesColumns.map((c) => [c, m(c)])) as never)
        .compile(),
      seriesColumns,
    );
    this.#transaction = raw.transaction((spans: readonly PreparedSpan[]) =>
      this.#writePrepared(spans),
    );
  }

  /**
   * Writes spans in one IMMEDIATE transaction (it waits for other writers
   * through the busy timeout instead of failing when it upgrades a read lock).
   */
  writeChunk(spans: readonly CompletedSpan[]): ChunkResult {
    const prepared: PreparedSpan[] = [];
    const invalid: CompletedSpan[] = [];
    for (const span of spans) {
      const p = this.#prepare(span);
      if (p) prepared.push(p);
      else invalid.push(span);
    }
    if (prepared.length === 0) return { written: 0, duplicates: 0, invalid };
    const result = this.#transaction.immediate(prepared);
    return { ...result, invalid };
  }

  /** Everything that can fail on bad input happens here, before the transaction. */
  #prepare(span: CompletedSpan): PreparedSpan | null {
    try {
      if (typeof span.span_id !== 'string' || typeof span.trace_id !== 'string') return null;
      if (!Number.isFinite(span.start_time) || !Number.isFinite(span.end_time)) return null;
      const attributes = span.attributes ?? {};
      const ttl =
        typeof span.ttl_seconds === 'number' &&
        span.ttl_seconds > 0 &&
        Number.isFinite(span.ttl_seconds)
          ? span.ttl_seconds
          : this.#options.defaultTtlSeconds;
      if (typeof span.name !== 'string') return null;
      const events: PreparedEvent[] = [];
      for (const event of span.events ?? []) {
        // A NULL time would fail the whole transaction: refuse the span instead.
        if (!Number.isFinite(event.timestamp)) return null;
        if (event.type === 'metric') {
          if (typeof event.metric !== 'string' || typeof event.unit !== 'string') return null;
          const labels = event.attributes ?? {};
          events.push({
            name: `metric.${event.metric}`,
            timestamp: event.timestamp,
            attributesJson: JSON.stringify({ ...labels, value: event.value, unit: event.unit }),
            metric: {
              name: event.metric,
              unit: event.unit,
              labels: canonicalLabels(labels),
              value: event.value,
            },
          });
        } else {
          events.push({
            name: event.type,
            timestamp: event.timestamp,
            attributesJson: logJson(event.attributes, event.message, event.severity),
          });
        }
      }
      const service = attributes['service.name'];
      return {
        span,
        attributesJson: JSON.stringify(attributes),
        expiresAt: Math.round(span.end_time + ttl * 1_000_000),
        isRoot: isLocalRoot(attributes, span.parent_span_id),
        service:
          typeof service === 'string' && service !== '' ? service : this.#options.serviceName,
        events,
      };
    } catch {
      return null;
    }
  }

  #writePrepared(spans: readonly PreparedSpan[]): Omit<ChunkResult, 'invalid'> {
    const traces = new Map<string, TraceAggregate>();
    const series = new Map<string, number>();
    let written = 0;
    let duplicates = 0;
    for (const p of spans) {
      const s = p.span;
      const info = this.#insertSpan.run(
        s.span_id,
        s.trace_id,
        s.parent_span_id ?? null,
        s.name,
        s.start_time,
        s.end_time,
        p.attributesJson,
        s.status,
        s.kind ?? 'internal',
        s.status_message ?? null,
        p.expiresAt,
      );
      if (info.changes === 0) {
        // Already stored (a retry, or a second writer): keep the first copy whole.
        duplicates++;
        continue;
      }
      written++;
      const rowid = Number(info.lastInsertRowid);
      const attributes = s.attributes ?? {};
      for (const key in attributes)
        insertAttribute(this.#insertAttribute, rowid, key, attributes[key]);
      for (const e of p.events) {
        let seriesId: number | null = null;
        if (e.metric) {
          const seriesKey = `${e.metric.name}\u0000${e.metric.unit}\u0000${e.metric.labels}`;
          seriesId = series.get(seriesKey) ?? null;
          if (seriesId === null) {
            seriesId = this.#seriesId(e.metric.name, e.metric.unit, e.metric.labels);
            series.set(seriesKey, seriesId);
          }
        }
        this.#insertEvent.run(
          s.span_id,
          rowid,
          e.name,
          e.timestamp,
          e.attributesJson,
          seriesId,
          e.metric ? e.metric.value : null,
        );
      }
      const failed = s.status === 'error' ? 1 : 0;
      const t = traces.get(s.trace_id);
      if (!t) {
        traces.set(s.trace_id, {
          start: s.start_time,
          end: s.end_time,
          root: p.isRoot ? p : null,
          service: p.service,
          spans: 1,
          errors: failed,
        });
      } else {
        if (s.start_time < t.start) t.start = s.start_time;
        if (s.end_time > t.end) t.end = s.end_time;
        if (p.isRoot && (t.root === null || betterRoot(p, t.root))) t.root = p;
        t.spans++;
        t.errors += failed;
      }
    }
    for (const [traceId, t] of traces) {
      this.#upsertTrace.run(
        traceId,
        t.root ? t.root.service : t.service,
        t.root?.span.span_id ?? null,
        t.root?.span.name ?? null,
        t.start,
        t.end,
        t.spans,
        t.errors,
      );
    }
    return { written, duplicates };
  }

  // The transaction holds the write lock, so select-then-insert cannot race
  // another writer. Ids are cached per transaction only: retention in another
  // process may delete a series that no stored point uses any more.
  #seriesId(metric: string, unit: string, labels: string): number {
    const found = this.#findSeries.get(metric, unit, labels) as number | undefined;
    if (found !== undefined) return found;
    return Number(this.#insertSeries.run(metric, unit, labels).lastInsertRowid);
  }
}

/** One `span_attributes` row, typed as `encodeAttributeValue` types it, without allocating. */
function insertAttribute(
  statement: BetterSqlite3.Statement,
  rowid: number,
  key: string,
  value: unknown,
): void {
  switch (typeof value) {
    case 'string':
      statement.run(rowid, key, ValueType.string, value);
      return;
    case 'boolean':
      statement.run(rowid, key, ValueType.boolean, value ? 1 : 0);
      return;
    case 'number':
      if (Number.isFinite(value)) {
        statement.run(rowid, key, ValueType.number, value);
        return;
      }
      break;
    default:
      if (value !== null && value !== undefined) {
        const encoded = encodeAttributeValue(value);
        statement.run(rowid, key, encoded.type, encoded.value);
        return;
      }
  }
  statement.run(rowid, key, ValueType.null, null);
}

/** A log's attributes as the reference stores them: its own, then message and severity. */
function logJson(
  attributes: Readonly<Record<string, unknown>> | undefined,
  message: string,
  severity: string,
): string {
  let empty = true;
  for (const _ in attributes) {
    empty = false;
    break;
  }
  if (empty) return JSON.stringify({ message, severity });
  return JSON.stringify({ ...attributes, message, severity });
}

/** The same preference as the trace upsert: no parent first, then the earlier start, then the id. */
function betterRoot(a: PreparedSpan, b: PreparedSpan): boolean {
  const aTop = !a.span.parent_span_id;
  const bTop = !b.span.parent_span_id;
  if (aTop !== bTop) return aTop;
  if (a.span.start_time !== b.span.start_time) return a.span.start_time < b.span.start_time;
  return a.span.span_id < b.span.span_id;
}
