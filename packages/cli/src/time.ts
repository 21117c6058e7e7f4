/**
 * Durations (`90s`, `15m`, `1h30m`, `7d`) and points in time (a duration ago,
 * `now`, or ISO-8601) as the command line writes them.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
const HINT = 'a number and a unit (ms, s, m, h, d, w) such as 500ms, 90s, 15m, 1h30m or 7d';

/**
 * Milliseconds of a duration such as `1h30m`; with `bare: 'ms'`, a plain
 * number is milliseconds. Throws an Error whose message says what is expected.
 */
export function parseDuration(text: string, options: { bare?: 'ms' } = {}): number {
  const t = text.trim();
  if (options.bare === 'ms' && /^\d+(?:\.\d+)?$/.test(t)) return Number(t);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < t.length) {
    const start = PART.lastIndex;
    const m = PART.exec(t);
    if (!m || m.index !== start) {
      matched = -1;
      break;
    }
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    matched++;
  }
  if (matched <= 0 || !Number.isFinite(total)) {
    throw new Error(
      `Expected ${HINT}${options.bare === 'ms' ? ', or a plain number of milliseconds' : ''}`,
    );
  }
  return total;
}

const ISO =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A point in time: a duration ago (`1h`: an hour before `now`), `now`, or
 * an ISO-8601 date or time (`2026-03-01`, `2026-03-01T11:00:00Z`; without a
 * zone it is UTC). Milliseconds since the epoch.
 */
export function parseTime(text: string, now: number): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (ISO.test(t)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) || !/[T ]/.test(t) ? t : `${t}Z`;
    const ms = Date.parse(zoned.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  try {
    return now - parseDuration(t);
  } catch {
    throw new Error(
      `Expected a time: a duration ago such as 15m, 1h or 7d, 'now', or an ISO-8601 date or time such as 2026-03-01T11:00:00Z`,
    );
  }
}

/** `218.09ms`, `1.52s`, `2m03s`, `5h07m`: short, and exact enough to compare. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${ms.toFixed(2)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(2)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (ms < 3_600_000) {
    const s = Math.floor(ms / 1_000);
    return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  }
  const m = Math.floor(ms / 60_000);
  return `${Math.floor(m / 60)}h${pad(m % 60)}m`;
}

/** `2026-12-01 20:55:08.634` (UTC) from an ISO-8601 time with any fraction. */
export function formatTime(iso: string): string {
  const m = /^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(iso);
  if (!m) return iso;
  return `${m[1]} ${m[2]}${(m[3] ?? '.000').padEnd(4, '0')}`;
}

/** `1.2 MB`, `512 B`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1_000 && unit < units.length - 1) {
    value /= 1_000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}
