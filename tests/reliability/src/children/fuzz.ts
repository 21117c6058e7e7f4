/**
 * A seeded fuzz of malformed events (logEvent) and query parameters (every
 * query of the Llama Stack API and of the search extensions), against a
 * pipeline with a SQLite store. Each case breaks one field of a valid input
 * in one way; the call must be accepted or refused with a
 * TelemetryValidationError whose issues name that field (a lookup of an id
 * that does not exist may be a TelemetryNotFoundError). Anything else
 * (a TypeError, a RangeError, an SQLite error, a crash, a hang) is a finding.
 * Valid traces are logged in between; at the end the store must answer for
 * every one of them.
 */
import {
  createTelemetry,
  generateSpanId,
  generateTraceId,
  TelemetryNotFoundError,
  TelemetryValidationError,
} from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, maxRssMb, scenario } from './common.ts';

const cfg = scenario<{ sqlitePath: string; seed: number; events: number; queries: number }>();

/** mulberry32: small, seeded, good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(cfg.seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { v: value };
  return value;
}

/** Values no field should take, and some a field may take after all. */
const HOSTILE: (() => unknown)[] = [
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => Number.NEGATIVE_INFINITY,
  () => -1,
  () => 0,
  () => -0,
  () => 1.5,
  () => 1e300,
  () => -1e300,
  () => Number.MAX_SAFE_INTEGER + 2,
  () => 8_640_000_000_000_001_000,
  () => '',
  () => ' ',
  () => 'x'.repeat(1 + Math.floor(random() * 200_000)),
  () => '\u0000',
  () => '\ud800',
  () => "'; DROP TABLE spans; --",
  () => '9999-12-31T23:59:60Z',
  () => '2025-02-30T00:00:00Z',
  () => '2025-01-01T00:00:00+99:99',
  () => '0000-01-01T00:00:00Z',
  () => '0001-01-01T00:00:00Z',
  () => '9999-12-31T23:59:59.999999Z',
  () => '10000-01-01T00:00:00Z',
  () => '-000001-01-01T00:00:00Z',
  () => 'not a date',
  () => ({}),
  () => [],
  () => [1, 'a', null],
  () => Array.from({ length: 10_000 }, (_, i) => i),
  () => null,
  () => undefined,
  () => true,
  () => false,
  () => 12345678901234567890n,
  () => Symbol('s'),
  () => () => 1,
  () => new Date(Number.NaN),
  () => new Date(8.64e15),
  () => new Map([[1, 2]]),
  () => Object.create(null),
  () => JSON.parse('{"__proto__": {"polluted": true}}'),
  () => ({ constructor: 'c', toString: 't' }),
  () => nested(5_000),
  () => '0'.repeat(32),
  () => 'g'.repeat(16),
  () => 'A'.repeat(32),
];
const hostile = () => pick(HOSTILE)();

// ---------------------------------------------------------------------------
// Events

const T0 = Date.UTC(2025, 0, 31, 12) * 1000;
function validEvent(): Record<string, unknown> {
  const ids = { trace_id: generateTraceId(), span_id: generateSpanId() };
  const timestamp = new Date(T0 / 1000 + Math.floor(random() * 1e6)).toISOString();
  switch (Math.floor(random() * 4)) {
    case 0:
      return {
        ...ids,
        type: 'structured_log',
        timestamp,
        attributes: { model: 'llama', tokens: 3 },
        payload: { type: 'span_start', name: 'work', parent_span_id: generateSpanId() },
      };
    case 1:
      return {
        ...ids,
        type: 'structured_log',
        timestamp,
        payload: { type: 'span_end', status: 'ok' },
      };
    case 2:
      return { ...ids, type: 'unstructured_log', timestamp, message: 'hi', severity: 'info' };
    default:
      return { ...ids, type: 'metric', timestamp, metric: 'tokens', value: 3, unit: 'tokens' };
  }
}

