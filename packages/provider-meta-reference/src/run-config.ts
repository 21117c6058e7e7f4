import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TelemetryConfigError } from '@telemetry/core';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import {
  BUILTIN_SINKS,
  type BuiltinSinkName,
  createMetaReferenceConfigSchema,
  type MetaReferenceConfig,
  rejectUnknownKeys,
  splitSinks,
} from './config-schema.ts';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import { describeValue, didYouMean } from './describe.ts';
import { type Env, isPlainObject, substituteEnv } from './env-substitution.ts';
import { type Issue, issuesFromZodError, validationError } from './issues.ts';
import {
  type ProviderFactory,
  type ProviderTypeDefinition,
  providerTypesFor,
  type SinkFactory,
  sinkTypesFor,
} from './registry.ts';

/** How configs are read. */
export interface ParseOptions {
  /**
   * Variables for `${env.NAME}` references, the default database path and the
   * check that an `otel` sink has an endpoint.
   * @default process.env
   */
  readonly env?: Env;
  /**
   * Sink types for this call only, besides those of `registerSinkType`.
   * @default {}
   */
  readonly sinkTypes?: Readonly<Record<string, SinkFactory>>;
  /**
   * Provider types for this call only, besides those of `registerProviderType`.
   * @default {}
   */
  readonly providerTypes?: Readonly<Record<string, ProviderFactory | ProviderTypeDefinition>>;
}

/** One entry of a run config's `telemetry:` list, validated. */
export interface TelemetryProviderConfig<Config = unknown> {
  readonly provider_id: string;
  readonly provider_type: string;
  /** For `inline::meta-reference`, a MetaReferenceConfig. */
  readonly config: Config;
}

/** The telemetry part of a run config, validated: every provider, in order. */
export interface TelemetryRunConfig {
  readonly telemetry: readonly TelemetryProviderConfig[];
  /** The file it was read from, when it was. */
  readonly source?: string;
}

/** @internal What one parse needs. */
export interface ParseContext {
  readonly env: Env;
  readonly sinkTypes: ReadonlyMap<string, SinkFactory>;
  readonly providerTypes: ReadonlyMap<string, ProviderTypeDefinition>;
}

export function parseContext(options: ParseOptions = {}): ParseContext {
  return {
    env: options.env ?? process.env,
    sinkTypes: sinkTypesFor(options.sinkTypes),
    providerTypes: providerTypesFor(options.providerTypes),
  };
}

const OTEL_CONFIG_KEYS = [
  'otel_exporter_otlp_endpoint',
  'otel_endpoint',
  'otel_trace_endpoint',
  'otel_metric_endpoint',
] as const;

const OTEL_ENV = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
] as const;

/**
 * The otel sinks need an endpoint from the config or the environment; say both
 * ways when there is none. Reads the block as written, so that this problem is
 * listed even when the block has others.
 */
function checkOtelEndpoint(raw: unknown, env: Env): string | undefined {
  if (!isPlainObject(raw)) return undefined;
  const sinks = splitSinks(raw.sinks);
  if (!Array.isArray(sinks)) return undefined;
  const names = new Set(
    sinks.flatMap((name) =>
      typeof name === 'string' && Object.hasOwn(BUILTIN_SINKS, name)
        ? [...BUILTIN_SINKS[name as BuiltinSinkName]]
        : [],
    ),
  );
  const traces = names.has('otel_trace');
  const metrics = names.has('otel_metric');
  if (!traces && !metrics) return undefined;
  const configured = OTEL_CONFIG_KEYS.some(
    (key) => typeof raw[key] === 'string' && raw[key] !== '',
  );
  if (configured || OTEL_ENV.some((name) => env[name])) return undefined;
  const sink = traces && metrics ? 'otel' : traces ? 'otel_trace' : 'otel_metric';
  return `sink "${sink}" needs an OTLP endpoint: set otel_exporter_otlp_endpoint (e.g. http://localhost:4318) or otel_endpoint (e.g. http://localhost:4318/v1/traces) in this config, or the environment variable OTEL_EXPORTER_OTLP_ENDPOINT`;
}

function parseMetaReferenceBlock(
  raw: unknown,
  prefix: readonly PropertyKey[],
  ctx: ParseContext,
  issues: Issue[],
): MetaReferenceConfig | undefined {
  const schema = createMetaReferenceConfigSchema({
    customSinks: () => [...ctx.sinkTypes.keys()],
    env: ctx.env,
  });
  const result = schema.safeParse(raw);
  if (!result.success) issues.push(...issuesFromZodError(result.error, prefix));
  const otelProblem = checkOtelEndpoint(raw, ctx.env);
  if (otelProblem) issues.push({ path: [...prefix, 'sinks'], message: otelProblem });
  return result.success ? result.data : undefined;
}

const ENTRY_KEYS = ['provider_id', 'provider_type', 'config'] as const;

