import { setOwn } from './own-property.ts';
import type { AttributeValue } from './schemas.ts';

/** Makes a value storable as an attribute: primitives stay, the rest become JSON text. */
export function toAttributeValue(value: unknown): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      return value.toString();
    default:
      return value === null ? null : safeJson(value);
  }
}

/** Copies attributes given by a caller, converting each value; never throws on odd keys. */
export function copyAttributes(input: object | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!input) return out;
  for (const key of Object.keys(input)) {
    const v = toAttributeValue((input as Record<string, unknown>)[key]);
    if (v !== undefined) setOwn(out, key, v);
  }
  return out;
}

/** JSON text for any value: never throws (cycles, BigInt, getters that throw). */
export function safeJson(value: unknown, maxLength = 10_000): string {
  try {
    const seen = new WeakSet<object>();
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
      if (typeof v === 'symbol') return v.toString();
      if (v instanceof Error) return { name: v.name, message: v.message };
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
    if (text === undefined) return String(value);
    return text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
  } catch {
    try {
      return String(value);
    } catch {
      return '[unserializable]';
    }
  }
}
