/**
 * A server of its own that this file kills (`pg_ctl stop -m immediate`, a
 * crash) and starts again, under writes through a real pipeline.
 */
import { createTelemetry, type TelemetryStats } from '@telemetry/core';
import { RetryableSinkError } from '@telemetry/core/sink';
import { createPostgresSink } from '@telemetry/sink-postgres';
import { type PostgresServer, sid, span, startPostgres, tid } from '@telemetry/store-suite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
});

async function storedSpans(url: string): Promise<{ spans: number; distinct: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query(
      'select count(*)::int as spans, count(distinct span_id)::int as distinct from spans',
    );
    return r.rows[0];
  } finally {
    await client.end();
  }
}

const sumDropped = (stats: TelemetryStats['sinks'][string]) =>
  Object.values(stats.dropped).reduce((n, v) => n + v, 0);

describe('the server is killed mid-write and started again', () => {
  it('reconnects, and loses at most what it counts', async () => {
    const url = await server.createDatabase('killed');
    const sink = createPostgresSink({
      connectionString: url,
      retentionIntervalMs: 0,
      connectTimeoutMs: 1_000,
    });
    const warnings: string[] = [];
    const telemetry = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
    await sink.whenReady();
    const traces = 2_000;
    let thrown = 0;
    let killed = false;
    let restarted: Promise<void> | undefined;
    for (let t = 0; t < traces; t++) {
      try {
        await telemetry.withTrace('request', async () => {
          for (let c = 0; c < 4; c++) await telemetry.withSpan(`step ${c}`, async () => {});
        });
      } catch {
        thrown++;
      }
      if (t % 20 === 0) await new Promise((r) => setTimeout(r, 2));
      if (t === traces / 4) {
        // Mid-write: the sink has delivered some batches and has others in flight.
        await server.stop('immediate');
        killed = true;
        restarted = new Promise((r) => setTimeout(r, 1_500)).then(() => server.start());
      }
    }
    expect(killed).toBe(true);
    await restarted;
    expect(await telemetry.flush({ timeoutMs: 60_000 })).toBe(true);
    const stats = telemetry.stats();
    const mine = stats.sinks.postgres!;
    await telemetry.shutdown();
    expect(thrown).toBe(0);
    // Each span is 2 events (start, end); what the sink never stored is what it counted.
    const { spans, distinct } = await storedSpans(url);
    expect(distinct).toBe(spans);
    const produced = traces * 5;
    const lostEvents = (produced - spans) * 2;
    expect(lostEvents).toBeLessThanOrEqual(sumDropped(mine));
    expect(spans).toBeLessThanOrEqual(produced);
    // The dispatcher retried through the outage instead of dropping: here nothing was lost.
    expect(mine.pending).toBe(0);
    expect(spans).toBe(produced);
    expect(mine.delivered).toBe(stats.accepted);
  }, 120_000);

  it('starts against a server that is down: retryable until it is up, then ready', async () => {
    const url = await server.createDatabase('late');
    await server.stop('fast');
    const sink = createPostgresSink({
      connectionString: url,
      retentionIntervalMs: 0,
      connectTimeoutMs: 500,
    });
    try {
      await expect(sink.whenReady()).rejects.toBeInstanceOf(RetryableSinkError);
      await expect(
        sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1) })]),
      ).rejects.toBeInstanceOf(RetryableSinkError);
      await server.start();
      await sink.whenReady();
      await sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1) })]);
      expect((await sink.getTrace(tid(1))).root_span_id).toBe(sid(1));
    } finally {
      await sink.shutdown();
    }
  }, 60_000);
});
