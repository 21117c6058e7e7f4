import {
  type Env,
  type LlamaStackConfig,
  TelemetryConfigError,
  type TelemetrySink,
  TelemetryValidationError,
  type ValidationIssue,
} from '@telemetry/core/sink';
import { type MissingSinkPackage, SinkLoadError, SinkNotInstalledError } from './errors.ts';

/**
 * A sink type, as `defineSink` from `@telemetry/core/sink` makes it: its
 * `type` (the word a config lists in `sinks`), how it reads a Llama Stack
 * config block, its options schema, and `create`. Structural, so that no
 * sink package's types reach this package's public types.
 */
export interface SinkTypeDefinition {
  readonly type: string;
  /** The options a Llama Stack config block (and the environment) ask for, before validation. */
  fromConfig(config: LlamaStackConfig, env?: Env): object;
  /** Validates options and fills in defaults; throws a TelemetryValidationError listing every problem. */
  parseOptions(input?: unknown): { readonly name: string };
  /** Validates options and creates the sink. */
  create(input?: object): TelemetrySink;
}

/** Options for sinks by sink type (`console`, `sqlite`, `otel`, or a registered type), given from code. */
export interface SinkOptions {
  /**
   * Options of `@telemetry/sink-console`, over what the config says (e.g. `stream`, `format`).
   * @default {}
   */
  readonly console?: Readonly<Record<string, unknown>>;
  /**
   * Options of `@telemetry/sink-sqlite`, over what the config says (e.g. `ttlSeconds`, `datasetWriter`).
   * @default {}
   */
  readonly sqlite?: Readonly<Record<string, unknown>>;
  /**
   * Options of `@telemetry/sink-postgres`, over what the config says (e.g. `poolSize`, `maxSpans`).
   * @default {}
   */
  readonly postgres?: Readonly<Record<string, unknown>>;
  /**
   * Options of `@telemetry/sink-otel`, over what the config says (e.g. `headers`).
   * @default {}
   */
  readonly otel?: Readonly<Record<string, unknown>>;
  readonly [sinkType: string]: Readonly<Record<string, unknown>> | undefined;
}

/** What a sink factory of `registerSinkType(name, factory)` is given. */
export interface SinkFactoryContext {
  /** The name to give the sink: its type, or `<provider_id>/<type>` when the config has several providers. */
  readonly name: string;
  /** The sink type as the config names it. */
  readonly type: string;
  /** The `provider_id` of the provider whose config names it. */
  readonly providerId: string;
  /** That provider's whole validated config. */
  readonly config: LlamaStackConfig;
  /** `sinkOptions[type]` given to `createTelemetryFromConfig`, or `{}`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The environment the config was read with. */
  readonly env: Env;
}

/**
 * Creates a sink that a config names in `sinks`.
 * @deprecated Register a `defineSink` definition instead: its options are then validated with the config's.
 */
export type SinkFactory = (context: SinkFactoryContext) => TelemetrySink | Promise<TelemetrySink>;

/** @internal What creating one configured sink needs. */
export interface SinkRequest {
  /** The sink's name: its type, or `<provider_id>/<type>`. */
  readonly name: string;
  readonly providerId: string;
  readonly config: LlamaStackConfig;
  readonly sinkOptions: SinkOptions;
  readonly env: Env;
}

/** @internal A sink type ready to check options and create sinks. */
export interface LoadedSinkType {
  readonly type: string;
  /** Problems with the options a request gives it, as the floor words them (`options.<key>`). */
  check(request: SinkRequest): readonly ValidationIssue[];
  create(request: SinkRequest): TelemetrySink | Promise<TelemetrySink>;
}

/** @internal One row of the sink table. */
export interface SinkTypeEntry {
  readonly type: string;
  /**
   * The words a config may list in `sinks` for this type, each with the
   * sink names it stands for in a validated config.
   */
  readonly aliases: Readonly<Record<string, readonly string[]>>;
  /** The package a built-in type comes from, imported only when a config names it. */
  readonly packageName?: string;
  load(): Promise<LoadedSinkType>;
}

/** The options a request gives a defined sink: what the config asks for, under what code passed. */
function optionsFor(definition: SinkTypeDefinition, request: SinkRequest): object {
  return {
    ...definition.fromConfig(request.config, request.env),
    name: request.name,
    ...request.sinkOptions[definition.type],
  };
}

