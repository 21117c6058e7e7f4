import { type LogSeverity, TelemetryValidationError, type ValidationIssue } from '@telemetry/core';

/** `'human'`: aligned, indented lines for people. `'json'`: one JSON object per event, for `jq` and log shippers. */
export type ConsoleFormat = 'human' | 'json';

/** How clock times are shown in the human format. */
export type ConsoleTimeZone = 'utc' | 'local';

/**
 * Which spans get a START line: `true` all but auto-traced spans (attribute
 * `__autotraced__: true`), `'all'` every span, `false` none. END lines are always printed.
 */
export type StartLines = boolean | 'all';

export interface ConsoleSinkOptions {
  /**
   * Names the sink in stats and error messages.
   * @default 'console'
   */
  name?: string;
  /**
   * Where lines go. The sink never ends or closes it.
   * @default process.stdout
   */
  stream?: NodeJS.WritableStream;
  /**
   * Output format.
   * @default 'human'
   */
  format?: ConsoleFormat;
  /**
   * Logs below this severity are not printed. Span lines count as `info` (a
   * failed span's END line as `error`) and metrics as `info`, so `'warn'` shows
   * warnings, errors and failed spans only.
   * @default 'info'
   */
  minSeverity?: LogSeverity;
  /**
   * Print attributes (of spans and logs) under their line; in JSON, include the `attributes` field.
   * @default true
   */
  attributes?: boolean;
  /**
   * Which spans print a START line (human format only; JSON prints every event).
   * @default true
   */
  startLines?: StartLines;
  /**
   * Force colours on or off. When left out: off if `FORCE_COLOR` is `0` or
   * `false`, on if `FORCE_COLOR` is set otherwise; else off if `NO_COLOR` (or
   * `NODE_DISABLE_COLORS`) is set, or `TERM` is `dumb`; else on when the stream is a TTY.
   * @default undefined (detected)
   */
  color?: boolean;
  /**
   * Clock times in the human format, in UTC or in the process's local time zone (`TZ`).
   * @default 'utc'
   */
  timeZone?: ConsoleTimeZone;
  /**
   * Attribute values longer than this many characters are cut to this length, ending in `...`.
   * @default 1000
   */
  maxValueLength?: number;
  /**
   * Bytes of output held while the stream is not draining (its `write()`
   * returned `false`); beyond this, events are dropped and counted as `backpressure`.
   * @default 1048576 (1 MiB)
   */
  maxBufferBytes?: number;
  /**
   * How long `forceFlush()` and `shutdown()` wait for a stalled stream before giving up.
   * @default 5000
   */
  flushTimeoutMs?: number;
}

/** Defaults of every option but `stream` (which is `process.stdout`, looked up when the sink is created). */
export const CONSOLE_SINK_DEFAULTS: Readonly<
  Required<Omit<ConsoleSinkOptions, 'stream' | 'color'>>
> & {
  readonly color: boolean | undefined;
} = Object.freeze({
  name: 'console',
  format: 'human',
  minSeverity: 'info',
  attributes: true,
  startLines: true,
  color: undefined,
  timeZone: 'utc',
  maxValueLength: 1000,
  maxBufferBytes: 1_048_576,
  flushTimeoutMs: 5000,
});

export interface ResolvedOptions {
  readonly name: string;
  readonly stream: NodeJS.WritableStream;
  readonly format: ConsoleFormat;
  readonly minSeverity: LogSeverity;
  readonly attributes: boolean;
  readonly startLines: StartLines;
  readonly color: boolean | undefined;
  readonly timeZone: ConsoleTimeZone;
  readonly maxValueLength: number;
  readonly maxBufferBytes: number;
  readonly flushTimeoutMs: number;
}

const SEVERITIES: readonly LogSeverity[] = [
  'verbose',
  'debug',
  'info',
  'warn',
  'error',
  'critical',
];

/** Rank of each severity, for the `minSeverity` filter. */
export const SEVERITY_RANK: Readonly<Record<LogSeverity, number>> = Object.freeze({
  verbose: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  critical: 5,
});

function list(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** Fills in defaults and checks every option, reporting all problems at once. */
export function resolveOptions(options: ConsoleSinkOptions = {}): ResolvedOptions {
  const o = { ...CONSOLE_SINK_DEFAULTS, ...stripUndefined(options) };
  const issues: ValidationIssue[] = [];
  const bad = (key: string, message: string) => issues.push({ path: `options.${key}`, message });

  if (typeof o.name !== 'string' || o.name === '') bad('name', 'expected a non-empty string');
  if (o.format !== 'human' && o.format !== 'json')
    bad('format', `expected one of ${list(['human', 'json'])}`);
  if (!SEVERITIES.includes(o.minSeverity))
    bad('minSeverity', `expected one of ${list(SEVERITIES)}`);
  if (typeof o.attributes !== 'boolean') bad('attributes', 'expected true or false');
  if (typeof o.startLines !== 'boolean' && o.startLines !== 'all') {
    bad('startLines', `expected true, false or "all"`);
  }
  if (o.color !== undefined && typeof o.color !== 'boolean') bad('color', 'expected true or false');
  if (o.timeZone !== 'utc' && o.timeZone !== 'local')
    bad('timeZone', `expected one of ${list(['utc', 'local'])}`);
  // `...` needs three characters, so a shorter cut could not say that it cut.
  if (!Number.isInteger(o.maxValueLength) || o.maxValueLength < 3) {
    bad('maxValueLength', 'expected a whole number of at least 3');
  }
  if (!Number.isInteger(o.maxBufferBytes) || o.maxBufferBytes < 0) {
    bad('maxBufferBytes', 'expected a whole number of bytes, 0 or more');
  }
  if (typeof o.flushTimeoutMs !== 'number' || !(o.flushTimeoutMs >= 0)) {
    bad('flushTimeoutMs', 'expected a number of milliseconds, 0 or more');
  }

  const stream = options.stream ?? process.stdout;
  if (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function') {
    bad(
      'stream',
      'expected a writable stream (an object with a write() method), such as process.stderr',
    );
  }

  if (issues.length > 0) throw new TelemetryValidationError('console sink options', issues);
  return { ...o, stream };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
