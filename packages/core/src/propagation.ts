import {
  type Context,
  isSpanContextValid,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  type TraceState,
  trace,
} from '@opentelemetry/api';

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A parsed W3C `traceparent`. */
export interface ParsedTraceparent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/**
 * Parses a W3C `traceparent` header (version 00, or a later version read as
 * 00 as the spec asks). Returns `undefined` for anything malformed or all-zero.
 */
export function parseTraceparent(header: string | undefined | null): ParsedTraceparent | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT_RE.exec(header.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16) };
}

/** Formats a span context as a W3C `traceparent` header. */
export function formatTraceparent(
  ctx: Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'>,
): string {
  const flags = (ctx.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${ctx.traceId}-${ctx.spanId}-${flags}`;
}

/** A minimal immutable W3C `tracestate`. */
export class W3CTraceState implements TraceState {
  private readonly entries: ReadonlyMap<string, string>;

  constructor(header?: string | Map<string, string>) {
    if (header instanceof Map) {
      this.entries = header;
      return;
    }
    const entries = new Map<string, string>();
    for (const part of (header ?? '').split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (key && value && entries.size < 32 && !entries.has(key)) entries.set(key, value);
    }
    this.entries = entries;
  }

  set(key: string, value: string): TraceState {
    const next = new Map([[key, value]]);
    for (const [k, v] of this.entries) if (k !== key) next.set(k, v);
    return new W3CTraceState(next);
  }

  unset(key: string): TraceState {
    const next = new Map(this.entries);
    next.delete(key);
    return new W3CTraceState(next);
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  serialize(): string {
    return [...this.entries].map(([k, v]) => `${k}=${v}`).join(',');
  }
}

/** W3C Trace Context propagation for `@opentelemetry/api`'s `propagation` global. */
export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (!spanContext || !isSpanContextValid(spanContext)) return;
    setter.set(carrier, 'traceparent', formatTraceparent(spanContext));
    const state = spanContext.traceState?.serialize();
    if (state) setter.set(carrier, 'tracestate', state);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, 'traceparent');
    const parsed = parseTraceparent(Array.isArray(raw) ? raw[0] : raw);
    if (!parsed) return context;
    const rawState = getter.get(carrier, 'tracestate');
    const state = Array.isArray(rawState) ? rawState.join(',') : rawState;
    return trace.setSpanContext(context, {
      traceId: parsed.traceId,
      spanId: parsed.spanId,
      traceFlags: parsed.traceFlags & TraceFlags.SAMPLED,
      isRemote: true,
      ...(state ? { traceState: new W3CTraceState(state) } : {}),
    });
  }

  fields(): string[] {
    return ['traceparent', 'tracestate'];
  }
}
