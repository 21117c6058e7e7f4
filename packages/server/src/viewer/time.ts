/**
 * Times and durations for the viewer page: the store's ISO-8601 times carry
 * microseconds, which `Date.parse` drops, so they are read here to epoch
 * microseconds, and durations are shown and typed the way people write them.
 * Pure functions (no DOM), shared by the page and its tests.
 */

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/** An ISO-8601 date-time to epoch microseconds (fraction kept to the microsecond); NaN if it is not one. */
export function isoToMicros(iso: string): number {
  const match = ISO.exec(iso);
  if (!match) return Number.NaN;
  const ms = Date.parse(`${match[1]}${match[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return Number.NaN;
  const fraction = (match[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(fraction);
}

/** Epoch microseconds to ISO-8601 UTC with six fractional digits (what the store writes). */
export function microsToIso(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const rest = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // ...T12:00:00.123Z
  return `${iso.slice(0, -1)}${String(Math.round(rest)).padStart(3, '0')}Z`;
}

const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));

/** A duration in milliseconds as people read it: `40µs`, `1.25ms`, `312ms`, `2.4s`, `3m 12s`, `1h 5m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1) return `${trim(ms * 1000, 0)}µs`;
  if (ms < 10) return `${trim(ms, 2)}ms`;
  if (ms < 1000) return `${trim(ms, 1)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000, ms < 10_000 ? 2 : 1)}s`;
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    return `${minutes}m ${Math.floor((ms % 60_000) / 1000)}s`;
  }
  const hours = Math.floor(ms / 3_600_000);
  return `${hours}h ${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  µs: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A typed duration to milliseconds: `250ms`, `2s`, `1.5m`, `1h`, `40us`, or a
 * bare number of milliseconds. `undefined` when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNIT_MS[(match[2] ?? 'ms').toLowerCase()];
  if (unit === undefined) return undefined;
  const ms = Number(match[1]) * unit;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Lookback windows offered by the search and metrics forms, in seconds. */
export const LOOKBACKS: Readonly<Record<string, number>> = Object.freeze({
  '15m': 900,
  '1h': 3_600,
  '6h': 21_600,
  '24h': 86_400,
  '7d': 604_800,
  '30d': 2_592_000,
});

/** Seconds of a lookback such as `1h` or `90m` (`<n>s|m|h|d`); undefined when it is not one. */
export function lookbackSeconds(text: string): number | undefined {
  const match = /^([1-9]\d{0,6})([smhd])$/.exec(text);
  if (!match) return undefined;
  const unit = { s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS.mmm` in the given time zone offset (minutes east of UTC; the page passes the local one). */
export function formatDateTime(micros: number, offsetMinutes: number): string {
  const d = new Date(Math.floor(micros / 1000) + offsetMinutes * 60_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** The local time zone's offset at that instant, minutes east of UTC. */
export function localOffsetMinutes(micros: number): number {
  return -new Date(Math.floor(micros / 1000)).getTimezoneOffset();
}
