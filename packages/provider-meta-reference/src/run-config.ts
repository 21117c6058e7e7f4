import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Env, TelemetryConfigError } from '@telemetry/core/sink';
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isSeq,
  LineCounter,
  parseDocument,
} from 'yaml';
import { z } from 'zod';
import { type MetaReferenceConfig, rejectUnknownKeys } from './config-schema.ts';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import { describeValue, didYouMean } from './describe.ts';
import { isPlainObject, substituteEnv } from './env-substitution.ts';
import { type Issue, issuesFromZodError, validationError } from './issues.ts';
import { type ProviderFactory, type ProviderTypeDefinition, providerTypesFor } from './registry.ts';
import { type SinkTable, type SinkTypesOption, sinkTableFor } from './sink-types.ts';

/** How configs are read. */
export interface ParseOptions {
  /**
   * Variables for `${env.NAME}` references, and what the sinks read of the
   * environment (`fromConfig`: the default database path, `OTEL_*`).
   * @default process.env
   */
  readonly env?: Env;
  /**
   * Sink types for this call only, besides the built-in ones and those of
   * `registerSinkType`: `defineSink` definitions (or, as in 0.1, factories by name).
   * @default []
   */
  readonly sinkTypes?: SinkTypesOption;
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
  readonly sinkTable: SinkTable;
  readonly providerTypes: ReadonlyMap<string, ProviderTypeDefinition>;
}

export function parseContext(options: ParseOptions = {}): ParseContext {
  return {
    env: options.env ?? process.env,
    sinkTable: sinkTableFor(options.sinkTypes),
    providerTypes: providerTypesFor(options.providerTypes),
  };
}

/**
 * How deep a config may nest: far more than any run config needs, and far
 * less than what would overflow the stack of the code that reads it.
 */
const MAX_CONFIG_DEPTH = 100;

const TOO_DEEP = `nests more than ${MAX_CONFIG_DEPTH} levels deep; a telemetry config needs a few (look for a value that contains itself, or brackets or indentation that run away)`;

/** Where `value` nests deeper than MAX_CONFIG_DEPTH (or contains itself), walked without recursion. */
function tooDeepAt(value: unknown): PropertyKey[] | undefined {
  const stack: [unknown, PropertyKey[]][] = [[value, []]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, path] = next;
    if (path.length > MAX_CONFIG_DEPTH) return path;
    const children: [PropertyKey, unknown][] = Array.isArray(item)
      ? item.map((child, i) => [i, child])
      : isPlainObject(item)
        ? Object.entries(item)
        : [];
    for (const [key, child] of children) stack.push([child, [...path, key]]);
  }
  return undefined;
}

/** The first node of a YAML document deeper than MAX_CONFIG_DEPTH, walked without recursion. */
function tooDeepNode(doc: Document): { range?: readonly number[] | null | undefined } | undefined {
  const stack: [unknown, number][] = [[doc.contents, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (isPair(node)) {
      stack.push([node.key, depth], [node.value, depth]);
      continue;
    }
    if (!isNode(node) || isAlias(node)) continue;
    if (depth > MAX_CONFIG_DEPTH) return node;
    if (isMap(node) || isSeq(node)) for (const item of node.items) stack.push([item, depth + 1]);
  }
  return undefined;
}

/** Validates one provider's `config` block with its type's schema. */
function parseProviderConfig(
  definition: ProviderTypeDefinition,
  raw: unknown,
  prefix: readonly PropertyKey[],
  ctx: ParseContext,
  issues: Issue[],
): unknown {
  const schema =
    typeof definition.schema === 'function'
      ? definition.schema({ sinkNames: ctx.sinkTable.vocabulary, env: ctx.env })
      : definition.schema;
  if (!schema) return raw ?? {};
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  issues.push(...issuesFromZodError(result.error, prefix));
  return undefined;
}

/** The built-in provider type, as registered (it cannot be replaced). */
function metaReference(ctx: ParseContext): ProviderTypeDefinition {
  return ctx.providerTypes.get(META_REFERENCE_DEFAULTS.providerType)!;
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
  let config: unknown;
  if (typeof type === 'string') {
    const definition = ctx.providerTypes.get(type);
    if (definition) {
      config = parseProviderConfig(definition, value.config, [...prefix, 'config'], ctx, issues);
    } else {
      const known = [...ctx.providerTypes.keys()];
      issues.push({
        path: [...prefix, 'provider_type'],
        message: `unknown provider type ${JSON.stringify(type)}${didYouMean(type, known)}; expected one of: ${known.join(', ')}`,
      });
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
  const deep = tooDeepAt(input);
  if (deep) {
    // Only the start of the path: the rest is the same key a hundred times.
    issues.push({ path: deep.slice(0, 4), message: TOO_DEEP });
    return { config: { telemetry: [] }, issues };
  }
  const value = substituteEnv(input, ctx.env, issues);
  const bare = (block: unknown) =>
    parseProviderConfig(metaReference(ctx), block, [], ctx, issues) as
      | MetaReferenceConfig
      | undefined;
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
    return { config: single(bare({})), issues };
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
  return { config: single(bare(value)), issues };
}

/**
 * Validates one `inline::meta-reference` `config` block (an object as in YAML:
 * `{ sinks: 'console,sqlite', sqlite_db_path: '...' }`): substitutes
 * `${env.…}` references and checks every key. What the sinks make of the
 * keys (default paths, endpoints) is checked when they are created.
 * @throws TelemetryValidationError listing every problem with its path.
 */
export function parseTelemetryConfig(
  value: unknown,
  options: ParseOptions = {},
): MetaReferenceConfig {
  const ctx = parseContext(options);
  const issues: Issue[] = [];
  const deep = tooDeepAt(value);
  if (deep)
    throw validationError('telemetry config', [{ path: deep.slice(0, 4), message: TOO_DEEP }]);
  const substituted = substituteEnv(value, ctx.env, issues);
  const config = parseProviderConfig(metaReference(ctx), substituted, [], ctx, issues) as
    | MetaReferenceConfig
    | undefined;
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
  const at = (offset: number | undefined) => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return `line ${line}, column ${col}`;
  };
  if (doc.errors.length > 0) {
    // The parser gives up on a document nested too deep for the stack; say so in words.
    const exhausted = doc.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
    const details = exhausted
      ? `it ${TOO_DEEP} (${at(exhausted.pos[0])})`
      : doc.errors.map((e) => `${e.message} (${at(e.pos[0])})`).join('; ');
    throw new TelemetryConfigError(
      `Cannot parse the telemetry run config ${file} as YAML: ${details}`,
      { cause: doc.errors[0] },
    );
  }
  const deep = tooDeepNode(doc);
  if (deep) {
    throw new TelemetryConfigError(
      `Cannot read the telemetry run config ${file}: it ${TOO_DEEP} (${at(deep.range?.[0])})`,
    );
  }
  let value: unknown;
  try {
    // yaml refuses aliases that expand past maxAliasCount nodes (a "billion laughs" file).
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    throw new TelemetryConfigError(
      /alias count/i.test(message)
        ? `Cannot read the telemetry run config ${file}: its aliases (*name) expand to too many values, as a "billion laughs" file does. Write the values out, or use fewer aliases.`
        : `Cannot read the telemetry run config ${file}: ${message}`,
      { cause: error },
    );
  }
  const { config, issues } = parseRunConfigValue(value, ctx);
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
