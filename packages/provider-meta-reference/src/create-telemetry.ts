import {
  createTelemetry,
  installShutdownHooks,
  registerReplacing,
  type ShutdownHookOptions,
  type Telemetry,
  TelemetryConfigError,
  type TelemetryOptions,
  type TelemetrySink,
  TelemetryValidationError,
} from '@telemetry/core';
import type { LlamaStackConfig, ValidationIssue } from '@telemetry/core/sink';
import { SinkStartError } from './errors.ts';
import { validationError } from './issues.ts';
import type { ProviderTypeDefinition } from './registry.ts';
import {
  loadRunConfigWith,
  type ParseContext,
  type ParseOptions,
  parseContext,
  parseRunConfigValue,
  type TelemetryProviderConfig,
  type TelemetryRunConfig,
} from './run-config.ts';
import {
  type LoadedSinkType,
  loadSinkTypes,
  type SinkOptions,
  type SinkRequest,
  type SinkTypeEntry,
} from './sink-types.ts';

/**
 * Where the config comes from: a YAML/JSON file (path or file URL), or an
 * object in any shape `parseRunConfig` accepts; nothing means a meta-reference
 * provider with Llama Stack's defaults (console and sqlite).
 */
export type TelemetryConfigSource =
  | string
  | URL
  | TelemetryRunConfig
  | Readonly<Record<string, unknown>>
  | readonly unknown[]
  | object
  | null
  | undefined;

/** Options of `createTelemetryFromConfig`: how to read the config, what to add from code, and core's pipeline options. */
export interface CreateTelemetryFromConfigOptions
  extends ParseOptions,
    Omit<TelemetryOptions, 'sinks'> {
  /**
   * Sink instances of your own, added after the configured ones.
   * @default []
   */
  readonly sinks?: readonly TelemetrySink[];
  /**
   * Options for configured sinks, by sink type (`console`, `sqlite`, `otel`,
   * or a registered type); they win over what the config says, e.g.
   * `{ console: { stream: process.stderr } }`.
   * @default {}
   */
  readonly sinkOptions?: SinkOptions;
  /**
   * Make the result the process-wide pipeline (module-level helpers and
   * `@opentelemetry/api`). If the pipeline it replaces was registered this
   * way too, that one is flushed and shut down, so output is never doubled
   * (core's `registerReplacing`).
   * @default false
   */
  readonly register?: boolean;
  /**
   * Install core's `installShutdownHooks` for the result (`true` for its defaults).
   * @default false
   */
  readonly shutdownHooks?: boolean | ShutdownHookOptions;
}

/** One sink a provider's config names, from the sink table. */
interface PlannedSink {
  readonly entry: SinkTypeEntry;
  readonly request: SinkRequest;
  /** How messages name it: `sink "otel"`. */
  readonly label: string;
}

interface PlannedProvider {
  readonly provider: TelemetryProviderConfig;
  readonly definition: ProviderTypeDefinition;
  readonly sinks: readonly PlannedSink[];
}

/** A configured sink's name: its type, or `<provider_id>/<type>` when the config has several providers. */
function sinkNameFor(providers: readonly unknown[], providerId: string): (type: string) => string {
  return (type) => (providers.length > 1 ? `${providerId}/${type}` : type);
}

/** The word of the config that stands for exactly these sink names of a row (`otel` for both OTLP signals). */
function wordFor(entry: SinkTypeEntry, names: readonly string[]): string {
  const wanted = new Set(names);
  for (const [word, standsFor] of Object.entries(entry.aliases)) {
    if (standsFor.length === wanted.size && standsFor.every((n) => wanted.has(n))) return word;
  }
  return names.join(',');
}

/** Which rows of the sink table each provider's config names, in order, with what creating each needs. */
function plan(
  runConfig: TelemetryRunConfig,
  ctx: ParseContext,
  sinkOptions: SinkOptions,
): { providers: PlannedProvider[]; words: Map<SinkTypeEntry, string> } {
  const providers = runConfig.telemetry;
  const words = new Map<SinkTypeEntry, string>();
  const planned = providers.map((provider): PlannedProvider => {
    const definition = ctx.providerTypes.get(provider.provider_type)!;
    const sinkName = sinkNameFor(providers, provider.provider_id);
    const byEntry = new Map<SinkTypeEntry, string[]>();
    for (const name of definition.sinks?.(provider.config as never) ?? []) {
      const entry = ctx.sinkTable.entryOf(name);
      if (!entry) {
        // Parsing checked the name against this very table: a provider type that lists sinks it did not parse.
        throw new TelemetryConfigError(
          `Telemetry provider ${JSON.stringify(provider.provider_id)} (${provider.provider_type}) names the sink type "${name}", which is not registered.`,
        );
      }
      byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
    }
    const sinks = [...byEntry].map(([entry, names]): PlannedSink => {
      const word = wordFor(entry, names);
      if (!words.has(entry)) words.set(entry, word);
      return {
        entry,
        label: `sink "${entry.type}"`,
        request: {
          name: sinkName(entry.type),
          providerId: provider.provider_id,
          config: provider.config as LlamaStackConfig,
          sinkOptions,
          env: ctx.env,
        },
      };
    });
    return { provider, definition, sinks };
  });
  return { providers: planned, words };
}

