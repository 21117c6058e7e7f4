import { type Attributes as OtelAttributes, ValueType } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { MetricEvent } from '@telemetry/core/sink';
import type { OtelMetricKind } from './options.ts';
import { exportedAttributes } from './span-convert.ts';

/**
 * Takes every collection on demand: the sink decides when to export. Its
 * defaults are OpenTelemetry's (cumulative temporality, default
 * aggregations), so that a failed export is made good by the next one.
 */
class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Instrument {
  readonly kind: OtelMetricKind;
  /** Whether the instrument takes this value; values it cannot take are skipped and counted. */
  readonly accepts: (value: number) => boolean;
  readonly record: (value: number, attributes: OtelAttributes) => void;
}

const wholeNonNegative = (v: number) => Number.isInteger(v) && v >= 0;
const nonNegative = (v: number) => v >= 0;
const any = () => true;

/**
 * Turns metric events into OpenTelemetry SDK instruments, one per metric name.
 *
 * The instrument of a name is chosen at its first value: the `metricKinds`
 * option when it names it; otherwise a monotonic integer counter for a whole
 * number >= 0 and an up-down counter for anything else (Llama Stack's mapping).
 * A later value the instrument cannot take (a negative value, or a fraction
 * for an integer counter) is not an error: it is left out of the OTLP metric
 * (OpenTelemetry counters only go up; the SDK would drop it too), counted in
 * `skippedValues`, and still exported with the span as its `metric.<name>` event.
 */
export class MetricRecorder {
  private readonly provider: MeterProvider;
  private readonly reader: OnDemandReader;
  private readonly meter;
  private readonly instruments = new Map<string, Instrument>();
  /** Values recorded, and values skipped because their instrument could not take them. */
  recordedValues = 0;
  skippedValues = 0;

  constructor(
    resource: Resource,
    scopeName: string,
    private readonly metricKinds: Readonly<Record<string, OtelMetricKind>>,
  ) {
    this.reader = new OnDemandReader();
    this.provider = new MeterProvider({ resource, readers: [this.reader] });
    this.meter = this.provider.getMeter(scopeName);
  }

  /** Whether any metric name was seen, so that there is something to export. */
  get hasInstruments(): boolean {
    return this.instruments.size > 0;
  }

  record(event: MetricEvent): void {
    let instrument = this.instruments.get(event.metric);
    if (!instrument) {
      instrument = this.create(event.metric, event.unit, event.value);
      this.instruments.set(event.metric, instrument);
    }
    if (!instrument.accepts(event.value)) {
      this.skippedValues += 1;
      return;
    }
    instrument.record(event.value, exportedAttributes(event.attributes));
    this.recordedValues += 1;
  }

  private create(name: string, unit: string, firstValue: number): Instrument {
    const explicit = this.metricKinds[name];
    const kind: OtelMetricKind = explicit ?? (wholeNonNegative(firstValue) ? 'counter' : 'updown');
    const options = { unit, description: '' };
    switch (kind) {
      case 'counter': {
        // An inferred counter counts whole numbers (as_int on the wire); one named in metricKinds takes fractions too.
        const integer = explicit === undefined;
        const counter = this.meter.createCounter(name, {
          ...options,
          valueType: integer ? ValueType.INT : ValueType.DOUBLE,
        });
        return {
          kind,
          accepts: integer ? wholeNonNegative : nonNegative,
          record: (v, a) => counter.add(v, a),
        };
      }
      case 'updown': {
        const c = this.meter.createUpDownCounter(name, { ...options, valueType: ValueType.DOUBLE });
        return { kind, accepts: any, record: (v, a) => c.add(v, a) };
      }
      case 'histogram': {
        const h = this.meter.createHistogram(name, { ...options, valueType: ValueType.DOUBLE });
        return { kind, accepts: nonNegative, record: (v, a) => h.record(v, a) };
      }
      case 'gauge': {
        const g = this.meter.createGauge(name, { ...options, valueType: ValueType.DOUBLE });
        return { kind, accepts: any, record: (v, a) => g.record(v, a) };
      }
    }
  }

  /** Collects the current cumulative state; undefined when there is nothing to send. */
  async collect(): Promise<ResourceMetrics | undefined> {
    if (!this.hasInstruments) return undefined;
    const { resourceMetrics } = await this.reader.collect();
    return resourceMetrics.scopeMetrics.some((s) => s.metrics.length > 0)
      ? resourceMetrics
      : undefined;
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}
