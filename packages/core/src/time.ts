/**
 * Time in this toolkit is a number of microseconds since the Unix epoch.
 *
 * JavaScript's `Date` keeps milliseconds only; a 40 µs span must stay 40 µs in
 * every sink, so events carry epoch microseconds (safe as a double until the
 * year 2255) and conversion to ISO-8601 keeps all six fractional digits.
 */
export type EpochMicros = number;

// performance.now() is monotonic with sub-microsecond resolution; anchoring it to
// timeOrigin once gives wall-clock microseconds without a Date per call.
const originMicros = Math.round(performance.timeOrigin * 1000);

/** The current time in epoch microseconds. */
export function nowMicros(): EpochMicros {
  return originMicros + Math.round(performance.now() * 1000);
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * Parses an ISO-8601 date-time with up to nanosecond digits (kept to the
 * microsecond). A string without an offset is UTC, as Python's naive
 * `datetime.isoformat()` output from Llama Stack means. Returns `undefined`
 * when the string is not such a date-time.
 */
export function parseIsoMicros(text: string): EpochMicros | undefined {
  const m = ISO_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  if (Number.isNaN(ms)) return undefined;
  if (sign) {
    const offset = (Number(oh) * 60 + Number(om)) * 60_000;
    ms += sign === '+' ? -offset : offset;
  }
  const micros = frac ? Number(frac.padEnd(6, '0').slice(0, 6)) : 0;
  return ms * 1000 + micros;
}

/** 0001-01-01T00:00:00Z, the earliest instant `toIsoMicros` renders as itself. */
const MIN_ISO_MICROS: EpochMicros = -62_135_596_800_000_000;
/** 10000-01-01T00:00:00Z: the first instant past what `toIsoMicros` renders as itself. */
const PAST_MAX_ISO_MICROS: EpochMicros = 253_402_300_800_000_000;
const MIN_ISO = '0001-01-01T00:00:00.000000Z';
const MAX_ISO = '9999-12-31T23:59:59.999999Z';

/**
 * Converts epoch microseconds to `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Never throws:
 * a time before year 1 or after year 9999 (what four-digit ISO years, and
 * Python's `datetime` on the Llama Stack side, can hold) is clamped to
 * `0001-01-01T00:00:00.000000Z` or `9999-12-31T23:59:59.999999Z`, and a
 * value that is not a number at all (NaN) reads as the earliest. Stored data
 * can hold such times (old files, other writers); one must not make a whole
 * query fail.
 */
export function toIsoMicros(micros: EpochMicros): string {
  // Written so that NaN (every comparison false) takes the first branch.
  if (!(micros >= MIN_ISO_MICROS)) return MIN_ISO;
  if (micros >= PAST_MAX_ISO_MICROS) return MAX_ISO;
  const exact = Math.round(micros);
  const second = Math.floor(exact / 1_000_000);
  // Times come in runs within one second (the spans of a trace, a page of
  // results): formatting the date part once per second halves the cost.
  if (second !== lastSecond) {
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
    lastSecond = second;
  }
  return `${lastPrefix}.${String(exact - second * 1_000_000).padStart(6, '0')}Z`;
}

let lastSecond = Number.NaN;
let lastPrefix = '';

/** Converts a `Date` to epoch microseconds. */
export function dateToMicros(date: Date): EpochMicros {
  return date.getTime() * 1000;
}
