/**
 * The event model and query types, as zod schemas with their TypeScript types
 * inferred from them: one definition, used to validate at every boundary.
 *
 * Field names follow Llama Stack's telemetry API (snake_case data fields), so
 * JSON written by a Llama Stack client parses as it is.
 */
import { z } from 'zod';
import { SPAN_ID_RE, TRACE_ID_RE } from './ids.ts';
import { setOwn } from './own-property.ts';
import {
  dateToMicros,
  type EpochMicros,
  isEpochMicrosInRange,
  MAX_EPOCH_MICROS,
  MIN_EPOCH_MICROS,
  parseIsoMicros,
} from './time.ts';

const ZERO = /^0+$/;

export const TraceIdSchema = z
  .string({ error: 'expected a trace id: 32 hex digits' })
  .transform((s) => s.toLowerCase())
  .refine((s) => TRACE_ID_RE.test(s) && !ZERO.test(s), {
    error: 'expected a trace id: 32 hex digits, not all zeros',
  });

export const SpanIdSchema = z
  .string({ error: 'expected a span id: 16 hex digits' })
  .transform((s) => s.toLowerCase())
  .refine((s) => SPAN_ID_RE.test(s) && !ZERO.test(s), {
    error: 'expected a span id: 16 hex digits, not all zeros',
  });

/**
 * A point in time from year 0001 to 9999 (Python's `datetime` range, which
 * Llama Stack writes). Accepts an ISO-8601 string (up to nanosecond digits;
 * no offset means UTC; offsets up to ±23:59), a `Date`, or epoch microseconds
 * as a number; yields epoch microseconds, so a 40 µs span stays 40 µs in every
 * sink. Anything else (an impossible date, `1e300`, `NaN`, year 10000) is
 * rejected here, so that no stored time can break a query later.
 */
const TIMESTAMP_EXPECTED = `expected an ISO-8601 date-time such as 2025-01-31T12:00:00.123456Z, a Date, or epoch microseconds, from year 0001 to 9999 (${MIN_EPOCH_MICROS} to ${MAX_EPOCH_MICROS})`;

export const TimestampSchema = z
  .union([z.string(), z.date(), z.number()], { error: TIMESTAMP_EXPECTED })
  .transform((value, ctx): EpochMicros => {
    let micros: number | undefined;
    if (typeof value === 'number') micros = Math.round(value);
    else if (typeof value === 'string') micros = parseIsoMicros(value);
    else micros = dateToMicros(value);
    if (micros !== undefined && isEpochMicrosInRange(micros)) return micros;
    ctx.addIssue({ code: 'custom', message: TIMESTAMP_EXPECTED });
    return z.NEVER;
  });

/** An attribute value: Llama Stack's `Primitive`, plus null. */
export const AttributeValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'expected a string, number, boolean or null',
});
export type AttributeValue = z.infer<typeof AttributeValueSchema>;

// zod skips a `__proto__` key when it builds a record (assigning it would
// change the prototype). An attribute may be named `__proto__` all the same:
// the key travels through a symbol and comes back as an own property.
const PROTO_KEY: unique symbol = Symbol('__proto__');

/** Attributes: string keys (any string, `__proto__` and `constructor` included) to attribute values. */
export const AttributesSchema = z
  .preprocess(
    (input) => {
      if (typeof input !== 'object' || input === null || !Object.hasOwn(input, '__proto__')) {
        return input;
      }
      const out: Record<string | symbol, unknown> = {};
      for (const key of Object.keys(input)) {
        out[key === '__proto__' ? PROTO_KEY : key] = (input as Record<string, unknown>)[key];
      }
      return out;
    },
    z.record(
      z.union([z.string(), z.custom<typeof PROTO_KEY>((key) => key === PROTO_KEY)]),
      AttributeValueSchema,
    ),
  )
  .transform((attributes) => {
    const out = attributes as Record<string | symbol, AttributeValue>;
    if (!Object.hasOwn(out, PROTO_KEY)) return out as Record<string, AttributeValue>;
    const value = out[PROTO_KEY]!;
    delete out[PROTO_KEY];
    setOwn(out as Record<string, unknown>, '__proto__', value);
    return out as Record<string, AttributeValue>;
  });
export type Attributes = Record<string, AttributeValue>;

const eventCommon = {
  trace_id: TraceIdSchema,
  span_id: SpanIdSchema,
  timestamp: TimestampSchema,
  // Llama Stack sends `null` or omits attributes; both mean "none".
  attributes: AttributesSchema.nullish().transform((a) => a ?? {}),
};

