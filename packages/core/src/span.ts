import {
  type Exception,
  type Link,
  type Attributes as OtelAttributes,
  type AttributeValue as OtelAttributeValue,
  type Span as OtelSpan,
  type SpanStatus as OtelSpanStatus,
  type SpanContext,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  type TraceState,
} from '@opentelemetry/api';
import type {
  Attributes,
  AttributeValue,
  LogSeverity,
  SpanKind,
  SpanStatus,
  TelemetryEvent,
} from './schemas.ts';
import { type EpochMicros, nowMicros } from './time.ts';

/** Where a span sends its events: the dispatcher's unchecked enqueue. */
export interface EventEmitter {
  enqueue(event: TelemetryEvent, ttlSeconds: number | undefined): void;
}

const EMPTY: Readonly<Attributes> = Object.freeze({});
const END_OK = Object.freeze({ type: 'span_end' as const, status: 'ok' as const });

/** Converts an OpenTelemetry time input to epoch microseconds. */
export function timeInputToMicros(time: TimeInput | undefined): EpochMicros {
  if (time === undefined) return nowMicros();
  if (typeof time === 'number') {
    // The OTel API's number is milliseconds: since the epoch, or from
    // performance.timeOrigin when it is small (as performance.now() gives).
    const ms = time < 1e12 ? performance.timeOrigin + time : time;
    return Math.round(ms * 1000);
  }
  if (time instanceof Date) return time.getTime() * 1000;
  return time[0] * 1_000_000 + Math.round(time[1] / 1000);
}

/** Makes a value storable as an attribute: primitives stay, the rest become JSON text. */
export function toAttributeValue(value: unknown): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      return value.toString();
    default:
      return value === null ? null : safeJson(value);
  }
}

/** JSON text for any value: never throws (cycles, BigInt, getters that throw). */
export function safeJson(value: unknown, maxLength = 10_000): string {
  try {
    const seen = new WeakSet<object>();
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
      if (typeof v === 'symbol') return v.toString();
      if (v instanceof Error) return { name: v.name, message: v.message };
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
    if (text === undefined) return String(value);
    return text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
  } catch {
    try {
      return String(value);
    } catch {
      return '[unserializable]';
    }
  }
}