/** Paths to the leaves and objects of a value, for picking a field to break. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  const out: string[][] = prefix.length > 0 ? [prefix] : [];
  for (const [key, child] of Object.entries(value)) out.push(...paths(child, [...prefix, key]));
  return out;
}

function setAt(root: Record<string, unknown>, path: string[], value: unknown, remove = false) {
  let target = root;
  for (const key of path.slice(0, -1)) {
    const next = { ...(target[key] as Record<string, unknown>) };
    target[key] = next;
    target = next;
  }
  const last = path.at(-1)!;
  if (remove) delete target[last];
  else
    Object.defineProperty(target, last, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

interface Case {
  readonly input: unknown;
  /** The issue path that must be named if the input is refused. */
  readonly field: string;
}

function malformedEvent(): Case {
  const event = validEvent();
  const r = random();
  if (r < 0.04) {
    const input = pick([null, 5, 'event', [], undefined, { event: undefined }]);
    return {
      input,
      field: input !== null && typeof input === 'object' && !Array.isArray(input) ? 'event' : '',
    };
  }
  if (r < 0.12) return { input: { event, ttl_seconds: hostile() }, field: 'ttl_seconds' };
  if (r < 0.16) return { input: { event: hostile() }, field: 'event' };
  const copy = structuredClone(event);
  const path = pick(paths(copy));
  if (r < 0.3) {
    setAt(copy, path, undefined, true);
  } else if (r < 0.35) {
    // An extra key next to the field: ignored, or refused by name.
    setAt(copy, [...path.slice(0, -1), pick(['extra', '__proto__', 'constructor'])], hostile());
    return { input: { event: copy }, field: 'event' };
  } else if (r < 0.42 && path.length === 1 && path[0] === 'type') {
    // Another event type: the fields it lacks are named, under event.
    setAt(copy, path, pick(['metric', 'unstructured_log', 'structured_log', 'span', 'METRIC']));
    return { input: { event: copy }, field: 'event' };
  } else if (r < 0.5) {
    // A hostile attribute, at a key that may itself be hostile.
    const key = pick([
      'a',
      '',
      '__proto__',
      'constructor',
      'toString',
      'a.b[0]',
      '\u0000',
      'k'.repeat(5000),
    ]);
    setAt(copy, ['attributes', key], hostile());
    return { input: { event: copy }, field: 'event.attributes' };
  } else {
    setAt(copy, path, hostile());
  }
  return { input: { event: copy }, field: ['event', ...path].join('.') };
}

// ---------------------------------------------------------------------------
// Query parameters

const store = createSqliteSink({
  path: cfg.sqlitePath,
  retentionIntervalMs: 0,
  datasetWriter: { appendRows: async () => {} },
});
const telemetry = createTelemetry({ sinks: [store], warn: () => {} });
const now = Math.floor(Date.now() / 1000);

type Call = (args: unknown[]) => Promise<unknown>;
interface QueryShape {
  readonly name: string;
  readonly call: Call;
  /** Valid arguments, and the name each argument's issues carry (null for a params object). */
  readonly args: () => unknown[];
  readonly argNames: readonly (string | null)[];
}

