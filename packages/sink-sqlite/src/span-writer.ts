/**
 * The write path: completed spans become rows in one IMMEDIATE transaction per
 * chunk, through statements that Kysely builds once and better-sqlite3 keeps
 * prepared (compiling a query per row would cost more than the insert).
 */
import type { CompletedSpan } from '@telemetry/core';
import {
  type ChunkResult,
  type Database,
  encodeAttributeValue,
  mergeTraceRow,
  type PreparedSpan,
  prepareSpan,
  type SpanRowOptions,
  type SqliteDatabase,
  sqliteDialect,
  TRACE_ROW_COLUMNS,
  TraceAggregates,
  ValueType,
} from '@telemetry/sql-store';
import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';

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

export type SpanWriterOptions = SpanRowOptions;

export class SpanWriter {
  readonly #insertSpan: BetterSqlite3.Statement;
  readonly #insertAttribute: BetterSqlite3.Statement;
  readonly #insertEvent: BetterSqlite3.Statement;
  readonly #upsertTrace: BetterSqlite3.Statement;
  readonly #findSeries: BetterSqlite3.Statement;
  readonly #insertSeries: BetterSqlite3.Statement;
  readonly #transaction: BetterSqlite3.Transaction<(spans: readonly PreparedSpan[]) => ChunkResult>;
  readonly #options: SpanWriterOptions;

  constructor(raw: BetterSqlite3.Database, db: Kysely<SqliteDatabase>, options: SpanWriterOptions) {
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
    this.#upsertTrace = prepareCompiled(
      raw,
      (db as unknown as Kysely<Database>)
        .insertInto('traces')
        .values(Object.fromEntries(TRACE_ROW_COLUMNS.map((c) => [c, m(c)])) as never)
        .onConflict(mergeTraceRow(sqliteDialect))
        .compile(),
      TRACE_ROW_COLUMNS,
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
      const p = prepareSpan(span, this.#options);
      if (p) prepared.push(p);
      else invalid.push(span);
    }
    if (prepared.length === 0) return { written: 0, duplicates: 0, invalid };
    const result = this.#transaction.immediate(prepared);
    return { ...result, invalid };
  }

  #writePrepared(spans: readonly PreparedSpan[]): Omit<ChunkResult, 'invalid'> {
    const traces = new TraceAggregates();
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
      traces.add(p);
    }
    for (const t of traces.rows()) {
      this.#upsertTrace.run(
        t.trace_id,
        t.service_name,
        t.root_span_id,
        t.root_name,
        t.start_time,
        t.end_time,
        t.span_count,
        t.error_count,
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
