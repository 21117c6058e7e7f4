import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { HttpError, payloadTooLarge } from './errors.ts';

const gunzipAsync = promisify(gunzip);

/**
 * Reads a request body, refusing it (413) as soon as it passes `limit` bytes,
 * and inflates gzip with the same limit on the output, so neither a huge body
 * nor a small gzip bomb costs more than `limit` bytes of memory.
 */
export async function readBody(
  request: Request,
  limit: number,
  incoming?: IncomingMessage,
): Promise<Uint8Array> {
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new HttpError(
      415,
      'TELEMETRY_UNSUPPORTED_ENCODING',
      `Content-Encoding '${encoding}' is not supported: send the body as is or gzip-compressed.`,
    );
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw payloadTooLarge(limit);
  const raw = incoming ? await readIncoming(incoming, limit) : await readLimited(request, limit);
  if (encoding === 'identity') return raw;
  try {
    return await gunzipAsync(raw, { maxOutputLength: limit });
  } catch (error) {
    if (
      (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ||
      error instanceof RangeError
    ) {
      throw payloadTooLarge(limit, 'The decompressed request body');
    }
    throw new HttpError(
      400,
      'TELEMETRY_BAD_ENCODING',
      `The body is not valid gzip (${(error as Error).message}): send it compressed whole, or without Content-Encoding.`,
    );
  }
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      // The client went away or timed out mid-body: nothing of it is used.
      throw cutOff(error);
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks, size);
}

const cutOff = (cause?: unknown) =>
  new HttpError(
    400,
    'TELEMETRY_BODY_INCOMPLETE',
    'The request body was cut off before its end; send it again.',
    { cause },
  );

/**
 * The same, straight from Node's request stream when the server runs on
 * node:http: it skips the web-stream wrapping of every chunk. Past the limit it
 * stops listening (the adapter drains or drops the rest) so the 413 can still
 * be sent on this connection.
 */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  if (incoming.readableEnded) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        incoming.pause();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      done();
      reject(cutOff(error));
    };
    const onAborted = () => {
      done();
      reject(cutOff());
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

/** Node's request stream, when the app is served by @hono/node-server (its `env.incoming`). */
export function nodeIncoming(env: unknown): IncomingMessage | undefined {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming && typeof incoming.on === 'function' ? incoming : undefined;
}

/** The media type of a request, lowercase, without parameters (`application/json`). */
export function mediaType(request: Request): string {
  const type = request.headers.get('content-type') ?? '';
  return type.split(';', 1)[0]!.trim().toLowerCase();
}

export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * Parses a JSON body. Asks for `Content-Type: application/json`: browsers send
 * that type cross-origin only after a CORS preflight, which this server never
 * grants, so a web page cannot post to a server on localhost.
 */
export async function readJson(
  request: Request,
  limit: number,
  incoming?: IncomingMessage,
): Promise<unknown> {
  const type = mediaType(request);
  const bytes = await readBody(request, limit, incoming);
  if (bytes.byteLength === 0) return undefined;
  if (!isJsonType(type)) {
    throw new HttpError(
      415,
      'TELEMETRY_UNSUPPORTED_MEDIA_TYPE',
      `Expected Content-Type: application/json, got '${type || '(none)'}'.`,
    );
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(
      400,
      'TELEMETRY_INVALID_JSON',
      `The request body is not valid JSON (${(error as Error).message}).`,
    );
  }
}