const someTrace = { trace_id: generateTraceId(), span_id: generateSpanId() };
const filter = () => [
  {
    key: pick(['model', 'tokens', "'; --", '__proto__']),
    op: pick(['eq', 'ne', 'gt', 'lt']),
    value: pick(['llama', 3, true]),
  },
];
const QUERIES: QueryShape[] = [
  {
    name: 'queryTraces',
    call: (a) => telemetry.queryTraces(a[0] as never),
    args: () => [{ attribute_filters: filter(), limit: 10, offset: 0, order_by: ['-start_time'] }],
    argNames: [null],
  },
  {
    name: 'getTrace',
    call: (a) => telemetry.getTrace(a[0] as never),
    args: () => [someTrace.trace_id],
    argNames: ['trace_id'],
  },
  {
    name: 'getSpan',
    call: (a) => telemetry.getSpan(a[0] as never, a[1] as never),
    args: () => [someTrace.trace_id, someTrace.span_id],
    argNames: ['trace_id', 'span_id'],
  },
  {
    name: 'getSpanTree',
    call: (a) => telemetry.getSpanTree(a[0] as never, a[1] as never),
    args: () => [someTrace.span_id, { attributes_to_return: ['model'], max_depth: 3 }],
    argNames: ['span_id', null],
  },
  {
    name: 'querySpans',
    call: (a) => telemetry.querySpans(a[0] as never),
    args: () => [
      { attribute_filters: filter(), attributes_to_return: ['model'], max_depth: 2, limit: 20 },
    ],
    argNames: [null],
  },
  {
    name: 'saveSpansToDataset',
    call: (a) => telemetry.saveSpansToDataset(a[0] as never),
    args: () => [
      { attribute_filters: filter(), attributes_to_save: ['model'], dataset_id: 'd', max_depth: 2 },
    ],
    argNames: [null],
  },
  {
    name: 'queryMetrics',
    call: (a) => telemetry.queryMetrics(a[0] as never, a[1] as never),
    args: () => [
      'tokens',
      {
        query_type: pick(['range', 'instant']),
        start_time: now - 86_400 * 400,
        end_time: now,
        granularity: pick(['1m', '1h', '1d', undefined]),
        label_matchers: [
          {
            name: 'model',
            operator: pick(['=', '!=', '=~', '!~']),
            value: pick(['llama.*', '(a+)+$', '(.*)*x', 'x']),
          },
        ],
      },
    ],
    argNames: ['metric_name', null],
  },
  {
    name: 'searchTraces',
    call: (a) => store.searchTraces(a[0] as never),
    args: () => [
      {
        start: '2025-01-01T00:00:00Z',
        service: 'unknown_service',
        status: 'ok',
        min_duration_ms: 0,
        attribute_filters: filter(),
        limit: 10,
      },
    ],
    argNames: [null],
  },
  {
    name: 'getTraceDetail',
    call: (a) => store.getTraceDetail(a[0] as never, a[1] as never),
    args: () => [someTrace.trace_id, { limit: 10, event_limit: 10 }],
    argNames: ['trace_id', null],
  },
  {
    name: 'getSpanEvents',
    call: (a) => store.getSpanEvents(a[0] as never, a[1] as never, a[2] as never),
    args: () => [someTrace.trace_id, someTrace.span_id, { limit: 10 }],
    argNames: ['trace_id', 'span_id', null],
  },
  {
    name: 'suggest',
    call: (a) => store.suggest(a[0] as never),
    args: () => [
      {
        field: pick(['service', 'span_name', 'attribute_key', 'metric_name']),
        prefix: 'a',
        limit: 5,
      },
    ],
    argNames: [null],
  },
  {
    name: 'tailSpans',
    call: (a) => store.tailSpans(a[0] as never),
    args: () => [{ limit: 5 }],
    argNames: [null],
  },
];

function malformedQuery(): { shape: QueryShape; args: unknown[]; field: string } {
  const shape = pick(QUERIES);
  const args = shape.args();
  const index = Math.floor(random() * args.length);
  const name = shape.argNames[index];
  const arg = args[index];
  if (name !== null || random() < 0.1 || typeof arg !== 'object' || arg === null) {
    // The argument itself: an id, a metric name, or the whole params object.
    args[index] = hostile();
    return { shape, args, field: name ?? '' };
  }
  const params = structuredClone(arg) as Record<string, unknown>;
  const path = pick(paths(params));
  const r = random();
  if (r < 0.15) setAt(params, path, undefined, true);
  else if (r < 0.25) setAt(params, [pick(['extra', '__proto__', 'constructor'])], hostile());
  else setAt(params, path, hostile());
  args[index] = params;
  return { shape, args, field: r >= 0.15 && r < 0.25 ? '' : path.join('.') };
}

