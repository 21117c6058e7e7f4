/**
 * OTLP data as the toolkit's events. Each span becomes span_start, one
 * unstructured_log per span event (at its time) and span_end, with its ids,
 * parent, kind and status kept; resource attributes (`service.name` among
 * them, which the stores read the service from) and the scope name go on every
 * span. Logs and metric points need a span to live in: each resource of a
 * request gets one synthetic span that carries them (see the README's
 * "Mapping"). An item that cannot be stored is rejected whole and counted.
 */
import {
  generateSpanId,
  generateTraceId,
  type TelemetryEventInput,
  toIsoMicros,
} from '../core-api.ts';
import { NOT_HEX } from './codec.ts';

type AttributeValue = string | number | boolean | null;
type Attrs = Record<string, AttributeValue>;

export interface IngestLimits {
  readonly maxAttributes: number;
  readonly maxSpanEvents: number;
}

/** Logs the events of one span, in order; throws if the pipeline refuses one as invalid. */
export type EventWriter = (events: TelemetryEventInput[]) => void;

export interface IngestResult {
  /** Spans, log records or data points stored. */
  readonly accepted: number;
  readonly rejected: number;
  /** Why, for the first few rejected items, joined. */
  readonly message: string;
  /** Events handed to the pipeline. */
  readonly events: number;
}

/** An item that cannot be stored; its message names the field. */
class ItemError extends Error {}

const MAX_MESSAGES = 10;
const MAX_DEPTH = 32;

class Tally {
  accepted = 0;
  rejected = 0;
  events = 0;
  private readonly messages: string[] = [];
  private more = 0;

  reject(where: string, error: unknown, count = 1): void {
    if (!(error instanceof Error)) throw error;
    this.rejected += count;
    if (this.messages.length < MAX_MESSAGES) this.messages.push(`${where}: ${error.message}`);
    else this.more += 1;
  }

  write(writer: EventWriter, events: TelemetryEventInput[], items: number, where: string): void {
    try {
      writer(events);
      this.accepted += items;
      this.events += events.length;
    } catch (error) {
      this.reject(where, error, items);
    }
  }

  result(): IngestResult {
    const more = this.more > 0 ? `; and ${this.more} more` : '';
    return {
      accepted: this.accepted,
      rejected: this.rejected,
      message: this.messages.join('; ') + more,
      events: this.events,
    };
  }
}

// ---------------------------------------------------------------------------
// Values

interface Long {
  readonly low: number;
  readonly high: number;
  toNumber(): number;
  toString(): string;
}
type Int64 = number | string | Long | null | undefined;

/** An int64 as a number when it is exact, else its decimal text. */
function int64(v: Int64): number | string {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : v.toString();
}

function count(v: Int64): number {
  const n = int64(v);
  return typeof n === 'number' ? n : Number(n);
}

/**
 * Unix nanoseconds (an unsigned 64-bit Long) to microseconds, exactly:
 * nanoseconds exceed 2^53, so they are split as high * 2^32 + low, and
 * 2^32 = 4_294_967 * 1000 + 296.
 */
export function nanosToMicros(v: Int64): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return Math.floor(v / 1000);
  if (typeof v === 'string') return Number(BigInt(v) / 1000n);
  const hi = v.high >>> 0;
  const lo = v.low >>> 0;
  return hi * 4_294_967 + Math.floor((hi * 296 + lo) / 1000);
}

function toBuffer(bytes: ArrayLike<number>): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as Uint8Array);
}

function hexId(bytes: ArrayLike<number> | null | undefined, size: number, field: string): string {
  if (bytes === NOT_HEX) throw new ItemError(`${field} is not hex`);
  const n = bytes?.length ?? 0;
  if (n !== size) {
    throw new ItemError(
      `${field} must be ${size} bytes (${size * 2} hex digits in JSON), got ${n}`,
    );
  }
  const buffer = toBuffer(bytes!);
  if (buffer.every((b) => b === 0)) throw new ItemError(`${field} is all zeros`);
  return buffer.toString('hex');
}

