/**
 * A real server on 127.0.0.1 over a real SQLite file, for tests: the pipeline,
 * the store, the server and its address, and one call that tears it all down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTelemetry, type Telemetry, type TelemetryOptions } from '@telemetry/core';
import { createSqliteSink, type SqliteSink, type SqliteSinkOptions } from '@telemetry/sink-sqlite';
import {
  createTelemetryServer,
  type TelemetryServer,
  type TelemetryServerAddress,
  type TelemetryServerOptions,
} from '../index.ts';

export interface Fixture {
  readonly dir: string;
  readonly dbPath: string;
  readonly telemetry: Telemetry;
  readonly store: SqliteSink;
  readonly server: TelemetryServer;
  readonly address: TelemetryServerAddress;
  readonly url: string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  readonly server?: Partial<Omit<TelemetryServerOptions, 'telemetry'>>;
  readonly telemetry?: Omit<TelemetryOptions, 'sinks'>;
  readonly store?: SqliteSinkOptions;
}

export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-server-'));
  const dbPath = join(dir, 'telemetry.db');
  const store = createSqliteSink({ path: dbPath, retentionIntervalMs: 0, ...options.store });
  const telemetry = createTelemetry({ ...options.telemetry, sinks: [store] });
  const server = createTelemetryServer({
    telemetry,
    port: 0,
    token: null,
    onError: () => {},
    ...options.server,
  });
  const address = await server.listen();
  return {
    dir,
    dbPath,
    telemetry,
    store,
    server,
    address,
    url: address.url,
    async close() {
      await server.close();
      await telemetry.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spans, logs and metric events stored, counted straight from the SQLite file. */
export async function storedCounts(
  fixture: Fixture,
): Promise<{ spans: number; events: number; traces: number }> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(fixture.dbPath, { readonly: true });
  try {
    const one = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      spans: one('select count(*) from spans'),
      events: one('select count(*) from span_events'),
      traces: one('select count(*) from traces'),
    };
  } finally {
    db.close();
  }
}
