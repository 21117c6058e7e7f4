export type {
  BuiltinSinkName,
  MetaReferenceConfig,
  MetaReferenceConfigSchema,
  MetaReferenceSchemaOptions,
} from './config-schema.ts';
export {
  BUILTIN_SINKS,
  createMetaReferenceConfigSchema,
  META_REFERENCE_CONFIG_KEYS,
} from './config-schema.ts';
export type {
  CreateTelemetryFromConfigOptions,
  TelemetryConfigSource,
} from './create-telemetry.ts';
export { createTelemetryFromConfig } from './create-telemetry.ts';
export { defaultSqliteDbPath, META_REFERENCE_DEFAULTS } from './defaults.ts';
export type { Env } from './env-substitution.ts';
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
  ProviderTypeDefinition,
  SinkFactory,
  SinkFactoryContext,
  SinkOptions,
} from './registry.ts';
export { registerProviderType, registerSinkType } from './registry.ts';
export type { ParseOptions, TelemetryProviderConfig, TelemetryRunConfig } from './run-config.ts';
export { loadRunConfig, parseRunConfig, parseTelemetryConfig } from './run-config.ts';
export type { ShutdownHookOptions, ShutdownTarget } from './shutdown-hooks.ts';
export { installShutdownHooks } from './shutdown-hooks.ts';
