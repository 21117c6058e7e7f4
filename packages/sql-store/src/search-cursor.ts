/**
 * Opaque cursors of the search extensions: base64url of a small JSON array.
 * Integers travel as decimal text (read exactly, bound as bigint), so a
 * cursor never rounds. Whatever a caller sends back is checked field by field
 * before any of it is bound to a query; a cursor this store did not make is a
 * `TelemetryValidationError` at the parameter's name, never a query.
 */
import { TelemetryValidationError } from '@telemetry/core/sink';
import type { WritePosition } from './dialect.ts';

/** Where the next page of a newest-first trace search starts (just after this trace). */
export interface PageCursor {
  readonly kind: 'page';
  readonly startTime: bigint;
  readonly traceId: string;
}

/** A position in write order (see `WritePosition`: its integers are the dialect's). */
export interface PositionCursor {
  readonly kind: 'position';
  readonly position: WritePosition;
}

const TAG = { page: 'p', position: 'w' } as const;
const INTEGER = /^-?\d{1,19}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Longest trace id text a page cursor carries (a stored id may be anything). */
const MAX_ID_LENGTH = 256;

export function encodePageCursor(startTime: bigint | number, traceId: string): string {
  return encode([TAG.page, BigInt(startTime).toString(), traceId]);
}

export function encodePositionCursor(position: WritePosition): string {
  return encode([TAG.position, ...position.map((n) => n.toString())]);
}

function encode(value: readonly string[]): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Reads a cursor of the given kind; throws `TelemetryValidationError` at `field` for anything else. */
export function decodeCursor(text: string, kind: 'page', field: string, what: string): PageCursor;
export function decodeCursor(
  text: string,
  kind: 'position',
  field: string,
  what: string,
  width: number,
): PositionCursor;
export function decodeCursor(
  text: string,
  kind: 'page' | 'position',
  field: string,
  what: string,
  width = 1,
): PageCursor | PositionCursor {
  const bad = (why: string) =>
    new TelemetryValidationError(what, [
      {
        path: field,
        message: `expected a ${kind === 'page' ? 'next_cursor' : 'cursor'} from an earlier answer of this store (${why})`,
      },
    ]);
  if (!BASE64URL.test(text)) throw bad('not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw bad('not a cursor');
  }
  const [tag, integer, id] = value as string[];
  if (tag !== TAG[kind]) throw bad('a cursor of another kind');
  if (kind === 'position') {
    // A position of another engine has another width: not this store's.
    if (value.length !== 1 + width) throw bad('not a cursor');
    const position = (value as string[]).slice(1).map((v) => {
      if (!INTEGER.test(v)) throw bad('not a cursor');
      const n = BigInt(v);
      if (n < INT64_MIN || n > INT64_MAX) throw bad('out of range');
      return n;
    });
    return { kind, position };
  }
  if (value.length !== 3) throw bad('not a cursor');
  if (integer === undefined || !INTEGER.test(integer)) throw bad('not a cursor');
  const n = BigInt(integer);
  if (n < INT64_MIN || n > INT64_MAX) throw bad('out of range');
  if (id === undefined || id.length > MAX_ID_LENGTH) throw bad('not a cursor');
  return { kind, startTime: n, traceId: id };
}
