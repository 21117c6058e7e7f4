import type { TelemetrySink } from '@telemetry/core';
import type { MetaReferenceConfig } from './config-schema.ts';
import type { Env } from './env-substitution.ts';
import { SinkStartError } from './errors.ts';
import type { SinkFactory, SinkOptions } from './registry.ts';
import type { SinkPackageKey, SinkPackages } from './sink-loader.ts';

/** @internal What creating one meta-reference provider's sinks needs. */
export interface MetaReferenceCreateContext {
  readonly providerId: string;
  readonly config: MetaReferenceConfig;
  readonly sinkName: (type: string) => string;
  readonly sinkOptions: SinkOptions;
  readonly env: Env;
  /** True when the caller passed its own `env`: the otel sink then gets endpoints resolved from it. */
  readonly envGiven: boolean;
  readonly sinkTypes: ReadonlyMap<string, SinkFactory>;
  readonly packages: SinkPackages;
}

/** The built-in packages a config needs, each with the sink name to mention if it is missing. */
export function packagesNeeded(config: MetaReferenceConfig): Map<SinkPackageKey, string> {
  const wanted = new Map<SinkPackageKey, string>();
  if (config.sinks.includes('console')) wanted.set('console', 'console');
  if (config.sinks.includes('sqlite')) wanted.set('sqlite', 'sqlite');
  const traces = config.sinks.includes('otel_trace');
  const metrics = config.sinks.includes('otel_metric');
  if (traces || metrics) {
    wanted.set('otel', traces && metrics ? 'otel' : traces ? 'otel_trace' : 'otel_metric');
  }
  return wanted;
}

/** Drops undefined values, so a sink's own defaults apply to what the config leaves out. */
function defined(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}

function otelOptions(ctx: MetaReferenceCreateContext): Record<string, unknown> {
  const { config } = ctx;
  const options = defined({
    name: ctx.sinkName('otel'),
    traces: config.sinks.includes('otel_trace'),
    metrics: config.sinks.includes('otel_metric'),
    endpoint: config.otel_endpoint,
    baseEndpoint: config.otel_exporter_otlp_endpoint,
    tracesEndpoint: config.otel_trace_endpoint,
    metricsEndpoint: config.otel_metric_endpoint,
    serviceName: config.service_name,
    ...ctx.sinkOptions.otel,
  });
  if (ctx.envGiven && ctx.packages.otel) {
    // The sink reads OTEL_EXPORTER_OTLP_* from process.env; resolve with the env the caller gave.
    const resolved = ctx.packages.otel.resolveOtlpEndpoints(options, ctx.env);
    if (resolved.tracesUrl !== undefined) options.tracesEndpoint = resolved.tracesUrl;
    if (resolved.metricsUrl !== undefined) options.metricsEndpoint = resolved.metricsUrl;
  }
  return options;
}

/**
 * Creates the sinks of one `inline::meta-reference` provider, in the order its
 * `sinks` names them (`otel_trace` and `otel_metric` share one OTLP sink).
 * If one cannot start, those already created are shut down.
 */
export async function createMetaReferenceSinks(
  ctx: MetaReferenceCreateContext,
): Promise<TelemetrySink[]> {
  const { config, packages } = ctx;
  const created: TelemetrySink[] = [];
  let otelDone = false;
  try {
    for (const type of config.sinks) {
      const start = async (label: string, make: () => TelemetrySink | Promise<TelemetrySink>) => {
        let sink: TelemetrySink;
        try {
          sink = await make();
        } catch (error) {
          throw new SinkStartError(ctx.providerId, label, error);
        }
        checkSink(sink, ctx.providerId, label);
        created.push(sink);
      };
      if (type === 'console') {
        const mod = packages.console!;
        await start('sink "console"', () =>
          mod.createConsoleSink(
            defined({ name: ctx.sinkName('console'), ...ctx.sinkOptions.console }),
          ),
        );
      } else if (type === 'sqlite') {
        const mod = packages.sqlite!;
        await start('sink "sqlite"', () =>
          mod.createSqliteSink(
            defined({
              name: ctx.sinkName('sqlite'),
              path: config.sqlite_db_path,
              serviceName: config.service_name,
              ...ctx.sinkOptions.sqlite,
            }),
          ),
        );
      } else if (type === 'otel_trace' || type === 'otel_metric') {
        if (otelDone) continue;
        otelDone = true;
        const mod = packages.otel!;
        await start('sink "otel"', () => mod.createOtelSink(otelOptions(ctx)));
      } else {
        const factory = ctx.sinkTypes.get(type);
        if (!factory) {
          // parse checked the name against the same registry; it was unregistered since.
          throw new SinkStartError(
            ctx.providerId,
            `sink "${type}"`,
            new Error(`sink type "${type}" is no longer registered`),
          );
        }
        await start(`sink "${type}"`, () =>
          factory({
            name: ctx.sinkName(type),
            type,
            providerId: ctx.providerId,
            config,
            options: ctx.sinkOptions[type] ?? {},
            env: ctx.env,
          }),
        );
      }
    }
  } catch (error) {
    await shutdownAll(created);
    throw error;
  }
  return created;
}

/** A factory of someone else's must have returned a sink, or the dispatcher would fail later and less clearly. */
export function checkSink(
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
export async function shutdownAll(sinks: readonly TelemetrySink[]): Promise<void> {
  await Promise.allSettled(sinks.map(async (sink) => sink.shutdown?.()));
}
