// Core's, re-exported here because a config-driven application reaches for them beside createTelemetryFromConfig.
export type { ShutdownHookOptions, ShutdownTarget } from '@telemetry/core';
export { installShutdownHooks, registerReplacing } from '@telemetry/core';
export type { Env } from '@telemetry/core/sink';
export type {
  MetaReferenceConfig,
  MetaReferenceConfigSchema,
  MetaReferenceSchemaOptions,
} from './config-schema.ts';
export { createMetaReferenceConfigSchema, META_REFERENCE_CONFIG_KEYS } from './config-schema.ts';
export type {
  CreateTelemetryFromConfigOptions,
  TelemetryConfigSource,
} from './create-telemetry.ts';
export { createTelemetryFromConfig } from './create-telemetry.ts';
export { META_REFERENCE_DEFAULTS } from './defaults.ts';
export type { MissingSinkPackage } from './errors.ts';
export {
  PROVIDER_ERROR_CODES,
  SinkLoadError,
  SinkNotInstalledError,
  SinkStartError,
} from './errors.ts';
export type {
  ProviderFactory,
  ProviderFactoryContext,
  ProviderSchemaContext,
  ProviderTypeDefinition,
} from './registry.ts';
export { registerProviderType } from './registry.ts';
export type { ParseOptions, TelemetryProviderConfig, TelemetryRunConfig } from './run-config.ts';
export { loadRunConfig, parseRunConfig, parseTelemetryConfig } from './run-config.ts';
export type {
  SinkFactory,
  SinkFactoryContext,
  SinkOptions,
  SinkTypeDefinition,
  SinkTypesOption,
} from './sink-types.ts';
export { BUILTIN_SINKS, registerSinkType } from './sink-types.ts';
