import { copyAttributes } from './attributes.ts';
import type { Attributes, LogSeverity } from './schemas.ts';
import { SEVERITY_RANK, toSeverity } from './severity.ts';
import type { TelemetrySpan } from './span.ts';

export interface LoggerOptions {
  /** Recorded as the `logger.name` attribute of every log. */
  readonly name?: string;
  /** Logs below this severity are ignored. @default 'verbose' */
  readonly minSeverity?: LogSeverity;
}

/** A logger whose calls become UnstructuredLogEvents of the current span. Never throws. */
export interface Logger {
  verbose(message: unknown, attributes?: Attributes): void;
  debug(message: unknown, attributes?: Attributes): void;
  info(message: unknown, attributes?: Attributes): void;
  warn(message: unknown, attributes?: Attributes): void;
  error(message: unknown, attributes?: Attributes): void;
  critical(message: unknown, attributes?: Attributes): void;
  /** Logs at any level: a severity, a common level name (`trace`, `warning`, `fatal`...), or a number (pino's 10-60, or Python's 10-50). */
  log(level: unknown, message: unknown, attributes?: Attributes): void;
}

function toMessage(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return typeof message === 'object' ? JSON.stringify(message) : String(message);
  } catch {
    return String(message);
  }
}

/** A logger writing to whatever span `currentSpan()` returns at each call. */
export function createLoggerFor(
  currentSpan: () => TelemetrySpan | undefined,
  options: LoggerOptions | string,
): Logger {
  const o = typeof options === 'string' ? { name: options } : options;
  const min = SEVERITY_RANK[o.minSeverity ?? 'verbose'];
  const name = o.name;
  const emit = (severity: LogSeverity, message: unknown, attributes?: Attributes) => {
    try {
      if (SEVERITY_RANK[severity] < min) return;
      const span = currentSpan();
      if (!span) return;
      const attrs = attributes ? copyAttributes(attributes) : undefined;
      if (name) {
        span.log(toMessage(message), severity, { ...attrs, 'logger.name': name });
      } else {
        span.log(toMessage(message), severity, attrs);
      }
    } catch {
      // A logging call must never break the caller.
    }
  };
  return {
    verbose: (m, a) => emit('verbose', m, a),
    debug: (m, a) => emit('debug', m, a),
    info: (m, a) => emit('info', m, a),
    warn: (m, a) => emit('warn', m, a),
    error: (m, a) => emit('error', m, a),
    critical: (m, a) => emit('critical', m, a),
    log: (level, m, a) => emit(toSeverity(level), m, a),
  };
}
