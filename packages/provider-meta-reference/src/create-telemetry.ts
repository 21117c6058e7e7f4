import {
  createTelemetry,
  type Telemetry,
  TelemetryConfigError,
  type TelemetryOptions,
  type TelemetrySink,
} from '@telemetry/core';
import type { MetaReferenceConfig } from './config-schema.ts';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import { SinkStartError } from './errors.ts';
import { validationError } from './issues.ts';
import {
  checkSink,
  createMetaReferenceSinks,
  packagesNeeded,
  shutdownAll,
} from './meta-reference.ts';
import { registerReplacing } from './register.ts';
import type { SinkOptions } from './registry.ts';
import {
  loadRunConfigWith,
  type ParseOptions,
  parseContext,
  parseRunConfigValue,
  type TelemetryRunConfig,
} from './run-config.ts';
import { installShutdownHooks, type ShutdownHookOptions } from './shutdown-hooks.ts';
import { loadSinkPackages, type SinkPackageKey } from './sink-loader.ts';

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
   * way too, that one is flushed and shut down, so output is never doubled.
   * @default false
   */
  readonly register?: boolean;
  /**
   * Install `installShutdownHooks` for the result (`true` for its defaults).
   * @default false
   */
  readonly shutdownHooks?: boolean | ShutdownHookOptions;
}

/**
 * Builds the whole pipeline from a config: validates it (one error listing
 * every problem), imports only the sink packages it names, creates the sinks
 * of every provider and the ones passed in `options.sinks`, and returns a core
 * `Telemetry` with `logEvent`, the tracing helpers, `flush`, `shutdown`,
 * `stats` and the query API (answered by the `sqlite` sink; without one a
 * query throws TelemetryStoreRequiredError).
 *
 * @throws TelemetryValidationError for an invalid config;
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
    env,
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

  const providers = runConfig.telemetry;
  const several = providers.length > 1;
  const sinkNameFor = (providerId: string) => (type: string) =>
    several ? `${providerId}/${type}` : type;

  // Import every package any provider needs before creating a sink, so that all missing ones are named at once.
  const wanted = new Map<SinkPackageKey, string>();
  for (const provider of providers) {
    if (provider.provider_type !== META_REFERENCE_DEFAULTS.providerType) continue;
    for (const [key, sink] of packagesNeeded(provider.config as MetaReferenceConfig)) {
      if (!wanted.has(key)) wanted.set(key, sink);
    }
  }
  const packages = await loadSinkPackages(wanted);

  const sinks: TelemetrySink[] = [];
  try {
    for (const provider of providers) {
      const sinkName = sinkNameFor(provider.provider_id);
      if (provider.provider_type === META_REFERENCE_DEFAULTS.providerType) {
        sinks.push(
          ...(await createMetaReferenceSinks({
            providerId: provider.provider_id,
            config: provider.config as MetaReferenceConfig,
            sinkName,
            sinkOptions,
            env: ctx.env,
            envGiven: env !== undefined && env !== process.env,
            sinkTypes: ctx.sinkTypes,
            packages,
          })),
        );
        continue;
      }
      const definition = ctx.providerTypes.get(provider.provider_type)!;
      let made: TelemetrySink | readonly TelemetrySink[];
      try {
        made = await definition.create({
          providerId: provider.provider_id,
          providerType: provider.provider_type,
          config: provider.config,
          sinkName,
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
      for (const sink of Array.isArray(made) ? made : [made]) {
        checkSink(sink, provider.provider_id, `a sink (${provider.provider_type})`);
        sinks.push(sink);
      }
    }
    for (const sink of extraSinks) checkSink(sink, 'sinks option', 'a sink passed in `sinks`');
    const all = [...sinks, ...extraSinks];
    const names = new Set<string>();
    for (const sink of all) {
      if (names.has(sink.name)) {
        throw new TelemetryConfigError(
          `Two sinks are named "${sink.name}": sink names must be unique. Configured sinks are named after their type${several ? ', prefixed with their provider_id' : ''}; give a sink passed in \`sinks\` (or a \`name\` in sinkOptions) another name.`,
        );
      }
      names.add(sink.name);
    }
    const telemetry = createTelemetry({ ...telemetryOptions, sinks: all });
    if (register) await registerReplacing(telemetry);
    if (shutdownHooks) {
      installShutdownHooks(telemetry, shutdownHooks === true ? {} : shutdownHooks);
    }
    return telemetry;
  } catch (error) {
    // Only the sinks made here: those passed in `sinks` belong to the caller.
    await shutdownAll(sinks);
    throw error;
  }
}
