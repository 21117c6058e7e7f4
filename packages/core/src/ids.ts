import { randomFillSync } from 'node:crypto';

/**
 * Trace and span ids in OpenTelemetry's format: 32 and 16 lowercase hex digits,
 * never all zeros. Random bytes come from the system's CSPRNG in blocks and
 * are handed out as slices of one hex string: one small allocation per id,
 * which matters on the path of every span.
 */
const BLOCK_BYTES = 4096;
const block = Buffer.allocUnsafe(BLOCK_BYTES);
let hexBlock = '';
let offset = 0;

function randomHex(length: 16 | 32): string {
  if (offset + length > hexBlock.length) {
    randomFillSync(block);
    hexBlock = block.toString('hex');
    offset = 0;
  }
  const id = hexBlock.slice(offset, offset + length);
  offset += length;
  return id;
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
