import { formatDateTime, isoToMicros, LOOKBACKS, localOffsetMinutes } from '../time.ts';

/** A search's time window as a route holds it: a lookback, or a start and an end. */
export interface TimeWindow {
  readonly since: string | null;
  readonly start: string | null;
  readonly end: string | null;
}

/** What the form's time fields hold: a lookback key, `custom`, or '' (any time). */
export interface TimeWindowInput {
  readonly lookback: string;
  readonly start: string;
  readonly end: string;
}

const CUSTOM = 'custom';
const BOUNDS = [
  ['From', 'start'],
  ['To', 'end'],
] as const;

/** `2026-03-01T11:00:00.000Z` to a `datetime-local` value in local time, and back. */
function toLocalInput(iso: string | null): string {
  if (iso === null) return '';
  const micros = isoToMicros(iso);
  if (Number.isNaN(micros)) return '';
  return formatDateTime(micros, localOffsetMinutes(micros)).replace(' ', 'T').slice(0, 19);
}
function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The fields' values for a route's window; `fallback` is the lookback shown when it has none. */
export function timeWindowInput(route: TimeWindow, fallback: string): TimeWindowInput {
  const custom = route.start !== null || route.end !== null;
  return {
    lookback: custom ? CUSTOM : (route.since ?? fallback),
    start: toLocalInput(route.start),
    end: toLocalInput(route.end),
  };
}

/**
 * The route's window from the fields; the fallback lookback is left out of the
 * route (it is the default). A date that does not parse is pushed onto `errors`.
 */
export function readTimeWindow(
  input: TimeWindowInput,
  fallback: string,
  errors: string[],
): TimeWindow {
  if (input.lookback !== CUSTOM) {
    const since = input.lookback === '' || input.lookback === fallback ? null : input.lookback;
    return { since, start: null, end: null };
  }
  const start = fromLocalInput(input.start);
  const end = fromLocalInput(input.end);
  if (input.start && start === null) errors.push('From: expected a date and time');
  if (input.end && end === null) errors.push('To: expected a date and time');
  return { since: null, start, end };
}

/** The Time select (the lookbacks, the route's own if it is another, from… to…) and, for a custom window, From and To. */
export function TimeWindowFields(props: {
  value: TimeWindowInput;
  onChange: (next: TimeWindowInput) => void;
  /** The route's lookback, offered even when it is none of the usual ones. */
  since: string | null;
  /** Offers "any time" (no window at all). */
  anyTime?: boolean;
}) {
  const { value, onChange, since } = props;
  const set = (field: keyof TimeWindowInput) => (e: Event) =>
    onChange({ ...value, [field]: (e.target as HTMLInputElement | HTMLSelectElement).value });
  return (
    <>
      <label>
        Time
        <select name="since" value={value.lookback} onChange={set('lookback')}>
          {props.anyTime && <option value="">any time</option>}
          {Object.keys(LOOKBACKS).map((k) => (
            <option key={k} value={k}>
              last {k}
            </option>
          ))}
          {since !== null && !(since in LOOKBACKS) && <option value={since}>last {since}</option>}
          <option value={CUSTOM}>from… to…</option>
        </select>
      </label>
      {value.lookback === CUSTOM &&
        BOUNDS.map(([label, field]) => (
          <label key={field}>
            {label}
            <input
              type="datetime-local"
              step={1}
              name={field}
              value={value[field]}
              onInput={set(field)}
            />
          </label>
        ))}
    </>
  );
}
