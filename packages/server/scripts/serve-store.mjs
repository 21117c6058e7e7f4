// Serves a SQLite store (the demo's, by default) with the viewer page, until Ctrl-C:
//   node packages/server/scripts/serve-store.mjs [path/to/store.db] [port]
// A development helper of this repository (the `telemetry serve` command does the same for users).
// It needs the built packages (pnpm build). TELEMETRY_SERVER_TOKEN sets a token.
import { createTelemetry } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { createTelemetryServer } from '../dist/index.js';

const path = process.argv[2] ?? '.telemetry/demo.db';
const port = Number(process.argv[3] ?? 8321);
const telemetry = createTelemetry({ sinks: [createSqliteSink({ path })] });
const server = createTelemetryServer({ telemetry, port });
const { url } = await server.listen();
const token = process.env.TELEMETRY_SERVER_TOKEN;
console.log(`Serving ${path}: open ${url}/${token ? '?token=<your token>' : ''}  (Ctrl-C stops)`);
const stop = async () => {
  await server.close();
  await telemetry.shutdown();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
