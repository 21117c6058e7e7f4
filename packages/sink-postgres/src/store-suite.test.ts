/**
 * The store suite every trace store passes (@telemetry/store-suite), on the
 * test run's PostgreSQL server: each store is a schema of its own, named by
 * the connection string's search_path.
 */
import { createPostgresSink, type PostgresSink } from '@telemetry/sink-postgres';
import { defineStoreSuite } from '@telemetry/store-suite';
import { inject } from 'vitest';
import { adminQuery, withSessionOptions } from './test-support/databases.ts';

const server = inject('postgresUrl');
let stores = 0;

defineStoreSuite({
  engine: 'postgres',
  textAsStored: (value) => value.replaceAll('\0', '\uFFFD'),
  async open() {
    const schema = `suite_${process.pid}_${stores++}`;
    await adminQuery(server, `create schema ${schema}`);
    const sinks: PostgresSink[] = [];
    const make = async (timeZone?: string) => {
      const sink = createPostgresSink({
        connectionString: withSessionOptions(server, {
          search_path: schema,
          ...(timeZone ? { TimeZone: timeZone } : {}),
        }),
        retentionIntervalMs: 0,
        serviceName: 'unknown_service',
      });
      sinks.push(sink);
      await sink.whenReady();
      return sink;
    };
    return {
      store: await make(),
      async reopen(options = {}) {
        if (options.timeZone) process.env.TZ = options.timeZone;
        return make(options.timeZone);
      },
      async destroy() {
        for (const sink of sinks) await sink.shutdown();
        await adminQuery(server, `drop schema ${schema} cascade`);
      },
    };
  },
});