function fromDefinition(definition: SinkTypeDefinition): LoadedSinkType {
  return {
    type: definition.type,
    check(request) {
      try {
        definition.parseOptions(optionsFor(definition, request));
        return [];
      } catch (error) {
        if (error instanceof TelemetryValidationError) return error.issues;
        throw error;
      }
    },
    create: (request) => definition.create(optionsFor(definition, request)),
  };
}

function fromFactory(type: string, factory: SinkFactory): LoadedSinkType {
  return {
    type,
    check: () => [],
    create: (request) =>
      factory({
        name: request.name,
        type,
        providerId: request.providerId,
        config: request.config,
        options: request.sinkOptions[type] ?? {},
        env: request.env,
      }),
  };
}

function builtin(
  type: string,
  packageName: string,
  load: () => Promise<SinkTypeDefinition>,
  aliases: Readonly<Record<string, readonly string[]>> = { [type]: [type] },
): SinkTypeEntry {
  const loadDefinition = async () => {
    const definition = await load();
    if (!isDefinition(definition)) {
      // A 0.1 sink package: it has a create function but no definition.
      throw new Error(
        `it exports no sink definition for "${type}", so it is older than this provider needs (install ${packageName}@">=0.2.0")`,
      );
    }
    return fromDefinition(definition);
  };
  return { type, aliases, packageName, load: loadDefinition };
}

/**
 * The sink types every config may name, loaded like any registered type
 * once their package is imported. The specifiers are literals so that
 * bundlers see them; the packages are optional peer dependencies, so an
 * application installs only those it uses.
 */
const BUILTIN_SINK_TYPES: readonly SinkTypeEntry[] = [
  builtin(
    'console',
    '@telemetry/sink-console',
    async () => (await import('@telemetry/sink-console')).consoleSink,
  ),
  builtin(
    'sqlite',
    '@telemetry/sink-sqlite',
    async () => (await import('@telemetry/sink-sqlite')).sqliteSink,
  ),
  builtin(
    'postgres',
    '@telemetry/sink-postgres',
    async () => (await import('@telemetry/sink-postgres')).postgresSink,
  ),
  builtin(
    'otel',
    '@telemetry/sink-otel',
    async () => (await import('@telemetry/sink-otel')).otelSink,
    // Llama Stack names OTLP traces and metrics as two sinks; they are one OTLP sink
    // here, which reads which of them `sinks` lists. The seed's `otel` means both.
    {
      otel: ['otel_trace', 'otel_metric'],
      otel_trace: ['otel_trace'],
      otel_metric: ['otel_metric'],
    },
  ),
];

/** The sink names a config accepts without any registration, and what each one stands for. */
export const BUILTIN_SINKS: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.assign({}, ...BUILTIN_SINK_TYPES.map((entry) => entry.aliases)),
);

const registered = new Map<string, SinkTypeEntry>();

const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function isDefinition(value: unknown): value is SinkTypeDefinition {
  const v = value as Partial<SinkTypeDefinition> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.type === 'string' &&
    typeof v.fromConfig === 'function' &&
    typeof v.parseOptions === 'function' &&
    typeof v.create === 'function'
  );
}

/** The table entry of a sink type of your own, checked as registration checks it. */
function customEntry(name: string, value: SinkTypeDefinition | SinkFactory, where: string) {
  if (typeof name !== 'string' || !SINK_NAME.test(name)) {
    throw new TelemetryConfigError(
      `${where} ${JSON.stringify(name)}: use letters, digits, "_", "-" or "." (it must fit in a comma-separated sinks string).`,
    );
  }
  if (Object.hasOwn(BUILTIN_SINKS, name)) {
    throw new TelemetryConfigError(
      `${where} "${name}": it is built in. Choose another name, or pass your sink instance with the \`sinks\` option.`,
    );
  }
  let loaded: LoadedSinkType;
  if (isDefinition(value)) loaded = fromDefinition(value);
  else if (typeof value === 'function') loaded = fromFactory(name, value);
  else {
    throw new TelemetryConfigError(
      `${where} "${name}": expected a sink definition made with defineSink from @telemetry/core/sink.`,
    );
  }
  const entry: SinkTypeEntry = {
    type: name,
    aliases: { [name]: [name] },
    load: async () => loaded,
  };
  return entry;
}

/**
 * Lets configs name a sink type of your own in `sinks`, next to the built-in
 * ones: pass what `defineSink` (from `@telemetry/core/sink`) returns. Its
 * options (what its `fromConfig` reads of the config block, under
 * `sinkOptions[type]`) are validated with every other sink's before any sink
 * is created. Registering a type again replaces it (a reloaded module
 * registers again). Returns a function that removes the registration.
 * @throws TelemetryConfigError for a built-in type or one that a comma-separated `sinks` string could not hold.
 */
