/**
 * The write path: a chunk of completed spans becomes one transaction with
 * one multi-row insert per table (rows travel as arrays through `unnest`, so
 * a statement has a few parameters whatever the chunk size): spans, their
 * attributes, metric series, events, then the trace rows, merged with the
 * shared upsert. About six round trips per chunk.
 */
import type { CompletedSpan } from '@telemetry/core';
import {
  type ChunkResult,
  type Database,
  encodeAttributeValue,
  mergeTraceRow,
  type PostgresDatabase,
  type PreparedSpan,
  postgresDialect,
  prepareSpan,
  type SpanRowOptions,
  TRACE_ROW_COLUMNS,
  TraceAggregates,
  ValueType,
} from '@telemetry/sql-store';
import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import type pg from 'pg';
import { pgText } from './pg-context.ts';

/**
 * A B-tree entry holds about 2,700 bytes: ids, names, metric names and
 * attribute keys go into indexes, so longer ones are refused (ids, metric
 * names), left out of the attribute index (keys: still in the span's
 * attributes), or cut (a trace's root name and service, in the trace row).
 */
export const MAX_INDEXED_BYTES = 1_000;

/** Times as int8: whole microseconds, within the type's range. */
const MAX_INT8_TIME = 9e18;

function int8(value: number): string {
  const n = Math.round(value);
  return String(Math.min(MAX_INT8_TIME, Math.max(-MAX_INT8_TIME, n)));
}

function fits(text: string): boolean {
  return text.length * 3 <= MAX_INDEXED_BYTES || Buffer.byteLength(text) <= MAX_INDEXED_BYTES;
}

/** The longest prefix of `text` within MAX_INDEXED_BYTES of UTF-8, on a character boundary. */
export function clip(text: string): string {
  if (fits(text)) return text;
  let out = text.slice(0, MAX_INDEXED_BYTES);
  while (Buffer.byteLength(out) > MAX_INDEXED_BYTES) out = out.slice(0, -1);
  // Never end on half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  return out;
}

/** A named statement (parsed once per connection) whose parameters come in `order`. */
interface Statement {
  readonly name: string;
  readonly text: string;
}

function statement(name: string, compiled: CompiledQuery): Statement {
  // The `$n` placeholders are written by hand: Kysely must not add parameters of its own.
  if (compiled.parameters.length > 0) {
    throw new Error(`internal: statement ${name} has parameters of its own: ${compiled.sql}`);
  }
  return { name: `telemetry_${name}_v1`, text: compiled.sql };
}

/** `unnest` of one array parameter per column (`$1`, `$2`, ...), cast to the column's type. */
function unnest(types: readonly string[]): RawBuilder<unknown> {
  return sql`select * from unnest(${sql.join(
    types.map((type, i) => sql.raw(`cast($${i + 1} as ${type}[])`)),
  )})`;
}

