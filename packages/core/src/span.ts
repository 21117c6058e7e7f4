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
import { copyAttributes, safeJson, toAttributeValue } from './attributes.ts';
import { setOwn } from './own-property.ts';
import type {
  Attributes,
  AttributeValue,
  LogSeverity,
  MetricEvent,
  SpanKind,
  SpanStatus,
  StructuredLogEvent,
  UnstructuredLogEvent,
} from './schemas.ts';
import type { CompletedSpan } from './sink.ts';
import { type EpochMicros, isEpochMicrosInRange, nowMicros } from './time.ts';

/** A log or metric inside a span. */
export type ChildEvent = UnstructuredLogEvent | MetricEvent;

/** Some sink takes raw events: spans emit their start, logs and end as events. */
export const LANE_EVENTS = 1;
/** Some sink takes completed spans: spans keep their logs and hand a CompletedSpan at the end. */
export const LANE_SPANS = 2;

/**
 * Where a span reports: the pipeline's dispatcher. A span carries its own
 * state (attributes, logs, status) and is never held by the pipeline while
 * it is open. At its start and end the span hands itself over; the
 * dispatcher turns it into events and a CompletedSpan when it drains, off the
 * caller's path. Each method returns `undefined` when accepted, or why it was
 * refused.
 */
export interface SpanRecorder {
  /** `LANE_EVENTS | LANE_SPANS`, fixed for the pipeline's life: what the span must keep. */
  readonly lanes: number;
  spanStarted(span: TelemetrySpan): string | undefined;
  spanEvent(event: ChildEvent): string | undefined;
  /** `held`: events of this span held for span sinks until now (its start and its logs). */
  spanEnded(span: TelemetrySpan, held: number): void;
  /** An event of a span whose start was refused: refused for the same reason. */
  refuse(reason: string): void;
}

const EMPTY: Readonly<Attributes> = Object.freeze({});
const NO_EVENTS: readonly ChildEvent[] = Object.freeze([]);
const END_OK = Object.freeze({ type: 'span_end' as const, status: 'ok' as const });

/**
 * Converts an OpenTelemetry time input to epoch microseconds; a value that is
 * not a time within years 0001-9999 (NaN, 1e300, an invalid Date) means now.
 */
