import { TelemetryError } from '@telemetry/core/sink';

/** Stable codes of the errors this package throws (besides core's TELEMETRY_INVALID_INPUT and TELEMETRY_CONFIG). */
export const PROVIDER_ERROR_CODES = Object.freeze({
  /** A configured sink's package (or a package it needs) is not installed. */
  sinkNotInstalled: 'TELEMETRY_SINK_NOT_INSTALLED',
  /** A sink's package is installed but failed to load. */
  sinkLoadFailed: 'TELEMETRY_SINK_LOAD_FAILED',
  /** A sink (or a provider) could not be created from its config. */
  sinkStartFailed: 'TELEMETRY_SINK_START_FAILED',
});

/** One package that a configured sink needs and that is missing. */
export interface MissingSinkPackage {
  /** The sink as the config names it (`sqlite`, `otel`, ...). */
  readonly sink: string;
  /** The package to install. */
  readonly packageName: string;
  /** The sink package that needs it, when the missing one is a dependency of that package. */
  readonly requiredBy?: string;
}

/** The install command of the package manager that runs this process (npm when unknown). */
export function installCommand(packages: readonly string[], env = process.env): string {
  const agent = env.npm_config_user_agent ?? '';
  const tool = agent.startsWith('pnpm/')
    ? 'pnpm add'
    : agent.startsWith('yarn/')
      ? 'yarn add'
      : agent.startsWith('bun/')
        ? 'bun add'
        : 'npm install';
  return `${tool} ${packages.join(' ')}`;
}

/**
 * A configured sink's package is not installed. One line: the sinks, the
 * packages, and the command that installs them.
 */
export class SinkNotInstalledError extends TelemetryError {
  readonly missing: readonly MissingSinkPackage[];
  constructor(missing: readonly MissingSinkPackage[], options?: { cause?: unknown }) {
    const sinks = [...new Set(missing.map((m) => m.sink))];
    const packages = [...new Set(missing.map((m) => m.packageName))];
    const described = packages.map((name) => {
      const via = missing.find((m) => m.packageName === name)?.requiredBy;
      return via ? `${name} (required by ${via})` : name;
    });
    const plural = sinks.length > 1;
    const message =
      `Telemetry sink${plural ? 's' : ''} ${sinks.map((s) => JSON.stringify(s)).join(', ')} ` +
      `need${plural ? '' : 's'} the package${packages.length > 1 ? 's' : ''} ${described.join(', ')}, ` +
      `which ${packages.length > 1 ? 'are' : 'is'} not installed: run \`${installCommand(packages)}\`, ` +
      `or remove ${plural ? 'them' : JSON.stringify(sinks[0])} from sinks.`;
    super(PROVIDER_ERROR_CODES.sinkNotInstalled, message, options);
    this.missing = missing;
  }
}

/** A sink's package is installed but importing it failed (a broken install, a native module built for another Node). */
export class SinkLoadError extends TelemetryError {
  readonly sink: string;
  readonly packageName: string;
  constructor(sink: string, packageName: string, cause: unknown) {
    super(
      PROVIDER_ERROR_CODES.sinkLoadFailed,
      `Telemetry sink ${JSON.stringify(sink)}: ${packageName} is installed but failed to load: ${messageOf(cause)}. Reinstall it, or remove ${JSON.stringify(sink)} from sinks.`,
      { cause },
    );
    this.sink = sink;
    this.packageName = packageName;
  }
}

/** Creating a sink (or a provider's sinks) threw; `cause` is the sink's own error. */
export class SinkStartError extends TelemetryError {
  readonly sink: string;
  readonly providerId: string;
  constructor(providerId: string, sink: string, cause: unknown) {
    super(
      PROVIDER_ERROR_CODES.sinkStartFailed,
      `Telemetry provider ${JSON.stringify(providerId)} could not start ${sink}: ${messageOf(cause)}`,
      { cause },
    );
    this.sink = sink;
    this.providerId = providerId;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
