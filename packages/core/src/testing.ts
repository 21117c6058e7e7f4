import { Writable } from 'node:stream';
import { TELEMETRY_ERROR_CODES, TelemetryError } from './errors.ts';
import type { TelemetryEvent } from './schemas.ts';
import type { CompletedSpan, SinkContext, TelemetrySink } from './sink.ts';
import { createTelemetry } from './telemetry.ts';

/** A SinkContext that records what a sink reports, as the dispatcher would count it. */
export interface RecordingContext {
  readonly context: SinkContext;
  /** Events the sink reported dropped, by reason. */
  readonly dropped: Record<string, number>;
  /** Errors the sink reported, in order. */
  readonly errors: unknown[];
  /** Aborts `context.signal`, as a pipeline does when shutdown's deadline passes. */
  abort(reason?: unknown): void;
}

/** A context for driving a sink by hand in a test: `sink.attach(recorded.context)`. */
export function recordingContext(name = 'test'): RecordingContext {
  const dropped: Record<string, number> = {};
  const errors: unknown[] = [];
  const controller = new AbortController();
  return {
    context: {
      name,
      signal: controller.signal,
      recordDropped(count, reason) {
        dropped[reason] = (dropped[reason] ?? 0) + count;
      },
      reportError(error) {
        errors.push(error);
      },
    },
    dropped,
    errors,
    abort: (reason) => controller.abort(reason),
  };
}

/** A real Writable that keeps what it is given, as text. */
export class CaptureStream extends Writable {
  readonly chunks: string[] = [];
  constructor(options: { isTTY?: boolean; highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
    if (options.isTTY) (this as unknown as { isTTY: boolean }).isTTY = true;
  }
  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.chunks.push(chunk.toString('utf8'));
    callback();
  }
  /** Everything written so far. */
  get text(): string {
    return this.chunks.join('');
  }
  /** The lines written so far (without the last empty one). */
  get lines(): string[] {
    const text = this.text;
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }
}

/**
 * A real Writable whose writes never complete until `release()`: a reader that
 * stopped reading. Its `write()` returns false once `highWaterMark` bytes wait.
 */
