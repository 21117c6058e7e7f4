import { type Env, TelemetryConfigError, type TelemetrySink } from '@telemetry/core/sink';
import type { z } from 'zod';
import { createMetaReferenceConfigSchema, type MetaReferenceConfig } from './config-schema.ts';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import type { SinkOptions } from './sink-types.ts';

/** What a registered provider type's factory is given. */
export interface ProviderFactoryContext<Config = unknown> {
  readonly providerId: string;
  readonly providerType: string;
  /** The provider's `config` block: as written (env references substituted), or as its schema parsed it. */
  readonly config: Config;
  /** The name a sink of this provider should have: `type`, or `<provider_id>/<type>` when the config has several providers. */
  sinkName(type: string): string;
  /** `sinkOptions` given to `createTelemetryFromConfig`. */
  readonly sinkOptions: SinkOptions;
  readonly env: Env;
}

/** Creates the sinks of one provider of a registered `provider_type`. */
export type ProviderFactory<Config = unknown> = (
  context: ProviderFactoryContext<Config>,
) => TelemetrySink | readonly TelemetrySink[] | Promise<TelemetrySink | readonly TelemetrySink[]>;

/** What a provider type's `schema` function is given for each parse. */
export interface ProviderSchemaContext {
  /**
   * Every word a config may list in `sinks` (the built-in sink types, those
   * registered, those given to the call), with the sink names it stands for
   * (`otel` stands for `otel_trace` and `otel_metric`).
   */
  readonly sinkNames: ReadonlyMap<string, readonly string[]>;
  /** The environment the config is read with. */
  readonly env: Env;
}

/** A provider type: how to validate its `config` block and which sinks it makes. */
export interface ProviderTypeDefinition<Config = unknown> {
  /**
   * Validates the `config` block; its problems are listed with every other
   * problem of the run config. A function is called for each parse with the
   * sink names known then.
   * @default undefined (the block is passed as written)
   */
  readonly schema?: z.ZodType<Config> | ((context: ProviderSchemaContext) => z.ZodType<Config>);
  /**
   * The sink types (by sink name, as in `ProviderSchemaContext.sinkNames`)
   * this provider's config names. They are made from the sink table like
   * `inline::meta-reference`'s: their packages imported together, their
   * options (what each reads of `config`, under `sinkOptions`) validated with
   * every other sink's, then created in this order.
   * @default undefined (none)
   */
  readonly sinks?: (config: Config) => readonly string[];
  /**
   * Sinks of the provider's own, added after those of `sinks`.
   * @default undefined (none)
   */
  readonly create?: ProviderFactory<Config>;
}

/**
 * Llama Stack's `inline::meta-reference`: an ordinary provider type, whose
 * sinks are the sink types its config block lists.
 */
const metaReference: ProviderTypeDefinition<MetaReferenceConfig> = {
  schema: ({ sinkNames }) => createMetaReferenceConfigSchema({ sinkNames }),
  sinks: (config) => config.sinks,
};

const providerTypes = new Map<string, ProviderTypeDefinition>([
  [META_REFERENCE_DEFAULTS.providerType, metaReference as ProviderTypeDefinition],
]);

/** Types that a registration cannot replace. */
const BUILT_IN = new Set(providerTypes.keys());

/**
 * Lets configs name a `provider_type` of your own (e.g. `remote::my-collector`):
 * its factory returns the provider's sinks. With `options.schema`, the
 * provider's `config` block is validated with the rest of the config.
 * Registering a type again replaces it. Returns a function that removes the registration.
 * @throws TelemetryConfigError for the built-in type or an empty one.
 */
export function registerProviderType<Config = unknown>(
  type: string,
  factory: ProviderFactory<Config>,
  options: {
    /**
     * Validates the provider's `config` block with the rest of the config.
     * @default undefined (the block is passed as written)
     */
    readonly schema?: ProviderTypeDefinition<Config>['schema'];
    /**
     * Sink types from the sink table that the provider's config names (see `ProviderTypeDefinition.sinks`).
     * @default undefined (none)
     */
    readonly sinks?: ProviderTypeDefinition<Config>['sinks'];
  } = {},
): () => void {
  const definition = checkedProviderType(type, { ...options, create: factory }, 'Cannot register');
  providerTypes.set(type, definition);
  return () => {
    if (providerTypes.get(type) === definition) providerTypes.delete(type);
  };
}

function checkedProviderType<Config>(
  type: string,
  definition: ProviderTypeDefinition<Config>,
  where: string,
): ProviderTypeDefinition {
  if (typeof type !== 'string' || type.trim() === '') {
    throw new TelemetryConfigError(
      `${where} provider type ${JSON.stringify(type)}: expected a name such as "remote::my-collector".`,
    );
  }
  if (BUILT_IN.has(type)) {
    throw new TelemetryConfigError(
      `${where} provider type "${type}": it is built in. Register a sink type (registerSinkType) to add sinks to it.`,
    );
  }
  const { create, sinks } = definition;
  if (
    (create !== undefined && typeof create !== 'function') ||
    (sinks !== undefined && typeof sinks !== 'function') ||
    (create === undefined && sinks === undefined)
  ) {
    throw new TelemetryConfigError(
      `${where} provider type "${type}": expected a factory function (context) => sinks.`,
    );
  }
  return definition as unknown as ProviderTypeDefinition;
}

/** @internal Provider types for one call: those given to it over those registered process-wide. */
export function providerTypesFor(
  local: Readonly<Record<string, ProviderFactory | ProviderTypeDefinition>> | undefined,
): ReadonlyMap<string, ProviderTypeDefinition> {
  const merged = new Map(providerTypes);
  for (const [type, value] of Object.entries(local ?? {})) {
    merged.set(
      type,
      checkedProviderType(
        type,
        typeof value === 'function' ? { create: value } : value,
        'The providerTypes option cannot take',
      ),
    );
  }
  return merged;
}
