/**
 * One test suite for every trace store: the Llama Stack queries, the search
 * extensions, retention, hostile strings in every parameter a caller
 * supplies, and answers that do not depend on the time zone of the process
 * or of the database session. Each store's own tests call
 * `defineStoreSuite` with a subject that opens empty stores of its engine.
 */
import type { CompletedSpan, TelemetryError } from '@telemetry/core';
import type {
  DatasetWriter,
  TraceSearchStore,
  TraceStore,
  TraceStoreAdmin,
} from '@telemetry/core/sink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset, FOREVER, MS, metric, SECOND, sid, span, T0, tid } from './fixtures.ts';

/** What the suite needs of a store: the query interfaces, writing, retention, shutdown. */
export interface SuiteStore extends TraceStore, TraceSearchStore, TraceStoreAdmin {
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
  purgeExpired(): Promise<{ deletedSpans: number; deletedTraces: number; deletedEvents: number }>;
  shutdown(): Promise<void>;
}

export interface OpenedStore {
  readonly store: SuiteStore;
  /**
   * Another handle on the same data, as another process would open it; with
   * `timeZone`, the process (TZ) and the database session (where the engine
   * has one) run in that zone.
   */
  reopen(options?: { timeZone?: string }): Promise<SuiteStore>;
  /** Closes what `open` and `reopen` opened and removes the data. */
  destroy(): Promise<void>;
}

export interface StoreSubject {
  /** `sqlite`, `postgres`: in the test names. */
  readonly engine: string;
  /** A new, empty store (retention timer off, service name `unknown_service`). */
  open(): Promise<OpenedStore>;
  /**
   * A string as the engine stores it in its own columns (PostgreSQL text
   * cannot hold NUL, which becomes U+FFFD); identity where it is stored as given.
   */
  readonly textAsStored?: (value: string) => string;
}

