/**
 * Stored rows as results, whatever the file holds. The writer stores only
 * well-formed rows, but a file can come from an older version, another
 * writer, or someone editing it by hand: SQLite keeps any value in any column
 * (text in an INTEGER column, a blob as a name, JSON that is not an object).
 * Nothing here throws, and one odd row never makes a query fail for the rows
 * that are fine.
 */
import { toIsoMicros } from '@telemetry/core';

const utf8 = new TextDecoder();

/** A text column as a string: numbers in their decimal form, blobs decoded as UTF-8, NULL as ''. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return utf8.decode(value);
  return '';
}

/**
 * A time column (epoch microseconds) as ISO-8601. A time before year 1 or
 * after 9999 is clamped to 0001-01-01T00:00:00.000000Z or
 * 9999-12-31T23:59:59.999999Z; a value that is not a number reads as the
 * earliest (see `toIsoMicros`).
 */
export function isoTime(value: unknown): string {
  return toIsoMicros(
    typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number.NaN,
  );
}

/**
 * Deeper nesting than this in one attribute value is replaced by null: it
 * cannot come from the toolkit (attribute values are flat), and a value nested
 * thousands deep parses but cannot be serialized again (JSON.stringify and
 * structuredClone overflow the stack), so it would break every answer it is in.
 */
export const MAX_VALUE_DEPTH = 64;

/** The `attributes` JSON of a span as an object; `{}` when it is not a JSON object. */
export function parseAttributes(json: unknown): Record<string, unknown> {
  if (typeof json !== 'string') return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {};
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const attributes = value as Record<string, unknown>;
  for (const key of Object.keys(attributes)) {
    const v = attributes[key];
    if (v !== null && typeof v === 'object' && !withinDepth(v, MAX_VALUE_DEPTH)) {
      attributes[key] = null;
    }
  }
  return attributes;
}

/** True when no array or object inside `value` is nested deeper than `max` levels. */
function withinDepth(value: object, max: number): boolean {
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return false;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return true;
}
