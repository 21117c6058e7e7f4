import type Sqlite from 'better-sqlite3';

/** Boolean `value_type` in `span_attributes` (ValueType.boolean), as stored on disk. */
const BOOLEAN = 3;

export interface RawSpan {
  readonly id?: number;
  readonly span_id: unknown;
  readonly trace_id: unknown;
  readonly parent_span_id?: unknown;
  readonly name?: unknown;
  readonly start_time?: unknown;
  readonly end_time?: unknown;
  /** Stored as given when a string (any text at all), else JSON-encoded. */
  readonly attributes?: unknown;
  readonly status?: unknown;
  /** Also write `__root__ = true` into the attribute index, as the writer would. */
  readonly markedRoot?: boolean;
}

/**
 * Writes a span row straight into the file, bypassing the sink: what an older
 * version, another program or a hand edit could leave there. Values go in as
 * given, so a column can hold any type SQLite keeps.
 */
export function insertRawSpan(db: Sqlite.Database, s: RawSpan): number {
  const info = db
    .prepare(
      `insert into spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind, status_message, expires_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, 'internal', null, 9000000000000000000)`,
    )
    .run(
      s.span_id,
      s.trace_id,
      s.parent_span_id ?? null,
      s.name ?? 'raw',
      s.start_time ?? 1_736_942_400_000_000,
      s.end_time ?? 1_736_942_400_001_000,
      typeof s.attributes === 'string' || s.attributes instanceof Buffer
        ? s.attributes
        : JSON.stringify(s.attributes ?? {}),
      s.status ?? 'ok',
    );
  const rowid = Number(info.lastInsertRowid);
  if (s.markedRoot) {
    db.prepare(
      'insert into span_attributes (span_rowid, key, value_type, value) values (?, ?, ?, 1)',
    ).run(rowid, '__root__', BOOLEAN);
  }
  return rowid;
}

/** Writes (or replaces) a trace row as given. */
export function insertRawTrace(
  db: Sqlite.Database,
  t: { trace_id: unknown; root_span_id: unknown; start_time?: unknown; end_time?: unknown },
): void {
  db.prepare(
    `insert or replace into traces (trace_id, service_name, root_span_id, start_time, end_time)
     values (?, 'raw', ?, ?, ?)`,
  ).run(
    t.trace_id,
    t.root_span_id,
    t.start_time ?? 1_736_942_400_000_000,
    t.end_time ?? 1_736_942_400_001_000,
  );
}