export function timeInputToMicros(time: TimeInput | undefined): EpochMicros {
  if (time === undefined) return nowMicros();
  let micros: number;
  if (typeof time === 'number') {
    // The OTel API's number is milliseconds: since the epoch, or from
    // performance.timeOrigin when it is small (as performance.now() gives).
    const ms = time < 1e12 ? performance.timeOrigin + time : time;
    micros = Math.round(ms * 1000);
  } else if (time instanceof Date) {
    micros = time.getTime() * 1000;
  } else if (Array.isArray(time)) {
    micros = time[0] * 1_000_000 + Math.round(time[1] / 1000);
  } else {
    return nowMicros();
  }
  return isEpochMicrosInRange(micros) ? micros : nowMicros();
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
 * written for OpenTelemetry can use it as it is. It carries its own state:
 * event sinks get its start, logs and end as events while it runs; span sinks
 * get the CompletedSpan it builds when it ends.
 */
export class TelemetrySpan implements OtelSpan {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly start_time: EpochMicros;
  private spanName: string;
  private renamed = false;
  private readonly kind: SpanKind;
  private readonly attrs: Attributes;
  /** Logs and metrics, kept when some sink takes completed spans. */
  private children: ChildEvent[] | undefined;
  private ended = false;
  private endTime: EpochMicros = 0;
  private readonly startAttributes: Readonly<Attributes>;
  private readonly startName: string;
  private readonly startKind: SpanKind | undefined;
  /** Whether the dispatcher already turned this span's start into an event. */
  private startMaterialized = false;
  /** Set when the pipeline refused the start: everything after is refused alike. */
  private refused: string | undefined;
  private status: SpanStatus = 'ok';
  private statusMessage: string | undefined;
  private context: SpanContext | undefined;
  /** W3C tracestate inherited from the trace's remote parent, if any. */
  readonly traceState: TraceState | undefined;
  private readonly recorder: SpanRecorder;
  private readonly ttlSeconds: number | undefined;

  constructor(recorder: SpanRecorder, init: SpanInit) {
    this.recorder = recorder;
    this.trace_id = init.traceId;
    this.span_id = init.spanId;
    this.parent_span_id = init.parentSpanId;
    this.spanName = init.name;
    this.kind = init.kind ?? 'internal';
    this.traceState = init.traceState;
    this.ttlSeconds = init.ttlSeconds;
    this.start_time = init.startTime ?? nowMicros();
    let startAttributes: Readonly<Attributes> = EMPTY;
    this.attrs = {};
    if (init.attributes) {
      // Built key by key: object spread here made later setAttribute calls
      // several times slower (V8 dictionary-mode clones). The start event
      // keeps its own copy (only event sinks see it).
      const snapshot: Attributes | undefined = recorder.lanes & LANE_EVENTS ? {} : undefined;
      const input = init.attributes as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        const v = toAttributeValue(input[key]);
        if (v === undefined) continue;
        if (snapshot) setOwn(snapshot, key, v);
        setOwn(this.attrs, key, v);
      }
      if (snapshot) startAttributes = snapshot;
    }
    this.startAttributes = startAttributes;
    this.startName = init.name;
    this.startKind = init.kind;
    this.refused = recorder.spanStarted(this);
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
    if (
      (t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value))) &&
      key !== '__proto__'
    ) {
      this.attrs[key] = value as AttributeValue;
    } else {
      const v = toAttributeValue(value);
      if (v !== undefined) setOwn(this.attrs, key, v);
    }
    return this;
  }

  setAttributes(attributes: OtelAttributes | Attributes): this {
    for (const key of Object.keys(attributes)) {
      this.setAttribute(key, (attributes as Record<string, unknown>)[key]);
    }
    return this;
  }

  /** Hands a log or metric of this span to the pipeline, and keeps it for the completed span. */
  private child(event: ChildEvent): void {
    if (this.refused !== undefined) {
      this.recorder.refuse(this.refused);
      return;
    }
    if (this.recorder.spanEvent(event) !== undefined) return;
    if (this.recorder.lanes & LANE_SPANS) {
      if (this.children) this.children.push(event);
      else this.children = [event];
    }
  }

  /** Logs a message inside this span. */
  log(message: string, severity: LogSeverity = 'info', attributes?: Attributes): void {
    if (this.ended) return;
    this.child({
      type: 'unstructured_log',
      trace_id: this.trace_id,
      span_id: this.span_id,
      timestamp: nowMicros(),
      attributes: attributes ? copyAttributes(attributes) : EMPTY,
      message,
      severity,
    });
  }

  /** Records a metric inside this span (Llama Stack's MetricEvent). */
  metric(metric: string, value: number, unit = '', attributes?: Attributes): void {
    if (this.ended || !Number.isFinite(value) || !metric) return;
    this.child({
      type: 'metric',
      trace_id: this.trace_id,
      span_id: this.span_id,
      timestamp: nowMicros(),
      attributes: attributes ? copyAttributes(attributes) : EMPTY,
      metric,
      value,
      unit,
    });
  }

  addEvent(name: string, attributesOrTime?: OtelAttributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const isTime =
      typeof attributesOrTime === 'number' ||
      attributesOrTime instanceof Date ||
      Array.isArray(attributesOrTime);
    const attributes = isTime ? undefined : (attributesOrTime as OtelAttributes | undefined);
    this.child({
      type: 'unstructured_log',
      trace_id: this.trace_id,
      span_id: this.span_id,
      timestamp: timeInputToMicros(isTime ? (attributesOrTime as TimeInput) : time),
      attributes: attributes ? copyAttributes(attributes) : EMPTY,
      message: name,
      severity: 'info',
    });
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
    this.child({
      type: 'unstructured_log',
      trace_id: this.trace_id,
      span_id: this.span_id,
      timestamp: timeInputToMicros(time),
      attributes,
      message,
      severity: 'error',
    });
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
    if (this.refused !== undefined) {
      this.recorder.refuse(this.refused);
      return;
    }
    this.endTime = endTime === undefined ? nowMicros() : timeInputToMicros(endTime);
    this.recorder.spanEnded(this, 1 + (this.children ? this.children.length : 0));
  }

  /**
   * @internal The dispatcher's drain: this span's next event for event sinks,
   * its `span_start` the first time and its `span_end` the second.
   */
  materializeEvent(): StructuredLogEvent {
    if (!this.startMaterialized) {
      this.startMaterialized = true;
      const kind = this.startKind;
      return {
        type: 'structured_log',
        trace_id: this.trace_id,
        span_id: this.span_id,
        timestamp: this.start_time,
        attributes: this.startAttributes,
        payload: kind
          ? { type: 'span_start', name: this.startName, parent_span_id: this.parent_span_id, kind }
          : { type: 'span_start', name: this.startName, parent_span_id: this.parent_span_id },
      };
    }
    const status = this.status;
    return {
      type: 'structured_log',
      trace_id: this.trace_id,
      span_id: this.span_id,
      timestamp: this.endTime,
      attributes: this.attrs,
      payload:
        status === 'ok' && !this.renamed
          ? END_OK
          : {
              type: 'span_end' as const,
              status,
              ...(this.statusMessage !== undefined ? { status_message: this.statusMessage } : {}),
              ...(this.renamed ? { name: this.spanName } : {}),
            },
    };
  }

  /** @internal The dispatcher's drain: this span, ended, for span sinks. */
  toCompleted(): CompletedSpan {
    return {
      trace_id: this.trace_id,
      span_id: this.span_id,
      parent_span_id: this.parent_span_id,
      name: this.spanName,
      kind: this.kind,
      start_time: this.start_time,
      end_time: this.endTime,
      status: this.status,
      status_message: this.statusMessage,
      attributes: this.attrs,
      events: this.children ?? NO_EVENTS,
      ttl_seconds: this.ttlSeconds,
    };
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