const SPAN_COLUMNS = [
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

export class PostgresSpanWriter {
  readonly #options: SpanRowOptions;
  readonly #insertSpans: Statement;
  readonly #insertAttributes: Statement;
  readonly #upsertSeries: Statement;
  readonly #findSeries: Statement;
  readonly #insertEvents: Statement;
  readonly #upsertTraces: Statement;
  readonly #seriesLock: string;

  constructor(db: Kysely<PostgresDatabase>, options: SpanRowOptions) {
    this.#options = options;
    // The array parameters are written as `$n` literals and the statements are
    // sent with arrays in that order: Kysely only compiles the SQL around them.
    const compile = (q: RawBuilder<unknown>) => q.compile(db);
    this.#insertSpans = statement(
      'insert_spans',
      compile(
        sql`insert into spans (${sql.join(SPAN_COLUMNS.map((c) => sql.id(c)))})
          ${unnest(['text', 'text', 'text', 'text', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'bigint'])}
          on conflict (span_id) do nothing returning id, span_id`,
      ),
    );
    this.#insertAttributes = statement(
      'insert_attributes',
      compile(
        sql`insert into span_attributes (span_rowid, key, value_type, value_text, value_num)
          ${unnest(['bigint', 'text', 'integer', 'text', 'float8'])}`,
      ),
    );
    // Series another writer inserted meanwhile conflict (and are read back below).
    this.#upsertSeries = statement(
      'upsert_series',
      compile(
        sql`insert into metric_series (metric, unit, labels)
          ${unnest(['text', 'text', 'text'])}
          on conflict (metric, unit, md5(labels)) do nothing`,
      ),
    );
    this.#findSeries = statement(
      'find_series',
      compile(
        sql`select m.id, m.metric, m.unit, m.labels
          from (${unnest(['text', 'text', 'text'])}) as i(metric, unit, labels)
          join metric_series m on m.metric = i.metric and m.unit = i.unit
            and md5(m.labels) = md5(i.labels) and m.labels = i.labels`,
      ),
    );
    this.#insertEvents = statement(
      'insert_events',
      compile(
        sql`insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value)
          ${unnest(['text', 'bigint', 'text', 'bigint', 'text', 'bigint', 'float8'])}`,
      ),
    );
    this.#upsertTraces = statement(
      'upsert_traces',
      (db as unknown as Kysely<Database>)
        .insertInto('traces')
        .columns([...TRACE_ROW_COLUMNS])
        .expression(
          unnest(['text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint', 'bigint']),
        )
        .onConflict(mergeTraceRow(postgresDialect))
        .compile(),
    );
    this.#seriesLock = postgresDialect.seriesLock('shared')!.compile(db).sql;
  }

  /** Spans as rows; those that cannot be stored are returned as invalid. */
  prepare(spans: readonly CompletedSpan[]): { prepared: PreparedSpan[]; invalid: CompletedSpan[] } {
    const prepared: PreparedSpan[] = [];
    const invalid: CompletedSpan[] = [];
    const seen = new Set<string>();
    for (const span of spans) {
      const p = prepareSpan(span, this.#options);
      if (
        !p ||
        !fits(p.span.span_id) ||
        !fits(p.span.trace_id) ||
        (p.span.parent_span_id != null && !fits(String(p.span.parent_span_id))) ||
        p.events.some((e) => e.metric && (!fits(e.metric.name) || !fits(e.metric.unit)))
      ) {
        invalid.push(span);
        continue;
      }
      // A span twice in one chunk: the first copy is kept, as across chunks.
      const id = pgText(p.span.span_id);
      if (seen.has(id)) continue;
      seen.add(id);
      prepared.push(p);
    }
    return { prepared, invalid };
  }

  /** Writes prepared spans in one transaction on `client`; rolls back and rethrows on failure. */
  async write(
    client: pg.PoolClient,
    spans: readonly PreparedSpan[],
    received: number,
  ): Promise<Omit<ChunkResult, 'invalid'>> {
    if (spans.length === 0) return { written: 0, duplicates: received };
    const run = (s: Statement, values: unknown[]) =>
      client.query({ name: s.name, text: s.text, values });
    await client.query('begin');
    try {
      const columns: unknown[][] = SPAN_COLUMNS.map(() => []);
      for (const p of spans) {
        const s = p.span;
        const row = [
          pgText(s.span_id),
          pgText(s.trace_id),
          s.parent_span_id == null ? null : pgText(String(s.parent_span_id)),
          pgText(s.name),
          int8(s.start_time),
          int8(s.end_time),
          p.attributesJson,
          pgText(String(s.status)),
          pgText(String(s.kind ?? 'internal')),
          s.status_message == null ? null : pgText(String(s.status_message)),
          int8(p.expiresAt),
        ];
        for (let i = 0; i < row.length; i++) columns[i]!.push(row[i]);
      }
      const inserted = await run(this.#insertSpans, columns);
      const rowids = new Map<string, string>();
      for (const r of inserted.rows as { id: string | number; span_id: string }[]) {
        rowids.set(r.span_id, String(r.id));
      }
      const stored = spans.filter((p) => rowids.has(pgText(p.span.span_id)));
      if (stored.length > 0) {
        await this.#writeAttributes(run, stored, rowids);
        const series = await this.#seriesIds(client, run, stored);
        await this.#writeEvents(run, stored, rowids, series);
        const traces = new TraceAggregates();
        for (const p of stored) traces.add(p);
        const t: unknown[][] = TRACE_ROW_COLUMNS.map(() => []);
        for (const row of traces.rows()) {
          t[0]!.push(pgText(row.trace_id));
          t[1]!.push(clip(pgText(row.service_name)));
          t[2]!.push(row.root_span_id === null ? null : pgText(row.root_span_id));
          t[3]!.push(row.root_name === null ? null : clip(pgText(row.root_name)));
          t[4]!.push(int8(row.start_time));
          t[5]!.push(int8(row.end_time));
          t[6]!.push(row.span_count);
          t[7]!.push(row.error_count);
        }
        await run(this.#upsertTraces, t);
      }
      await client.query('commit');
      return { written: stored.length, duplicates: received - stored.length };
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    }
  }

  async #writeAttributes(
    run: (s: Statement, values: unknown[]) => Promise<pg.QueryResult>,
    stored: readonly PreparedSpan[],
    rowids: ReadonlyMap<string, string>,
  ): Promise<void> {
    const a: unknown[][] = [[], [], [], [], []];
    for (const p of stored) {
      const rowid = rowids.get(pgText(p.span.span_id))!;
      const attributes = p.span.attributes ?? {};
      for (const key in attributes) {
        // A key too long for the index is kept in the span's attributes only.
        if (!fits(key)) continue;
        const encoded = encodeAttributeValue(attributes[key]);
        const numeric = encoded.type === ValueType.number || encoded.type === ValueType.boolean;
        a[0]!.push(rowid);
        a[1]!.push(pgText(key));
        a[2]!.push(encoded.type);
        a[3]!.push(numeric || encoded.value === null ? null : pgText(String(encoded.value)));
        a[4]!.push(numeric ? Number(encoded.value) : null);
      }
    }
    if (a[0]!.length > 0) await run(this.#insertAttributes, a);
  }

  /** The id of every metric series the spans use, inserting those that are new. */
  async #seriesIds(
    client: pg.PoolClient,
    run: (s: Statement, values: unknown[]) => Promise<pg.QueryResult>,
    stored: readonly PreparedSpan[],
  ): Promise<Map<string, string>> {
    const wanted = new Map<string, [string, string, string]>();
    for (const p of stored) {
      for (const e of p.events) {
        if (!e.metric) continue;
        const identity: [string, string, string] = [
          pgText(e.metric.name),
          pgText(e.metric.unit),
          pgText(e.metric.labels),
        ];
        wanted.set(identity.join('\u0000'), identity);
      }
    }
    const ids = new Map<string, string>();
    if (wanted.size === 0) return ids;
    // Retention deletes unused series only after every writer holding this lock.
    await client.query(this.#seriesLock);
    const columns: string[][] = [[], [], []];
    for (const identity of wanted.values()) {
      for (let i = 0; i < 3; i++) columns[i]!.push(identity[i]!);
    }
    await run(this.#upsertSeries, columns);
    const found = await run(this.#findSeries, columns);
    for (const r of found.rows as {
      id: string | number;
      metric: string;
      unit: string;
      labels: string;
    }[]) {
      ids.set(`${r.metric}\u0000${r.unit}\u0000${r.labels}`, String(r.id));
    }
    return ids;
  }

  async #writeEvents(
    run: (s: Statement, values: unknown[]) => Promise<pg.QueryResult>,
    stored: readonly PreparedSpan[],
    rowids: ReadonlyMap<string, string>,
    series: ReadonlyMap<string, string>,
  ): Promise<void> {
    const e: unknown[][] = [[], [], [], [], [], [], []];
    for (const p of stored) {
      const spanId = pgText(p.span.span_id);
      const rowid = rowids.get(spanId)!;
      for (const event of p.events) {
        const m = event.metric;
        e[0]!.push(spanId);
        e[1]!.push(rowid);
        e[2]!.push(pgText(event.name));
        e[3]!.push(int8(event.timestamp));
        e[4]!.push(event.attributesJson);
        e[5]!.push(
          m
            ? (series.get(`${pgText(m.name)}\u0000${pgText(m.unit)}\u0000${pgText(m.labels)}`) ??
                null)
            : null,
        );
        e[6]!.push(m ? (Number.isFinite(m.value) ? m.value : null) : null);
      }
    }
    if (e[0]!.length > 0) await run(this.#insertEvents, e);
  }
}
