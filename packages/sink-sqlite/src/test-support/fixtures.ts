import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompletedSpan, MetricEvent, UnstructuredLogEvent } from '@telemetry/core';

/** 2025-01-15T12:00:00Z in epoch microseconds. */
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0) * 1000;
/** Long enough that fixtures never expire while a test runs. */
export const FOREVER = 100 * 365 * 86_400;

/** A trace id made from a number: `tid(1)` is 31 zeros and a 1. */
export function tid(n: number): string {
  return n.toString(16).padStart(32, '0');
}

/** A span id made from a number. */
export function sid(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export interface SpanInput extends Partial<Omit<CompletedSpan, 'events'>> {
  trace_id: string;
  span_id: string;
  events?: (UnstructuredLogEvent | MetricEvent)[];
}

/** A completed span with sensible defaults: starts at T0, lasts 1 ms, status ok. */
export function span(input: SpanInput): CompletedSpan {
  return {
    parent_span_id: null,
    name: 'op',
    kind: 'internal',
    start_time: T0,
    end_time: T0 + 1000,
    status: 'ok',
    attributes: {},
    events: [],
    ttl_seconds: FOREVER,
    ...input,
  };
}

export function log(
  s: { trace_id: string; span_id: string },
  message: string,
  timestamp: number,
  attributes: Record<string, string | number | boolean | null> = {},
): UnstructuredLogEvent {
  return {
    type: 'unstructured_log',
    trace_id: s.trace_id,
    span_id: s.span_id,
    timestamp,
    message,
    severity: 'info',
    attributes,
  };
}

export function metric(
  s: { trace_id: string; span_id: string },
  name: string,
  value: number,
  timestamp: number,
  attributes: Record<string, string | number | boolean | null> = {},
  unit = 'tokens',
): MetricEvent {
  return {
    type: 'metric',
    trace_id: s.trace_id,
    span_id: s.span_id,
    timestamp,
    metric: name,
    value,
    unit,
    attributes,
  };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'sink-sqlite-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