export class StalledStream extends Writable {
  /** Text that reached the underlying resource (only the first write while stalled). */
  readonly chunks: string[] = [];
  writeCalls = 0;
  private stalled = true;
  private readonly held: (() => void)[] = [];
  constructor(highWaterMark = 1024) {
    super({ highWaterMark });
  }
  // Loose parameters: one signature that matches every overload of Writable.write.
  override write(chunk: any, encoding?: any, callback?: any): boolean {
    this.writeCalls++;
    return super.write(chunk, encoding, callback);
  }
  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.chunks.push(chunk.toString('utf8'));
    if (this.stalled) this.held.push(() => callback());
    else callback();
  }
  /** The reader catches up for good: held writes complete, and so do all later ones. */
  release(): void {
    this.stalled = false;
    for (const done of this.held.splice(0)) done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** A sink that breaks the sink contract; `problems` says how. */
export class SinkConformanceError extends TelemetryError {
  readonly problems: readonly string[];
  constructor(sinkName: string, problems: readonly string[]) {
    super(
      TELEMETRY_ERROR_CODES.sinkConformance,
      `Sink "${sinkName}" breaks the sink contract (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

export interface ConformanceOptions {
  /**
   * Traces to write through a real pipeline (each: a root span with a child,
   * a log and a metric inside).
   * @default 200
   */
  readonly traces?: number;
  /**
   * How long flush and shutdown may take in total.
   * @default 10_000
   */
  readonly timeoutMs?: number;
}

/** What the conformance run saw. */
export interface ConformanceReport {
  readonly sinkName: string;
  /** Writes the sink was given (retries included). */
  readonly writes: number;
  /** The most writes it had in flight at once. */
  readonly maxConcurrentWrites: number;
  /** Events the pipeline counts as delivered to it. */
  readonly delivered: number;
  /** Events accepted by the pipeline. */
  readonly accepted: number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * Runs a sink through a real pipeline and checks the sink contract: it is a
 * sink (a name, a write method); with the writes it is handed frozen, it
 * never mutates a batch; it never has more writes in flight than its
 * `delivery.concurrency`; every accepted event is delivered (nothing dropped,
 * nothing failed, nothing left pending) within the deadline; `forceFlush`
 * and `shutdown` never reject, shutdown is idempotent, and no write comes
 * after it. `make` is called once, for a fresh sink.
 *
 * @throws SinkConformanceError listing every problem found.
 */
export async function checkSinkConformance(
  make: () => TelemetrySink | Promise<TelemetrySink>,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const traces = options.traces ?? 200;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const problems: string[] = [];
  const sink = await make();
  const name = typeof sink?.name === 'string' && sink.name !== '' ? sink.name : '(unnamed)';
  if (name === '(unnamed)') problems.push('it has no non-empty string `name`');
  if (typeof sink?.writeEvents !== 'function' && typeof sink?.writeSpans !== 'function') {
    problems.push('it has neither writeEvents nor writeSpans');
    throw new SinkConformanceError(name, problems);
  }
  const concurrency = sink.delivery?.concurrency ?? 1;
  let writes = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let shutDown = false;
  let writesAfterShutdown = 0;
  const writeErrors: string[] = [];
  const wrap = <T>(write: (batch: readonly T[]) => unknown) =>
    async function (this: unknown, batch: readonly T[]) {
      writes += 1;
      if (shutDown) writesAfterShutdown += 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        // A copy, frozen to the bone: a sink that mutates what it is given throws here.
        await write.call(sink, deepFreeze(structuredClone(batch)) as readonly T[]);
      } catch (error) {
        writeErrors.push(error instanceof Error ? error.message : String(error));
        throw error;
      } finally {
        inFlight -= 1;
      }
    };
  // The probe is what the pipeline sees: the sink's own methods, watched.
  const probe: TelemetrySink = {
    name,
    ...(sink.delivery ? { delivery: sink.delivery } : {}),
    attach: (context) => sink.attach?.(context),
    ...(sink.writeEvents
      ? {
          writeEvents: wrap<TelemetryEvent>(
            sink.writeEvents as (b: readonly TelemetryEvent[]) => unknown,
          ),
        }
      : {}),
    ...(sink.writeSpans
      ? {
          writeSpans: wrap<CompletedSpan>(
            sink.writeSpans as (b: readonly CompletedSpan[]) => unknown,
          ),
        }
      : {}),
    ...(sink.onGap
      ? { onGap: (count: number, reason: string) => sink.onGap?.(count, reason) }
      : {}),
    forceFlush: () => sink.forceFlush?.() ?? Promise.resolve(),
    shutdown: async () => {
      shutDown = true;
      await sink.shutdown?.();
    },
  };
  const warnings: string[] = [];
  const telemetry = createTelemetry({ sinks: [probe], warn: (m) => warnings.push(m) });
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < traces; i++) {
    work.push(
      telemetry.withTrace(`conformance-${i}`, async (root) => {
        root.setAttribute('i', i);
        await telemetry.withSpan('child', (span) => {
          span.log(`log ${i}`, 'info', { i });
          span.metric('conformance_items', i, 'count', { kind: 'test' });
        });
      }),
    );
  }
  await Promise.all(work);
  let flushed: boolean;
  try {
    flushed = await telemetry.flush({ timeoutMs });
  } catch (error) {
    flushed = false;
    problems.push(`flush() rejected: ${String(error)}`);
  }
  if (!flushed) {
    problems.push(
      `flush() did not finish within ${timeoutMs} ms, or the sink's forceFlush answered false or failed`,
    );
  }
  const stats = telemetry.stats();
  const mine = stats.sinks[name]!;
  if (writeErrors.length > 0) {
    problems.push(`${writeErrors.length} write(s) failed (first error: ${writeErrors[0]})`);
  } else if (mine.lastError !== undefined && flushed) {
    problems.push(`it reported an error: ${mine.lastError}`);
  }
  const dropped = Object.entries(mine.dropped).filter(([, n]) => n > 0);
  if (dropped.length > 0) {
    problems.push(`it dropped events: ${dropped.map(([r, n]) => `${r}: ${n}`).join(', ')}`);
  }
  if (mine.pending > 0 && flushed)
    problems.push(`${mine.pending} event(s) still pending after flush()`);
  if (mine.delivered !== stats.accepted && dropped.length === 0 && mine.failed === 0 && flushed) {
    problems.push(`${mine.delivered} of ${stats.accepted} accepted events were delivered`);
  }
  if (maxInFlight > concurrency) {
    problems.push(
      `the pipeline had ${maxInFlight} writes in flight though delivery.concurrency is ${concurrency}`,
    );
  }
  const shutdown = telemetry.shutdown({ timeoutMs });
  await shutdown;
  try {
    await sink.shutdown?.();
  } catch (error) {
    problems.push(`a second shutdown() rejected: ${String(error)}`);
  }
  const after = telemetry.stats().sinks[name]!;
  if (after.dropped.shutdown_timeout) {
    problems.push(`shutdown() did not finish within ${timeoutMs} ms`);
  }
  if (writesAfterShutdown > 0)
    problems.push(`${writesAfterShutdown} write(s) came after shutdown()`);
  try {
    const late = sink.writeSpans ? sink.writeSpans([]) : sink.writeEvents?.([]);
    await Promise.resolve(late).catch(() => {});
  } catch (error) {
    problems.push(`a write after shutdown() threw synchronously: ${String(error)}`);
  }
  if (problems.length > 0) throw new SinkConformanceError(name, problems);
  return {
    sinkName: name,
    writes,
    maxConcurrentWrites: maxInFlight,
    delivered: mine.delivered,
    accepted: stats.accepted,
  };
}