/** An id that may be absent (empty); all zeros is treated as absent too. */
function optionalId(
  bytes: ArrayLike<number> | null | undefined,
  size: number,
  field: string,
): string | null {
  if (bytes === NOT_HEX) throw new ItemError(`${field} is not hex`);
  if (!bytes || bytes.length === 0) return null;
  if (bytes.length === size && toBuffer(bytes).every((b) => b === 0)) return null;
  return hexId(bytes, size, field);
}

/** An AnyValue as JSON-ready data (for arrays and maps, stored as JSON text). */
function jsonValue(v: any, depth: number): unknown {
  if (depth > MAX_DEPTH) {
    throw new ItemError(`an attribute value is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (!v) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return int64(v.intValue);
    case 'doubleValue':
      return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
    case 'bytesValue':
      return toBuffer(v.bytesValue).toString('base64');
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map((item: unknown) => jsonValue(item, depth + 1));
    case 'kvlistValue': {
      const out: Record<string, unknown> = {};
      for (const kv of v.kvlistValue?.values ?? []) out[kv.key] = jsonValue(kv.value, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

/** An AnyValue as an attribute value: arrays and maps as JSON text, bytes as base64. */
function attributeValue(v: any): AttributeValue {
  if (!v) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'arrayValue':
    case 'kvlistValue':
      return JSON.stringify(jsonValue(v, 0));
    default:
      return jsonValue(v, 0) as AttributeValue;
  }
}

function addAttributes(list: any[] | null | undefined, into: Attrs, limit: number, what: string) {
  if (!list) return;
  if (list.length > limit) {
    throw new ItemError(
      `${what} has ${list.length} attributes, over the server's limit of ${limit} (maxAttributes)`,
    );
  }
  for (const kv of list) into[kv.key] = attributeValue(kv.value);
}

interface ResourceInfo {
  readonly attributes: Attrs;
  readonly serviceName: AttributeValue | undefined;
}

function resourceOf(resource: any, limits: IngestLimits): ResourceInfo {
  const attributes: Attrs = {};
  addAttributes(resource?.attributes, attributes, limits.maxAttributes, 'the resource');
  return { attributes, serviceName: attributes['service.name'] };
}

function scopeAttributes(scope: any, into: Attrs): void {
  if (scope?.name) into['otel.scope.name'] = scope.name;
  if (scope?.version) into['otel.scope.version'] = scope.version;
}

// ---------------------------------------------------------------------------
// Traces

const KINDS = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
/** Span flags: the context has is_remote (0x100), and it is remote (0x200). */
const REMOTE_PARENT = 0x300;

export function ingestTraces(request: any, write: EventWriter, limits: IngestLimits): IngestResult {
  const tally = new Tally();
  (request.resourceSpans ?? []).forEach((rs: any, r: number) => {
    let resource: ResourceInfo;
    try {
      resource = resourceOf(rs.resource, limits);
    } catch (error) {
      let n = 0;
      for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
      tally.reject(`resourceSpans[${r}]`, error, n);
      return;
    }
    (rs.scopeSpans ?? []).forEach((ss: any, s: number) => {
      const base: Attrs = { ...resource.attributes };
      scopeAttributes(ss.scope, base);
      (ss.spans ?? []).forEach((span: any, i: number) => {
        const where = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        let events: TelemetryEventInput[];
        try {
          events = spanEvents(span, base, resource, limits);
        } catch (error) {
          tally.reject(where, error);
          return;
        }
        tally.write(write, events, 1, where);
      });
    });
  });
  return tally.result();
}

