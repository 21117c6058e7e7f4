#!/usr/bin/env node
/**
 * The toolkit end to end: a few concurrent chat turns of a simulated AI
 * assistant, recorded to the console and a local SQLite store (and to
 * Jaeger or any OTLP collector when asked), then read back through the query
 * API. `bash scripts/demo.sh --help` (from the repository root) lists the flags.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generateSpanId, generateTraceId, type Telemetry, TelemetryError } from '@telemetry/core';
import type { ChatRequest } from './assistant.ts';
import { DEFAULTS, type DemoOptions, HELP, parseDemoArgs, USAGE_HINT, UsageError } from './cli.ts';

const MODELS = [
  { model: 'llama-3.2-3b-instruct', provider: 'ollama' },
  { model: 'llama-3.1-8b-instruct', provider: 'vllm' },
] as const;

const QUESTIONS = [
  'What should I wear in Paris today?',
  'Is it a good day for a picnic?',
  'Do I need an umbrella this afternoon?',
  'Summarise the forecast for my trip.',
];

/**
 * How long the demo waits for its sinks before the report and at exit. A
 * reachable OTLP endpoint takes milliseconds; one that is down (Jaeger not
 * started) would otherwise hold each wait for core's 30 s default.
 */
const SINK_WAIT_MS = 5_000;

async function main(argv: readonly string[]): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    console.error(USAGE_HINT);
    return 2;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  for (const note of options.notes) console.error(`note: ${note}`);
  // Loaded after the flags are read, so that --help and flag mistakes answer at once.
  const [{ createTelemetryFromConfig }, { handleChatTurn }, { printReport }] = await Promise.all([
    import('@telemetry/provider-meta-reference'),
    import('./assistant.ts'),
    import('./report.ts'),
  ]);

  // With JSON lines on stdout (for jq), everything the demo says itself goes to stderr.
  const say =
    options.consoleFormat === 'json'
      ? (line: string) => console.error(line)
      : (line: string) => console.log(line);

  const serviceName = process.env.OTEL_SERVICE_NAME || DEFAULTS.serviceName;
  const source = options.config ?? {
    telemetry: [
      {
        provider_id: 'meta-reference',
        provider_type: 'inline::meta-reference',
        config: {
          sinks: options.sinks.join(','),
          sqlite_db_path: options.db,
          service_name: serviceName,
          ...(options.otelEndpoint ? { otel_exporter_otlp_endpoint: options.otelEndpoint } : {}),
        },
      },
    ],
  };

  const telemetry = await createTelemetryFromConfig(source, {
    register: true,
    shutdownHooks: true,
    sinkOptions: { console: { format: options.consoleFormat } },
  });

  // Short enough to read on every metric line; unique enough for the runs one store holds.
  const runId = randomBytes(6).toString('hex');
  const runStartSeconds = Math.floor(Date.now() / 1000);
  const callerTraceparent = options.traceparent ?? `00-${generateTraceId()}-${generateSpanId()}-01`;
  const sinkNames = Object.keys(telemetry.stats().sinks);
  say(
    `Demo run ${runId}: ${options.requests === 1 ? '1 chat turn' : `${options.requests} concurrent chat turns`}, recorded to ${sinkNames.join(', ') || 'no sink'}.`,
  );
  say(`Turn 1 continues its caller's trace (traceparent ${callerTraceparent}).`);
  if (options.consoleFormat === 'human' && sinkNames.includes('console')) {
    say('Each line: time (UTC), trace id (first 8 hex digits), event, span or message by depth.');
  }
  say('');

  const turns: ChatRequest[] = Array.from({ length: options.requests }, (_, i) => ({
    id: `req-${i + 1}`,
    runId,
    question: QUESTIONS[i % QUESTIONS.length]!,
    ...MODELS[i % MODELS.length]!,
    traceparent: i === 0 ? callerTraceparent : undefined,
    flakyRetrieval: i === 0,
  }));
  const results = await Promise.all(turns.map((turn) => handleChatTurn(turn)));

  if (!(await telemetry.flush({ timeoutMs: SINK_WAIT_MS }))) {
    const stuck = Object.entries(telemetry.stats().sinks)
      .filter(([, s]) => s.lastError)
      .map(([name, s]) => `${name}: ${s.lastError}`);
    say(
      `(Still sending after ${SINK_WAIT_MS / 1000} s${stuck.length ? `; ${stuck.join('; ')}` : ''}. The report reads the SQLite store.)`,
    );
  }
  await printReport(telemetry, runId, runStartSeconds, say);
  if (options.resultFile) {
    writeFileSync(
      options.resultFile,
      JSON.stringify(
        { runId, callerTraceparent, turns: results.map((r, i) => ({ id: turns[i]!.id, ...r })) },
        null,
        2,
      ),
    );
  }

  await telemetry.shutdown({ timeoutMs: SINK_WAIT_MS });
  printSummary(telemetry, options, serviceName, say);
  return 0;
}

/** What reached each sink, and where to look next. */
function printSummary(
  telemetry: Telemetry,
  options: DemoOptions,
  serviceName: string,
  say: (line: string) => void,
): void {
  const stats = telemetry.stats();
  const perSink = Object.entries(stats.sinks).map(([name, s]) => {
    const lost = Object.values(s.dropped).reduce((a, b) => a + b, 0) + s.pending;
    return `${name} ${s.delivered}${lost ? ` (${lost} not delivered)` : ''}`;
  });
  say(`\nEvents: ${stats.accepted} recorded; delivered to ${perSink.join(', ')}.`);
  for (const [name, s] of Object.entries(stats.sinks)) {
    if (s.lastError) say(`  ${name}: ${s.lastError}`);
  }
  if (stats.sinks.sqlite && !options.config) {
    say(`The SQLite store is ${options.db}: query it from code as the README shows.`);
  }
  const otel = stats.sinks.otel;
  if (otel) {
    const endpoint = options.otelEndpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const where = endpoint ? ` to ${endpoint}` : '';
    say(
      otel.lastError
        ? `Nothing may have been exported${where}: is Jaeger (or a collector) running? See apps/demo/README.md.`
        : `Exported over OTLP${where}: in Jaeger (http://localhost:16686) pick the service ${serviceName}.`,
    );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Configuration and start-up errors already say what to do; print them without a stack.
    console.error(error instanceof TelemetryError ? `error: ${error.message}` : error);
    process.exitCode = 1;
  },
);