export const LogSeveritySchema = z.enum(['verbose', 'debug', 'info', 'warn', 'error', 'critical']);
export type LogSeverity = z.infer<typeof LogSeveritySchema>;

export const UnstructuredLogEventSchema = z.object({
  ...eventCommon,
  type: z.literal('unstructured_log'),
  message: z.string(),
  severity: LogSeveritySchema,
});
export type UnstructuredLogEvent = z.infer<typeof UnstructuredLogEventSchema>;

export const MetricEventSchema = z.object({
  ...eventCommon,
  type: z.literal('metric'),
  metric: z.string().min(1, { error: 'expected a non-empty metric name' }),
  value: z.number().refine(Number.isFinite, { error: 'expected a finite number' }),
  unit: z.string(),
});
export type MetricEvent = z.infer<typeof MetricEventSchema>;

export const SpanKindSchema = z.enum(['internal', 'server', 'client', 'producer', 'consumer']);
export type SpanKind = z.infer<typeof SpanKindSchema>;

export const SpanStartPayloadSchema = z.object({
  type: z.literal('span_start'),
  name: z.string().min(1, { error: 'expected a non-empty span name' }),
  parent_span_id: SpanIdSchema.nullish().transform((p) => p ?? null),
  /** Extension: the OpenTelemetry span kind (default internal). */
  kind: SpanKindSchema.optional(),
});
export type SpanStartPayload = z.infer<typeof SpanStartPayloadSchema>;

export const SpanStatusSchema = z.enum(['ok', 'error']);
export type SpanStatus = z.infer<typeof SpanStatusSchema>;

export const SpanEndPayloadSchema = z.object({
  type: z.literal('span_end'),
  status: SpanStatusSchema,
  /** Extension: why the span failed (an error's message). */
  status_message: z.string().optional(),
  /** Extension: the span's final name, when it was renamed after it started. */
  name: z.string().min(1).optional(),
});
export type SpanEndPayload = z.infer<typeof SpanEndPayloadSchema>;

/** Structured payload kinds; the union is open to more kinds later. */
export const StructuredLogPayloadSchema = z.discriminatedUnion('type', [
  SpanStartPayloadSchema,
  SpanEndPayloadSchema,
]);
export type StructuredLogPayload = z.infer<typeof StructuredLogPayloadSchema>;

export const StructuredLogEventSchema = z.object({
  ...eventCommon,
  type: z.literal('structured_log'),
  payload: StructuredLogPayloadSchema,
});
export type StructuredLogEvent = z.infer<typeof StructuredLogEventSchema>;

export const EventSchema = z.discriminatedUnion('type', [
  UnstructuredLogEventSchema,
  MetricEventSchema,
  StructuredLogEventSchema,
]);
/** Any telemetry event, as sinks receive it (timestamps in epoch microseconds). */
export type TelemetryEvent = z.infer<typeof EventSchema>;
/** Any telemetry event as a caller may write it (ISO strings, Dates). */
export type TelemetryEventInput = z.input<typeof EventSchema>;

/** Seven days, Llama Stack's `log_event` default. */
export const DEFAULT_TTL_SECONDS = 604_800;

export const LogEventParamsSchema = z.object({
  event: EventSchema,
  ttl_seconds: z
    .number()
    .int({ error: 'expected a whole number of seconds' })
    .positive({ error: 'expected a positive number of seconds' })
    .optional(),
});
export type LogEventParams = z.input<typeof LogEventParamsSchema>;

// ---------------------------------------------------------------------------
// Query results: plain JSON, times as ISO-8601 strings with microseconds.
// An absent field is left out, never `null`: llama-stack-client types these
// fields as optional (`end_time?: string`), and `null` does not type-check there.

const IsoTimeSchema = z.string();

export const SpanSchema = z.object({
  span_id: z.string(),
  trace_id: z.string(),
  /** Left out for a span without a parent. */
  parent_span_id: z.exactOptional(z.string()),
  name: z.string(),
  start_time: IsoTimeSchema,
  end_time: z.exactOptional(IsoTimeSchema),
  attributes: z.exactOptional(z.record(z.string(), z.unknown())),
});
export type Span = z.infer<typeof SpanSchema>;

export const SpanWithStatusSchema = SpanSchema.extend({
  status: z.exactOptional(SpanStatusSchema),
});
export type SpanWithStatus = z.infer<typeof SpanWithStatusSchema>;

export const TraceSchema = z.object({
  trace_id: z.string(),
  root_span_id: z.string(),
  start_time: IsoTimeSchema,
  end_time: z.exactOptional(IsoTimeSchema),
});
export type Trace = z.infer<typeof TraceSchema>;

// ---------------------------------------------------------------------------
// Query parameters.

