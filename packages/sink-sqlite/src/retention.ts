/**
 * Deletes expired spans (and their attributes and events) in chunks, each its
 * own short transaction so writers in this or another process are never held
 * up for long; trace rows are deleted with their last span or recomputed.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { isLocalRootSql } from './roots.ts';
import type { Database } from './schema.ts';

/** Spans per deleting transaction: a few milliseconds of the event loop each. */
const CHUNK = 200;

/**
 * Runs one deleting transaction that returns how many spans it deleted (the
 * sink passes its SQLITE_BUSY retry and WAL checkpoint pacing).
 */
export type ChunkRunner = (chunk: () => number) => Promise<number>;

export interface RetentionResult {
  readonly deletedSpans: number;
}

export class Retention {
  readonly #selectExpired: BetterSqlite3.Statement;
  readonly #selectOldest: BetterSqlite3.Statement;
  readonly #countSpans: BetterSqlite3.Statement;
  readonly #deleteRest: BetterSqlite3.Statement[];
  readonly #clear: BetterSqlite3.Statement;
  readonly #deleteOrphanSeries: BetterSqlite3.Statement;
  readonly #purgeChunk: BetterSqlite3.Transaction<
    (select: BetterSqlite3.Statement, arg: number) => number
  >;

  constructor(raw: BetterSqlite3.Database, db: Kysely<Database>) {
    const prep = (q: RawBuilder<unknown>) => raw.prepare(q.compile(db).sql);
    // A connection-private table of the spans being deleted in this chunk.
    raw.exec(
      'create temp table if not exists doomed_spans (id integer primary key, trace_id text not null)',
    );
    this.#clear = prep(sql`delete from temp.doomed_spans`);
    this.#selectExpired = prep(
      sql`insert into temp.doomed_spans (id, trace_id)
          select id, trace_id from spans where expires_at <= ${0} order by expires_at limit ${sql.lit(CHUNK)}`,
    );
    this.#selectOldest = prep(
      sql`insert into temp.doomed_spans (id, trace_id) select id, trace_id from spans order by id limit ${0}`,
    );
    this.#countSpans = prep(sql`select count(*) from spans`).pluck();
    this.#deleteRest = [
      sql`delete from span_events where span_rowid in (select id from temp.doomed_spans)`,
      sql`delete from span_attributes where span_rowid in (select id from temp.doomed_spans)`,
      sql`delete from spans where id in (select id from temp.doomed_spans)`,
      sql`delete from traces where trace_id in (select trace_id from temp.doomed_spans)
          and not exists (select 1 from spans s where s.trace_id = traces.trace_id)`,
      sql`update traces set
            start_time = (select min(s.start_time) from spans s where s.trace_id = traces.trace_id),
            end_time = (select max(s.end_time) from spans s where s.trace_id = traces.trace_id),
            root_span_id = (select s.span_id from spans s where s.trace_id = traces.trace_id
              and ${isLocalRootSql('s')}
              order by s.parent_span_id is not null, s.start_time, s.span_id limit 1)
          where trace_id in (select trace_id from temp.doomed_spans)`,
    ].map(prep);
    this.#deleteOrphanSeries = prep(
      sql`delete from metric_series where not exists
          (select 1 from span_events e where e.series_id = metric_series.id)`,
    );
    this.#purgeChunk = raw.transaction((select: BetterSqlite3.Statement, arg: number) => {
      this.#clear.run();
      const n = select.run(arg).changes;
      if (n > 0) for (const s of this.#deleteRest) s.run();
      this.#clear.run();
      return n;
    });
  }

  /**
   * Deletes every span whose `expires_at` is at or before `nowMicros`, a
   * chunk per transaction, through `run` (the caller's busy retry), with the
   * event loop free between chunks.
   */
  async purgeExpired(nowMicros: number, run: ChunkRunner): Promise<RetentionResult> {
    let deleted = 0;
    for (;;) {
      const n = await run(() => this.#purgeChunk.immediate(this.#selectExpired, nowMicros));
      deleted += n;
      if (n < CHUNK) break;
      await yieldToEventLoop();
    }
    if (deleted > 0) await run(this.#deleteOrphans);
    return { deletedSpans: deleted };
  }

  /** Deletes the oldest-written spans past `maxSpans`; returns the count left. */
  async enforceCap(
    maxSpans: number,
    run: ChunkRunner,
  ): Promise<{ deletedSpans: number; remaining: number }> {
    let deleted = 0;
    let count = this.countSpans();
    while (count > maxSpans) {
      const excess = count - maxSpans;
      const n = await run(() =>
        this.#purgeChunk.immediate(this.#selectOldest, Math.min(CHUNK, excess)),
      );
      if (n === 0) break;
      deleted += n;
      count -= n;
      if (count > maxSpans) await yieldToEventLoop();
    }
    if (deleted > 0) await run(this.#deleteOrphans);
    return { deletedSpans: deleted, remaining: count };
  }

  /** Metric series no stored point uses any more; counts as no spans deleted. */
  readonly #deleteOrphans = (): number => {
    this.#deleteOrphanSeries.run();
    return 0;
  };

  countSpans(): number {
    return this.#countSpans.get() as number;
  }
}