export function copyAttributes(input: OtelAttributes | Attributes | undefined): Attributes {
  const out: Attributes = {};
  if (!input) return out;
  for (const key in input) {
    const v = toAttributeValue((input as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Everything needed to start a span. */
export interface SpanInit {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind?: SpanKind | undefined;
  readonly attributes?: OtelAttributes | Attributes | undefined;
  readonly startTime?: EpochMicros | undefined;
  readonly traceState?: TraceState | undefined;
  readonly ttlSeconds: number | undefined;
}

/**
 * A span of this toolkit. It is also a full `@opentelemetry/api` Span, so code
 * written for OpenTelemetry can use it as it is. Starting it logs a
 * `span_start` event; ending it logs `span_end` with every attribute.
 */
export class TelemetrySpan implements OtelSpan {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly start_time: EpochMicros;
  private spanName: string;
  private renamed = false;
  private readonly attrs: Attributes;
  private ended = false;
  private status: SpanStatus = 'ok';
  private statusMessage: string | undefined;
  private context: SpanContext | undefined;
  /** W3C tracestate inherited from the trace's remote parent, if any. */
  readonly traceState: TraceState | undefined;
  private readonly emitter: EventEmitter;
  private readonly ttlSeconds: number | undefined;

  constructor(emitter: EventEmitter, init: SpanInit) {
    this.emitter = emitter;
    this.trace_id = init.traceId;
    this.span_id = init.spanId;
    this.parent_span_id = init.parentSpanId;
    this.spanName = init.name;
    this.traceState = init.traceState;
    this.ttlSeconds = init.ttlSeconds;
    this.start_time = init.startTime ?? nowMicros();
    let startAttributes: Readonly<Attributes> = EMPTY;
    this.attrs = {};
    if (init.attributes) {
      // Two objects built key by key: object spread here made later
      // setAttribute calls several times slower (V8 dictionary-mode clones).
      const snapshot: Attributes = {};
      const input = init.attributes as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        const v = toAttributeValue(input[key]);
        if (v === undefined) continue;
        snapshot[key] = v;
        this.attrs[key] = v;
      }
      startAttributes = snapshot;
    }
    emitter.enqueue(
      {
        type: 'structured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: this.start_time,
        attributes: startAttributes,
        payload: init.kind
          ? {
              type: 'span_start',
              name: init.name,
              parent_span_id: init.parentSpanId,
              kind: init.kind,
            }
          : { type: 'span_start', name: init.name, parent_span_id: init.parentSpanId },
      },
      this.ttlSeconds,
    );
  }

  get name(): string {
    return this.spanName;
  }

  /** The attributes set so far (read-only view). */
  get attributes(): Readonly<Attributes> {
    return this.attrs;
  }

  spanContext(): SpanContext {
    this.context ??= {
      traceId: this.trace_id,
      spanId: this.span_id,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
      ...(this.traceState ? { traceState: this.traceState } : {}),
    };
    return this.context;
  }

  setAttribute(key: string, value: OtelAttributeValue | AttributeValue | unknown): this {
    if (this.ended) return this;
    const t = typeof value;
    if (t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value))) {
      this.attrs[key] = value as AttributeValue;
    } else {
      const v = toAttributeValue(value);
      if (v !== undefined) this.attrs[key] = v;
    }
    return this;
  }

  setAttributes(attributes: OtelAttributes | Attributes): this {
    for (const key in attributes)
      this.setAttribute(key, (attributes as Record<string, unknown>)[key]);
    return this;
  }

  /** Logs a message inside this span. */
  log(message: string, severity: LogSeverity = 'info', attributes?: Attributes): void {
    if (this.ended) return;
    this.emitter.enqueue(
      {
        type: 'unstructured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: nowMicros(),
        attributes: attributes ? copyAttributes(attributes) : EMPTY,
        message,
        severity,
      },
      this.ttlSeconds,
    );
  }

  /** Records a metric inside this span (Llama Stack's MetricEvent). */
  metric(metric: string, value: number, unit = '', attributes?: Attributes): void {
    if (this.ended || !Number.isFinite(value) || !metric) return;
    this.emitter.enqueue(
      {
        type: 'metric',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: nowMicros(),
        attributes: attributes ? copyAttributes(attributes) : EMPTY,
        metric,
        value,
        unit,
      },
      this.ttlSeconds,
    );
  }

  addEvent(name: string, attributesOrTime?: OtelAttributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const isTime =
      typeof attributesOrTime === 'number' ||
      attributesOrTime instanceof Date ||
      Array.isArray(attributesOrTime);
    const attributes = isTime ? undefined : (attributesOrTime as OtelAttributes | undefined);
    this.emitter.enqueue(
      {
        type: 'unstructured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: timeInputToMicros(isTime ? (attributesOrTime as TimeInput) : time),
        attributes: attributes ? copyAttributes(attributes) : EMPTY,
        message: name,
        severity: 'info',
      },
      this.ttlSeconds,
    );
    return this;
  }

  addLink(_link: Link): this {
    return this;
  }

  addLinks(_links: Link[]): this {
    return this;
  }

  setStatus(status: OtelSpanStatus): this {
    if (this.ended) return this;
    if (status.code === SpanStatusCode.ERROR) {
      this.status = 'error';
      this.statusMessage = status.message;
    } else if (status.code === SpanStatusCode.OK) {
      this.status = 'ok';
      this.statusMessage = undefined;
    }
    return this;
  }

  updateName(name: string): this {
    if (!this.ended && name) {
      this.spanName = name;
      this.renamed = true;
    }
    return this;
  }

  /** Records an error: status error, `error.type`/`error.message` attributes, and an error log. */
  recordException(exception: Exception, time?: TimeInput): void {
    if (this.ended) return;
    const { type, message, stack } = describeException(exception);
    this.attrs['error.type'] = type;
    this.attrs['error.message'] = message;
    const attributes: Attributes = { 'exception.type': type, 'exception.message': message };
    if (stack) attributes['exception.stacktrace'] = stack;
    this.emitter.enqueue(
      {
        type: 'unstructured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: timeInputToMicros(time),
        attributes,
        message,
        severity: 'error',
      },
      this.ttlSeconds,
    );
  }

  /** Marks the span failed because of `error`, without ending it. */
  fail(error: unknown): void {
    if (this.ended) return;
    const { type, message } = describeException(error as Exception);
    this.attrs['error.type'] = type;
    this.attrs['error.message'] = message;
    this.status = 'error';
    this.statusMessage = message;
  }

  isRecording(): boolean {
    return !this.ended;
  }

  /** True once `end` ran. */
  get isEnded(): boolean {
    return this.ended;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    const endMicros = endTime === undefined ? nowMicros() : timeInputToMicros(endTime);
    const status = this.status;
    const payload =
      status === 'ok' && !this.renamed
        ? END_OK
        : {
            type: 'span_end' as const,
            status,
            ...(this.statusMessage !== undefined ? { status_message: this.statusMessage } : {}),
            ...(this.renamed ? { name: this.spanName } : {}),
          };
    this.emitter.enqueue(
      {
        type: 'structured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: endMicros,
        attributes: this.attrs,
        payload,
      },
      this.ttlSeconds,
    );
  }
}

export function describeException(exception: unknown): {
  type: string;
  message: string;
  stack?: string;
} {
  if (exception instanceof Error) {
    return {
      type: exception.name || 'Error',
      message: exception.message,
      ...(exception.stack ? { stack: exception.stack } : {}),
    };
  }
  if (typeof exception === 'string') return { type: 'Error', message: exception };
  if (exception && typeof exception === 'object') {
    const e = exception as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
    const type =
      typeof e.name === 'string' ? e.name : typeof e.code === 'string' ? e.code : 'Error';
    const message = typeof e.message === 'string' ? e.message : safeJson(exception, 1000);
    return { type, message, ...(typeof e.stack === 'string' ? { stack: e.stack } : {}) };
  }
  return { type: 'Error', message: String(exception) };
}