export const QueryConditionOpSchema = z.enum(['eq', 'ne', 'gt', 'lt']);
export type QueryConditionOp = z.infer<typeof QueryConditionOpSchema>;

const ScalarQueryValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * What a filter compares with: what an attribute can hold, a string, finite
 * number, boolean or null, or an array of those (OpenTelemetry array
 * attributes). Its input type is `unknown`, as llama-stack-client types
 * `QueryCondition.value`, so any value the client allows type-checks; one that
 * cannot be compared (an object, NaN, a nested array) fails validation at
 * `attribute_filters[i].value`.
 */
export const QueryValueSchema = z.unknown().pipe(
  z.union([ScalarQueryValueSchema, z.array(ScalarQueryValueSchema)], {
    error: 'expected a string, finite number, boolean, null, or an array of those',
  }),
);
export type QueryValue = z.infer<typeof QueryValueSchema>;

export const QueryConditionSchema = z.object({
  key: z.string().min(1, { error: 'expected a non-empty attribute key' }),
  op: QueryConditionOpSchema,
  value: QueryValueSchema,
});
export type QueryCondition = z.infer<typeof QueryConditionSchema>;

export const MetricLabelMatcherSchema = z.object({
  name: z.string().min(1, { error: 'expected a non-empty label name' }),
  value: z.string(),
  operator: z.enum(['=', '!=', '=~', '!~']).default('='),
});
export type MetricLabelMatcher = z.input<typeof MetricLabelMatcherSchema>;

export const MetricLabelSchema = z.object({ name: z.string(), value: z.string() });
export type MetricLabel = z.infer<typeof MetricLabelSchema>;

export const MetricDataPointSchema = z.object({
  /** Unix seconds. */
  timestamp: z.number(),
  value: z.number(),
  unit: z.string(),
});
export type MetricDataPoint = z.infer<typeof MetricDataPointSchema>;

export const MetricSeriesSchema = z.object({
  metric: z.string(),
  labels: z.array(MetricLabelSchema),
  values: z.array(MetricDataPointSchema),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

export const MetricQueryTypeSchema = z.enum(['range', 'instant']);
export type MetricQueryType = z.infer<typeof MetricQueryTypeSchema>;

/** The start span is depth 1; as in the reference, 0 and 1 both mean the start span alone. */
const depth = z
  .number()
  .int({ error: 'expected a whole number' })
  .nonnegative({ error: 'expected a depth of 0 or more' })
  .nullish();

export const QueryTracesParamsSchema = z.object({
  attribute_filters: z.array(QueryConditionSchema).nullish(),
  /** Default 100; `null` also means the default. */
  limit: z.number().int().positive().nullish(),
  offset: z.number().int().nonnegative().nullish(),
  order_by: z.array(z.string()).nullish(),
});
export type QueryTracesParams = z.input<typeof QueryTracesParamsSchema>;

export const GetSpanTreeParamsSchema = z.object({
  attributes_to_return: z.array(z.string()).nullish(),
  max_depth: depth,
});
export type GetSpanTreeParams = z.input<typeof GetSpanTreeParamsSchema>;

export const QuerySpansParamsSchema = z.object({
  attribute_filters: z.array(QueryConditionSchema),
  attributes_to_return: z.array(z.string()).nullish(),
  max_depth: depth,
  limit: z.number().int().positive().nullish(),
  offset: z.number().int().nonnegative().nullish(),
});
export type QuerySpansParams = z.input<typeof QuerySpansParamsSchema>;

export const SaveSpansToDatasetParamsSchema = z.object({
  attribute_filters: z.array(QueryConditionSchema),
  attributes_to_save: z.array(z.string()),
  dataset_id: z.string().min(1, { error: 'expected a non-empty dataset id' }),
  max_depth: depth,
});
export type SaveSpansToDatasetParams = z.input<typeof SaveSpansToDatasetParamsSchema>;

export const QueryMetricsParamsSchema = z.object({
  query_type: MetricQueryTypeSchema,
  /** Unix seconds. */
  start_time: z.number().int().nonnegative(),
  /** Unix seconds; default now. */
  end_time: z.number().int().nonnegative().nullish(),
  /** Bucket size such as `30s`, `5m`, `1h`, `1d`; raw points when absent. */
  granularity: z
    .string()
    .regex(/^[1-9]\d*[smhd]$/, { error: 'expected a duration such as 30s, 5m, 1h or 1d' })
    .nullish(),
  label_matchers: z.array(MetricLabelMatcherSchema).nullish(),
});
export type QueryMetricsParams = z.input<typeof QueryMetricsParamsSchema>;
