/** The sink as a user meets it: behind core's createTelemetry and tracing helpers. */
import { join } from 'node:path';
import { createTelemetry, generateSpanId, generateTraceId } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './test-support/fixtures.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('through createTelemetry', () => {
  it('stores what the tracing helpers record and answers the query API', async () => {
    const path = join(tmp.dir, 'app', 'telemetry.db');
    const sink = createSqliteSink({ path, serviceName: 'shop', retentionIntervalMs: 0 });
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    const logger = telemetry.createLogger('checkout');
    const before = Math.floor(Date.now() / 1000);

    const ids = await telemetry.withTrace(
      'POST /checkout',
      async (root) => {
        root.setAttribute('user.id', 'u-42');
        await telemetry.withSpan('charge card', async (span) => {
          span.metric('amount', 12.5, 'usd', { currency: 'eur' });
          logger.info('charging', { attempt: 1 });
        });
        await telemetry
          .withSpan('send email', async () => {
            throw new TypeError('smtp down');
          })
          .catch(() => {});
        return { trace_id: root.trace_id, span_id: root.span_id };
      },
      { attributes: { route: '/checkout' } },
    );
    expect(await telemetry.flush()).toBe(true);

    const traces = await telemetry.queryTraces({
      attribute_filters: [{ key: 'user.id', op: 'eq', value: 'u-42' }],
    });
    expect(traces.map((t) => [t.trace_id, t.root_span_id])).toEqual([[ids.trace_id, ids.span_id]]);

    const tree = await telemetry.getSpanTree(ids.span_id, {
      attributes_to_return: ['route', 'error.type'],
    });
    expect(Object.values(tree).map((s) => [s.name, s.status, s.attributes])).toEqual([
      ['POST /checkout', 'ok', { route: '/checkout', 'error.type': null }],
      ['charge card', 'ok', { route: null, 'error.type': null }],
      ['send email', 'error', { route: null, 'error.type': 'TypeError' }],
    ]);
    expect(Object.values(tree).every((s) => s.trace_id === ids.trace_id)).toBe(true);

    const metrics = await telemetry.queryMetrics('amount', {
      query_type: 'instant',
      start_time: before,
      end_time: Math.floor(Date.now() / 1000) + 1,
    });
    expect(metrics.map((m) => [m.labels, m.values.map((v) => [v.value, v.unit])])).toEqual([
      [[{ name: 'currency', value: 'eur' }], [[12.5, 'usd']]],
    ]);

    const stats = telemetry.stats().sinks.sqlite!;
    expect(stats).toMatchObject({ failed: 0, pending: 0, dropped: {} });
    await telemetry.shutdown();

    const db = new Sqlite(path, { readonly: true });
    try {
      expect(db.prepare('select service_name from traces').pluck().all()).toEqual(['shop']);
      const log = db
        .prepare("select attributes from span_events where name = 'unstructured_log'")
        .pluck()
        .get() as string;
      expect(JSON.parse(log)).toMatchObject({ message: 'charging', severity: 'info', attempt: 1 });
    } finally {
      db.close();
    }
    // shutdown() of the pipeline closed the sink.
    await expect(sink.queryTraces()).rejects.toThrow('shut down');
  });

  it('stores events logged directly in Llama Stack form, with their ttl_seconds', async () => {
    const path = join(tmp.dir, 'direct.db');
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    const trace_id = generateTraceId();
    const span_id = generateSpanId();
    const common = { trace_id, span_id, attributes: { __root__: true } };
    telemetry.logEvent({
      event: {
        ...common,
        type: 'structured_log',
        timestamp: '2026-01-01T00:00:00.000040Z',
        payload: { type: 'span_start', name: 'job' },
      },
      ttl_seconds: 3600,
    });
    telemetry.logEvent({
      event: {
        trace_id,
        span_id,
        type: 'metric',
        timestamp: '2026-01-01T00:00:00.5Z',
        metric: 'rows',
        value: 3,
        unit: 'row',
      },
    });
    telemetry.logEvent({
      event: {
        ...common,
        type: 'structured_log',
        timestamp: '2026-01-01T00:00:01.000080Z',
        payload: { type: 'span_end', status: 'ok' },
      },
      ttl_seconds: 3600,
    });
    await telemetry.flush();
    expect(await telemetry.getTrace(trace_id)).toEqual({
      trace_id,
      root_span_id: span_id,
      start_time: '2026-01-01T00:00:00.000040Z',
      end_time: '2026-01-01T00:00:01.000080Z',
    });
    const [series] = await telemetry.queryMetrics('rows', {
      query_type: 'range',
      start_time: Date.UTC(2026, 0, 1) / 1000,
      end_time: Date.UTC(2026, 0, 1) / 1000 + 60,
    });
    expect(series!.values).toEqual([
      { timestamp: Date.UTC(2026, 0, 1) / 1000, value: 3, unit: 'row' },
    ]);
    const db = new Sqlite(path, { readonly: true });
    try {
      const [start, expires] = db.prepare('select end_time, expires_at from spans').raw().get() as [
        number,
        number,
      ];
      expect(expires - start).toBe(3600 * 1_000_000);
    } finally {
      db.close();
    }
    await telemetry.shutdown();
  });

  it("the sink's ttlSeconds applies to helper spans and TTL-less events; an event's ttl_seconds wins", async () => {
    const path = join(tmp.dir, 'ttl.db');
    const sink = createSqliteSink({ path, ttlSeconds: 60, retentionIntervalMs: 0 });
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    telemetry.withTrace('helper span', () => {});
    const trace_id = generateTraceId();
    const span_id = generateSpanId();
    const timestamp = new Date().toISOString();
    telemetry.logEvent({
      event: {
        type: 'structured_log',
        trace_id,
        span_id,
        timestamp,
        payload: { type: 'span_start', name: 'explicit' },
      },
    });
    telemetry.logEvent({
      event: {
        type: 'structured_log',
        trace_id,
        span_id,
        timestamp,
        payload: { type: 'span_end', status: 'ok' },
      },
      ttl_seconds: 3600,
    });
    await telemetry.shutdown();
    const db = new Sqlite(path, { readonly: true });
    try {
      const rows = db
        .prepare('select name, expires_at - end_time as ttl from spans order by name')
        .all();
      expect(rows).toEqual([
        { name: 'explicit', ttl: 3600 * 1_000_000 },
        { name: 'helper span', ttl: 60 * 1_000_000 },
      ]);
    } finally {
      db.close();
    }
  });

  it('a store error is counted against the sink and never reaches the application', async () => {
    const path = join(tmp.dir, 'broken.db');
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    await sink.whenReady();
    // Another connection breaks the schema under the sink: every write now fails.
    const other = new Sqlite(path);
    other.exec('drop table span_attributes');
    other.close();
    expect(() => telemetry.withTrace('t', (span) => span.setAttribute('k', 1))).not.toThrow();
    await telemetry.flush();
    const stats = telemetry.stats().sinks.sqlite!;
    expect(stats.dropped).toEqual({ sqlite_write_failed: 2 });
    expect(stats.lastError).toMatch(/no such table: span_attributes/);
    await telemetry.shutdown();
  });
});
