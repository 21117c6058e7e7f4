/**
 * Where a command writes and how: plain text without a terminal, colours only
 * on one (never with NO_COLOR), aligned columns, JSON for scripts, a progress
 * bar on stderr.
 */
import Table from 'cli-table3';

export interface Stream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Io {
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly env: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch: the clock `--since 1h` counts back from. */
  now(): number;
}

/**
 * Colour on `stream`: never with `NO_COLOR` (any value but empty) or
 * `--no-color`; forced by `FORCE_COLOR` (not `0`/`false`); else only on a
 * terminal whose `TERM` is not `dumb`.
 */
export function wantsColor(stream: Stream, env: NodeJS.ProcessEnv, flag = true): boolean {
  if (!flag || env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const SGR = {
  head: '1',
  dim: '2',
  ok: '32',
  error: '1;31',
  warn: '33',
  name: '1',
} as const;
export type Role = keyof typeof SGR;
export type Paint = (role: Role, text: string) => string;

export function painter(color: boolean): Paint {
  return color ? (role, text) => (text ? `\x1b[${SGR[role]}m${text}\x1b[0m` : text) : (_r, t) => t;
}

// C0 and C1 controls and DEL: stored text must not move the cursor or recolour the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text of one table cell: control characters (newlines too) escaped, cut to `max` characters. */
export function cell(value: unknown, max = 80): string {
  const text = (
    value === null || value === undefined
      ? '-'
      : typeof value === 'string'
        ? value
        : (JSON.stringify(value) ?? String(value))
  ).replace(CONTROL, (ch) =>
    ch === '\n' ? '\\n' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** Aligned columns under a header line, without borders (greppable, and readable in a pager). */
export function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  paint: Paint,
  options: { align?: readonly ('left' | 'right')[] } = {},
): string {
  const t = new Table({
    head: head.map((h) => paint('head', h)),
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    ...(options.align ? { colAligns: [...options.align] } : {}),
    wordWrap: false,
  });
  for (const row of rows) t.push([...row]);
  return `${t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`;
}

/** A value for scripts: indented JSON and a newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * A progress bar on stderr, redrawn at most ten times a second; only on a
 * terminal, and only when the data does not go to that same terminal.
 */
export class Progress {
  readonly #stream: Stream;
  readonly #enabled: boolean;
  readonly #unit: string;
  #last = 0;
  #drawn = false;

  constructor(stream: Stream, enabled: boolean, unit: string) {
    this.#stream = stream;
    this.#enabled = enabled;
    this.#unit = unit;
  }

  update(done: number, total?: number, force = false): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    this.#stream.write(`\r\x1b[K${renderProgress(done, total, this.#unit)}`);
    this.#drawn = true;
  }

  /** Clears the bar, so the summary line starts at column 0. */
  end(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/** `[##########----------]  50%  500/1000 traces`, or `1,234 rows` without a total. */
export function renderProgress(done: number, total: number | undefined, unit: string): string {
  const count = (n: number) => n.toLocaleString('en-US');
  if (total === undefined || total <= 0) return `${count(done)} ${unit}`;
  const ratio = Math.min(1, done / total);
  const width = 24;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${count(done)}/${count(total)} ${unit}`;
}
