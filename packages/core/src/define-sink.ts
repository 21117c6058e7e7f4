import { z } from 'zod';
import type { Env } from './env.ts';
import { issuesFromZod, TelemetryConfigError, TelemetryValidationError } from './errors.ts';
import type { SinkContext, TelemetrySink } from './sink.ts';

/**
 * The `config` block of a Llama Stack telemetry provider (`inline::meta-reference`),
 * as the provider validated it (environment references substituted). Each sink
 * reads the keys it understands in its `fromConfig`.
 */
export interface LlamaStackConfig {
  /** The sinks the config names (`console`, `sqlite`, `otel_trace`, ...). */
  readonly sinks?: readonly string[];
  /** The SQLite trace store. */
  readonly sqlite_db_path?: string;
  /** The PostgreSQL trace store's connection string. */
  readonly postgres_url?: string;
  /** `service.name` of what this process exports. */
  readonly service_name?: string;
  /** Base OTLP/HTTP URL (`/v1/traces`, `/v1/metrics` appended). */
  readonly otel_exporter_otlp_endpoint?: string;
  /** Full OTLP/HTTP traces URL. */
  readonly otel_endpoint?: string;
  /** Full traces URL (Llama Stack 0.1.x). */
  readonly otel_trace_endpoint?: string;
  /** Full metrics URL (Llama Stack 0.1.x). */
  readonly otel_metric_endpoint?: string;
  readonly [key: string]: unknown;
}

/** What a sink's `create` returns: a sink, whose `name` core sets from the options. */
export type SinkImplementation = Omit<TelemetrySink, 'name'> & { readonly name?: string };

/** Every sink's options have a `name`: in `stats()`, in messages, unique in a pipeline. */
export const SinkNameSchema = z
  .string({ error: 'expected a non-empty string' })
  .min(1, { error: 'expected a non-empty string' });

type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;

/** The options a sink's `create` receives: its schema's output, with `name`. */
export type SinkOptionsOf<S extends AnyObjectSchema> = z.output<S> & { readonly name: string };

/** The options a caller passes: its schema's input, `name` optional. */
export type SinkInputOf<S extends AnyObjectSchema> = z.input<S> & {
  readonly name?: string | undefined;
};

/** What `defineSink` takes. */
export interface SinkDefinitionInput<S extends AnyObjectSchema, Impl extends SinkImplementation> {
  /**
   * The sink type: the word a Llama Stack config lists in `sinks`, and the
   * sink's default `name`. Letters, digits, `_`, `-` and `.`.
   */
  readonly type: string;
  /**
   * The options, as a zod object (`z.strictObject` rejects unknown keys,
   * which catches typos). Its defaults are the only place the sink's
   * defaults live. Core adds `name` (default: `type`) unless the schema has one.
   */
  readonly options: S;
  /**
   * Options from a Llama Stack config block and the environment (values the
   * caller passes win over these). Leave it out when the sink reads nothing
   * from the config.
   */
  readonly fromConfig?: (config: LlamaStackConfig, env: Env) => Partial<z.input<S>>;
  /**
   * Builds the sink from validated options. `context` is usable at once and
   * for the sink's whole life: report drops and background errors through it.
   * Throwing here fails the caller's `create()` (a sink that cannot start).
   */
  readonly create: (options: SinkOptionsOf<S>, context: SinkContext) => Impl;
}

/** A sink type: its options schema, how it reads a Llama Stack config, and how to create it. */
export interface SinkDefinition<S extends AnyObjectSchema, Impl extends SinkImplementation> {
  readonly type: string;
  /** The options schema, `name` included. */
  readonly options: z.ZodType<SinkOptionsOf<S>, SinkInputOf<S>>;
  /**
   * Validates options and fills in defaults.
   * @throws TelemetryValidationError (`TELEMETRY_INVALID_INPUT`) listing every problem, with paths `options.<key>`.
   */
  parseOptions(input?: unknown): SinkOptionsOf<S>;
  /** The options a Llama Stack config block asks for (before validation; `{}` when the sink reads none). */
  fromConfig(config: LlamaStackConfig, env?: Env): Partial<SinkInputOf<S>>;
  /**
   * Validates `input` and creates the sink, with its context attached (until
   * the sink joins a pipeline, its reports become process warnings).
   * @throws TelemetryValidationError for invalid options.
   */
  create(input?: SinkInputOf<S>): Impl & TelemetrySink;
}

const SINK_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Defines a sink type. The one way sinks of this toolkit are built: one
 * options schema (every default in it, every problem reported at once in the
 * same error format for every sink), one reading of the Llama Stack config,
 * and a `create` that gets a SinkContext it can use from the first line.
 */
