import type { TelemetrySink } from '@telemetry/core';
import type { Env } from './env-substitution.ts';
import { type MissingSinkPackage, SinkLoadError, SinkNotInstalledError } from './errors.ts';

/** What this package uses of each sink package; structural, so no sink's types reach this package's public types. */
export interface ConsoleSinkModule {
  createConsoleSink(options?: Record<string, unknown>): TelemetrySink;
}
export interface SqliteSinkModule {
  createSqliteSink(options?: Record<string, unknown>): TelemetrySink;
}
export interface OtelSinkModule {
  createOtelSink(options?: Record<string, unknown>): TelemetrySink;
  resolveOtlpEndpoints(
    options: Record<string, unknown>,
    env: Env,
  ): { readonly tracesUrl?: string | undefined; readonly metricsUrl?: string | undefined };
}

export interface SinkPackages {
  console?: ConsoleSinkModule;
  sqlite?: SqliteSinkModule;
  otel?: OtelSinkModule;
}

export type SinkPackageKey = keyof SinkPackages;

/**
 * The built-in sinks' packages, imported only when a config names them. The
 * specifiers are literals so that bundlers see them; they are optional peer
 * dependencies, so an application installs only those it uses.
 */
export const SINK_PACKAGES = {
  console: {
    packageName: '@telemetry/sink-console',
    load: async (): Promise<ConsoleSinkModule> => await import('@telemetry/sink-console'),
  },
  sqlite: {
    packageName: '@telemetry/sink-sqlite',
    load: async (): Promise<SqliteSinkModule> =>
      (await import('@telemetry/sink-sqlite')) as unknown as SqliteSinkModule,
  },
  otel: {
    packageName: '@telemetry/sink-otel',
    load: async (): Promise<OtelSinkModule> =>
      (await import('@telemetry/sink-otel')) as unknown as OtelSinkModule,
  },
} as const;

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
 * Imports the packages of the sinks a config names, all at once; `wanted`
 * maps each package to the sink name the config used. Every package that is
 * missing is named in one SinkNotInstalledError.
 */
export async function loadSinkPackages(
  wanted: ReadonlyMap<SinkPackageKey, string>,
): Promise<SinkPackages> {
  const loaded: SinkPackages = {};
  const missing: MissingSinkPackage[] = [];
  let firstCause: unknown;
  let failure: SinkLoadError | undefined;
  await Promise.all(
    [...wanted].map(async ([key, sink]) => {
      const { packageName, load } = SINK_PACKAGES[key];
      try {
        (loaded as Record<string, unknown>)[key] = await load();
      } catch (error) {
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
