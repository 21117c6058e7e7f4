/**
 * The demo's command line: flags, their defaults (here and nowhere else), and
 * every check on them, so that a mistake gets one clear line and exit code 2
 * instead of a stack trace or a run that silently does something else.
 */
import { parseArgs } from 'node:util';
import { parseTraceparent } from '@telemetry/core';

export const DEFAULTS = Object.freeze({
  sinks: ['console', 'sqlite'] as readonly string[],
  db: '.telemetry/demo.db',
  requests: 3,
  consoleFormat: 'human' as ConsoleFormat,
  serviceName: 'assistant-demo',
});

export const HELP = `Usage: bash scripts/demo.sh [options]   (or: node apps/demo/dist/index.js [options])

Runs a few concurrent chat turns of a simulated AI assistant, prints their
spans, logs and metrics live, then reads the run back from the SQLite store.
Paths are relative to the directory you run the command from.

Options:
  --sinks <list>          sinks, comma-separated: console, sqlite, otel
                          (default: ${DEFAULTS.sinks.join(',')}, plus otel when
                          OTEL_EXPORTER_OTLP_ENDPOINT is set)
  --db <path>             the SQLite store (default: ${DEFAULTS.db})
  --otel-endpoint <url>   OTLP/HTTP base URL, e.g. http://localhost:4318 (Jaeger);
                          adds otel to the sinks, also to an explicit --sinks
                          (default: OTEL_EXPORTER_OTLP_ENDPOINT, else none)
  --config <file>         take the sinks, the store and the endpoint from a
                          Llama Stack run config (YAML with a telemetry: block)
                          instead; not combinable with the three flags above
  --requests <n>          concurrent chat turns (default: ${DEFAULTS.requests})
  --traceparent <value>   the caller's W3C traceparent, continued by the first
                          turn (default: a generated one, as an API gateway sends)
  --console-format <f>    human or json (default: ${DEFAULTS.consoleFormat}); with json, stdout
                          carries only the JSON lines and the demo's own report
                          goes to stderr, so \`| jq\` works
  --result-file <path>    also write the run's trace ids as JSON (default: none)
  -h, --help              this text

Environment: OTEL_EXPORTER_OTLP_ENDPOINT (see --otel-endpoint), OTEL_SERVICE_NAME
(default: ${DEFAULTS.serviceName}) and the other OTEL_EXPORTER_OTLP_* variables.`;

export type ConsoleFormat = 'human' | 'json';

export interface DemoOptions {
  readonly help: boolean;
  /** A run config file, or undefined for the config built from the flags. */
  readonly config: string | undefined;
  readonly sinks: readonly string[];
  readonly db: string;
  readonly otelEndpoint: string | undefined;
  readonly requests: number;
  readonly traceparent: string | undefined;
  readonly consoleFormat: ConsoleFormat;
  readonly resultFile: string | undefined;
  /** Said on stderr before the run: how a flag changed what was asked for. */
  readonly notes: readonly string[];
}

/** A mistake on the command line: printed as one line, then the usage hint; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE_HINT = 'Run with --help to see the options.';

const OTEL_SINKS = ['otel', 'otel_trace', 'otel_metric'];

/** Parses and checks the arguments; throws `UsageError` for anything it cannot run as asked. */
export function parseDemoArgs(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): DemoOptions {
  const values = parseFlags(args);
  const notes: string[] = [];
  const help = values.help === true;

  const requests = values.requests === undefined ? DEFAULTS.requests : Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) {
    throw new UsageError(
      `--requests must be a whole number of at least 1, got ${JSON.stringify(values.requests)}`,
    );
  }
  const consoleFormat = values['console-format'] ?? DEFAULTS.consoleFormat;
  if (consoleFormat !== 'human' && consoleFormat !== 'json') {
    throw new UsageError(
      `--console-format must be human or json, got ${JSON.stringify(consoleFormat)}`,
    );
  }
  const traceparent = values.traceparent;
  if (traceparent !== undefined && parseTraceparent(traceparent) === undefined) {
    throw new UsageError(
      `--traceparent must be a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, got ${JSON.stringify(traceparent)}`,
    );
  }
  for (const flag of ['db', 'result-file', 'config'] as const) {
    if (values[flag] === '') throw new UsageError(`--${flag} needs a path, got an empty string`);
  }

  const config = values.config;
  if (config !== undefined) {
    const clashing = (['sinks', 'db', 'otel-endpoint'] as const).filter(
      (flag) => values[flag] !== undefined,
    );
    if (clashing.length > 0) {
      throw new UsageError(
        `--config takes the sinks, the store and the endpoint from the file; drop ${clashing.map((f) => `--${f}`).join(', ')} or change the file`,
      );
    }
  }

  const otelEndpoint = values['otel-endpoint'];
  if (otelEndpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(otelEndpoint)) {
    throw new UsageError(
      `--otel-endpoint must be an http(s) URL such as http://localhost:4318, got ${JSON.stringify(otelEndpoint)}`,
    );
  }
  let sinks: string[];
  if (values.sinks !== undefined) {
    sinks = values.sinks
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (sinks.length === 0) {
      throw new UsageError(
        `--sinks needs at least one sink (console, sqlite, otel), got ${JSON.stringify(values.sinks)}`,
      );
    }
    // An endpoint given on the command line is a request to export there.
    if (otelEndpoint !== undefined && !sinks.some((s) => OTEL_SINKS.includes(s))) {
      sinks.push('otel');
      notes.push(`--otel-endpoint adds otel to the sinks: ${sinks.join(',')}`);
    }
  } else {
    // The environment variable is ambient, so it only adds otel to the default list.
    const exporting = otelEndpoint !== undefined || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT);
    sinks = [...DEFAULTS.sinks, ...(exporting ? ['otel'] : [])];
  }

  return {
    help,
    config,
    sinks,
    db: values.db ?? DEFAULTS.db,
    otelEndpoint,
    requests,
    traceparent,
    consoleFormat,
    resultFile: values['result-file'],
    notes,
  };
}

function parseFlags(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        sinks: { type: 'string' },
        db: { type: 'string' },
        'otel-endpoint': { type: 'string' },
        requests: { type: 'string' },
        traceparent: { type: 'string' },
        'console-format': { type: 'string' },
        'result-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
}

/** Node's parseArgs messages, without their advice about positionals, which this program has none of. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const quoted = /'([^']*)'/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted ?? '')}: every option starts with --`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // "argument missing" or, when the next word starts with a dash, "argument is ambiguous".
      return /argument (missing|is ambiguous)/.test(message ?? '') && quoted
        ? `${quoted.replace(' <value>', '')} needs a value`
        : (message ?? 'invalid option value').split('\n')[0]!;
    default:
      return message ?? String(error);
  }
}