function spanEvents(
  span: any,
  base: Attrs,
  resource: ResourceInfo,
  limits: IngestLimits,
): TelemetryEventInput[] {
  const trace_id = hexId(span.traceId, 16, 'trace_id');
  const span_id = hexId(span.spanId, 8, 'span_id');
  const parent_span_id = optionalId(span.parentSpanId, 8, 'parent_span_id');
  const name: string = span.name;
  if (!name) throw new ItemError('name is empty');
  const start = nanosToMicros(span.startTimeUnixNano);
  const end = nanosToMicros(span.endTimeUnixNano);
  if (start <= 0) throw new ItemError('start_time_unix_nano is missing');
  if (end < start) throw new ItemError('end_time_unix_nano is before start_time_unix_nano');
  const spanEventsIn: any[] = span.events ?? [];
  if (spanEventsIn.length > limits.maxSpanEvents) {
    throw new ItemError(
      `has ${spanEventsIn.length} events, over the server's limit of ${limits.maxSpanEvents} (maxSpanEvents)`,
    );
  }
  const attributes: Attrs = { ...base };
  addAttributes(span.attributes, attributes, limits.maxAttributes, 'the span');
  if (resource.serviceName !== undefined) attributes['service.name'] = resource.serviceName;
  if (parent_span_id && (span.flags & REMOTE_PARENT) === REMOTE_PARENT) {
    // A local root under a remote parent, as the toolkit's own spans mark it.
    attributes.__root__ = true;
  }
  if (span.traceState) attributes['otel.trace_state'] = span.traceState;
  if (span.links?.length) attributes['otel.links'] = JSON.stringify(span.links.map(linkJson));
  if (span.droppedAttributesCount) {
    attributes['otel.dropped_attributes_count'] = span.droppedAttributesCount;
  }
  if (span.droppedEventsCount) attributes['otel.dropped_events_count'] = span.droppedEventsCount;
  if (span.droppedLinksCount) attributes['otel.dropped_links_count'] = span.droppedLinksCount;

  const events: TelemetryEventInput[] = [
    {
      type: 'structured_log',
      trace_id,
      span_id,
      timestamp: toIsoMicros(start),
      attributes: {},
      payload: {
        type: 'span_start',
        name,
        parent_span_id,
        kind: KINDS[span.kind as number] ?? 'internal',
      },
    },
  ];
  spanEventsIn.forEach((event: any, k: number) => {
    const eventAttributes: Attrs = {};
    addAttributes(event.attributes, eventAttributes, limits.maxAttributes, `events[${k}]`);
    events.push({
      type: 'unstructured_log',
      trace_id,
      span_id,
      timestamp: toIsoMicros(nanosToMicros(event.timeUnixNano) || start),
      message: event.name ?? '',
      severity: event.name === 'exception' ? 'error' : 'info',
      attributes: eventAttributes,
    });
  });
  const failed = span.status?.code === 2;
  const statusMessage: string = span.status?.message ?? '';
  events.push({
    type: 'structured_log',
    trace_id,
    span_id,
    timestamp: toIsoMicros(end),
    attributes,
    payload: {
      type: 'span_end',
      status: failed ? 'error' : 'ok',
      ...(statusMessage ? { status_message: statusMessage } : {}),
    },
  });
  return events;
}

function linkJson(link: any): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const kv of link.attributes ?? []) attributes[kv.key] = jsonValue(kv.value, 0);
  const ids = (bytes: any) => (bytes && bytes !== NOT_HEX ? toBuffer(bytes).toString('hex') : '');
  return {
    trace_id: ids(link.traceId),
    span_id: ids(link.spanId),
    ...(Object.keys(attributes).length ? { attributes } : {}),
  };
}

// ---------------------------------------------------------------------------
// A synthetic span that carries logs or metric points

interface Carrier {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly body: TelemetryEventInput[];
  min: number;
  max: number;
  items: number;
}

function newCarrier(traceId: string | undefined, parent: string | null): Carrier {
  return {
    trace_id: traceId ?? generateTraceId(),
    span_id: generateSpanId(),
    parent_span_id: parent,
    body: [],
    min: Number.POSITIVE_INFINITY,
    max: 0,
    items: 0,
  };
}

function carrierEvents(
  carrier: Carrier,
  name: string,
  kind: 'logs' | 'metrics',
  resource: ResourceInfo,
): TelemetryEventInput[] {
  const attributes: Attrs = { ...resource.attributes, 'otel.synthetic': kind };
  const { trace_id, span_id } = carrier;
  return [
    {
      type: 'structured_log',
      trace_id,
      span_id,
      timestamp: toIsoMicros(carrier.min),
      attributes: {},
      payload: { type: 'span_start', name, parent_span_id: carrier.parent_span_id },
    },
    ...carrier.body,
    {
      type: 'structured_log',
      trace_id,
      span_id,
      timestamp: toIsoMicros(Math.max(carrier.max, carrier.min)),
      attributes,
      payload: { type: 'span_end', status: 'ok' },
    },
  ];
}

