/**
 * Reads a SQLite store file directly, as an auditor would: counts, integrity,
 * and the parent links of every span. Opened read-only, so that reading
 * never changes what a test inspects (a WAL left by a killed writer is read
 * as SQLite recovers it).
 */
import Sqlite from 'better-sqlite3';

export interface StoreAudit {
  readonly integrity: string;
  readonly spans: number;
  readonly distinctSpans: number;
  readonly traces: number;
  /** Spans whose parent is in another trace. */
  readonly crossTraceParents: number;
  /** Spans with a parent id that is no span of their trace, that are not marked as a local root. */
  readonly orphans: number;
  /** Spans with a parent id that is no span of their trace (a remote parent, or an orphan). */
  readonly parentsOutsideTrace: number;
  /** Span rows whose trace has no trace row. */
  readonly spansWithoutTrace: number;
  /** Trace rows whose span count is not the number of their span rows. */
  readonly traceCountMismatches: number;
}

export function auditStore(
  path: string,
  options: { readonly readOnly?: boolean } = {},
): StoreAudit {
  // A file left by a killed process may have a WAL to recover: that needs write access.
  const db = new Sqlite(path, { readonly: options.readOnly ?? true, fileMustExist: true });
  try {
    const one = (sql: string) => Number(Object.values(db.prepare(sql).get() as object)[0]);
    return {
      integrity: (db.pragma('integrity_check', { simple: true }) as string) ?? '',
      spans: one('select count(*) from spans'),
      distinctSpans: one('select count(distinct trace_id || span_id) from spans'),
      traces: one('select count(*) from traces'),
      crossTraceParents: one(
        `select count(*) from spans s where s.parent_span_id is not null
           and not exists (select 1 from spans p where p.trace_id = s.trace_id and p.span_id = s.parent_span_id)
           and exists (select 1 from spans p where p.span_id = s.parent_span_id)`,
      ),
      orphans: one(
        `select count(*) from spans s where s.parent_span_id is not null
           and not exists (select 1 from spans p where p.trace_id = s.trace_id and p.span_id = s.parent_span_id)
           and not exists (select 1 from span_attributes a where a.span_rowid = s.id
                             and a.key in ('__root__', '__root_span__', '__local_root_span__'))`,
      ),
      parentsOutsideTrace: one(
        `select count(*) from spans s where s.parent_span_id is not null
           and not exists (select 1 from spans p where p.trace_id = s.trace_id and p.span_id = s.parent_span_id)`,
      ),
      spansWithoutTrace: one(
        'select count(*) from spans s where not exists (select 1 from traces t where t.trace_id = s.trace_id)',
      ),
      traceCountMismatches: one(
        'select count(*) from traces t where t.span_count != (select count(*) from spans s where s.trace_id = t.trace_id)',
      ),
    };
  } finally {
    db.close();
  }
}

/** Events a store holds: each span's start and end, and its logs and metric events. */
export function storedEvents(path: string): number {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    const spans = Number(db.prepare('select count(*) as n from spans').pluck().get());
    const events = Number(db.prepare('select count(*) as n from span_events').pluck().get());
    return 2 * spans + events;
  } finally {
    db.close();
  }
}