// ---------------------------------------------------------------------------
// The run

/** True when an issue path names `field` (itself, something inside it, or the list it is in). */
function names(path: string, field: string): boolean {
  if (field === '') return true;
  const normal = path.replace(/\[(\d+)\]/g, '.$1');
  return normal === field || normal.startsWith(`${field}.`) || field.startsWith(`${normal}.`);
}

const findings: string[] = [];
let accepted = 0;
let refused = 0;
let notFound = 0;
let slowest = { ms: 0, what: '' };

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_k, v) =>
      typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function' ? String(v) : v,
    );
    return (text ?? String(value)).slice(0, 300);
  } catch {
    return String(value).slice(0, 300);
  }
}

function judge(what: string, field: string, input: unknown, error: unknown): void {
  if (error === undefined) {
    accepted += 1;
    return;
  }
  if (error instanceof TelemetryNotFoundError) {
    notFound += 1;
    return;
  }
  if (!(error instanceof TelemetryValidationError)) {
    findings.push(
      `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} for ${describe(input)}`,
    );
    return;
  }
  refused += 1;
  const issues = error.issues;
  if (issues.length === 0 || issues.some((i) => !i.path || !i.message)) {
    findings.push(`${what}: an issue without a path or message: ${describe(issues)}`);
  } else if (
    // A cross-field issue (start after end) may sit at the other field, naming this one.
    !issues.some(
      (i) => names(i.path, field) || (field !== '' && i.message.includes(field.split('.').at(-1)!)),
    )
  ) {
    findings.push(
      `${what}: broke ${field || '(the input)'} but the issues name ${issues.map((i) => i.path).join(', ')} for ${describe(input)}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Valid events with a hostile structure: a span that is its own parent, two
// spans that are each other's parent (beside a root or without one), a parent
// in another trace. Validation may take them; every query must still answer.

type Structure = 'self' | 'cycle' | 'cycle beside a root' | 'parent in another trace';
const STRUCTURES: readonly Structure[] = [
  'self',
  'cycle',
  'cycle beside a root',
  'parent in another trace',
];
const structural: { trace_id: string; span_id: string; structure: Structure }[] = [];

function logSpan(
  trace_id: string,
  span_id: string,
  parent_span_id: string | undefined,
  structure: Structure,
): unknown {
  const timestamp = new Date().toISOString();
  const start = {
    event: {
      trace_id,
      span_id,
      type: 'structured_log',
      timestamp,
      attributes: { structure },
      payload: {
        type: 'span_start',
        name: structure,
        ...(parent_span_id ? { parent_span_id } : {}),
      },
    },
  };
  const end = {
    event: {
      trace_id,
      span_id,
      type: 'structured_log',
      timestamp,
      payload: { type: 'span_end', status: 'ok' },
    },
  };
  for (const input of [start, end]) {
    try {
      telemetry.logEvent(input as never);
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

function logHostileStructure(): void {
  const structure = pick(STRUCTURES);
  const trace_id = generateTraceId();
  const [a, b] = [generateSpanId(), generateSpanId()];
  let error: unknown;
  const log = (span: string, parent: string | undefined) => {
    error ??= logSpan(trace_id, span, parent, structure);
  };
  if (structure === 'self') log(a, a);
  if (structure === 'cycle beside a root') log(generateSpanId(), undefined);
  if (structure === 'cycle' || structure === 'cycle beside a root') {
    log(a, b);
    log(b, a);
  }
  if (structure === 'parent in another trace') log(a, structural.at(-1)?.span_id ?? b);
  judge(`structure ${structure}`, 'event', { trace_id, span_id: a, structure }, error);
  if (error === undefined) structural.push({ trace_id, span_id: a, structure });
}

/** Every query, with valid arguments, for the spans of a hostile structure: each must answer. */
async function probeStructures(): Promise<number> {
  let answered = 0;
  const ask = async (what: string, call: () => Promise<unknown>) => {
    const started = performance.now();
    try {
      await call();
      answered += 1;
    } catch (error) {
      if (error instanceof TelemetryNotFoundError) answered += 1;
      else
        findings.push(
          `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        );
    }
    const ms = performance.now() - started;
    if (ms > slowest.ms) slowest = { ms, what };
  };
  for (const { trace_id, span_id, structure } of structural) {
    await ask(`getTrace (${structure})`, () => telemetry.getTrace(trace_id));
    await ask(`getSpan (${structure})`, () => telemetry.getSpan(trace_id, span_id));
    await ask(`getSpanTree (${structure})`, () =>
      telemetry.getSpanTree(span_id, { max_depth: 100 }),
    );
    await ask(`getTraceDetail (${structure})`, () =>
      store.getTraceDetail(trace_id, { limit: 100, event_limit: 10 }),
    );
  }
  for (const structure of STRUCTURES) {
    const attribute_filters = [{ key: 'structure', op: 'eq', value: structure }] as never;
    await ask(`queryTraces (${structure})`, () =>
      telemetry.queryTraces({ attribute_filters, limit: 1_000 }),
    );
    await ask(`querySpans (${structure})`, () =>
      telemetry.querySpans({
        attribute_filters,
        attributes_to_return: ['structure'],
        limit: 1_000,
      }),
    );
    await ask(`searchTraces (${structure})`, () =>
      store.searchTraces({ attribute_filters, limit: 100 } as never),
    );
  }
  return answered;
}

