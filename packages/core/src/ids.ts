/**
 * Trace and span ids in OpenTelemetry's format: 32 and 16 lowercase hex digits,
 * never all zeros. Math.random is what the OpenTelemetry SDK uses too: ids need
 * to be unique, not secret, and crypto calls per span would dominate its cost.
 */
const HEX = '0123456789abcdef';

function randomHex(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 8) {
    // 8 hex digits from 32 random bits at a time.
    const n = (Math.random() * 0x1_0000_0000) >>> 0;
    out +=
      HEX[(n >>> 28) & 15]! + HEX[(n >>> 24) & 15]! + HEX[(n >>> 20) & 15]! + HEX[(n >>> 16) & 15]!;
    out += HEX[(n >>> 12) & 15]! + HEX[(n >>> 8) & 15]! + HEX[(n >>> 4) & 15]! + HEX[n & 15]!;
  }
  return out;
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