export function defineSink<S extends AnyObjectSchema, Impl extends SinkImplementation>(
  definition: SinkDefinitionInput<S, Impl>,
): SinkDefinition<S, Impl> {
  const { type } = definition;
  if (typeof type !== 'string' || !SINK_TYPE.test(type)) {
    throw new TelemetryConfigError(
      `defineSink: the type ${JSON.stringify(type)} must be letters, digits, "_", "-" or "." (it is the word a config lists in \`sinks\`).`,
    );
  }
  if (
    !(definition.options instanceof z.ZodObject) &&
    typeof (definition.options as { extend?: unknown })?.extend !== 'function'
  ) {
    throw new TelemetryConfigError(
      `defineSink "${type}": \`options\` must be a zod object schema (z.object or z.strictObject).`,
    );
  }
  if (typeof definition.create !== 'function') {
    throw new TelemetryConfigError(
      `defineSink "${type}": \`create\` must be a function (options, context) => sink.`,
    );
  }
  const schema = ('name' in definition.options.shape
    ? definition.options
    : definition.options.extend({ name: SinkNameSchema.default(type) })) as unknown as z.ZodType<
    SinkOptionsOf<S>,
    SinkInputOf<S>
  >;
  const what = `${type} sink options`;

  const known = Object.keys((schema as unknown as AnyObjectSchema).shape);
  const parseOptions = (input: unknown = {}): SinkOptionsOf<S> => {
    const parsed = schema.safeParse(input);
    if (parsed.success) return parsed.data;
    const issues = issuesFromZod(parsed.error, ['options']).map((issue, i) => {
      const raw = parsed.error.issues[i]!;
      if (raw.code !== 'unrecognized_keys') return issue;
      // A strict schema found keys it does not know: say which ones it does.
      const keys = raw.keys.map((k) => JSON.stringify(k)).join(', ');
      return {
        path: issue.path,
        message: `unknown option${raw.keys.length === 1 ? '' : 's'} ${keys}: expected ${known.join(', ')}`,
      };
    });
    throw new TelemetryValidationError(what, issues);
  };

  return {
    type,
    options: schema,
    parseOptions,
    fromConfig(config, env = process.env) {
      return (definition.fromConfig?.(config, env) ?? {}) as Partial<SinkInputOf<S>>;
    },
    create(input) {
      const options = parseOptions(input);
      const late = new LateContext(options.name);
      const sink = definition.create(options, late.context) as Impl & TelemetrySink;
      if (
        typeof sink !== 'object' ||
        sink === null ||
        (typeof sink.writeEvents !== 'function' && typeof sink.writeSpans !== 'function')
      ) {
        throw new TelemetryConfigError(
          `defineSink "${type}": create() must return an object with writeEvents or writeSpans.`,
        );
      }
      if (sink.name === undefined) {
        Object.defineProperty(sink, 'name', { value: options.name, enumerable: true });
      } else if (sink.name !== options.name) {
        throw new TelemetryConfigError(
          `defineSink "${type}": create() returned a sink named "${sink.name}" for options.name "${options.name}"; leave \`name\` out and core sets it.`,
        );
      }
      const own = sink.attach;
      Object.defineProperty(sink, 'attach', {
        value(context: SinkContext) {
          late.bind(context);
          own?.call(sink, context);
        },
        configurable: true,
        writable: true,
      });
      return sink;
    },
  };
}

/**
 * The context a defined sink holds from its creation: it forwards to the
 * pipeline the sink joins. Before that (or for a sink used on its own),
 * errors become process warnings (at most one per code a minute) and drops
 * have nothing to be counted against.
 */
class LateContext {
  private target: SinkContext | undefined;
  private readonly controller = new AbortController();
  private readonly warnedAt = new Map<string, number>();
  readonly context: SinkContext;

  constructor(name: string) {
    const late = this;
    this.context = {
      name,
      signal: this.controller.signal,
      recordDropped(count, reason) {
        late.target?.recordDropped(count, reason);
      },
      reportError(error) {
        try {
          if (late.target) late.target.reportError(error);
          else late.warn(error);
        } catch {
          // Reporting must never throw into the sink's path.
        }
      },
    };
  }

  bind(target: SinkContext): void {
    if (this.target === target) return;
    this.target = target;
    const abort = () => this.controller.abort(target.signal.reason);
    if (target.signal.aborted) abort();
    else target.signal.addEventListener('abort', abort, { once: true });
  }

  private warn(error: unknown): void {
    const code =
      typeof (error as { code?: unknown } | null)?.code === 'string'
        ? (error as { code: string }).code
        : 'error';
    const now = Date.now();
    if (now - (this.warnedAt.get(code) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    this.warnedAt.set(code, now);
    process.emitWarning(error instanceof Error ? error : String(error));
  }
}