const goodTraces: string[] = [];
function logGoodTrace(): void {
  const trace_id = generateTraceId();
  const span_id = generateSpanId();
  const timestamp = new Date().toISOString();
  telemetry.logEvent({
    event: {
      trace_id,
      span_id,
      type: 'structured_log',
      timestamp,
      attributes: { model: 'llama' },
      payload: { type: 'span_start', name: 'good' },
    },
  });
  telemetry.logEvent({
    event: {
      trace_id,
      span_id,
      type: 'metric',
      timestamp,
      metric: 'tokens',
      value: 3,
      unit: 'tokens',
      attributes: { model: 'llama' },
    },
  });
  telemetry.logEvent({
    event: {
      trace_id,
      span_id,
      type: 'structured_log',
      timestamp,
      payload: { type: 'span_end', status: 'ok' },
    },
  });
  goodTraces.push(trace_id);
}

for (let i = 0; i < cfg.events; i++) {
  const { input, field } = malformedEvent();
  const started = performance.now();
  let error: unknown;
  try {
    telemetry.logEvent(input as never);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  if (ms > slowest.ms) slowest = { ms, what: `logEvent ${field}` };
  judge(`logEvent #${i}`, field, input, error);
  if (i % 25 === 0) logGoodTrace();
  if (i % 10 === 5) logHostileStructure();
  if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await telemetry.flush({ timeoutMs: 300_000 });

for (let i = 0; i < cfg.queries; i++) {
  const { shape, args, field } = malformedQuery();
  const started = performance.now();
  let error: unknown;
  try {
    await shape.call(args);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  if (ms > slowest.ms) slowest = { ms, what: `${shape.name} ${field}` };
  judge(`${shape.name} #${i}`, field, args, error);
}

const structuresAnswered = await probeStructures();

// The store still answers, for every good trace logged between the bad ones.
const listed = new Set(
  (
    await telemetry.queryTraces({
      attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }],
      limit: 100_000,
    })
  ).map((t) => t.trace_id),
);
const missing = goodTraces.filter((id) => !listed.has(id));
const stats = telemetry.stats();
await telemetry.shutdown();
emit({
  event: 'done',
  cases: cfg.events + cfg.queries,
  accepted,
  refused,
  notFound,
  findings: findings.slice(0, 30),
  findingCount: findings.length,
  goodTraces: goodTraces.length,
  structures: structural.length,
  structuresAnswered,
  missing,
  stats,
  slowest,
  maxRssMb: maxRssMb(),
});
