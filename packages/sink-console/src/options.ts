import { SinkNameSchema, z } from '@telemetry/core/sink';

/** `'human'`: aligned, indented lines for people. `'json'`: one JSON object per event, for `jq` and log shippers. */
export type ConsoleFormat = 'human' | 'json';

/** How clock times are shown in the human format. */
export type ConsoleTimeZone = 'utc' | 'local';

/**
 * Which spans get a START line: `true` all but auto-traced spans (attribute
 * `__autotraced__: true`), `'all'` every span, `false` none. END lines are always printed.
 */
export type StartLines = boolean | 'all';

const SEVERITIES = ['verbose', 'debug', 'info', 'warn', 'error', 'critical'] as const;

function oneOf(values: readonly string[]): string {
  return `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

/**
 * The console sink's options: their validation and every default, in one
 * place (the types below are inferred from it).
 */
export const ConsoleSinkOptionsSchema = z.strictObject({
  /**
   * Names the sink in stats and error messages.
   * @default 'console'
   */
  name: SinkNameSchema.default('console'),
  /**
   * Where lines go. The sink never ends or closes it.
   * @default process.stdout (looked up when the sink is created)
   */
  stream: z
    .custom<NodeJS.WritableStream>(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as NodeJS.WritableStream).write === 'function',
      {
        error:
          'expected a writable stream (an object with a write() method), such as process.stderr',
      },
    )
    .optional(),
  /**
   * Output format.
   * @default 'human'
   */
  format: z.enum(['human', 'json'], { error: oneOf(['human', 'json']) }).default('human'),
  /**
   * Logs below this severity are not printed. Span lines count as `info` (a
   * failed span's END line as `error`) and metrics as `info`, so `'warn'` shows
   * warnings, errors and failed spans only.
   * @default 'info'
   */
  minSeverity: z.enum(SEVERITIES, { error: oneOf(SEVERITIES) }).default('info'),
  /**
   * Print attributes (of spans and logs) under their line; in JSON, include the `attributes` field.
   * @default true
   */
  attributes: z.boolean({ error: 'expected true or false' }).default(true),
  /**
   * Which spans print a START line (human format only; JSON prints every event).
   * @default true
   */
  startLines: z
    .union([z.boolean(), z.literal('all')], { error: 'expected true, false or "all"' })
    .default(true),
  /**
   * Force colours on or off. When left out: off if `FORCE_COLOR` is `0` or
   * `false`, on if `FORCE_COLOR` is set otherwise; else off if `NO_COLOR` (or
   * `NODE_DISABLE_COLORS`) is set, or `TERM` is `dumb`; else on when the stream is a TTY.
   * @default undefined (detected)
   */
  color: z.boolean({ error: 'expected true or false' }).optional(),
  /**
   * Clock times in the human format, in UTC or in the process's local time zone (`TZ`).
   * @default 'utc'
   */
  timeZone: z.enum(['utc', 'local'], { error: oneOf(['utc', 'local']) }).default('utc'),
  /**
   * Attribute values longer than this many characters are cut to this length,
   * ending in `...` (which needs three characters, hence the minimum).
   * @default 1000
   */
  maxValueLength: z
    .number({ error: 'expected a whole number of at least 3' })
    .int({ error: 'expected a whole number of at least 3' })
    .min(3, { error: 'expected a whole number of at least 3' })
    .default(1000),
});

/** Options of `createConsoleSink`; each is documented, with its default, in `ConsoleSinkOptionsSchema`. */
export type ConsoleSinkOptions = z.input<typeof ConsoleSinkOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ResolvedOptions = z.output<typeof ConsoleSinkOptionsSchema>;
