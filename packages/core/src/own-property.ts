/**
 * Sets `key` as an own property. Plain assignment would change the prototype
 * for `__proto__` (and lose the attribute); every other key assigns as usual,
 * which keeps objects in V8's fast mode.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}