// ---------------------------------------------------------------------------
// Logs

type Severity = 'verbose' | 'debug' | 'info' | 'warn' | 'error' | 'critical';

const SEVERITY_TEXT: Record<string, Severity> = {
  trace: 'verbose',
  verbose: 'verbose',
  debug: 'debug',
  info: 'info',
  information: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'critical',
  critical: 'critical',
};

/** OTLP severity numbers 1-24 in six ranges; the text decides when the number is unset. */
export function severityOf(n: number, text: string): Severity {
  if (n >= 21) return 'critical';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 5) return 'debug';
  if (n >= 1) return 'verbose';
  return SEVERITY_TEXT[text.toLowerCase()] ?? 'info';
}

/** The name of the synthetic span that carries logs. */
export const LOGS_SPAN_NAME = 'otlp.logs';
/** The name of the synthetic span that carries metric points. */
export const METRICS_SPAN_NAME = 'otlp.metrics';

export function ingestLogs(request: any, write: EventWriter, limits: IngestLimits): IngestResult {
  const tally = new Tally();
  const now = Date.now() * 1000;
  (request.resourceLogs ?? []).forEach((rl: any, r: number) => {
    let resource: ResourceInfo;
    try {
      resource = resourceOf(rl.resource, limits);
    } catch (error) {
      let n = 0;
      for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
      tally.reject(`resourceLogs[${r}]`, error, n);
      return;
    }
    // One carrier for the logs without a span, one per span that logs name.
    const carriers = new Map<string, Carrier>();
    (rl.scopeLogs ?? []).forEach((sl: any, s: number) => {
      (sl.logRecords ?? []).forEach((log: any, i: number) => {
        try {
          const traceId = optionalId(log.traceId, 16, 'trace_id');
          const spanId = optionalId(log.spanId, 8, 'span_id');
          const attributes: Attrs = {};
          scopeAttributes(sl.scope, attributes);
          addAttributes(log.attributes, attributes, limits.maxAttributes, 'the log record');
          if (log.eventName) attributes['otel.event_name'] = log.eventName;
          if (traceId && !spanId) attributes['otel.trace_id'] = traceId;
          const key = traceId && spanId ? `${traceId}:${spanId}` : '';
          let carrier = carriers.get(key);
          if (!carrier) {
            carrier = key ? newCarrier(traceId!, spanId) : newCarrier(undefined, null);
            carriers.set(key, carrier);
          }
          const time =
            nanosToMicros(log.timeUnixNano) || nanosToMicros(log.observedTimeUnixNano) || now;
          const body = log.body;
          const message =
            !body || body.value === undefined
              ? ''
              : body.value === 'stringValue'
                ? body.stringValue
                : String(attributeValue(body));
          carrier.body.push({
            type: 'unstructured_log',
            trace_id: carrier.trace_id,
            span_id: carrier.span_id,
            timestamp: toIsoMicros(time),
            message,
            severity: severityOf(log.severityNumber ?? 0, log.severityText ?? ''),
            attributes,
          });
          carrier.min = Math.min(carrier.min, time);
          carrier.max = Math.max(carrier.max, time);
          carrier.items += 1;
        } catch (error) {
          tally.reject(`resourceLogs[${r}].scopeLogs[${s}].logRecords[${i}]`, error);
        }
      });
    });
    for (const carrier of carriers.values()) {
      tally.write(
        write,
        carrierEvents(carrier, LOGS_SPAN_NAME, 'logs', resource),
        carrier.items,
        `resourceLogs[${r}]`,
      );
    }
  });
  return tally.result();
}

// ---------------------------------------------------------------------------
// Metrics

/** Data point flag: no value was recorded (a gap, not a zero). */
const NO_RECORDED_VALUE = 1;

