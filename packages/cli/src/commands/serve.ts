import { createTelemetry } from '@telemetry/core';
import { type Command, Option } from 'commander';
import { durationArg, wholeNumberArg } from '../args.ts';
import { examples, TOKEN_ENV_VAR, untilStopped } from '../context.ts';
import { CliError } from '../errors.ts';
import { type Io, painter, wantsColor } from '../output.ts';
import { DB_ENV_VAR, defaultDbPath } from '../paths.ts';
import { openStoreSink, redact } from '../store.ts';

/** The OTLP/HTTP port every OpenTelemetry SDK sends to by default. */
export const OTLP_PORT = 4318;
/** How long spans are kept by default: Llama Stack's `ttl_seconds` default. */
export const DEFAULT_RETENTION = '7d';

interface ServeFlags {
  db?: string;
  host?: string;
  port?: number;
  otlpPort: number;
  token?: string;
  retention: number;
  maxSpans?: number;
  json?: boolean;
  color?: boolean;
}

export function serveCommand(program: Command, io: Io): void {
  program
    .command('serve')
    .summary('store what is sent: Llama Stack API, OTLP/HTTP and the viewer page')
    .description(
      'Runs a telemetry server over a store: the Llama Stack telemetry API (as llama-stack-client calls it) and the search API, OTLP/HTTP ingest on port 4318 for any OpenTelemetry SDK, and the viewer page. Prints the URLs; Ctrl-C (or SIGTERM) stops it after answering the requests in flight and storing everything accepted.',
    )
    .option(
      '--db <file|url>',
      `the store to write: a SQLite file, created if missing, or a postgres:// URL (default: $${DB_ENV_VAR}, else ${defaultDbPath({ ...io.env, [DB_ENV_VAR]: '' })})`,
    )
    // No defaults here for host and port: the server's own (SERVER_DEFAULTS) apply.
    .option(
      '--host <address>',
      'address to listen on; anything but loopback needs --token (default: 127.0.0.1)',
    )
    .option(
      '--port <port>',
      "port of the API and the page, 0 for a free one (default: 8321, Llama Stack's)",
      wholeNumberArg(0, 65_535),
    )
    .option(
      '--otlp-port <port>',
      'port of OTLP/HTTP (0: a free one; the --port value: OTLP on that port only)',
      wholeNumberArg(0, 65_535),
      OTLP_PORT,
    )
    .option(
      '--token <token>',
      `bearer token every request must carry (default: $${TOKEN_ENV_VAR}, else none)`,
    )
    .addOption(
      new Option(
        '--retention <duration>',
        'how long spans are kept after they end, unless their events say otherwise',
      )
        .argParser(durationArg())
        .default(7 * 86_400_000, DEFAULT_RETENTION),
    )
    .option(
      '--max-spans <count>',
      'keep at most this many spans (the oldest go first)',
      wholeNumberArg(1),
    )
    .option('--json', 'print the addresses as one JSON line once listening, for scripts')
    .option('--no-color', 'no colours')
    .addHelpText(
      'after',
      examples([
        'telemetry serve',
        'telemetry serve --db ./traces.db --port 8400 --otlp-port 4319',
        'OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 node app.js   # in another terminal',
        'telemetry serve --host 0.0.0.0 --token "$(openssl rand -hex 16)" --retention 30d',
      ]),
    )
    .action(async (flags: ServeFlags) => serve(flags, io));
}

async function serve(flags: ServeFlags, io: Io): Promise<void> {
  const db = flags.db ?? defaultDbPath(io.env);
  const shownDb = redact(db);
  // Loaded here: the other commands do not pay for the HTTP server's modules.
  const { createTelemetryServer } = await import('@telemetry/server');
  const ttlSeconds = Math.max(1, Math.round(flags.retention / 1000));
  const sink = await openStoreSink(db, 'serve', {
    ttlSeconds,
    ...(flags.maxSpans === undefined ? {} : { maxSpans: flags.maxSpans }),
  });
  const telemetry = createTelemetry({
    sinks: [sink],
    warn: (message) => io.stderr.write(`telemetry serve: ${message}\n`),
  });
  const token = flags.token ?? (io.env[TOKEN_ENV_VAR] || null);
  const server = createTelemetryServer({
    telemetry,
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    otlpPort: flags.otlpPort,
    token,
    warn: (message) => io.stderr.write(`telemetry serve: ${message}\n`),
    onError: (error) =>
      io.stderr.write(`telemetry serve: unexpected error: ${(error as Error)?.message ?? error}\n`),
  });
  const stop = untilStopped(io);
  try {
    let address: Awaited<ReturnType<typeof server.listen>>;
    try {
      address = await server.listen();
    } catch (error) {
      throw new CliError(
        'TELEMETRY_CLI_LISTEN',
        `${(error as Error).message} (--host, --port and --otlp-port choose where)`,
        1,
        { cause: error },
      );
    }
    const page = `${address.url}/`;
    const shown = address.otlpUrl.replace('//127.0.0.1:', '//localhost:');
    if (flags.json) {
      io.stdout.write(
        JSON.stringify({
          page,
          url: address.url,
          otlp_url: address.otlpUrl,
          db: shownDb,
          token: token !== null,
        }) + '\n',
      );
    } else {
      const paint = painter(wantsColor(io.stdout, io.env, flags.color !== false));
      io.stdout.write(
        [
          `${paint('head', 'telemetry serve')} is storing into ${shownDb}`,
          `  page         ${page}`,
          `  API          ${address.url}  (Llama Stack: /v1/telemetry, search: /api/v1)`,
          `  OTLP/HTTP    ${address.otlpUrl}  (send with OTEL_EXPORTER_OTLP_ENDPOINT=${shown})`,
          token === null ? '' : '  every request needs: Authorization: Bearer <token>',
          paint('dim', 'Press Ctrl-C to stop.'),
        ]
          .filter(Boolean)
          .join('\n') + '\n',
      );
    }
    const signal = await stop.stopped;
    io.stderr.write(
      `telemetry serve: ${signal}: finishing requests in flight and storing what was accepted...\n`,
    );
    await server.close();
  } finally {
    await telemetry.shutdown();
    stop.dispose();
  }
  const stats = telemetry.stats();
  // Requests refused at the door were answered 503 (the client retries): only what a sink
  // lost after the server accepted it is lost.
  const lost = Object.values(stats.sinks).reduce(
    (n, s) => n + Object.values(s.dropped).reduce((a, b) => a + b, 0),
    0,
  );
  if (lost > 0) {
    throw new CliError(
      'TELEMETRY_CLI_LOST',
      `stopped, but ${lost} event(s) could not be stored (see the warnings above).`,
    );
  }
  io.stderr.write(
    `telemetry serve: stopped; all ${stats.accepted} accepted event(s) are stored in ${shownDb}.\n`,
  );
}
