/**
 * Time in this toolkit is a number of microseconds since the Unix epoch.
 *
 * JavaScript's `Date` keeps milliseconds only; a 40 µs span must stay 40 µs in
 * every sink, so events carry epoch microseconds and conversion to ISO-8601
 * keeps all six fractional digits. A double holds every microsecond exactly
 * from the year 1685 to 2255; earlier and later times are kept to 8-32 µs.
 *
 * The representable range is Python's `datetime` range, which is what Llama
 * Stack writes: `0001-01-01T00:00:00.000000Z` to `9999-12-31T23:59:59.999999Z`.
 * Every boundary (the event schema, `parseIsoMicros`, OpenTelemetry time
 * inputs) rejects what lies outside it, so no stored time can make a later
 * conversion throw.
 */
export type EpochMicros = number;

const MICROS_PER_DAY = 86_400_000_000;

/** Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The earliest representable time: `0001-01-01T00:00:00.000000Z`. */
export const MIN_EPOCH_MICROS: EpochMicros = daysFromCivil(1, 1, 1) * MICROS_PER_DAY;

/**
 * The latest representable time: the last double not after
 * `9999-12-31T23:59:59.999999Z` (doubles are 32 µs apart there).
 */
export const MAX_EPOCH_MICROS: EpochMicros = Number(253_402_300_799_999_968n);

/** True for a finite number of epoch microseconds inside the documented range. */
export function isEpochMicrosInRange(micros: number): boolean {
  return Number.isFinite(micros) && micros >= MIN_EPOCH_MICROS && micros <= MAX_EPOCH_MICROS;
}

// performance.now() is monotonic with sub-microsecond resolution; anchoring it to
// timeOrigin once gives wall-clock microseconds without a Date per call.
const originMicros = Math.round(performance.timeOrigin * 1000);

/** The current time in epoch microseconds. */
export function nowMicros(): EpochMicros {
  return originMicros + Math.round(performance.now() * 1000);
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an ISO-8601 date-time with up to nanosecond digits (kept to the
 * microsecond). A string without an offset is UTC, as Python's naive
 * `datetime.isoformat()` output from Llama Stack means. Returns `undefined`
 * when the string is not such a date-time: an impossible date (`2025-02-30`),
 * an offset beyond ±23:59, or a time outside years 0001 to 9999. Years below
 * 100 are those years (`0050` is the year 50), not the 1900s.
 */
export function parseIsoMicros(text: string): EpochMicros | undefined {
  const m = ISO_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  // A leap second (:60) is read as the first second of the next minute.
  const second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (sign) {
    const offsetHours = Number(oh);
    const offsetMins = Number(om);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (sign === '+' ? 1 : -1) * (offsetHours * 60 + offsetMins);
  }
  const seconds =
    daysFromCivil(year, month, day) * 86_400 + hour * 3600 + (minute - offsetMinutes) * 60 + second;
  const fraction = frac ? Number(frac.padEnd(6, '0').slice(0, 6)) : 0;
  let micros = seconds * 1_000_000 + fraction;
  // The last microseconds of 9999 round up past the range in a double: keep them at its end.
  if (micros > MAX_EPOCH_MICROS && seconds * 1_000_000 <= MAX_EPOCH_MICROS) {
    micros = MAX_EPOCH_MICROS;
  }
  return isEpochMicrosInRange(micros) ? micros : undefined;
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
 * value that is not a number at all (NaN) reads as the earliest. Input is
 * validated to that range, but stored data can hold anything (old files, other
 * writers); one row must not make a whole query fail.
 */
export function toIsoMicros(micros: EpochMicros): string {
  // Written so that NaN (every comparison false) takes the first branch.
  if (!(micros >= MIN_ISO_MICROS)) return MIN_ISO;
  if (micros >= PAST_MAX_ISO_MICROS) return MAX_ISO;
  let second: number;
  let sub: number;
  if (Math.abs(micros) <= Number.MAX_SAFE_INTEGER) {
    const exact = Math.round(micros);
    second = Math.floor(exact / 1_000_000);
    sub = exact - second * 1_000_000;
  } else {
    // Beyond 2^53 (before 1685, after 2255) a double is still an integer, but
    // arithmetic on it rounds: split it exactly, flooring for negative times.
    const big = BigInt(micros);
    let q = big / 1_000_000n;
    let r = big % 1_000_000n;
    if (r < 0n) {
      r += 1_000_000n;
      q -= 1n;
    }
    second = Number(q);
    sub = Number(r);
  }
  // Times come in runs within one second (the spans of a trace, a page of
  // results): formatting the date part once per second halves the cost.
  if (second !== lastSecond) {
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
    lastSecond = second;
  }
  return `${lastPrefix}.${String(sub).padStart(6, '0')}Z`;
}

let lastSecond = Number.NaN;
let lastPrefix = '';

/** Converts a `Date` to epoch microseconds (`NaN` for an invalid Date). */
export function dateToMicros(date: Date): EpochMicros {
  return date.getTime() * 1000;
}