export function registerSinkType(definition: SinkTypeDefinition): () => void;
/**
 * The 0.1 form: a factory that is handed the config and `sinkOptions[name]`.
 * @deprecated Register a `defineSink` definition instead: its options are then validated with the config's.
 */
export function registerSinkType(name: string, factory: SinkFactory): () => void;
export function registerSinkType(
  nameOrDefinition: string | SinkTypeDefinition,
  factory?: SinkFactory,
): () => void {
  const entry =
    typeof nameOrDefinition === 'string'
      ? customEntry(nameOrDefinition, factory as SinkFactory, 'Cannot register sink type')
      : customEntry(
          (nameOrDefinition as Partial<SinkTypeDefinition> | null)?.type as string,
          nameOrDefinition,
          'Cannot register sink type',
        );
  registered.set(entry.type, entry);
  return () => {
    if (registered.get(entry.type) === entry) registered.delete(entry.type);
  };
}

/** Sink types for one call, by the `sinkTypes` option: definitions, or (0.1) factories by name. */
export type SinkTypesOption =
  | readonly SinkTypeDefinition[]
  | Readonly<Record<string, SinkTypeDefinition | SinkFactory>>;

/** @internal The sink table of one call: what a config may name, and the table row of each sink name. */
export interface SinkTable {
  /** Each word a config may list in `sinks`, with the sink names it stands for. */
  readonly vocabulary: ReadonlyMap<string, readonly string[]>;
  /** The row of a sink name of a validated config. */
  entryOf(sinkName: string): SinkTypeEntry | undefined;
}

/** @internal The built-in types, those registered process-wide, and those given to one call. */
export function sinkTableFor(local: SinkTypesOption | undefined): SinkTable {
  const entries = [...BUILTIN_SINK_TYPES, ...registered.values()];
  const own = Array.isArray(local)
    ? local.map((definition: SinkTypeDefinition) => [definition?.type, definition] as const)
    : Object.entries(local ?? {});
  for (const [name, value] of own) {
    const entry = customEntry(name as string, value, 'Sink type in the sinkTypes option');
    const at = entries.findIndex((e) => e.type === entry.type);
    if (at >= 0) entries[at] = entry;
    else entries.push(entry);
  }
  const vocabulary = new Map<string, readonly string[]>();
  const byName = new Map<string, SinkTypeEntry>();
  for (const entry of entries) {
    for (const [word, names] of Object.entries(entry.aliases)) {
      vocabulary.set(word, names);
      for (const name of names) byName.set(name, entry);
    }
  }
  return { vocabulary, entryOf: (name) => byName.get(name) };
}

/** The package a "cannot find" error names, when it names one (and not a file). */
function missingSpecifier(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(
    error instanceof Error ? error.message : String(error),
  );
  const specifier = match?.[1];
  if (!specifier || /^(?:\.|\/|file:|[A-Za-z]:[\\/])/.test(specifier)) return undefined;
  // `@scope/name/sub` and `name/sub` belong to `@scope/name` and `name`.
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * @internal Loads the sink types a config names, all at once; `wanted` maps
 * each row to the word the config used for it. Every package that is
 * missing is named in one SinkNotInstalledError.
 */
export async function loadSinkTypes(
  wanted: ReadonlyMap<SinkTypeEntry, string>,
): Promise<Map<SinkTypeEntry, LoadedSinkType>> {
  const loaded = new Map<SinkTypeEntry, LoadedSinkType>();
  const missing: MissingSinkPackage[] = [];
  let firstCause: unknown;
  let failure: SinkLoadError | undefined;
  await Promise.all(
    [...wanted].map(async ([entry, sink]) => {
      try {
        loaded.set(entry, await entry.load());
      } catch (error) {
        const { packageName } = entry;
        if (packageName === undefined) throw error;
        const name = missingSpecifier(error);
        if (name === packageName) {
          missing.push({ sink, packageName });
        } else if (name !== undefined) {
          missing.push({ sink, packageName: name, requiredBy: packageName });
        } else {
          failure ??= new SinkLoadError(sink, packageName, error);
          return;
        }
        firstCause ??= error;
      }
    }),
  );
  if (missing.length > 0) {
    const order = [...wanted.values()];
    missing.sort((a, b) => order.indexOf(a.sink) - order.indexOf(b.sink));
    throw new SinkNotInstalledError(missing, { cause: firstCause });
  }
  if (failure) throw failure;
  return loaded;
}
