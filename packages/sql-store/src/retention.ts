/**
 * Deletes expired spans (and their attributes and events) in chunks, each its
 * own short transaction so writers in this or another process are never held
 * up for long; trace rows are deleted with their last span or recomputed.
 *
 * The statements are written once; the sink runs each chunk's statements in
 * one transaction (`RetentionRunner`). In PostgreSQL, writers keep going
 * during a chunk, so a chunk first locks the rows of the traces it touches
 * (in trace id order, as writers upsert them): a writer adding a span to one
 * of those traces waits for the chunk, and the chunk's later statements see
 * every span committed before it. The span a waiting writer is adding is not
 * seen, and its trace row is merged back by that writer's own upsert.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import type { StoreDialect } from './dialect.ts';
import type { QueryContext } from './query-context.ts';
import { isLocalRootSql } from './roots.ts';

/** Spans per deleting transaction: a few milliseconds each. */
export const RETENTION_CHUNK = 200;

/**
 * Runs statements in one transaction and answers how many rows each one
 * changed. SQLite: one IMMEDIATE transaction on the sink's connection;
 * PostgreSQL: a transaction on the connection that holds the temp table.
 */
export interface RetentionRunner {
  atomically(statements: readonly CompiledQuery[]): Promise<readonly number[]>;
  /** Told after each deleting transaction how many spans it deleted (pacing, such as WAL checkpoints). */
  deleted?(spans: number): void;
}

export interface RetentionResult {
  readonly deletedSpans: number;
  /** Trace rows deleted with their last span. */
  readonly deletedTraces: number;
  /** Logs and metric events deleted with their spans. */
  readonly deletedEvents: number;
}

/** Counts of one retention run, added up chunk by chunk. */
class Tally {
  spans = 0;
  traces = 0;
  events = 0;
  result(): RetentionResult {
    return { deletedSpans: this.spans, deletedTraces: this.traces, deletedEvents: this.events };
  }
}

/** How the spans of a chunk are chosen; `arg` is its one parameter. */
type Selector = (arg: number) => RawBuilder<unknown>;

export class Retention {
  readonly #ctx: QueryContext;
  readonly #db: Kysely<any>;
  readonly #dialect: StoreDialect;
  readonly #runner: RetentionRunner;
  readonly #doomed: RawBuilder<unknown>;

  constructor(ctx: QueryContext, runner: RetentionRunner) {
    this.#ctx = ctx;
    this.#db = ctx.db;
    this.#dialect = ctx.dialect;
    this.#runner = runner;
    // A connection-private table of the spans being deleted in this chunk
    // (whether each failed, so the trace's error count goes down by as many).
    this.#doomed = ctx.dialect.tempTable('doomed_spans');
  }

  #compile(query: RawBuilder<unknown>): CompiledQuery {
    return query.compile(this.#db);
  }