const EntrySchema = z
  .object(
    {
      provider_id: z
        .string({
          error: (issue) =>
            issue.input === undefined
              ? 'required: a name for this provider, such as "meta-reference"'
              : `expected a provider name such as "meta-reference", got ${describeValue(issue.input)}`,
        })
        .min(1, {
          error: 'expected a provider name such as "meta-reference", got an empty string',
        }),
      provider_type: z.string({
        error: (issue) =>
          issue.input === undefined
            ? `required: the provider type, such as "${META_REFERENCE_DEFAULTS.providerType}"`
            : `expected a provider type such as "${META_REFERENCE_DEFAULTS.providerType}", got ${describeValue(issue.input)}`,
      }),
      config: z.unknown().optional(),
    },
    {
      error: (issue) =>
        `expected a provider (a mapping with provider_id, provider_type and config), got ${describeValue(issue.input)}`,
    },
  )
  .catchall(z.unknown())
  .superRefine(rejectUnknownKeys(ENTRY_KEYS), { when: () => true });

function parseEntry(
  raw: unknown,
  prefix: readonly PropertyKey[],
  ctx: ParseContext,
  issues: Issue[],
): TelemetryProviderConfig | undefined {
  const entry = EntrySchema.safeParse(raw);
  const value = isPlainObject(raw) ? raw : {};
  if (!entry.success) issues.push(...issuesFromZodError(entry.error, prefix));
  if (!isPlainObject(raw)) return undefined;

  const type = value.provider_type;
  const known = [META_REFERENCE_DEFAULTS.providerType, ...ctx.providerTypes.keys()];
  let config: unknown;
  if (type === META_REFERENCE_DEFAULTS.providerType) {
    config = parseMetaReferenceBlock(value.config, [...prefix, 'config'], ctx, issues);
  } else if (typeof type === 'string') {
    const definition = ctx.providerTypes.get(type);
    if (!definition) {
      issues.push({
        path: [...prefix, 'provider_type'],
        message: `unknown provider type ${JSON.stringify(type)}${didYouMean(type, known)}; expected one of: ${known.join(', ')}`,
      });
    } else if (definition.schema) {
      const parsed = definition.schema.safeParse(value.config);
      if (parsed.success) config = parsed.data;
      else issues.push(...issuesFromZodError(parsed.error, [...prefix, 'config']));
    } else {
      config = value.config ?? {};
    }
  }
  if (!entry.success || config === undefined) return undefined;
  return {
    provider_id: entry.data.provider_id,
    provider_type: entry.data.provider_type,
    config,
  };
}

function parseProviderList(
  raw: unknown,
  prefix: readonly PropertyKey[],
  ctx: ParseContext,
  issues: Issue[],
): TelemetryProviderConfig[] {
  if (!Array.isArray(raw)) {
    issues.push({
      path: prefix,
      message: `expected a list of providers, each with provider_id, provider_type and config, got ${describeValue(raw)}`,
    });
    return [];
  }
  const out: TelemetryProviderConfig[] = [];
  const ids = new Map<string, number>();
  raw.forEach((item, i) => {
    const parsed = parseEntry(item, [...prefix, i], ctx, issues);
    const id = isPlainObject(item) ? item.provider_id : undefined;
    if (typeof id === 'string' && id !== '') {
      const first = ids.get(id);
      if (first !== undefined) {
        issues.push({
          path: [...prefix, i, 'provider_id'],
          message: `provider_id ${JSON.stringify(id)} is already used by entry [${first}]; give each provider its own`,
        });
      } else ids.set(id, i);
    }
    if (parsed) out.push(parsed);
  });
  return out;
}

/** Top-level keys that make an object a run config (Llama Stack's run.yaml has the last three). */
const RUN_CONFIG_KEYS = ['telemetry', 'providers', 'version', 'image_name', 'apis'];