/**
 * Builds the whole pipeline from a config: validates it (one error listing
 * every problem), imports only the sink packages it names, validates every
 * configured sink's options (one error listing every sink's problems),
 * creates the sinks of every provider and adds those passed in
 * `options.sinks`, and returns a core `Telemetry` with `logEvent`, the
 * tracing helpers, `flush`, `shutdown`, `stats` and the query API (answered
 * by the `sqlite` sink; without one a query throws TelemetryStoreRequiredError).
 *
 * @throws TelemetryValidationError for an invalid config or invalid sink options;
 *   TelemetryConfigError when a file cannot be read or parsed;
 *   SinkNotInstalledError when a configured sink's package is missing;
 *   SinkLoadError / SinkStartError when a sink cannot load or start.
 */
export async function createTelemetryFromConfig(
  source?: TelemetryConfigSource,
  options: CreateTelemetryFromConfigOptions = {},
): Promise<Telemetry> {
  const {
    sinks: extraSinks = [],
    sinkOptions = {},
    register = false,
    shutdownHooks = false,
    env: _env,
    sinkTypes: _sinkTypes,
    providerTypes: _providerTypes,
    ...telemetryOptions
  } = options;
  const ctx = parseContext(options);

  let runConfig: TelemetryRunConfig;
  if (typeof source === 'string' || source instanceof URL) {
    runConfig = await loadRunConfigWith(source, ctx);
  } else {
    const { config, issues } = parseRunConfigValue(source, ctx);
    if (issues.length > 0) throw validationError('telemetry config', issues);
    runConfig = config;
  }

  const { providers, words } = plan(runConfig, ctx, sinkOptions);
  // Every package any provider needs, before any sink is made: all missing ones are named at once.
  const loaded = await loadSinkTypes(words);
  const typeOf = (sink: PlannedSink) => loaded.get(sink.entry) as LoadedSinkType;

  const problems: ValidationIssue[] = [];
  for (const { sinks } of providers) {
    for (const sink of sinks) {
      for (const issue of typeOf(sink).check(sink.request)) {
        problems.push({ path: `${sink.request.name}.${issue.path}`, message: issue.message });
      }
    }
  }
  if (problems.length > 0) throw new TelemetryValidationError('telemetry sink options', problems);

  const made: TelemetrySink[] = [];
  let telemetry: Telemetry;
  try {
    for (const { provider, definition, sinks } of providers) {
      for (const sink of sinks) {
        let created: TelemetrySink;
        try {
          created = await typeOf(sink).create(sink.request);
        } catch (error) {
          throw new SinkStartError(provider.provider_id, sink.label, error);
        }
        checkSink(created, provider.provider_id, sink.label);
        made.push(created);
      }
      if (!definition.create) continue;
      let own: TelemetrySink | readonly TelemetrySink[];
      try {
        own = await definition.create({
          providerId: provider.provider_id,
          providerType: provider.provider_type,
          config: provider.config,
          sinkName: sinkNameFor(providers, provider.provider_id),
          sinkOptions,
          env: ctx.env,
        });
      } catch (error) {
        throw new SinkStartError(
          provider.provider_id,
          `its sinks (${provider.provider_type})`,
          error,
        );
      }
      for (const sink of Array.isArray(own) ? own : [own]) {
        checkSink(sink, provider.provider_id, `a sink (${provider.provider_type})`);
        made.push(sink);
      }
    }
    for (const sink of extraSinks) checkSink(sink, 'sinks option', 'a sink passed in `sinks`');
    const all = [...made, ...extraSinks];
    const names = new Set<string>();
    for (const sink of all) {
      if (names.has(sink.name)) {
        throw new TelemetryConfigError(
          `Two sinks are named "${sink.name}": sink names must be unique. Configured sinks are named after their type${providers.length > 1 ? ', prefixed with their provider_id' : ''}; give a sink passed in \`sinks\` (or a \`name\` in sinkOptions) another name.`,
        );
      }
      names.add(sink.name);
    }
    telemetry = createTelemetry({ ...telemetryOptions, sinks: all });
  } catch (error) {
    // Only the sinks made here: those passed in `sinks` belong to the caller.
    await shutdownAll(made);
    throw error;
  }
  try {
    // Hooks first: options they refuse leave no pipeline registered.
    if (shutdownHooks) {
      installShutdownHooks(telemetry, shutdownHooks === true ? {} : shutdownHooks);
    }
    if (register) await registerReplacing(telemetry);
  } catch (error) {
    await telemetry.shutdown();
    throw error;
  }
  return telemetry;
}

/** A factory of someone else's must have returned a sink, or the dispatcher would fail later and less clearly. */
function checkSink(
  sink: unknown,
  providerId: string,
  label: string,
): asserts sink is TelemetrySink {
  const s = sink as Partial<TelemetrySink> | null | undefined;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.name !== 'string' ||
    s.name === '' ||
    (typeof s.writeEvents !== 'function' && typeof s.writeSpans !== 'function')
  ) {
    throw new SinkStartError(
      providerId,
      label,
      new Error(
        `its factory returned ${s === null || typeof s !== 'object' ? String(s) : 'an object'} that is not a TelemetrySink (expected a non-empty \`name\` and a writeEvents or writeSpans method)`,
      ),
    );
  }
}

/** Closes sinks that will not be used after all; their errors do not hide the one being reported. */
async function shutdownAll(sinks: readonly TelemetrySink[]): Promise<void> {
  await Promise.allSettled(sinks.map(async (sink) => sink.shutdown?.()));
}
