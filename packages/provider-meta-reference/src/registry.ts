import { TelemetryConfigError, type TelemetrySink } from '@telemetry/core';
import type { z } from 'zod';
import { BUILTIN_SINKS, type MetaReferenceConfig } from './config-schema.ts';
import { META_REFERENCE_DEFAULTS } from './defaults.ts';
import type { Env } from './env-substitution.ts';

/** Options for sinks by sink type (`console`, `sqlite`, `otel`, or a registered type), given from code. */
export interface SinkOptions {
  /**
   * Passed to `createConsoleSink`, over what the config says (e.g. `stream`, `format`).
   * @default {}
   */
  readonly console?: Readonly<Record<string, unknown>>;
  /**
   * Passed to `createSqliteSink`, over what the config says (e.g. `ttlSeconds`, `datasetWriter`).
   * @default {}
   */
  readonly sqlite?: Readonly<Record<string, unknown>>;
  /**
   * Passed to `createOtelSink`, over what the config says (e.g. `headers`).
   * @default {}
   */
  readonly otel?: Readonly<Record<string, unknown>>;
  readonly [sinkType: string]: Readonly<Record<string, unknown>> | undefined;
}

/** What a registered sink type's factory is given. */
export interface SinkFactoryContext {
  /** The name to give the sink: its type, or `<provider_id>/<type>` when the config has several providers. */
  readonly name: string;
  /** The sink type as the config names it. */
  readonly type: string;
  /** The `provider_id` of the provider whose config names it. */
  readonly providerId: string;
  /** That provider's whole validated config. */
  readonly config: MetaReferenceConfig;
  /** `sinkOptions[type]` given to `createTelemetryFromConfig`, or `{}`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The environment the config was read with. */
  readonly env: Env;
}

/** Creates a sink that a meta-reference config names in `sinks`. */
export type SinkFactory = (context: SinkFactoryContext) => TelemetrySink | Promise<TelemetrySink>;

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

/** A provider type: how to validate its `config` block and how to create its sinks. */
export interface ProviderTypeDefinition<Config = unknown> {
  readonly create: ProviderFactory<Config>;
  /**
   * Validates the `config` block; its problems are listed with every other problem of the run config.
   * @default undefined (the block is passed as written)
   */
  readonly schema?: z.ZodType<Config>;
}

const sinkTypes = new Map<string, SinkFactory>();
const providerTypes = new Map<string, ProviderTypeDefinition>();

const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Lets configs name a sink of your own in `sinks`. Registering a name again
 * replaces its factory (a reloaded module registers again). Returns a function
 * that removes the registration.
 * @throws TelemetryConfigError for a built-in name or one that a comma-separated `sinks` string could not hold.
 */
export function registerSinkType(name: string, factory: SinkFactory): () => void {
  if (typeof name !== 'string' || !SINK_NAME.test(name)) {
    throw new TelemetryConfigError(
      `Cannot register sink type ${JSON.stringify(name)}: use letters, digits, "_", "-" or "." (it must fit in a comma-separated sinks string).`,
    );
  }
  if (Object.hasOwn(BUILTIN_SINKS, name)) {
    throw new TelemetryConfigError(
      `Cannot register sink type "${name}": it is built in. Choose another name, or pass your sink instance with the \`sinks\` option.`,
    );
  }
  if (typeof factory !== 'function') {
    throw new TelemetryConfigError(
      `Cannot register sink type "${name}": expected a factory function (context) => TelemetrySink.`,
    );
  }
  sinkTypes.set(name, factory);
  return () => {
    if (sinkTypes.get(name) === factory) sinkTypes.delete(name);
  };
}

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
    readonly schema?: z.ZodType<Config>;
  } = {},
): () => void {
  if (typeof type !== 'string' || type.trim() === '') {
    throw new TelemetryConfigError(
      `Cannot register provider type ${JSON.stringify(type)}: expected a name such as "remote::my-collector".`,
    );
  }
  if (type === META_REFERENCE_DEFAULTS.providerType) {
    throw new TelemetryConfigError(
      `Cannot register provider type "${type}": it is built in. Register a sink type (registerSinkType) to add sinks to it.`,
    );
  }
  if (typeof factory !== 'function') {
    throw new TelemetryConfigError(
      `Cannot register provider type "${type}": expected a factory function (context) => sinks.`,
    );
  }
  const definition: ProviderTypeDefinition = {
    create: factory as ProviderFactory,
    ...(options.schema ? { schema: options.schema as z.ZodType } : {}),
  };
  providerTypes.set(type, definition);
  return () => {
    if (providerTypes.get(type) === definition) providerTypes.delete(type);
  };
}

/** Sink types for one call: those given to it over those registered process-wide. */
export function sinkTypesFor(
  local: Readonly<Record<string, SinkFactory>> | undefined,
): ReadonlyMap<string, SinkFactory> {
  const merged = new Map(sinkTypes);
  for (const [name, factory] of Object.entries(local ?? {})) {
    if (Object.hasOwn(BUILTIN_SINKS, name)) {
      throw new TelemetryConfigError(
        `Sink type "${name}" in the sinkTypes option is built in. Choose another name, or pass your sink instance with the \`sinks\` option.`,
      );
    }
    merged.set(name, factory);
  }
  return merged;
}

/** Provider types for one call: those given to it over those registered process-wide. */
export function providerTypesFor(
  local: Readonly<Record<string, ProviderFactory | ProviderTypeDefinition>> | undefined,
): ReadonlyMap<string, ProviderTypeDefinition> {
  const merged = new Map(providerTypes);
  for (const [type, value] of Object.entries(local ?? {})) {
    if (type === META_REFERENCE_DEFAULTS.providerType) {
      throw new TelemetryConfigError(
        `Provider type "${type}" in the providerTypes option is built in; it cannot be replaced.`,
      );
    }
    merged.set(type, typeof value === 'function' ? { create: value } : value);
  }
  return merged;
}

/** Names of the sink types registered process-wide. */
export function registeredSinkTypeNames(): string[] {
  return [...sinkTypes.keys()];
}