export function ingestMetrics(
  request: any,
  write: EventWriter,
  limits: IngestLimits,
): IngestResult {
  const tally = new Tally();
  (request.resourceMetrics ?? []).forEach((rm: any, r: number) => {
    let resource: ResourceInfo;
    try {
      resource = resourceOf(rm.resource, limits);
    } catch (error) {
      let n = 0;
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) n += pointsOf(m).length;
      }
      tally.reject(`resourceMetrics[${r}]`, error, n);
      return;
    }
    const carrier = newCarrier(undefined, null);
    (rm.scopeMetrics ?? []).forEach((sm: any, s: number) => {
      (sm.metrics ?? []).forEach((metric: any, m: number) => {
        const points = pointsOf(metric);
        const where = `resourceMetrics[${r}].scopeMetrics[${s}].metrics[${m}]`;
        if (!metric.name) {
          if (points.length) tally.reject(where, new ItemError('name is empty'), points.length);
          return;
        }
        points.forEach((point: any, p: number) => {
          try {
            if ((point.flags ?? 0) & NO_RECORDED_VALUE) return;
            const time = pointEvents(metric, point, carrier, limits);
            carrier.items += 1;
            carrier.min = Math.min(carrier.min, time);
            carrier.max = Math.max(carrier.max, time);
          } catch (error) {
            tally.reject(`${where}.dataPoints[${p}]`, error);
          }
        });
      });
    });
    if (carrier.items > 0) {
      tally.write(
        write,
        carrierEvents(carrier, METRICS_SPAN_NAME, 'metrics', resource),
        carrier.items,
        `resourceMetrics[${r}]`,
      );
    }
  });
  return tally.result();
}

function pointsOf(metric: any): any[] {
  const kind = metric.data as string | undefined;
  return (kind && metric[kind]?.dataPoints) || [];
}

/** Adds the metric events of one data point to the carrier; returns the point's time. */
function pointEvents(metric: any, point: any, carrier: Carrier, limits: IngestLimits): number {
  const time = nanosToMicros(point.timeUnixNano);
  if (time <= 0) throw new ItemError('time_unix_nano is missing');
  const labels: Attrs = {};
  addAttributes(point.attributes, labels, limits.maxAttributes, 'the data point');
  const name: string = metric.name;
  const unit: string = metric.unit ?? '';
  const out: TelemetryEventInput[] = [];
  const timestamp = toIsoMicros(time);
  const add = (metricName: string, value: number, metricUnit: string, extra?: Attrs) => {
    if (!Number.isFinite(value))
      throw new ItemError(`${metricName} is ${value}, not a finite number`);
    out.push({
      type: 'metric',
      trace_id: carrier.trace_id,
      span_id: carrier.span_id,
      timestamp,
      metric: metricName,
      value,
      unit: metricUnit,
      attributes: extra ? { ...labels, ...extra } : labels,
    });
  };
  switch (metric.data) {
    case 'gauge':
    case 'sum': {
      if (point.value === 'asDouble') add(name, point.asDouble, unit);
      else if (point.value === 'asInt') add(name, count(point.asInt), unit);
      else throw new ItemError('has no value (as_double or as_int)');
      break;
    }
    case 'histogram': {
      add(`${name}_count`, count(point.count), '1');
      if (point.sum != null) add(`${name}_sum`, point.sum, unit);
      if (point.min != null) add(`${name}_min`, point.min, unit);
      if (point.max != null) add(`${name}_max`, point.max, unit);
      const bounds: number[] = point.explicitBounds ?? [];
      let cumulative = 0;
      (point.bucketCounts ?? []).forEach((c: Int64, b: number) => {
        cumulative += count(c);
        add(`${name}_bucket`, cumulative, '1', {
          le: b < bounds.length ? String(bounds[b]) : '+Inf',
        });
      });
      break;
    }
    case 'exponentialHistogram': {
      add(`${name}_count`, count(point.count), '1');
      if (point.sum != null) add(`${name}_sum`, point.sum, unit);
      if (point.min != null) add(`${name}_min`, point.min, unit);
      if (point.max != null) add(`${name}_max`, point.max, unit);
      break;
    }
    case 'summary': {
      add(`${name}_count`, count(point.count), '1');
      add(`${name}_sum`, point.sum ?? 0, unit);
      for (const q of point.quantileValues ?? []) {
        add(name, q.value, unit, { quantile: String(q.quantile) });
      }
      break;
    }
    default:
      throw new ItemError('has no data');
  }
  // Only a whole point is added: a bad value above throws before any push.
  for (const e of out) carrier.body.push(e);
  return time;
}