/** @internal Validates any accepted shape; returns the problems instead of throwing. */
export function parseRunConfigValue(
  input: unknown,
  ctx: ParseContext,
): { config: TelemetryRunConfig; issues: Issue[] } {
  const issues: Issue[] = [];
  const value = substituteEnv(input, ctx.env, issues);
  const single = (config: MetaReferenceConfig | undefined) => ({
    telemetry: config
      ? [
          {
            provider_id: META_REFERENCE_DEFAULTS.providerId,
            provider_type: META_REFERENCE_DEFAULTS.providerType,
            config,
          },
        ]
      : [],
  });

  if (value === undefined || value === null) {
    return { config: single(parseMetaReferenceBlock({}, [], ctx, issues)), issues };
  }
  if (Array.isArray(value)) {
    return { config: { telemetry: parseProviderList(value, [], ctx, issues) }, issues };
  }
  if (!isPlainObject(value)) {
    issues.push({
      path: [],
      message: `expected a run config (a mapping with a "telemetry:" list of providers) or a provider's config block, got ${describeValue(value)}`,
    });
    return { config: { telemetry: [] }, issues };
  }
  if (RUN_CONFIG_KEYS.some((key) => key in value)) {
    const providers = value.providers;
    if (providers !== undefined && !isPlainObject(providers)) {
      issues.push({
        path: ['providers'],
        message: `expected a mapping from API name to providers (e.g. telemetry: [...]), got ${describeValue(providers)}`,
      });
    }
    const nested = isPlainObject(providers) && 'telemetry' in providers;
    if ('telemetry' in value && nested) {
      issues.push({
        path: ['telemetry'],
        message:
          'telemetry providers are given twice, here and at providers.telemetry; keep one list',
      });
    }
    if ('telemetry' in value) {
      return {
        config: { telemetry: parseProviderList(value.telemetry, ['telemetry'], ctx, issues) },
        issues,
      };
    }
    if (nested) {
      return {
        config: {
          telemetry: parseProviderList(
            providers.telemetry,
            ['providers', 'telemetry'],
            ctx,
            issues,
          ),
        },
        issues,
      };
    }
    issues.push({
      path: [],
      message:
        'no telemetry providers: add a "telemetry:" list (or "providers: { telemetry: [...] }" as in a Llama Stack run.yaml)',
    });
    return { config: { telemetry: [] }, issues };
  }
  if ('provider_type' in value || 'provider_id' in value || 'config' in value) {
    const entry = parseEntry(value, [], ctx, issues);
    return { config: { telemetry: entry ? [entry] : [] }, issues };
  }
  return { config: single(parseMetaReferenceBlock(value, [], ctx, issues)), issues };
}

/**
 * Validates one `inline::meta-reference` `config` block (an object as in YAML:
 * `{ sinks: 'console,sqlite', sqlite_db_path: '...' }`): substitutes
 * `${env.…}` references, applies defaults, and checks that an `otel` sink has
 * an endpoint.
 * @throws TelemetryValidationError listing every problem with its path.
 */
export function parseTelemetryConfig(
  value: unknown,
  options: ParseOptions = {},
): MetaReferenceConfig {
  const ctx = parseContext(options);
  const issues: Issue[] = [];
  const substituted = substituteEnv(value, ctx.env, issues);
  const config = parseMetaReferenceBlock(substituted, [], ctx, issues);
  if (issues.length > 0 || !config) throw validationError('telemetry config', issues);
  return config;
}

/**
 * Validates the telemetry part of a run config given as an object. Accepts a
 * run config (`telemetry: [...]`, or `providers: { telemetry: [...] }` as in a
 * Llama Stack run.yaml, whose other keys are left alone), a list of providers,
 * one provider (`{ provider_id, provider_type, config }`), or a bare
 * meta-reference `config` block. `${env.…}` references are substituted in the
 * whole object first, as Llama Stack does.
 * @throws TelemetryValidationError listing every problem with its path.
 */
export function parseRunConfig(value: unknown, options: ParseOptions = {}): TelemetryRunConfig {
  const { config, issues } = parseRunConfigValue(value, parseContext(options));
  if (issues.length > 0) throw validationError('telemetry config', issues);
  return config;
}

/** @internal Reads and validates a YAML (or JSON) run config file with a given context. */
export async function loadRunConfigWith(
  path: string | URL,
  ctx: ParseContext,
): Promise<TelemetryRunConfig> {
  const file = typeof path === 'string' ? resolve(path) : fileURLToPath(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TelemetryConfigError(
      code === 'ENOENT'
        ? `Cannot read the telemetry run config ${file}: no such file. Check the path (relative paths start at ${process.cwd()}).`
        : `Cannot read the telemetry run config ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const details = doc.errors
      .map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${e.message} (line ${line}, column ${col})`;
      })
      .join('; ');
    throw new TelemetryConfigError(
      `Cannot parse the telemetry run config ${file} as YAML: ${details}`,
      { cause: doc.errors[0] },
    );
  }
  const { config, issues } = parseRunConfigValue(doc.toJS(), ctx);
  if (issues.length > 0) {
    const locate = (path: readonly PropertyKey[]) => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) return `line ${lineCounter.linePos(node.range[0]).line}`;
      }
      return undefined;
    };
    throw validationError(`telemetry config in ${file}`, issues, locate);
  }
  return { ...config, source: file };
}

/**
 * Reads a YAML (or JSON) run config file and validates its telemetry part as
 * `parseRunConfig` does; problems name their line.
 * @throws TelemetryConfigError when the file cannot be read or is not YAML;
 *   TelemetryValidationError listing every problem otherwise.
 */
export function loadRunConfig(
  path: string | URL,
  options: ParseOptions = {},
): Promise<TelemetryRunConfig> {
  return loadRunConfigWith(path, parseContext(options));
}
