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
  /** Trace rows deleted with their last span. */
  readonly deletedTraces: number;
  /** Logs and metric events deleted with their spans. */
  readonly deletedEvents: number;
}

/** What one deleting transaction deleted. */
interface ChunkCounts {
  readonly spans: number;
  readonly traces: number;
  readonly events: number;
}

/** Counts of one retention run, added up chunk by chunk. */
class Tally {
  spans = 0;
  traces = 0;
  events = 0;
  add(c: ChunkCounts): number {
    this.spans += c.spans;
    this.traces += c.traces;
    this.events += c.events;
    return c.spans;
  }
  result(): RetentionResult {
    return { deletedSpans: this.spans, deletedTraces: this.traces, deletedEvents: this.events };
  }
}

export class Retention {
  readonly #selectExpired: BetterSqlite3.Statement;
  readonly #selectOldest: BetterSqlite3.Statement;
  readonly #selectEndedBefore: BetterSqlite3.Statement;
  readonly #countSpans: BetterSqlite3.Statement;
  readonly #deleteEvents: BetterSqlite3.Statement;
  readonly #deleteTraces: BetterSqlite3.Statement;
  readonly #deleteRest: BetterSqlite3.Statement[];
  readonly #clear: BetterSqlite3.Statement;
  readonly #deleteOrphanSeries: BetterSqlite3.Statement;
  readonly #purgeChunk: BetterSqlite3.Transaction<
    (select: BetterSqlite3.Statement, arg: number) => ChunkCounts
  >;

  constructor(raw: BetterSqlite3.Database, db: Kysely<Database>) {
    const prep = (q: RawBuilder<unknown>) => raw.prepare(q.compile(db).sql);
    // A connection-private table of the spans being deleted in this chunk
    // (whether each failed, so the trace's error count goes down by as many).
    raw.exec('drop table if exists temp.doomed_spans');
    raw.exec(
      'create temp table doomed_spans (id integer primary key, trace_id text not null, failed integer not null)',
    );
    this.#clear = prep(sql`delete from temp.doomed_spans`);
    this.#selectExpired = prep(
      sql`insert into temp.doomed_spans (id, trace_id, failed)
          select id, trace_id, status = 'error' from spans where expires_at <= ${0} order by expires_at limit ${sql.lit(CHUNK)}`,
    );
    this.#selectOldest = prep(
      sql`insert into temp.doomed_spans (id, trace_id, failed)
          select id, trace_id, status = 'error' from spans order by id limit ${0}`,
    );
    // Whole traces whose every span ended before the cutoff, oldest first,
    // through the trace start index (a trace starts before it ends).
    this.#selectEndedBefore = prep(
      sql`insert into temp.doomed_spans (id, trace_id, failed)
          select s.id, s.trace_id, s.status = 'error' from (select ${0} as t) as cutoff
            cross join traces as tr
            cross join spans as s
          where tr.start_time < cutoff.t and tr.end_time < cutoff.t and s.trace_id = tr.trace_id
          order by tr.start_time limit ${sql.lit(CHUNK)}`,
    );
    this.#countSpans = prep(sql`select count(*) from spans`).pluck();
    this.#deleteEvents = prep(
      sql`delete from span_events where span_rowid in (select id from temp.doomed_spans)`,
    );
    this.#deleteTraces = prep(
      sql`delete from traces where trace_id in (select trace_id from temp.doomed_spans)
          and not exists (select 1 from spans s where s.trace_id = traces.trace_id)`,
    );
    this.#deleteRest = [
      sql`delete from span_attributes where span_rowid in (select id from temp.doomed_spans)`,
      sql`delete from spans where id in (select id from temp.doomed_spans)`,
    ].map(prep);
    // Then the traces of deleted spans that still have spans are recomputed;
    // the counts go down by what was deleted (no second read of their spans).
    const doomedOf = (where: RawBuilder<unknown>) =>
      sql`(select count(*) from temp.doomed_spans d where d.trace_id = traces.trace_id and ${where})`;
    const recompute = [
      sql`update traces set
            start_time = (select min(s.start_time) from spans s where s.trace_id = traces.trace_id),
            end_time = (select max(s.end_time) from spans s where s.trace_id = traces.trace_id),
            span_count = max(0, span_count - ${doomedOf(sql`1`)}),
            error_count = max(0, error_count - ${doomedOf(sql`d.failed`)}),
            root_span_id = (select s.span_id from spans s where s.trace_id = traces.trace_id
              and ${isLocalRootSql('s')}
              order by s.parent_span_id is not null, s.start_time, s.span_id limit 1)
          where trace_id in (select trace_id from temp.doomed_spans)`,
      sql`update traces set root_name = (select s.name from spans s
            where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id)
          where trace_id in (select trace_id from temp.doomed_spans)`,
    ].map(prep);
    this.#deleteOrphanSeries = prep(
      sql`delete from metric_series where not exists
          (select 1 from span_events e where e.series_id = metric_series.id)`,
    );
    this.#purgeChunk = raw.transaction((select: BetterSqlite3.Statement, arg: number) => {
      this.#clear.run();
      const spans = select.run(arg).changes;
      let events = 0;
      let traces = 0;
      if (spans > 0) {
        events = this.#deleteEvents.run().changes;
        for (const s of this.#deleteRest) s.run();
        traces = this.#deleteTraces.run().changes;
        for (const statement of recompute) statement.run();
      }
      this.#clear.run();
      return { spans, traces, events };
    });
  }

  /**
   * Deletes every span whose `expires_at` is at or before `nowMicros`, a
   * chunk per transaction, through `run` (the caller's busy retry), with the
   * event loop free between chunks.
   */
  async purgeExpired(nowMicros: number, run: ChunkRunner): Promise<RetentionResult> {
    return this.#purgeAll(this.#selectExpired, nowMicros, run);
  }

  /**
   * Deletes every trace whose spans all ended before `cutoffMicros` (its
   * spans, attributes and events), a chunk per transaction.
   */
  async purgeEndedBefore(cutoffMicros: number, run: ChunkRunner): Promise<RetentionResult> {
    return this.#purgeAll(this.#selectEndedBefore, cutoffMicros, run);
  }

  async #purgeAll(
    select: BetterSqlite3.Statement,
    arg: number,
    run: ChunkRunner,
  ): Promise<RetentionResult> {
    const tally = new Tally();
    for (;;) {
      const n = await run(() => tally.add(this.#purgeChunk.immediate(select, arg)));
      if (n < CHUNK) break;
      await yieldToEventLoop();
    }
    if (tally.spans > 0) await run(this.#deleteOrphans);
    return tally.result();
  }

  /** Deletes the oldest-written spans past `maxSpans`; returns the count left. */
  async enforceCap(
    maxSpans: number,
    run: ChunkRunner,
  ): Promise<RetentionResult & { remaining: number }> {
    const tally = new Tally();
    let count = this.countSpans();
    while (count > maxSpans) {
      const excess = count - maxSpans;
      const n = await run(() =>
        tally.add(this.#purgeChunk.immediate(this.#selectOldest, Math.min(CHUNK, excess))),
      );
      if (n === 0) break;
      count -= n;
      if (count > maxSpans) await yieldToEventLoop();
    }
    if (tally.spans > 0) await run(this.#deleteOrphans);
    return { ...tally.result(), remaining: count };
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
