import { type Context, isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { safeJson } from './attributes.ts';
import { contextManager } from './context.ts';
import { generateSpanId, generateTraceId } from './ids.ts';
import { parseTraceparent, W3CTraceState } from './propagation.ts';
import type { Attributes, SpanKind } from './schemas.ts';
import { type SpanRecorder, TelemetrySpan } from './span.ts';
import { runInSpan } from './span-runner.ts';

export interface SpanOptionsLite {
  /** Attributes set when the span starts. */
  readonly attributes?: Attributes;
  /** OpenTelemetry span kind. @default 'internal' */
  readonly kind?: SpanKind;
}

export interface TraceOptions extends SpanOptionsLite {
  /** A W3C `traceparent` received from a caller: the trace continues it. */
  readonly traceparent?: string | null;
  /** The W3C `tracestate` that came with it. */
  readonly tracestate?: string | null;
}

export interface TracedOptions extends SpanOptionsLite {
  /** Span name. @default the function's name */
  readonly name?: string;
}

export type AnyFunction = (this: any, ...args: any[]) => any;

/** Marks an automatically traced call (`autoTrace`): its class, method, arguments and result are recorded. */
export interface AutoTraced {
  readonly className: string;
  readonly method: string;
}

/**
 * Makes the spans of one pipeline. It sits below the pipeline: it knows only
 * where spans report (the dispatcher, as a SpanRecorder) and the pipeline's
 * TTL, so the tracing helpers, the decorators and the OpenTelemetry tracer
 * all build on it without importing the pipeline.
 */
export class SpanFactory {
  constructor(
    private readonly recorder: SpanRecorder,
    private readonly ttlSeconds: number | undefined,
  ) {}

  /**
   * A span whose parent is the span in `parentContext`: a child of one of
   * ours; a local root continuing a remote or foreign parent (`__root__`); or
   * the root of a new trace.
   */
  createSpan(
    name: string,
    parentContext: Context,
    attributes: Attributes | Record<string, unknown> | undefined,
    kind: SpanKind | undefined,
    startTime: number | undefined,
  ): TelemetrySpan {
    const parentSpan = trace.getSpan(parentContext);
    if (parentSpan instanceof TelemetrySpan) {
      // Our own span: its ids are valid by construction, skip the checks.
      return new TelemetrySpan(this.recorder, {
        traceId: parentSpan.trace_id,
        spanId: generateSpanId(),
        parentSpanId: parentSpan.span_id,
        name,
        kind,
        attributes: attributes as Attributes | undefined,
        startTime,
        traceState: parentSpan.traceState,
        ttlSeconds: this.ttlSeconds,
      });
    }
    const parent = parentSpan?.spanContext();
    if (parent && isSpanContextValid(parent)) {
      const remote = parent.isRemote === true;
      return new TelemetrySpan(this.recorder, {
        traceId: parent.traceId,
        spanId: generateSpanId(),
        parentSpanId: parent.spanId,
        name,
        kind,
        attributes: remote
          ? { ...attributes, __root__: true }
          : (attributes as Attributes | undefined),
        startTime,
        traceState: parent.traceState,
        ttlSeconds: this.ttlSeconds,
      });
    }
    return new TelemetrySpan(this.recorder, {
      traceId: generateTraceId(),
      spanId: generateSpanId(),
      parentSpanId: null,
      name,
      kind,
      attributes: { ...attributes, __root__: true },
      startTime,
      ttlSeconds: this.ttlSeconds,
    });
  }

  /** A new trace's root span; with a valid `traceparent`, a local root continuing that remote trace. */
  createRoot(name: string, options: TraceOptions): TelemetrySpan {
    const remote = parseTraceparent(options.traceparent);
    const parent = remote
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: remote.traceId,
          spanId: remote.spanId,
          traceFlags: remote.traceFlags,
          isRemote: true,
          ...(options.tracestate ? { traceState: new W3CTraceState(options.tracestate) } : {}),
        })
      : ROOT_CONTEXT;
    return this.createSpan(name, parent, options.attributes, options.kind, undefined);
  }

  /**
   * Runs `method` in a span named `name` when a span is current (wrappers,
   * decorators, autoTrace); outside a trace it just runs it.
   */
  runTraced(
    name: string,
    method: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    options: SpanOptionsLite,
    auto: AutoTraced | undefined,
  ): unknown {
    const parent = contextManager.active();
    if (!trace.getSpan(parent)) return method.apply(thisArg, args);
    let attributes = options.attributes as Record<string, unknown> | undefined;
    if (auto) {
      attributes = {
        ...attributes,
        __autotraced__: true,
        __class__: auto.className,
        __method__: auto.method,
        __type__:
          method.constructor?.name === 'AsyncGeneratorFunction'
            ? 'async_generator'
            : method.constructor?.name === 'AsyncFunction'
              ? 'async'
              : 'sync',
        __args__: safeJson(args),
      };
    }
    const span = this.createSpan(name, parent, attributes, options.kind, undefined);
    return runInSpan(span, trace.setSpan(parent, span), method, thisArg, args, auto !== undefined);
  }
}
