import type { Context, Exception, SpanStatus as OtelSpanStatus } from '@opentelemetry/api';
import { isThenable } from './async.ts';
import { safeJson } from './attributes.ts';
import { contextManager } from './context.ts';
import type { Attributes, LogSeverity } from './schemas.ts';
import type { TelemetrySpan } from './span.ts';

/** What a helper's callback receives: the span it runs in. */
export interface SpanHandle {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly name: string;
  setAttribute(key: string, value: unknown): unknown;
  setAttributes(attributes: Attributes): unknown;
  /** Logs a message inside this span. */
  log(message: string, severity?: LogSeverity, attributes?: Attributes): void;
  /** Records a metric inside this span. */
  metric(metric: string, value: number, unit?: string, attributes?: Attributes): void;
  setStatus(status: OtelSpanStatus): unknown;
  recordException(exception: Exception): void;
  /** Marks the span failed because of `error`, without ending it. */
  fail(error: unknown): void;
  isRecording(): boolean;
}

/** The span handed to callbacks outside a trace: everything is a no-op. */
export const NOOP_SPAN: SpanHandle = Object.freeze({
  trace_id: '',
  span_id: '',
  parent_span_id: null,
  name: '',
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  log: () => {},
  metric: () => {},
  setStatus: () => NOOP_SPAN,
  recordException: () => {},
  fail: () => {},
  isRecording: () => false,
});

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, unknown, unknown> {
  return Object.prototype.toString.call(value) === '[object AsyncGenerator]';
}

/**
 * Runs `fn` with `span` current and ends the span when `fn` is done: at once,
 * when its promise settles, or when its async generator finishes. Errors end
 * the span with status error and are re-thrown unchanged.
 */
export function runInSpan<T>(
  span: TelemetrySpan,
  ctx: Context,
  fn: (...args: any[]) => T,
  thisArg: unknown,
  args: unknown[],
  recordOutput: boolean,
): T {
  let result: T;
  try {
    result = contextManager.with(ctx, fn, thisArg, ...args);
  } catch (error) {
    span.fail(error);
    span.end();
    throw error;
  }
  if (isAsyncGenerator(result)) return traceGenerator(result, span, ctx) as T;
  if (isThenable(result)) {
    return result.then(
      (value) => {
        if (recordOutput) span.setAttribute('__output__', safeJson(value));
        span.end();
        return value;
      },
      (error: unknown) => {
        span.fail(error);
        span.end();
        throw error;
      },
    ) as T;
  }
  if (recordOutput) span.setAttribute('__output__', safeJson(result));
  span.end();
  return result;
}

/** Wraps an async generator so its body runs in the span and the span ends with the stream. */
function traceGenerator<Y, R, N>(
  inner: AsyncGenerator<Y, R, N>,
  span: TelemetrySpan,
  ctx: Context,
): AsyncGenerator<Y, R, N> {
  let chunks = 0;
  let finished = false;
  const finish = (error?: unknown) => {
    if (finished) return;
    finished = true;
    span.setAttribute('chunk_count', chunks);
    if (error !== undefined) span.fail(error);
    span.end();
  };
  const step = async (call: () => Promise<IteratorResult<Y, R>>): Promise<IteratorResult<Y, R>> => {
    try {
      const r = await contextManager.with(ctx, call);
      if (r.done) finish();
      else if (!finished) chunks += 1;
      return r;
    } catch (error) {
      finish(error ?? new Error('async generator threw'));
      throw error;
    }
  };
  const wrapped = {
    next: (...value: [] | [N]) => step(() => inner.next(...value)),
    return: (value: R | PromiseLike<R>) => step(() => inner.return(value)),
    throw: (error: unknown) => step(() => inner.throw(error)),
    [Symbol.asyncIterator]() {
      return wrapped;
    },
    async [Symbol.asyncDispose]() {
      await wrapped.return(undefined as R);
    },
  };
  Object.defineProperty(wrapped, Symbol.toStringTag, { value: 'AsyncGenerator' });
  return wrapped as unknown as AsyncGenerator<Y, R, N>;
}