/** Values injected into every string a caller supplies. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'; DROP TABLE spans; --",
  '" OR 1=1 --',
  "x' OR 'x'='x",
  '); DELETE FROM traces; --',
  '$1',
  '?',
  '%',
  '_',
  '\\',
  '\\x00',
  'a\0b',
  '[0]',
  '$.a',
  '*/ select 1 /*',
  'ünïcødé ✓ 🚀',
  '\u2028\u2029',
  ' ',
  'x'.repeat(900),
];

function memoryDatasetWriter() {
  const rows: Record<string, unknown>[] = [];
  const writer: DatasetWriter = {
    async appendRows(_datasetId, page) {
      rows.push(...page);
    },
  };
  return { rows, writer };
}

const traceIds = (traces: { trace_id: string }[]) => traces.map((t) => t.trace_id);

export function defineStoreSuite(subject: StoreSubject): void {
  describe(`store suite (${subject.engine})`, () => {
    let opened: OpenedStore;
    let store: SuiteStore;

    beforeAll(async () => {
      opened = await subject.open();
      store = opened.store;
      await store.writeSpans(dataset());
    });
    afterAll(async () => {
      await opened?.destroy();
    });

    describe('queryTraces', () => {
      it('lists traces whose local root has ended, oldest first, with ISO microsecond times', async () => {
        expect(await store.queryTraces()).toEqual([
          {
            trace_id: tid(1),
            root_span_id: sid(1),
            start_time: '2025-01-15T12:00:00.000000Z',
            end_time: '2025-01-15T12:00:00.010000Z',
          },
          {
            trace_id: tid(2),
            root_span_id: sid(11),
            start_time: '2025-01-15T12:00:01.000000Z',
            end_time: '2025-01-15T12:00:01.005000Z',
          },
          {
            trace_id: tid(4),
            root_span_id: sid(31),
            start_time: '2025-01-15T12:00:02.000000Z',
            end_time: '2025-01-15T12:00:02.001000Z',
          },
          {
            trace_id: tid(5),
            root_span_id: sid(41),
            start_time: '2025-01-15T12:00:03.000000Z',
            end_time: '2025-01-15T12:00:05.500000Z',
          },
        ]);
      });

      it('filters on the same span, by type: eq, ne, gt, lt, booleans, null, arrays', async () => {
        const q = async (
          filters: { key: string; op: 'eq' | 'ne' | 'gt' | 'lt'; value: unknown }[],
        ) => traceIds(await store.queryTraces({ attribute_filters: filters as never }));
        expect(await q([{ key: 'user', op: 'eq', value: 'alice' }])).toEqual([tid(1)]);
        expect(await q([{ key: 'user', op: 'ne', value: 'alice' }])).toEqual([
          tid(1),
          tid(2),
          tid(4),
        ]);
        expect(
          await q([
            { key: 'user', op: 'eq', value: 'alice' },
            { key: 'model', op: 'eq', value: 'llama' },
          ]),
        ).toEqual([tid(1)]);
        expect(
          await q([
            { key: 'user', op: 'eq', value: 'carol' },
            { key: 'model', op: 'eq', value: 'llama' },
          ]),
        ).toEqual([]);
        expect(await q([{ key: 'tokens', op: 'gt', value: 6 }])).toEqual([tid(1)]);
        expect(await q([{ key: 'tokens', op: 'lt', value: 6 }])).toEqual([tid(2)]);
        expect(await q([{ key: 'tokens', op: 'eq', value: '42' }])).toEqual([tid(2)]);
        expect(await q([{ key: 'tokens', op: 'eq', value: 42 }])).toEqual([tid(1)]);
        expect(await q([{ key: 'user', op: 'gt', value: 'bz' }])).toEqual([tid(2), tid(4)]);
        expect(await q([{ key: 'user', op: 'gt', value: 5 }])).toEqual([]);
        expect(await q([{ key: 'cached', op: 'eq', value: true }])).toEqual([tid(1)]);
        expect(await q([{ key: 'other', op: 'eq', value: true }])).toEqual([]);
        expect(await q([{ key: 'other', op: 'eq', value: 1 }])).toEqual([tid(5)]);
        expect(await q([{ key: 'ratio', op: 'lt', value: 0.75 }])).toEqual([tid(1)]);
        expect(await q([{ key: 'db', op: 'eq', value: null }])).toEqual([tid(1)]);
        expect(await q([{ key: 'tags', op: 'eq', value: ['a', 'b'] }])).toEqual([tid(1)]);
        expect(await q([{ key: 'tags', op: 'eq', value: ['b', 'a'] }])).toEqual([]);
        expect(await q([{ key: 'http.status', op: 'eq', value: 200 }])).toEqual([tid(1)]);
        expect(await q([{ key: 'a "b" [0]', op: 'eq', value: 'odd key' }])).toEqual([tid(1)]);
        expect(await q([{ key: 'missing', op: 'ne', value: 'x' }])).toEqual([]);
      });

      it('orders by any trace column, breaks ties by trace id, and pages', async () => {
        const all = await store.queryTraces({ order_by: ['-start_time'] });
        expect(traceIds(all)).toEqual([tid(5), tid(4), tid(2), tid(1)]);
        expect(traceIds(await store.queryTraces({ order_by: ['-end_time'], limit: 2 }))).toEqual([
          tid(5),
          tid(4),
        ]);
        expect(traceIds(await store.queryTraces({ limit: 2, offset: 1 }))).toEqual([
          tid(2),
          tid(4),
        ]);
        expect(traceIds(await store.queryTraces({ order_by: ['root_span_id'] }))).toEqual([
          tid(1),
          tid(2),
          tid(4),
          tid(5),
        ]);
      });

      it('answers a long string attribute exactly, with eq, gt and lt', async () => {
        const local = await subject.open();
        try {
          const long = `${'p'.repeat(9_000)}m`;
          await local.store.writeSpans([
            span({ trace_id: tid(61), span_id: sid(61), attributes: { prompt: long } }),
            span({
              trace_id: tid(62),
              span_id: sid(62),
              start_time: T0 + SECOND,
              attributes: { prompt: `${'p'.repeat(9_000)}z` },
            }),
          ]);
          const q = async (op: 'eq' | 'gt' | 'lt', value: string) =>
            traceIds(
              await local.store.queryTraces({ attribute_filters: [{ key: 'prompt', op, value }] }),
            );
          expect(await q('eq', long)).toEqual([tid(61)]);
          expect(await q('gt', long)).toEqual([tid(62)]);
          expect(await q('lt', `${'p'.repeat(9_000)}n`)).toEqual([tid(61)]);
          expect(await q('eq', 'p'.repeat(9_000))).toEqual([]);
          expect(await q('gt', 'p'.repeat(9_000))).toEqual([tid(61), tid(62)]);
        } finally {
          await local.destroy();
        }
      });
    });

    describe('getTrace, getSpan, getSpanTree', () => {
      it('finds a trace and a span in its own trace only', async () => {
        expect((await store.getTrace(tid(2))).root_span_id).toBe(sid(11));
        await expect(store.getTrace(tid(3))).rejects.toMatchObject({ code: 'TELEMETRY_NOT_FOUND' });
        const s = await store.getSpan(tid(1), sid(2));
        expect(s).toEqual({
          span_id: sid(2),
          trace_id: tid(1),
          parent_span_id: sid(1),
          name: 'llm',
          start_time: '2025-01-15T12:00:00.001000Z',
          end_time: '2025-01-15T12:00:00.008000Z',
          attributes: { user: 'bob', tokens: 7, model: 'llama' },
        });
        await expect(store.getSpan(tid(2), sid(2))).rejects.toMatchObject({
          code: 'TELEMETRY_NOT_FOUND',
        });
      });

      it('walks a tree by depth then start, with projected attributes and max_depth', async () => {
        const tree = await store.getSpanTree(sid(1), { attributes_to_return: ['user', 'nope'] });
        expect(Object.keys(tree)).toEqual([sid(1), sid(2), sid(3)]);
        expect(tree[sid(2)]).toMatchObject({
          status: 'error',
          attributes: { user: 'bob', nope: null },
        });
        expect(tree[sid(1)]).not.toHaveProperty('parent_span_id');
        expect(Object.keys(await store.getSpanTree(sid(1), { max_depth: 2 }))).toEqual([
          sid(1),
          sid(2),
        ]);
        expect(Object.keys(await store.getSpanTree(sid(2)))).toEqual([sid(2), sid(3)]);
        await expect(store.getSpanTree(sid(999))).rejects.toMatchObject({
          code: 'TELEMETRY_NOT_FOUND',
        });
      });
    });

    describe('querySpans and saveSpansToDataset', () => {
      it('walks the matching traces from their roots, keeping spans that carry every key asked for', async () => {
        const spans = await store.querySpans({
          attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }],
          attributes_to_return: ['user'],
        });
        expect(spans.map((s) => [s.span_id, s.attributes])).toEqual([
          [sid(1), { user: 'alice' }],
          [sid(2), { user: 'bob' }],
          [sid(3), { user: 'alice' }],
        ]);
        const paged = await store.querySpans({
          attribute_filters: [{ key: 'tokens', op: 'gt', value: 0 }],
          attributes_to_return: [],
          max_depth: 1,
          limit: 1,
          offset: 1,
        });
        expect(paged.map((s) => s.span_id)).toEqual([sid(11)]);
      });

      it('appends the rows of those spans through a dataset writer', async () => {
        const { rows, writer } = memoryDatasetWriter();
        await store.saveSpansToDataset(
          {
            attribute_filters: [{ key: 'user', op: 'eq', value: 'carol' }],
            attributes_to_save: ['tokens'],
            dataset_id: 'd1',
          },
          writer,
        );
        expect(rows).toEqual([
          {
            trace_id: tid(2),
            span_id: sid(11),
            parent_span_id: null,
            name: 'GET /health',
            start_time: '2025-01-15T12:00:01.000000Z',
            end_time: '2025-01-15T12:00:01.005000Z',
            tokens: 5,
          },
          {
            trace_id: tid(2),
            span_id: sid(12),
            parent_span_id: sid(11),
            name: 'check',
            start_time: '2025-01-15T12:00:01.001000Z',
            end_time: '2025-01-15T12:00:01.002000Z',
            tokens: '42',
          },
        ]);
      });
    });

    describe('queryMetrics', () => {
      const start = T0 / SECOND - 60;
      const end = T0 / SECOND + 4 * 3600;

      it('answers one series per label set, raw points or sums per epoch-aligned bucket', async () => {
        const raw = await store.queryMetrics('latency', {
          query_type: 'range',
          start_time: start,
          end_time: end,
        });
        expect(raw).toEqual([
          {
            metric: 'latency',
            labels: [{ name: 'region', value: 'eu' }],
            values: [
              { timestamp: T0 / SECOND, value: 5, unit: 'ms' },
              { timestamp: T0 / SECOND + 1800, value: 7, unit: 'ms' },
              { timestamp: T0 / SECOND + 3900, value: 11, unit: 'ms' },
            ],
          },
          {
            metric: 'latency',
            labels: [{ name: 'region', value: 'us' }],
            values: [{ timestamp: T0 / SECOND + 10_800, value: 13, unit: 'ms' }],
          },
        ]);
        const hourly = await store.queryMetrics('latency', {
          query_type: 'range',
          start_time: start,
          end_time: end,
          granularity: '1h',
        });
        expect(
          hourly.map((s) => s.values.map((v) => [v.timestamp - T0 / SECOND, v.value])),
        ).toEqual([
          [
            [0, 12],
            [3600, 11],
          ],
          [[10_800, 13]],
        ]);
        const daily = await store.queryMetrics('latency', {
          query_type: 'range',
          start_time: start,
          end_time: end,
          granularity: '1d',
        });
        // Buckets of a UTC day: 2025-01-15T00:00:00Z, whatever the zone.
        expect(daily.map((s) => s.values)).toEqual([
          [{ timestamp: Date.UTC(2025, 0, 15) / 1000, value: 23, unit: 'ms' }],
          [{ timestamp: Date.UTC(2025, 0, 15) / 1000, value: 13, unit: 'ms' }],
        ]);
        const instant = await store.queryMetrics('tokens', {
          query_type: 'instant',
          start_time: start,
          end_time: end,
        });
        expect(instant).toEqual([
          {
            metric: 'tokens',
            labels: [{ name: 'model', value: 'gpt' }],
            values: [{ timestamp: end, value: 3, unit: 'tokens' }],
          },
          {
            metric: 'tokens',
            labels: [{ name: 'model', value: 'llama' }],
            values: [{ timestamp: end, value: 7, unit: 'tokens' }],
          },
        ]);
      });

      it('matches labels with =, !=, =~ and !~ (anchored RE2)', async () => {
        const labels = async (
          matchers: { name: string; operator: '=' | '!=' | '=~' | '!~'; value: string }[],
        ) =>
          (
            await store.queryMetrics('latency', {
              query_type: 'instant',
              start_time: start,
              end_time: end,
              label_matchers: matchers,
            })
          ).map((s) => s.labels[0]!.value);
        expect(await labels([{ name: 'region', operator: '=', value: 'eu' }])).toEqual(['eu']);
        expect(await labels([{ name: 'region', operator: '!=', value: 'eu' }])).toEqual(['us']);
        expect(await labels([{ name: 'region', operator: '=~', value: 'e|u' }])).toEqual([]);
        expect(await labels([{ name: 'region', operator: '=~', value: 'e.|x' }])).toEqual(['eu']);
        expect(await labels([{ name: 'region', operator: '!~', value: 'u.*' }])).toEqual(['eu']);
      });
    });

    describe('search extensions', () => {
      it('searches newest first by service, root name, status, duration and time', async () => {
        const ids = async (params: Parameters<SuiteStore['searchTraces']>[0]) =>
          traceIds((await store.searchTraces(params)).traces);
        expect(await ids({})).toEqual([tid(5), tid(4), tid(2), tid(1)]);
        expect(await ids({ service: 'gateway' })).toEqual([tid(1)]);
        expect(await ids({ name: 'nightly' })).toEqual([tid(5)]);
        expect(await ids({ status: 'error' })).toEqual([tid(1)]);
        expect(await ids({ status: 'ok' })).toEqual([tid(5), tid(4), tid(2)]);
        expect(await ids({ min_duration_ms: 10 })).toEqual([tid(5), tid(1)]);
        expect(await ids({ max_duration_ms: 5 })).toEqual([tid(4), tid(2)]);
        expect(
          await ids({ start: '2025-01-15T12:00:01Z', end: '2025-01-15T13:00:02.5+01:00' }),
        ).toEqual([tid(4), tid(2)]);
        expect(
          await ids({
            attribute_filters: [{ key: 'user', op: 'eq', value: 'dave' }],
            status: 'ok',
          }),
        ).toEqual([tid(4)]);
        const first = (await store.searchTraces({ service: 'gateway' })).traces[0];
        expect(first).toEqual({
          trace_id: tid(1),
          root_span_id: sid(1),
          root_name: 'POST /chat',
          service_name: 'gateway',
          start_time: '2025-01-15T12:00:00.000000Z',
          end_time: '2025-01-15T12:00:00.010000Z',
          duration_ms: 10,
          span_count: 3,
          error_count: 1,
        });
      });

      it('pages with a stable cursor and polls with the live cursor', async () => {
        const page1 = await store.searchTraces({ limit: 3 });
        expect(traceIds(page1.traces)).toEqual([tid(5), tid(4), tid(2)]);
        const page2 = await store.searchTraces({ limit: 3, cursor: page1.next_cursor! });
        expect(traceIds(page2.traces)).toEqual([tid(1)]);
        expect(page2.next_cursor).toBeNull();
        const poll = await store.searchTraces({ newer_than: page1.live_cursor });
        expect(poll.traces).toEqual([]);
        await expect(store.searchTraces({ cursor: page1.live_cursor })).rejects.toMatchObject({
          code: 'TELEMETRY_INVALID_INPUT',
        });
      });

      it("answers a trace with its spans, logs and metric events, and one span's events", async () => {
        const detail = await store.getTraceDetail(tid(1));
        expect(detail.spans.map((s) => [s.span_id, s.service_name, s.kind, s.status])).toEqual([
          [sid(1), 'gateway', 'server', 'ok'],
          [sid(2), 'gateway', 'client', 'error'],
          [sid(3), 'gateway', 'internal', 'ok'],
        ]);
        expect(detail.spans[1]!.status_message).toBe('rate limited');
        expect(detail.logs).toEqual([
          {
            span_id: sid(2),
            timestamp: '2025-01-15T12:00:00.002000Z',
            severity: 'warn',
            message: 'calling the model',
            attributes: { attempt: 1 },
          },
        ]);
        expect(detail.metrics.map((m) => [m.metric, m.value, m.labels])).toEqual([
          ['latency', 5, { region: 'eu' }],
          ['tokens', 7, { model: 'llama' }],
          ['tokens', 3, { model: 'gpt' }],
          ['latency', 7, { region: 'eu' }],
          ['latency', 11, { region: 'eu' }],
          ['latency', 13, { region: 'us' }],
        ]);
        const events = await store.getSpanEvents(tid(1), sid(2), { limit: 2 });
        expect([events.logs.length, events.metrics.length, events.truncated]).toEqual([1, 1, true]);
        await expect(store.getSpanEvents(tid(2), sid(2))).rejects.toMatchObject({
          code: 'TELEMETRY_NOT_FOUND',
        });
      });

      it('suggests distinct values in byte order, prefixes taken literally', async () => {
        expect((await store.suggest({ field: 'service' })).values).toEqual([
          'batch',
          'gateway',
          'unknown_service',
        ]);
        expect((await store.suggest({ field: 'span_name', service: 'gateway' })).values).toEqual([
          'POST /chat',
        ]);
        expect((await store.suggest({ field: 'span_name' })).values).toEqual([
          'GET /health',
          'POST /chat',
          'continued',
          'nightly',
        ]);
        expect((await store.suggest({ field: 'attribute_key', prefix: 't' })).values).toEqual([
          'tags',
          'tokens',
        ]);
        expect((await store.suggest({ field: 'attribute_key', prefix: '_' })).values).toEqual([
          '__local_root_span__',
          '__root__',
        ]);
        expect((await store.suggest({ field: 'attribute_key', prefix: '%' })).values).toEqual([]);
        expect(await store.suggest({ field: 'metric_name', limit: 1 })).toEqual({
          values: ['latency'],
          truncated: true,
        });
      });

      it('tails spans in write order and counts the store', async () => {
        const newest = await store.tailSpans({ limit: 2 });
        expect(newest.spans.map((s) => s.span_id)).toEqual([sid(32), sid(41)]);
        const end = await store.tailSpans({ limit: 0 });
        expect(end.spans).toEqual([]);
        expect(await store.tailSpans({ cursor: newest.cursor })).toEqual({
          spans: [],
          cursor: newest.cursor,
          more: false,
        });
        const stats = await store.storeStats();
        expect(stats).toMatchObject({
          traces: 5,
          spans: 9,
          logs: 1,
          metric_points: 6,
          metric_series: 4,
          oldest: '2025-01-15T12:00:00.000000Z',
          newest: '2025-01-15T12:00:03.000000Z',
          services_truncated: false,
        });
        expect(stats.size_bytes).toBeGreaterThan(0);
        expect(
          stats.services.map((s) => [s.service_name, s.traces, s.spans, s.error_traces]),
        ).toEqual([
          ['unknown_service', 3, 5, 0],
          ['batch', 1, 1, 0],
          ['gateway', 1, 3, 1],
        ]);
      });

      it('tails what another handle writes, once each, in order', async () => {
        const local = await subject.open();
        try {
          const other = await local.reopen();
          const start = await local.store.tailSpans({ limit: 0 });
          const seen: string[] = [];
          let cursor = start.cursor;
          const poll = async () => {
            for (;;) {
              const page = await local.store.tailSpans({ cursor, limit: 7 });
              seen.push(...page.spans.map((s) => s.span_id));
              cursor = page.cursor;
              if (!page.more) break;
            }
          };
          for (let batch = 0; batch < 5; batch++) {
            await other.writeSpans(
              Array.from({ length: 30 }, (_, i) =>
                span({ trace_id: tid(100 + batch), span_id: sid(1000 + batch * 30 + i) }),
              ),
            );
            await poll();
          }
          // A store may show a span once every transaction older than its own has
          // ended (PostgreSQL): poll until all are there, or a generous deadline.
          for (const deadline = Date.now() + 10_000; seen.length < 150 && Date.now() < deadline; ) {
            await new Promise((r) => setTimeout(r, 20));
            await poll();
          }
          expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => sid(1000 + i)));
        } finally {
          await local.destroy();
        }
      });
    });

    describe('retention and prune', () => {
      it('deletes expired spans with their events, and prunes by age and count', async () => {
        const local = await subject.open();
        try {
          const now = Date.now() * 1000;
          await local.store.writeSpans([
            span({
              trace_id: tid(71),
              span_id: sid(71),
              start_time: now - 10 * SECOND,
              end_time: now - 9 * SECOND,
              ttl_seconds: 1,
              events: [metric({ trace_id: tid(71), span_id: sid(71) }, 'm', 1, now - 9 * SECOND)],
            }),
            span({
              trace_id: tid(72),
              span_id: sid(72),
              start_time: now,
              end_time: now + 1,
              ttl_seconds: FOREVER,
            }),
            span({
              trace_id: tid(72),
              span_id: sid(73),
              parent_span_id: sid(72),
              start_time: now + 2,
              end_time: now + 3,
            }),
            span({ trace_id: tid(73), span_id: sid(74), start_time: T0, end_time: T0 + 1 }),
          ]);
          expect(await local.store.purgeExpired()).toEqual({
            deletedSpans: 1,
            deletedTraces: 1,
            deletedEvents: 1,
          });
          expect(traceIds(await local.store.queryTraces())).toEqual([tid(73), tid(72)]);
          const pruned = await local.store.prune({ older_than: new Date(now / 1000 - 1000) });
          expect(pruned).toMatchObject({ deleted_traces: 1, deleted_spans: 1, deleted_events: 0 });
          const capped = await local.store.prune({ keep_spans: 1, vacuum: true });
          expect(capped).toMatchObject({ deleted_spans: 1, vacuumed: true });
          expect(traceIds(await local.store.queryTraces())).toEqual([]);
          expect((await local.store.storeStats()).spans).toBe(1);
          expect((await local.store.suggest({ field: 'metric_name' })).values).toEqual([]);
        } finally {
          await local.destroy();
        }
      });
    });

    describe('hostile strings in every parameter a caller supplies', () => {
      let local: OpenedStore;
      beforeAll(async () => {
        local = await subject.open();
        await local.store.writeSpans(
          HOSTILE_STRINGS.map((value, i) =>
            span({
              trace_id: tid(200 + i),
              span_id: sid(200 + i),
              name: value,
              start_time: T0 + i * SECOND,
              end_time: T0 + i * SECOND + MS,
              attributes: { [value]: value, 'service.name': value },
              events: [
                metric(
                  { trace_id: tid(200 + i), span_id: sid(200 + i) },
                  value,
                  i,
                  T0 + i * SECOND,
                  { [value]: value },
                ),
              ],
            }),
          ),
        );
      });
      afterAll(async () => {
        await local?.destroy();
      });

      it('finds exactly the span that holds each value, and the tables stay whole', async () => {
        const s = local.store;
        for (const [i, value] of HOSTILE_STRINGS.entries()) {
          const filter = [{ key: value, op: 'eq' as const, value }];
          expect(traceIds(await s.queryTraces({ attribute_filters: filter })), value).toEqual([
            tid(200 + i),
          ]);
          expect(
            (await s.querySpans({ attribute_filters: filter, attributes_to_return: [value] })).map(
              (x) => x.attributes?.[value],
            ),
            value,
          ).toEqual([value]);
          expect(
            Object.keys(await s.getSpanTree(sid(200 + i), { attributes_to_return: [value] })),
          ).toEqual([sid(200 + i)]);
          const series = await s.queryMetrics(value, {
            query_type: 'instant',
            start_time: T0 / SECOND - 1,
            end_time: T0 / SECOND + HOSTILE_STRINGS.length + 1,
            label_matchers: [
              { name: value, operator: '=', value },
              { name: value, operator: '!=', value: `${value}!` },
            ],
          });
          expect(
            series.map((x) => x.values[0]!.value),
            value,
          ).toEqual([i]);
          expect(
            traceIds((await s.searchTraces({ service: value, name: value })).traces),
            value,
          ).toEqual([tid(200 + i)]);
          const stored = subject.textAsStored?.(value) ?? value;
          expect(
            (await s.suggest({ field: 'service', prefix: value, limit: 1000 })).values,
            value,
          ).toContain(stored);
          expect(
            (await s.suggest({ field: 'attribute_key', prefix: value })).values,
            value,
          ).toContain(stored);
          expect((await s.suggest({ field: 'span_name', service: value })).values, value).toEqual([
            stored,
          ]);
          // Other operators answer (nothing injected); gt/lt of a string key never see numbers.
          await s.queryTraces({ attribute_filters: [{ key: value, op: 'ne', value }] });
          await s.queryTraces({ attribute_filters: [{ key: value, op: 'gt', value }] });
          await s.queryTraces({
            attribute_filters: [{ key: value, op: 'lt', value }],
            order_by: ['-trace_id'],
          });
        }
        const stats = await s.storeStats();
        expect([stats.traces, stats.spans, stats.metric_points]).toEqual([
          HOSTILE_STRINGS.length,
          HOSTILE_STRINGS.length,
          HOSTILE_STRINGS.length,
        ]);
      });

      it('refuses hostile ids, cursors and order fields with a validation error', async () => {
        const s = local.store;
        for (const value of HOSTILE_STRINGS) {
          const invalid = { code: 'TELEMETRY_INVALID_INPUT' };
          await expect(s.getTrace(value)).rejects.toMatchObject(invalid);
          await expect(s.getSpanTree(value)).rejects.toMatchObject(invalid);
          await expect(s.queryTraces({ order_by: [value] })).rejects.toMatchObject(invalid);
          await expect(s.searchTraces({ cursor: value })).rejects.toMatchObject(invalid);
          await expect(s.tailSpans({ cursor: value })).rejects.toMatchObject(invalid);
        }
        expect((await s.storeStats()).spans).toBe(HOSTILE_STRINGS.length);
      });
    });

    describe('time zones', () => {
      it('answers the same whatever the zone of the process and of the database session', async () => {
        const ask = async (s: SuiteStore) => ({
          traces: await s.queryTraces({ order_by: ['-start_time'] }),
          tree: await s.getSpanTree(sid(1)),
          hourly: await s.queryMetrics('latency', {
            query_type: 'range',
            start_time: T0 / SECOND - 7200,
            end_time: T0 / SECOND + 86_400,
            granularity: '1h',
          }),
          daily: await s.queryMetrics('latency', {
            query_type: 'range',
            start_time: T0 / SECOND - 86_400,
            end_time: T0 / SECOND + 86_400,
            granularity: '1d',
          }),
          search: await s.searchTraces({
            start: '2025-01-15T12:00:01Z',
            end: new Date(T0 / 1000 + 2500),
          }),
          detail: await s.getTraceDetail(tid(1)),
          stats: { ...(await s.storeStats()), size_bytes: 0 },
        });
        const utc = await ask(store);
        const before = process.env.TZ;
        try {
          for (const timeZone of ['Pacific/Chatham', 'America/St_Johns', 'Asia/Kathmandu']) {
            const zoned = await opened.reopen({ timeZone });
            const answers = await ask(zoned);
            expect({ ...answers, search: { ...answers.search, live_cursor: '' } }).toEqual({
              ...utc,
              search: { ...utc.search, live_cursor: '' },
            });
          }
        } finally {
          if (before === undefined) delete process.env.TZ;
          else process.env.TZ = before;
        }
      });
    });

    describe('validation', () => {
      it('refuses bad parameters the same way, naming every field', async () => {
        const error = (await store
          .queryMetrics('', { query_type: 'range', start_time: 10, end_time: 5, granularity: '1h' })
          .catch((e) => e)) as TelemetryError & { issues: { path: string }[] };
        expect(error.code).toBe('TELEMETRY_INVALID_INPUT');
        expect(error.issues.map((i) => i.path)).toEqual(['metric_name', 'start_time']);
      });
    });
  });
}
