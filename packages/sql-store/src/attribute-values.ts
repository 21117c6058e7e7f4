/**
 * How attribute values are stored in `span_attributes` and compared by filters.
 *
 * SQLite would compare across types (every number sorts before every string,
 * and `true` is just 1); a filter here compares a value only with values of its
 * own type, so `gt 3` never matches the string "abc" and `eq true` never
 * matches the number 1.
 */
export const ValueType = {
  string: 1,
  number: 2,
  boolean: 3,
  null: 4,
  /** Arrays or objects (possible from OpenTelemetry instrumentation), stored as JSON text. */
  json: 5,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** A value as bound to SQLite, with its type tag. */
export interface EncodedValue {
  readonly type: ValueType;
  readonly value: string | number | bigint | null;
}

/** Encodes one attribute value for `span_attributes`. Never throws. */
export function encodeAttributeValue(value: unknown): EncodedValue {
  switch (typeof value) {
    case 'string':
      return { type: ValueType.string, value };
    case 'number':
      // NaN and the infinities have no JSON form; SQLite would store NULL anyway.
      return Number.isFinite(value)
        ? { type: ValueType.number, value }
        : { type: ValueType.null, value: null };
    case 'bigint':
      return { type: ValueType.number, value };
    case 'boolean':
      return { type: ValueType.boolean, value: value ? 1 : 0 };
    default:
      if (value === null || value === undefined) return { type: ValueType.null, value: null };
      return { type: ValueType.json, value: safeJson(value) };
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
