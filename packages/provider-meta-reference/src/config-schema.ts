import { z } from 'zod';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import { describeValue, didYouMean } from './describe.ts';
import { isPlainObject } from './env-substitution.ts';
import { BUILTIN_SINKS } from './sink-types.ts';

/**
 * The `config` block of an `inline::meta-reference` provider after validation:
 * `sinks` a list of sink names (`otel` becomes `otel_trace` and `otel_metric`;
 * duplicates removed), every other key as written. What a key means is up to
 * the sinks that read it (their `fromConfig`): the `sqlite` sink's default
 * path, the `otel` sink's endpoints.
 */
export type MetaReferenceConfig = {
  /** `console`, `sqlite`, `otel_trace`, `otel_metric`, or a registered sink type. */
  readonly sinks: readonly string[];
  /** The SQLite trace store (read by the `sqlite` sink, which has Llama Stack's default). */
  readonly sqlite_db_path?: string;
  /** The PostgreSQL trace store's connection string (read by the `postgres` sink). */
  readonly postgres_url?: string;
  /** `service.name` of what this process exports. */
  readonly service_name?: string;
  /** Base OTLP/HTTP URL; `/v1/traces` and `/v1/metrics` are appended. */
  readonly otel_exporter_otlp_endpoint?: string;
  /** Full OTLP/HTTP traces URL (the seed's key). */
  readonly otel_endpoint?: string;
  /** Full traces URL (Llama Stack 0.1.x). */
  readonly otel_trace_endpoint?: string;
  /** Full metrics URL (Llama Stack 0.1.x). */
  readonly otel_metric_endpoint?: string;
};

/** The keys a meta-reference `config` block may have, in the order messages list them. */
export const META_REFERENCE_CONFIG_KEYS = Object.freeze([
  'sinks',
  'sqlite_db_path',
  'postgres_url',
  'service_name',
  'otel_exporter_otlp_endpoint',
  'otel_endpoint',
  'otel_trace_endpoint',
  'otel_metric_endpoint',
] as const);

export interface MetaReferenceSchemaOptions {
  /**
   * Sink names accepted besides the built-in ones, read at each parse (so a
   * sink type registered later is accepted).
   * @default () => []
   */
  readonly customSinks?: () => readonly string[];
  /**
   * @internal Every word `sinks` may use, with the sink names it stands for
   * (the sink table of one call); replaces the built-in ones and `customSinks`.
   */
  readonly sinkNames?: ReadonlyMap<string, readonly string[]>;
}

/** Null (a YAML key with no value) means "not set", as Llama Stack's `str | None` fields. */
const notSet = (value: unknown) => (value === null ? undefined : value);

/** A string key whose meaning is the sinks' (the `otel` sink checks its URLs). */
function optionalString(expected: string) {
  return z.preprocess(
    notSet,
    z
      .string({ error: (issue) => `expected ${expected}, got ${describeValue(issue.input)}` })
      .optional(),
  );
}

/** A comma-separated string is a list (`"console,sqlite"`); empty entries are ignored. */
export function splitSinks(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  const items =
    typeof value === 'string'
      ? value.split(',').map((s) => s.trim())
      : Array.isArray(value)
        ? value
        : undefined;
  if (!items) return value;
  return items.filter((item) => item !== '' && item !== undefined && item !== null);
}

/**
 * The zod schema of an `inline::meta-reference` `config` block: the seed's keys
 * (`sinks`, `otel_endpoint`, `sqlite_db_path`) and Llama Stack's later ones.
 * Unknown keys are reported with the allowed ones. It does not substitute
 * `${env.…}` references: `parseTelemetryConfig` does that first.
 */
export function createMetaReferenceConfigSchema(options: MetaReferenceSchemaOptions = {}) {
  const vocabulary = (): ReadonlyMap<string, readonly string[]> =>
    options.sinkNames ??
    new Map([
      ...Object.entries(BUILTIN_SINKS),
      ...(options.customSinks?.() ?? []).map((name) => [name, [name]] as const),
    ]);
  const allowedSinks = () => [...vocabulary().keys()];

  const sinkName = z
    .string({
      error: (issue) =>
        `expected a sink name (one of: ${allowedSinks().join(', ')}), got ${describeValue(issue.input)}`,
    })
    .superRefine((name, ctx) => {
      const allowed = allowedSinks();
      if (!allowed.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          input: name,
          message: `unknown sink ${JSON.stringify(name)}${didYouMean(name, allowed)}; expected one of: ${allowed.join(', ')}`,
        });
      }
    });

  const sinks = z
    .preprocess(
      splitSinks,
      z
        .array(sinkName, {
          error: (issue) =>
            `expected a list of sink names or a comma-separated string such as "console,sqlite", got ${describeValue(issue.input)}`,
        })
        .optional(),
    )
    .transform((names) => {
      const known = vocabulary();
      return [
        ...new Set((names ?? META_REFERENCE_DEFAULTS.sinks).flatMap((n) => known.get(n) ?? [n])),
      ];
    });

  const sqliteDbPath = z.preprocess(
    notSet,
    z
      .string({
        error: (issue) => `expected a file path or ":memory:", got ${describeValue(issue.input)}`,
      })
      .min(1, { error: 'expected a file path or ":memory:", got an empty string' })
      .optional(),
  );

  const shape = {
    sinks,
    sqlite_db_path: sqliteDbPath,
    postgres_url: optionalString('a connection string such as postgres://user@host:5432/db'),
    service_name: optionalString('a service name'),
    otel_exporter_otlp_endpoint: optionalString('a URL such as http://localhost:4318'),
    otel_endpoint: optionalString('a URL such as http://localhost:4318/v1/traces'),
    otel_trace_endpoint: optionalString('a URL such as http://localhost:4318/v1/traces'),
    otel_metric_endpoint: optionalString('a URL such as http://localhost:4318/v1/metrics'),
  };

  return z
    .preprocess(
      (value) => (value === null || value === undefined ? {} : value),
      z
        .object(shape, {
          error: (issue) =>
            `expected a mapping of config keys (${META_REFERENCE_CONFIG_KEYS.join(', ')}), got ${describeValue(issue.input)}`,
        })
        .catchall(z.unknown())
        .superRefine(rejectUnknownKeys(META_REFERENCE_CONFIG_KEYS), { when: () => true }),
    )
    .transform((value): MetaReferenceConfig => {
      const out: {
        -readonly [K in keyof MetaReferenceConfig]: MetaReferenceConfig[K];
      } = { sinks: value.sinks };
      // An empty value means "not set", so the sinks' own default applies.
      if (value.sqlite_db_path) out.sqlite_db_path = value.sqlite_db_path;
      if (value.postgres_url) out.postgres_url = value.postgres_url;
      if (value.service_name) out.service_name = value.service_name;
      for (const key of [
        'otel_exporter_otlp_endpoint',
        'otel_endpoint',
        'otel_trace_endpoint',
        'otel_metric_endpoint',
      ] as const) {
        if (value[key] !== undefined) out[key] = value[key];
      }
      return out;
    });
}

/** A refinement that reports each key outside `allowed` at its own path, with the allowed keys. */
export function rejectUnknownKeys(allowed: readonly string[]) {
  return (value: unknown, ctx: z.RefinementCtx) => {
    if (!isPlainObject(value)) return;
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        input: value[key],
        message: `unknown key${didYouMean(key, allowed)}; expected one of: ${allowed.join(', ')}`,
      });
    }
  };
}

/** The type of the zod schema that `createMetaReferenceConfigSchema` returns. */
export type MetaReferenceConfigSchema = ReturnType<typeof createMetaReferenceConfigSchema>;
