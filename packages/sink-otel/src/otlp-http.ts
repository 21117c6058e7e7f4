import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { SignalTarget } from './options.ts';

const gzipAsync = promisify(gzip);

/** OTLP/HTTP: these statuses mean "try again later"; every other error status is final. */
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/** A collector's answer is small; more than this is not an OTLP answer (OpenTelemetry's exporters use the same bound). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const USER_AGENT = 'telemetry-sink-otel (OTLP/HTTP protobuf)';

/** What one request came to. */
export type PostOutcome =
  | { readonly ok: true; readonly body: Buffer }
  | {
      readonly ok: false;
      /** Sending the same data again may succeed. */
      readonly retryable: boolean;
      /** The collector's HTTP status, when it answered. */
      readonly status: number | undefined;
      /** The collector's `Retry-After`, in milliseconds. */
      readonly retryAfterMs: number | undefined;
      /** A short description for messages: `HTTP 503 Service Unavailable: ...`, `ECONNREFUSED: ...`. */
      readonly why: string;
      readonly cause: unknown;
    };

interface Answer {
  readonly status: number;
  readonly statusMessage: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${code}: ${error.message}`
    : error.message;
}

/**
 * Posts OTLP protobuf bodies, one request per call: no retries of its own and
 * no timer that outlives a request (the dispatcher retries; a deadline aborts
 * `signal`, which ends whatever is in flight at once). Connections are kept
 * alive between requests; idle ones never keep the process running.
 */
export class OtlpHttpClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  /** One per target: traces and metrics may trust different certificates. */
  private readonly httpsAgents = new Map<SignalTarget, HttpsAgent>();
  /** Requests made (a retried batch counts once per attempt). */
  requests = 0;

  constructor(private readonly signal: AbortSignal) {}

  /** Sends `body` to the target; never rejects. `abort` ends the request early as the client's own signal does. */
  async post(target: SignalTarget, body: Uint8Array, abort?: AbortSignal): Promise<PostOutcome> {
    const signal = abort ? AbortSignal.any([this.signal, abort]) : this.signal;
    let payload = body;
    const headers: Record<string, string | number> = {
      ...target.headers,
      'content-type': 'application/x-protobuf',
      'user-agent': USER_AGENT,
    };
    if (target.compression === 'gzip') {
      payload = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = payload.byteLength;
    let answer: Answer;
    try {
      answer = await this.send(target, payload, headers, signal, true);
    } catch (error) {
      const known = error instanceof RequestProblem;
      return {
        ok: false,
        retryable: known ? error.retryable : false,
        status: undefined,
        retryAfterMs: undefined,
        why: known ? error.message : describeError(error),
        cause: known ? error.cause : error,
      };
    }
    if (answer.status >= 200 && answer.status < 300) return { ok: true, body: answer.body };
    const text = answer.body.toString('utf8', 0, Math.min(answer.body.length, 200)).trim();
    const printable = /^[\x20-\x7e\s]*$/.test(text) && text.length > 0 ? `: ${text}` : '';
    return {
      ok: false,
      retryable: RETRYABLE_STATUS.has(answer.status),
      status: answer.status,
      retryAfterMs: parseRetryAfter(answer.headers['retry-after']),
      why: `HTTP ${answer.status}${answer.statusMessage ? ` ${answer.statusMessage}` : ''}${printable}`,
      cause: undefined,
    };
  }

  private send(
    target: SignalTarget,
    payload: Uint8Array,
    headers: Record<string, string | number>,
    signal: AbortSignal,
    mayResend: boolean,
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      if (signal.aborted) {
        reject(new RequestProblem(`aborted: ${describeError(signal.reason)}`, true, signal.reason));
        return;
      }
      const url = new URL(target.url);
      const https = url.protocol === 'https:';
      let agent: HttpAgent = this.httpAgent;
      if (https) {
        let own = this.httpsAgents.get(target);
        if (!own) {
          own = new HttpsAgent({ keepAlive: true, ...target.tls });
          this.httpsAgents.set(target, own);
        }
        agent = own;
      }
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      let req: ReturnType<typeof httpRequest>;
      try {
        req = (https ? httpsRequest : httpRequest)(url, { method: 'POST', headers, agent });
      } catch (error) {
        // A header value Node refuses (a newline in an API key): no request can go out.
        reject(new RequestProblem(describeError(error), false, error));
        return;
      }
      this.requests += 1;
      const onAbort = () => {
        req.destroy();
        done(() =>
          reject(
            new RequestProblem(`aborted: ${describeError(signal.reason)}`, true, signal.reason),
          ),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // The socket keeps the process alive while the request is out; this timer need not.
      timer = setTimeout(() => {
        req.destroy();
        done(() =>
          reject(
            new RequestProblem(`no answer within ${target.timeoutMillis} ms`, true, undefined),
          ),
        );
      }, target.timeoutMillis);
      timer.unref();
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            res.destroy();
            done(() =>
              reject(
                new RequestProblem(
                  `the answer (HTTP ${res.statusCode}) is larger than ${MAX_ANSWER_BYTES} bytes`,
                  false,
                  undefined,
                ),
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          done(() =>
            resolve({
              status: res.statusCode ?? 0,
              statusMessage: res.statusMessage ?? '',
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          ),
        );
        res.on('error', (error) => done(() => reject(networkProblem(error))));
      });
      req.on('error', (error) => {
        // A kept-alive connection the collector closed just as it was reused: send once more at once.
        if (
          mayResend &&
          req.reusedSocket &&
          (error as { code?: unknown }).code === 'ECONNRESET' &&
          !settled
        ) {
          done(() => this.send(target, payload, headers, signal, false).then(resolve, reject));
          return;
        }
        done(() => reject(networkProblem(error)));
      });
      req.end(payload);
    });
  }

  /** Closes kept-alive connections and ends requests still out. */
  close(): void {
    this.httpAgent.destroy();
    for (const agent of this.httpsAgents.values()) agent.destroy();
  }
}

/** A failure before any answer; network failures (refused, reset, unreachable, timed out) are retryable. */
class RequestProblem extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** Failures on the wire that may pass (the collector restarting, a network blip, DNS); a bad certificate will not. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
]);

function networkProblem(error: Error): RequestProblem {
  const code = (error as { code?: unknown }).code;
  return new RequestProblem(
    describeError(error),
    typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code),
    error,
  );
}
