#!/usr/bin/env node
/**
 * The toolkit end to end: a few concurrent chat turns of a simulated AI
 * assistant, recorded to the console and a local SQLite store (and to
 * Jaeger or any OTLP collector when asked), then read back through the query
 * API. Run `node dist/index.js --help` for the flags.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSpanId, generateTraceId, TelemetryError } from '@telemetry/core';
import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
import { type ChatRequest, handleChatTurn } from './assistant.ts';
import { printReport } from './report.ts';

const HELP = `Usage: demo [options]

  --config <file>         a Llama Stack run config (YAML) with a telemetry: block
  --sinks <list>          sinks to use, comma-separated (default: console,sqlite;
                          otel is added when OTEL_EXPORTER_OTLP_ENDPOINT is set)
  --db <path>             SQLite store (default: .telemetry/demo.db)
  --otel-endpoint <url>   OTLP/HTTP base endpoint, e.g. http://localhost:4318 (adds otel)
  --requests <n>          concurrent chat turns (default: 3)
  --traceparent <value>   the caller's W3C traceparent for the first turn
                          (default: a generated one, as an API gateway would send)
  --console-format <f>    human (default) or json
  --result-file <path>    write the run's trace ids as JSON
  -h, --help              this text

Environment: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME and the other
OTEL_EXPORTER_OTLP_* variables are honoured.`;

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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      sinks: { type: 'string' },
      db: { type: 'string', default: '.telemetry/demo.db' },
      'otel-endpoint': { type: 'string' },
      requests: { type: 'string', default: '3' },
      traceparent: { type: 'string' },
      'console-format': { type: 'string', default: 'human' },
      'result-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) {
    console.error(`--requests must be a whole number of at least 1, got "${values.requests}"`);
    return 2;
  }
  const format = values['console-format'];
  if (format !== 'human' && format !== 'json') {
    console.error(`--console-format must be human or json, got "${format}"`);
    return 2;
  }

  const otelEndpoint = values['otel-endpoint'];
  const sinks =
    values.sinks ??
    [
      'console',
      'sqlite',
      ...(otelEndpoint || process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? ['otel'] : []),
    ].join(',');
  const source = values.config ?? {
    telemetry: [
      {
        provider_id: 'meta-reference',
        provider_type: 'inline::meta-reference',
        config: {
          sinks,
          sqlite_db_path: values.db,
          service_name: process.env.OTEL_SERVICE_NAME ?? 'assistant-demo',
          ...(otelEndpoint ? { otel_exporter_otlp_endpoint: otelEndpoint } : {}),
        },
      },
    ],
  };

  const telemetry = await createTelemetryFromConfig(source, {
    register: true,
    shutdownHooks: true,
    sinkOptions: { console: { format } },
  });

  const runId = randomUUID();
  const runStartSeconds = Math.floor(Date.now() / 1000);
  const callerTraceparent = values.traceparent ?? `00-${generateTraceId()}-${generateSpanId()}-01`;
  console.log(
    `demo run ${runId}: ${requests} chat turns; the first continues the caller's trace ${callerTraceparent}\n`,
  );

  const turns: ChatRequest[] = Array.from({ length: requests }, (_, i) => ({
    id: `req-${i + 1}`,
    runId,
    question: QUESTIONS[i % QUESTIONS.length]!,
    ...MODELS[i % MODELS.length]!,
    traceparent: i === 0 ? callerTraceparent : undefined,
    flakyRetrieval: i === 0,
  }));
  const results = await Promise.all(turns.map((turn) => handleChatTurn(turn)));

  await telemetry.flush();
  await printReport(telemetry, runId, runStartSeconds, (line) => console.log(line));

  const stats = telemetry.stats();
  const perSink = Object.entries(stats.sinks)
    .map(
      ([name, s]) => `${name} ${s.delivered} delivered${s.pending ? `, ${s.pending} pending` : ''}`,
    )
    .join('; ');
  console.log(`\nevents: ${stats.accepted} accepted; ${perSink}`);
  if (values['result-file']) {
    writeFileSync(
      values['result-file'],
      JSON.stringify(
        { runId, callerTraceparent, turns: results.map((r, i) => ({ id: turns[i]!.id, ...r })) },
        null,
        2,
      ),
    );
  }
  await telemetry.shutdown();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Configuration and start-up errors already say what to do; print them without a stack.
    console.error(error instanceof TelemetryError ? `error: ${error.message}` : error);
    process.exitCode = 1;
  },
);
