/**
 * Whether to colour output, decided once when the sink is created.
 *
 * Precedence follows Node's own `tty.WriteStream.getColorDepth()`: an explicit
 * option, then `FORCE_COLOR` (which wins over `NO_COLOR`, as in Node), then
 * `NO_COLOR` / `NODE_DISABLE_COLORS` / `TERM=dumb`, then whether the stream is a TTY.
 */
export function detectColor(
  stream: NodeJS.WritableStream,
  option: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (option !== undefined) return option;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  // no-color.org: set and not empty means no colour.
  if (env.NO_COLOR) return false;
  if (env.NODE_DISABLE_COLORS) return false;
  if (env.TERM === 'dumb') return false;
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** SGR codes for each role in the output; one table so the palette lives in one place. */
const STYLE = {
  time: '2',
  spanLabel: '35',
  spanName: '1',
  ok: '32',
  error: '1;31',
  errorMessage: '31',
  duration: '2',
  verbose: '90',
  debug: '2',
  info: '36',
  infoText: '',
  warn: '1;33',
  warnText: '33',
  errorLabel: '1;31',
  errorText: '31',
  critical: '1;97;41',
  criticalText: '1;31',
  metric: '34',
  metricValue: '1',
  unit: '2',
  key: '2',
  notice: '33',
} as const;

export type StyleRole = keyof typeof STYLE;

/** Wraps text in an SGR code, or returns it as it is when colour is off. */
export type Paint = (role: StyleRole, text: string) => string;

export const plain: Paint = (_role, text) => text;

export const ansi: Paint = (role, text) => {
  const code = STYLE[role];
  return code && text ? `\x1b[${code}m${text}\x1b[0m` : text;
};
