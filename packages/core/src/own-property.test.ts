/** `setOwn`, as a sink author imports it. */
import { setOwn } from '@telemetry/core/sink';
import { expect, it } from 'vitest';

it('sets keys as own data properties, __proto__ included, without touching the prototype', () => {
  const row: Record<string, unknown> = {};
  setOwn(row, '__proto__', { polluted: true });
  setOwn(row, 'constructor', 'c');
  setOwn(row, 'a', 1);
  expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  expect(Object.keys(row)).toEqual(['__proto__', 'constructor', 'a']);
  expect(Object.getOwnPropertyDescriptor(row, '__proto__')).toEqual({
    value: { polluted: true },
    enumerable: true,
    writable: true,
    configurable: true,
  });
  expect(JSON.parse(JSON.stringify(row))).toEqual(row);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
