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

/** Converts epoch microseconds to `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function toIsoMicros(micros: EpochMicros): string {
  const whole = Math.floor(micros / 1000);
  const sub = Math.round(micros - whole * 1000);
  const iso = new Date(whole).toISOString(); // ...ss.mmmZ
  return `${iso.slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
}

/** Converts a `Date` to epoch microseconds. */
export function dateToMicros(date: Date): EpochMicros {
  return date.getTime() * 1000;
}
