/** The store suite every trace store passes (@telemetry/store-suite), on SQLite files. */
import { join } from 'node:path';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { defineStoreSuite } from '@telemetry/store-suite';
import { tempDir } from './test-support/fixtures.ts';

defineStoreSuite({
  engine: 'sqlite',
  async open() {
    const dir = tempDir();
    const path = join(dir.dir, 'store.db');
    const sinks: SqliteSink[] = [];
    const make = async () => {
      const sink = createSqliteSink({
        path,
        retentionIntervalMs: 0,
        serviceName: 'unknown_service',
      });
      sinks.push(sink);
      await sink.whenReady();
      return sink;
    };
    return {
      store: await make(),
      // SQLite has no session zone: the process's is the one that could leak in.
      async reopen(options = {}) {
        if (options.timeZone) process.env.TZ = options.timeZone;
        return make();
      },
      async destroy() {
        for (const sink of sinks) await sink.shutdown();
        dir.cleanup();
      },
    };
  },
});