  /** The temp table, created once per connection (statements run before each run). */
  #setup(): CompiledQuery[] {
    const { int64, text } = this.#dialect.types;
    return [
      this.#db.schema
        .createTable('doomed_spans')
        .temporary()
        .ifNotExists()
        .addColumn('id', int64, (c) => c.primaryKey())
        .addColumn('trace_id', text, (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .compile(),
      this.#compile(sql`delete from ${this.#doomed}`),
    ];
  }

  readonly #failed = sql`case when status = 'error' then 1 else 0 end`;

  readonly #expired: Selector = (now) =>
    sql`insert into ${this.#doomed} (id, trace_id, failed)
        select id, trace_id, ${this.#failed} from spans
        where expires_at <= ${now} order by expires_at limit ${sql.lit(RETENTION_CHUNK)}`;

  readonly #oldest: Selector = (count) =>
    sql`insert into ${this.#doomed} (id, trace_id, failed)
        select id, trace_id, ${this.#failed} from spans order by id limit ${count}`;

  // Whole traces whose every span ended before the cutoff, oldest first,
  // through the trace start index (a trace starts before it ends).
  readonly #endedBefore: Selector = (cutoff) =>
    sql`insert into ${this.#doomed} (id, trace_id, failed)
        select s.id, s.trace_id, case when s.status = 'error' then 1 else 0 end
        from (select cast(${cutoff} as bigint) as t) as cutoff
          cross join traces as tr
          cross join spans as s
        where tr.start_time < cutoff.t and tr.end_time < cutoff.t and s.trace_id = tr.trace_id
        order by tr.start_time limit ${sql.lit(RETENTION_CHUNK)}`;

  /**
   * One chunk: choose the spans, delete them with their events and
   * attributes, delete emptied traces and recompute the others. Answers the
   * statements and where the counts are.
   */
  #chunk(select: RawBuilder<unknown>): { statements: CompiledQuery[]; at: ChunkIndexes } {
    const d = this.#dialect;
    const doomed = this.#doomed;
    const statements: CompiledQuery[] = [this.#compile(sql`delete from ${doomed}`)];
    const add = (q: RawBuilder<unknown>) => statements.push(this.#compile(q)) - 1;
    const spans = add(select);
    const lock = d.lockTracesOf(doomed);
    if (lock) add(lock);
    const events = add(sql`delete from span_events where span_rowid in (select id from ${doomed})`);
    add(sql`delete from span_attributes where span_rowid in (select id from ${doomed})`);
    add(sql`delete from spans where id in (select id from ${doomed})`);
    const traces = add(
      sql`delete from traces where trace_id in (select trace_id from ${doomed})
          and not exists (select 1 from spans s where s.trace_id = traces.trace_id)`,
    );
    // Then the traces of deleted spans that still have spans are recomputed;
    // the counts go down by what was deleted (no second read of their spans).
    const doomedOf = (where: RawBuilder<unknown>) =>
      sql`(select count(*) from ${doomed} d where d.trace_id = traces.trace_id and ${where})`;
    add(
      sql`update traces set
            start_time = (select min(s.start_time) from spans s where s.trace_id = traces.trace_id),
            end_time = (select max(s.end_time) from spans s where s.trace_id = traces.trace_id),
            span_count = ${d.greatest(sql`0`, sql`span_count - ${doomedOf(sql`1 = 1`)}`)},
            error_count = ${d.greatest(sql`0`, sql`error_count - ${doomedOf(sql`d.failed = 1`)}`)},
            root_span_id = (select s.span_id from spans s where s.trace_id = traces.trace_id
              and ${isLocalRootSql(d, 's')}
              order by s.parent_span_id is not null, s.start_time, s.span_id limit 1)
          where trace_id in (select trace_id from ${doomed})`,
    );
    add(
      sql`update traces set root_name = (select s.name from spans s
            where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id)
          where trace_id in (select trace_id from ${doomed})`,
    );
    add(sql`delete from ${doomed}`);
    return { statements, at: { spans, events, traces } };
  }

  /**
   * Deletes every span whose `expires_at` is at or before `nowMicros`, a
   * chunk per transaction, with the event loop free between chunks.
   */
  purgeExpired(nowMicros: number): Promise<RetentionResult> {
    return this.#purgeAll(this.#expired, nowMicros);
  }

  /**
   * Deletes every trace whose spans all ended before `cutoffMicros` (its
   * spans, attributes and events), a chunk per transaction.
   */
  purgeEndedBefore(cutoffMicros: number): Promise<RetentionResult> {
    return this.#purgeAll(this.#endedBefore, cutoffMicros);
  }

  async #runChunk(select: RawBuilder<unknown>, tally: Tally): Promise<number> {
    const { statements, at } = this.#chunk(select);
    const changes = await this.#runner.atomically(statements);
    const spans = changes[at.spans] ?? 0;
    tally.spans += spans;
    tally.events += changes[at.events] ?? 0;
    tally.traces += changes[at.traces] ?? 0;
    this.#runner.deleted?.(spans);
    return spans;
  }

  async #purgeAll(select: Selector, arg: number): Promise<RetentionResult> {
    const tally = new Tally();
    await this.#runner.atomically(this.#setup());
    for (;;) {
      const n = await this.#runChunk(select(arg), tally);
      if (n < RETENTION_CHUNK) break;
      await yieldToEventLoop();
    }
    if (tally.spans > 0) await this.#deleteOrphanSeries();
    return tally.result();
  }

  /** Deletes the oldest-written spans past `maxSpans`; returns the count left. */
  async enforceCap(maxSpans: number): Promise<RetentionResult & { remaining: number }> {
    const tally = new Tally();
    let count = await this.countSpans();
    if (count > maxSpans) await this.#runner.atomically(this.#setup());
    while (count > maxSpans) {
      const excess = count - maxSpans;
      const n = await this.#runChunk(this.#oldest(Math.min(RETENTION_CHUNK, excess)), tally);
      if (n === 0) break;
      count -= n;
      if (count > maxSpans) await yieldToEventLoop();
    }
    if (tally.spans > 0) await this.#deleteOrphanSeries();
    return { ...tally.result(), remaining: count };
  }

  /** Metric series no stored point uses any more (after the writers that may use them). */
  async #deleteOrphanSeries(): Promise<void> {
    const lock = this.#dialect.seriesLock('exclusive');
    await this.#runner.atomically([
      ...(lock ? [this.#compile(lock)] : []),
      this.#compile(
        sql`delete from metric_series where not exists
            (select 1 from span_events e where e.series_id = metric_series.id)`,
      ),
    ]);
  }

  async countSpans(): Promise<number> {
    const row = (
      await this.#ctx.all(this.#ctx.db.selectFrom('spans').select(sql<number>`count(*)`.as('n')))
    )[0];
    return Number(row?.n ?? 0);
  }
}

interface ChunkIndexes {
  readonly spans: number;
  readonly events: number;
  readonly traces: number;
}
