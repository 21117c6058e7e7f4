import type { InstrumentationScope } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  type CompletedSpan,
  defineSink,
  eventCountOf,
  type SinkContext,
  type SinkDefinition,
  type SinkDelivery,
  type TelemetrySink,
} from '@telemetry/core/sink';
import { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
import { MetricExporter } from './metric-export.ts';
import { MetricRecorder } from './metrics.ts';
import {
  type OtelSinkOptions,
  OtelSinkOptionsSchema,
  otelOptionsFromConfig,
  type ResolvedOtelSinkOptions,
  resolveOtlpSettings,
  type SignalTarget,
} from './options.ts';
import { OtlpHttpClient } from './otlp-http.ts';
import { toReadableSpans } from './span-convert.ts';

/** The instrumentation scope of exported spans and metrics: the toolkit's tracing helpers. */
const SCOPE: InstrumentationScope = Object.freeze({ name: '@telemetry/core' });

/** OTLP times are unsigned 64-bit nanoseconds: from 1970 to 2^64 ns (July 2554), here in µs. */
const MAX_OTLP_MICROS = 2 ** 64 / 1000;

/** What the exporter did; every loss of events is counted in core's `stats().sinks[name]`. */
export interface OtelSinkStats {
  /** Spans the collector accepted. */
  readonly exportedSpans: number;
  /** Trace export requests made (retries and 413 halves included). */
  readonly exportRequests: number;
  /** Spans the collector accepted a request for but said it rejected (OTLP partial success). */
  readonly rejectedSpans: number;
  /** Metric exports the collector accepted, and attempts that failed. */
  readonly metricExports: number;
  readonly failedMetricExports: number;
  /** Metric values recorded into OTLP metrics. */
  readonly recordedMetricValues: number;
  /** Metric values their instrument could not take (a negative value for a counter, ...). */
  readonly skippedMetricValues: number;
  /** Values recorded since the state of the last accepted metrics export was taken. */
  readonly unsentMetricValues: number;
}

/** The OTLP sink: a TelemetrySink with its endpoints and its exporter counts. */
export interface OtelSink extends TelemetrySink {
  /** Where traces and metrics go (undefined when that signal is off). */
  readonly endpoints: { readonly traces: string | undefined; readonly metrics: string | undefined };
  readonly delivery: SinkDelivery;
  /** Exports the spans; resolves once the collector accepted them, rejects when it did not. */
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
  /** Sends the latest metrics (within `timeoutMillis`); false if they could not be sent. Never rejects. */
  forceFlush(): Promise<boolean>;
  /** Sends the latest metrics (within `timeoutMillis`, or until the pipeline's deadline) and closes connections; idempotent. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  stats(): OtelSinkStats;
}

function eventsIn(spans: readonly CompletedSpan[]): number {
  let n = 0;
  for (const s of spans) n += eventCountOf(s);
  return n;
}

function fitsOtlp(span: CompletedSpan): boolean {
  if (
    !(span.start_time >= 0 && span.end_time < MAX_OTLP_MICROS && span.start_time < MAX_OTLP_MICROS)
  )
    return false;
  for (const e of span.events)
    if (!(e.timestamp >= 0 && e.timestamp < MAX_OTLP_MICROS)) return false;
  return true;
}

class OtlpExporterSink implements Omit<OtelSink, 'name'> {
  readonly endpoints: OtelSink['endpoints'];
  readonly delivery: SinkDelivery;
  private readonly resource: Resource;
  private readonly client: OtlpHttpClient;
  private readonly traces: SignalTarget | undefined;
  private readonly recorder: MetricRecorder | undefined;
  private readonly metrics: MetricExporter | undefined;
  private readonly metricsTarget: SignalTarget | undefined;
  /** Batches seen before: their metrics are recorded and their bad spans counted once, whatever the retries. */
  private readonly seen = new WeakSet<readonly CompletedSpan[]>();
  /** Spans of a batch already sent (or given up) in 413 halves, so that a retry of the batch skips them. */
  private readonly settledParts = new WeakMap<readonly CompletedSpan[], Set<CompletedSpan>>();
  private exportedSpans = 0;
  private exportRequests = 0;
  private rejectedSpans = 0;
  private closed = false;
  /** The last trace export failed and none succeeded since: spans are held back for the same cause. */
  private tracesFailing = false;
  private unsentReported = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    options: ResolvedOtelSinkOptions,
    private readonly context: SinkContext,
  ) {
    const settings = resolveOtlpSettings(options);
    this.traces = settings.traces;
    this.metricsTarget = settings.metrics;
    this.endpoints = { traces: settings.traces?.url, metrics: settings.metrics?.url };
    this.delivery = {
      concurrency: settings.traces ? options.maxConcurrentExports : 1,
      maxBatchSize: options.maxExportBatchSize,
    };
    const attributes: Record<string, string | number | boolean> = {
      ...settings.resourceAttributes,
    };
    if (settings.serviceName !== undefined) attributes[ATTR_SERVICE_NAME] = settings.serviceName;
    // One shared object: the OTLP encoder groups spans by resource and scope identity.
    this.resource = defaultResource().merge(resourceFromAttributes(attributes));
    this.client = new OtlpHttpClient(context.signal);
    if (settings.metrics) {
      this.recorder = new MetricRecorder(this.resource, SCOPE.name, options.metricKinds);
      this.metrics = new MetricExporter(
        this.recorder,
        this.client,
        settings.metrics,
        context,
        settings.metricExportIntervalMillis,
      );
    }
    // The pipeline's deadline passed: requests in flight end (the client listens too), and
    // what the metrics could not send is said now, before the pipeline's summary.
    context.signal.addEventListener('abort', () => this.onDeadline(), { once: true });
  }

  async writeSpans(spans: readonly CompletedSpan[]): Promise<void> {
    if (this.closed) {
      this.context.recordDropped(eventsIn(spans), 'after_shutdown');
      return;
    }
    if (!this.seen.has(spans)) {
      this.seen.add(spans);
      this.firstSight(spans);
    }
    if (!this.traces) return;
    const settled = this.settledParts.get(spans);
    let todo: readonly CompletedSpan[] = spans;
    if (settled || !spans.every(fitsOtlp)) {
      todo = spans.filter((s) => fitsOtlp(s) && !settled?.has(s));
    }
    if (todo.length === 0) return;
    await this.send(this.traces, todo, spans, true);
    this.settledParts.delete(spans);
  }

  /** Once per batch: its metric events go into the OTLP metrics, and spans OTLP cannot carry are counted. */
  private firstSight(spans: readonly CompletedSpan[]): void {
    if (this.recorder) {
      try {
        for (const span of spans) {
          for (const event of span.events) if (event.type === 'metric') this.recorder.record(event);
        }
      } catch (error) {
        // The SDK does not throw here; if it ever does, the spans still go out.
        this.context.reportError(error);
      }
    }
    if (!this.traces) return;
    let bad = 0;
    let badEvents = 0;
    for (const span of spans) {
      if (fitsOtlp(span)) continue;
      bad += 1;
      badEvents += eventCountOf(span);
    }
    if (bad === 0) return;
    this.context.recordDropped(badEvents, 'otlp_time_out_of_range');
    this.context.reportError(
      new OtlpExportError(
        OTLP_ERROR_CODES.timeOutOfRange,
        `${bad} span${bad === 1 ? '' : 's'} not sent to ${this.traces.url}: OTLP carries times from 1970 to 2554 only, and ${bad === 1 ? 'it has' : 'they have'} a time outside that range`,
        { signal: 'traces', url: this.traces.url },
      ),
    );
  }

  /**
   * One request for `spans`. A 413 sends them in halves (each half sent or
   * given up is remembered under `batch`, so a retry of the batch skips it).
   * Rejects with a retryable OtlpExportError when the collector may take
   * them later, with a final one when it refused the whole batch.
   */
  private async send(
    target: SignalTarget,
    spans: readonly CompletedSpan[],
    batch: readonly CompletedSpan[],
    whole: boolean,
  ): Promise<void> {
    let body: Uint8Array | undefined;
    try {
      body = ProtobufTraceSerializer.serializeRequest(toReadableSpans(spans, this.resource, SCOPE));
    } catch (error) {
      // Not expected (core built valid spans); if it happens, these spans cannot go.
      this.refuse(
        target,
        spans,
        batch,
        whole,
        `cannot encode them (${String(error)})`,
        undefined,
        error,
      );
      return;
    }
    if (!body) {
      this.refuse(
        target,
        spans,
        batch,
        whole,
        'the OTLP encoder produced nothing',
        undefined,
        undefined,
      );
      return;
    }
    this.exportRequests += 1;
    const outcome = await this.client.post(target, body);
    const n = spans.length;
    this.tracesFailing = !outcome.ok && outcome.retryable;
    if (outcome.ok) {
      this.exportedSpans += n;
      if (!whole) this.settle(batch, spans);
      this.checkPartialSuccess(target, outcome.body, n);
      return;
    }
    if (outcome.status === 413 && n > 1) {
      // Too large for this collector: the same spans in two requests.
      const half = Math.ceil(n / 2);
      await this.send(target, spans.slice(0, half), batch, false);
      await this.send(target, spans.slice(half), batch, false);
      return;
    }
    if (outcome.retryable) {
      const wait = outcome.retryAfterMs;
      throw new OtlpExportError(
        OTLP_ERROR_CODES.unreachable,
        `cannot send spans to ${target.url} (${outcome.why}); retrying ${
          wait !== undefined
            ? `in ${Math.ceil(wait / 1000)} s, as the collector asked`
            : 'with backoff'
        }`,
        {
          signal: 'traces',
          url: target.url,
          status: outcome.status,
          retryable: true,
          retryAfterMs: wait,
        },
        { cause: outcome.cause },
      );
    }
    this.refuse(target, spans, batch, whole, outcome.why, outcome.status, outcome.cause);
  }

  /** The collector refused `spans` for good: the whole batch rejects the write; a part is counted here. */
  private refuse(
    target: SignalTarget,
    spans: readonly CompletedSpan[],
    batch: readonly CompletedSpan[],
    whole: boolean,
    why: string,
    status: number | undefined,
    cause: unknown,
  ): void {
    const n = spans.length;
    const error = new OtlpExportError(
      OTLP_ERROR_CODES.rejected,
      `the collector at ${target.url} refused ${n} span${n === 1 ? '' : 's'} (${why}); they are dropped, not retried. Check the endpoint URL, headers and the collector's limits`,
      { signal: 'traces', url: target.url, status },
      { cause },
    );
    if (whole) throw error;
    this.settle(batch, spans);
    this.context.recordDropped(eventsIn(spans), 'sink_error');
    this.context.reportError(error);
  }

  private settle(batch: readonly CompletedSpan[], spans: readonly CompletedSpan[]): void {
    let settled = this.settledParts.get(batch);
    if (!settled) {
      settled = new Set();
      this.settledParts.set(batch, settled);
    }
    for (const s of spans) settled.add(s);
  }

  private checkPartialSuccess(target: SignalTarget, body: Buffer, sent: number): void {
    if (body.length === 0) return;
    let rejected = 0;
    let message = '';
    try {
      const answer = ProtobufTraceSerializer.deserializeResponse(body);
      rejected = Number(answer.partialSuccess?.rejectedSpans ?? 0);
      message = answer.partialSuccess?.errorMessage ?? '';
    } catch {
      return; // Not an OTLP answer; the request was accepted all the same.
    }
    if (!(rejected > 0)) return;
    this.rejectedSpans += rejected;
    this.context.reportError(
      new OtlpExportError(
        OTLP_ERROR_CODES.partial,
        `the collector at ${target.url} accepted ${sent} spans but rejected ${rejected} of them${message ? `: ${message}` : ''}`,
        { signal: 'traces', url: target.url },
      ),
    );
  }

  forceFlush(): Promise<boolean> {
    if (!this.metrics || this.closed) return Promise.resolve(true);
    return this.metrics.flush(this.metricsTarget!.timeoutMillis);
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.close();
    return this.shutdownPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  private async close(): Promise<void> {
    const wasClosed = this.closed;
    this.closed = true;
    if (this.metrics && !wasClosed) {
      this.metrics.stop();
      const sent = await this.metrics.flush(this.metricsTarget!.timeoutMillis);
      if (!sent) this.reportUnsentMetrics();
    }
    this.client.close();
    await this.recorder?.shutdown().catch(() => undefined);
  }

  private onDeadline(): void {
    this.closed = true;
    this.metrics?.stop();
    // Said now, before the pipeline's summary. When spans could not go either, the
    // summary already tells that loss (and the metric events are in it): one line per cause.
    if (this.tracesFailing) this.unsentReported = true;
    else this.reportUnsentMetrics();
    this.client.close();
  }

  private reportUnsentMetrics(): void {
    const metrics = this.metrics;
    if (!metrics || this.unsentReported || metrics.unsentValues === 0) return;
    this.unsentReported = true;
    const n = metrics.unsentValues;
    this.context.reportError(
      new OtlpExportError(
        OTLP_ERROR_CODES.metricsUnsent,
        `shutdown: the latest metrics (${n} value${n === 1 ? '' : 's'} recorded since the last accepted export) could not be sent to ${this.metricsTarget!.url}${
          metrics.lastFailure ? ` (last failure: ${metrics.lastFailure})` : ''
        }`,
        { signal: 'metrics', url: this.metricsTarget!.url },
      ),
    );
  }

  stats(): OtelSinkStats {
    return {
      exportedSpans: this.exportedSpans,
      exportRequests: this.exportRequests,
      rejectedSpans: this.rejectedSpans,
      metricExports: this.metrics?.exports ?? 0,
      failedMetricExports: this.metrics?.failedExports ?? 0,
      recordedMetricValues: this.recorder?.recordedValues ?? 0,
      skippedMetricValues: this.recorder?.skippedValues ?? 0,
      unsentMetricValues: this.metrics?.unsentValues ?? 0,
    };
  }
}

/**
 * The OTLP sink's definition: its options schema (`OtelSinkOptionsSchema`),
 * how it reads a Llama Stack config block (`otel_endpoint`,
 * `otel_exporter_otlp_endpoint`, `otel_trace_endpoint`, `otel_metric_endpoint`,
 * `service_name`, sinks `otel` / `otel_trace` / `otel_metric`, and the
 * `OTEL_*` variables of the `env` it is given), and how to create it.
 */
export const otelSink: SinkDefinition<
  typeof OtelSinkOptionsSchema,
  Omit<OtelSink, 'name'>
> = defineSink({
  type: 'otel',
  options: OtelSinkOptionsSchema,
  fromConfig: otelOptionsFromConfig,
  create: (options, context): Omit<OtelSink, 'name'> => new OtlpExporterSink(options, context),
});

/**
 * Creates a sink that exports completed spans, and the metric events inside
 * them, over OTLP/HTTP protobuf to a Collector, Jaeger, Tempo or any OTLP
 * backend. Queueing, batching, retries and deadlines are core's: a write
 * resolves once the collector accepted the batch.
 *
 * @throws TelemetryValidationError when an option is invalid or no endpoint is
 * configured (options or `OTEL_EXPORTER_OTLP_*` variables), every problem listed at once.
 */
export function createOtelSink(options: OtelSinkOptions = {}): OtelSink {
  return otelSink.create(options);
}
