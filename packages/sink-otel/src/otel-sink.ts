import type { InstrumentationScope } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { CompletedSpan, SinkContext, TelemetrySink } from '@telemetry/core';
import { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
import {
  backoffDelay,
  classifyExportResult,
  describeFailure,
  exportOnce,
} from './export-result.ts';
import { MetricRecorder } from './metrics.ts';
import {
  DEFAULTS,
  type OtelSinkOptions,
  type ResolvedOtelSinkOptions,
  resolveOtelSinkOptions,
} from './options.ts';
import { SinkReporter } from './reporter.ts';
import { toReadableSpans } from './span-convert.ts';
import { TraceExportQueue } from './trace-queue.ts';

/** The instrumentation scope of exported spans and metrics: the toolkit's tracing helpers. */
const SCOPE: InstrumentationScope = Object.freeze({ name: '@telemetry/core' });

/** What the sink has done so far; counts of spans unless the name says events. */
export interface OtelSinkStats {
  /** Spans waiting, being sent, or waiting for a retry. */
  readonly pendingSpans: number;
  /** Spans the collector accepted. */
  readonly exportedSpans: number;
  /** Trace export requests made (retries included). */
  readonly exportRequests: number;
  /** Spans given up, by reason: `otlp_queue_full`, `otlp_rejected`, `otlp_shutdown`. */
  readonly droppedSpans: Readonly<Record<string, number>>;
  /** The same drops in events (as core's stats count them). */
  readonly droppedEvents: Readonly<Record<string, number>>;
  /** Metric exports the collector accepted. */
  readonly metricExports: number;
  /** Metric values recorded into OTLP metrics. */
  readonly recordedMetricValues: number;
  /** Metric values their instrument could not take (a negative value for a counter, ...). */
  readonly skippedMetricValues: number;
  /** The last problem, if any. */
  readonly lastError: string | undefined;
}

/** The OTLP sink: a TelemetrySink with its resolved endpoints and its own counts. */
export interface OtelSink extends TelemetrySink {
  /** Where traces and metrics go (undefined when that signal is off). */
  readonly endpoints: { readonly traces: string | undefined; readonly metrics: string | undefined };
  writeSpans(spans: readonly CompletedSpan[]): void;
  attach(context: SinkContext): void;
  /** Resolves once everything written so far is exported or counted as dropped; never rejects. */
  forceFlush(): Promise<void>;
  /** Sends what is left within `shutdownTimeoutMs`, reports what could not be sent; idempotent. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  stats(): OtelSinkStats;
}

async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

class OtlpSink implements OtelSink {
  readonly name: string;
  readonly endpoints: OtelSink['endpoints'];
  private readonly reporter = new SinkReporter(DEFAULTS.reportIntervalMs);
  private readonly resource: Resource;
  private readonly traceExporter: OTLPTraceExporter | undefined;
  private readonly queue: TraceExportQueue | undefined;
  private readonly metricExporter: OTLPMetricExporter | undefined;
  private readonly recorder: MetricRecorder | undefined;
  private readonly metricTimer: ReturnType<typeof setInterval> | undefined;
  private metricsChain: Promise<void> = Promise.resolve();
  private metricsActive = 0;
  private metricsAbandoned = false;
  /** True while the latest metrics state has not reached the collector. */
  private metricsUnsent = false;
  private metricExports = 0;
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(private readonly config: ResolvedOtelSinkOptions) {
    this.name = config.name;
    const { endpoints } = config;
    const tracesUrl = config.traces ? endpoints.tracesUrl : undefined;
    const metricsUrl = config.metrics ? endpoints.metricsUrl : undefined;
    this.endpoints = { traces: tracesUrl, metrics: metricsUrl };

    const attributes: Record<string, string | number | boolean> = { ...config.resourceAttributes };
    if (config.serviceName !== undefined) attributes[ATTR_SERVICE_NAME] = config.serviceName;
    // One shared object: the OTLP encoder groups spans by resource and scope identity.
    this.resource = defaultResource().merge(resourceFromAttributes(attributes));

    if (tracesUrl !== undefined) {
      this.traceExporter = new OTLPTraceExporter({
        url: tracesUrl,
        headers: { ...endpoints.tracesHeaders },
        timeoutMillis: endpoints.tracesTimeoutMillis,
        // Our queue keeps at most maxConcurrentExports in flight; the margin covers
        // requests the exporter has answered but not yet forgotten.
        concurrencyLimit: DEFAULTS.maxConcurrentExports * 2,
      });
      const resource = this.resource;
      this.queue = new TraceExportQueue(
        this.traceExporter,
        (spans) => toReadableSpans(spans, resource, SCOPE),
        this.reporter,
        {
          url: tracesUrl,
          maxQueueSize: config.maxQueueSize,
          maxExportBatchSize: config.maxExportBatchSize,
          scheduledDelayMillis: config.scheduledDelayMillis,
          maxConcurrentExports: DEFAULTS.maxConcurrentExports,
          retryInitialMs: DEFAULTS.retryInitialMs,
          retryMaxMs: DEFAULTS.retryMaxMs,
        },
      );
    }

    if (metricsUrl !== undefined) {
      const exporter = new OTLPMetricExporter({
        url: metricsUrl,
        headers: { ...endpoints.metricsHeaders },
        timeoutMillis: endpoints.metricsTimeoutMillis,
      });
      this.metricExporter = exporter;
      this.recorder = new MetricRecorder(this.resource, SCOPE.name, config.metricKinds, {
        aggregation: exporter.selectAggregation.bind(exporter),
        temporality: exporter.selectAggregationTemporality.bind(exporter),
      });
      this.metricTimer = setInterval(() => {
        if (this.metricsActive === 0 && this.recorder?.hasInstruments)
          void this.exportMetrics(false);
      }, config.metricExportIntervalMillis);
      this.metricTimer.unref?.();
    }
  }

  attach(context: SinkContext): void {
    this.reporter.context = context;
  }

  writeSpans(spans: readonly CompletedSpan[]): void {
    if (this.recorder && !this.closed) {
      try {
        for (const span of spans) {
          for (const event of span.events) if (event.type === 'metric') this.recorder.record(event);
        }
      } catch (error) {
        // The SDK does not throw here; if it ever does, the spans still go out.
        this.reporter.lastError = error instanceof Error ? error.message : String(error);
        this.reporter.context?.reportError(error);
      }
    }
    this.queue?.add(spans);
  }

  async forceFlush(): Promise<void> {
    await Promise.all([this.queue?.flush(), this.exportMetrics(true)]);
  }

  /** Runs one metrics export after any running one; with `untilDone`, retries until it lands or is refused. */
  private exportMetrics(untilDone: boolean): Promise<void> {
    if (!this.recorder || this.metricsAbandoned) return Promise.resolve();
    this.metricsActive += 1;
    const run = this.metricsChain
      .then(() => this.runMetricsExport(untilDone))
      .catch((error: unknown) => {
        this.reporter.lastError = error instanceof Error ? error.message : String(error);
        this.reporter.context?.reportError(error);
      })
      .finally(() => {
        this.metricsActive -= 1;
      });
    this.metricsChain = run;
    return run;
  }

  private async runMetricsExport(untilDone: boolean): Promise<void> {
    const recorder = this.recorder!;
    const exporter = this.metricExporter!;
    const url = this.endpoints.metrics!;
    for (let failures = 0; ; ) {
      if (this.metricsAbandoned) return;
      const metrics = await recorder.collect();
      if (!metrics) {
        this.metricsUnsent = false;
        return;
      }
      const outcome = classifyExportResult(await exportOnce(exporter, metrics));
      if (outcome.ok) {
        this.metricExports += 1;
        this.metricsUnsent = false;
        return;
      }
      // Sums are cumulative: the next export that lands makes this one good.
      recorder.dirty = true;
      this.metricsUnsent = true;
      const why = describeFailure(outcome);
      if (outcome.permanent) {
        this.reporter.report(
          new OtlpExportError(
            OTLP_ERROR_CODES.rejected,
            `the collector at ${url} refused the metrics (${why}); check the endpoint URL, headers and the collector's limits`,
            { signal: 'metrics', url, status: outcome.status },
          ),
        );
        return;
      }
      this.reporter.report(
        new OtlpExportError(
          OTLP_ERROR_CODES.unreachable,
          `cannot send metrics to ${url} (${why}); ${untilDone ? 'retrying with backoff' : 'trying again at the next interval'}`,
          { signal: 'metrics', url, status: outcome.status },
          { cause: outcome.error },
        ),
      );
      if (!untilDone || this.metricsAbandoned) return;
      failures += 1;
      await sleep(backoffDelay(failures, DEFAULTS.retryInitialMs, DEFAULTS.retryMaxMs));
    }
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.close();
    return this.shutdownPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.metricTimer) clearInterval(this.metricTimer);
    const timeoutMs = this.config.shutdownTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    this.queue?.close();
    const finished = await withDeadline(
      Promise.all([this.queue?.flush(), this.exportMetrics(true)]),
      timeoutMs,
    );
    if (!finished) {
      this.metricsAbandoned = true;
      const lost = this.queue?.abandon('otlp_shutdown') ?? { spans: 0, events: 0 };
      const parts: string[] = [];
      if (lost.spans > 0) {
        parts.push(
          `${lost.spans} span${lost.spans === 1 ? '' : 's'} (${lost.events} events) to ${this.endpoints.traces}`,
        );
      }
      if (this.metricsUnsent) parts.push(`the latest metrics to ${this.endpoints.metrics}`);
      if (parts.length > 0) {
        const last = this.queue?.lastFailure ?? this.reporter.lastError;
        this.reporter.report(
          new OtlpExportError(
            OTLP_ERROR_CODES.unsent,
            `shutdown() could not send ${parts.join(' and ')} within ${timeoutMs} ms${
              last ? ` (last failure: ${last})` : ''
            }; the spans are counted as dropped (otlp_shutdown). Check that the collector is up, or raise shutdownTimeoutMs`,
            {
              signal: lost.spans > 0 ? 'traces' : 'metrics',
              url: (lost.spans > 0 ? this.endpoints.traces : this.endpoints.metrics) ?? '',
              lostSpans: lost.spans,
            },
          ),
          true,
        );
      }
    }
    // Exporters wait for requests in flight; never past the deadline.
    await withDeadline(
      Promise.allSettled([
        this.traceExporter?.shutdown(),
        this.metricExporter?.shutdown(),
        this.recorder?.shutdown(),
      ]),
      Math.max(deadline - Date.now(), 1),
    );
  }

  stats(): OtelSinkStats {
    return {
      pendingSpans: this.queue?.pending ?? 0,
      exportedSpans: this.queue?.exportedSpans ?? 0,
      exportRequests: this.queue?.exportRequests ?? 0,
      droppedSpans: { ...this.reporter.droppedSpans },
      droppedEvents: { ...this.reporter.droppedEvents },
      metricExports: this.metricExports,
      recordedMetricValues: this.recorder?.recordedValues ?? 0,
      skippedMetricValues: this.recorder?.skippedValues ?? 0,
      lastError: this.reporter.lastError,
    };
  }
}

/**
 * Creates a sink that exports completed spans, and the metric events inside
 * them, over OTLP/HTTP protobuf to a Collector, Jaeger, Tempo or any OTLP
 * backend. Throws a TelemetryConfigError when no endpoint is configured
 * (options or OTEL_EXPORTER_OTLP_* variables) or an option is invalid.
 */
export function createOtelSink(options: OtelSinkOptions = {}): OtelSink {
  return new OtlpSink(resolveOtelSinkOptions(options));
}
