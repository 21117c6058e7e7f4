/**
 * Trace and span ids in OpenTelemetry's format: 32 and 16 lowercase hex digits,
 * never all zeros. Math.random is what the OpenTelemetry SDK uses too: ids need
 * to be unique, not secret, and crypto calls per span would dominate its cost.
 */
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(): string {
  const n = (Math.random() * 0x1_0000_0000) >>> 0;
  return (
    BYTE_HEX[n >>> 24]! +
    BYTE_HEX[(n >>> 16) & 255]! +
    BYTE_HEX[(n >>> 8) & 255]! +
    BYTE_HEX[n & 255]!
  );
}

function randomHex(length: 16 | 32): string {
  return length === 16 ? hex32() + hex32() : hex32() + hex32() + hex32() + hex32();
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** A new random 128-bit trace id as 32 hex digits. */
export function generateTraceId(): string {
  let id = randomHex(32);
  while (id === ZERO_TRACE) id = randomHex(32);
  return id;
}

/** A new random 64-bit span id as 16 hex digits. */
export function generateSpanId(): string {
  let id = randomHex(16);
  while (id === ZERO_SPAN) id = randomHex(16);
  return id;
}

export const TRACE_ID_RE = /^[0-9a-f]{32}$/;
export const SPAN_ID_RE = /^[0-9a-f]{16}$/;

export function isValidTraceId(id: string): boolean {
  return TRACE_ID_RE.test(id) && id !== ZERO_TRACE;
}

export function isValidSpanId(id: string): boolean {
  return SPAN_ID_RE.test(id) && id !== ZERO_SPAN;
}
