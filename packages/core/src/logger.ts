import type { Attributes, LogSeverity } from './schemas.ts';
import { copyAttributes, type TelemetrySpan } from './span.ts';

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

const ORDER: Record<LogSeverity, number> = {
  verbose: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  critical: 5,
};

const NAMES: Record<string, LogSeverity> = {
  verbose: 'verbose',
  trace: 'verbose',
  silly: 'verbose',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  log: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  alert: 'critical',
  emerg: 'critical',
  emergency: 'critical',
};

/**
 * Maps any level to a severity. Names: the severities and common aliases
 * (`trace`, `warning`, `fatal`, ...). Numbers: pino's scale (10 trace,
 * 20 debug, 30 info, 40 warn, 50 error, 60 fatal). Anything else is `info`.
 */
export function toSeverity(level: unknown): LogSeverity {
  if (typeof level === 'string') return NAMES[level.toLowerCase()] ?? 'info';
  if (typeof level === 'number' && Number.isFinite(level)) {
    if (level >= 60) return 'critical';
    if (level >= 50) return 'error';
    if (level >= 40) return 'warn';
    if (level >= 30) return 'info';
    if (level >= 20) return 'debug';
    return 'verbose';
  }
  return 'info';
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

export function createLoggerFor(
  currentSpan: () => TelemetrySpan | undefined,
  options: LoggerOptions,
): Logger {
  const min = ORDER[options.minSeverity ?? 'verbose'];
  const name = options.name;
  const emit = (severity: LogSeverity, message: unknown, attributes?: Attributes) => {
    try {
      if (ORDER[severity] < min) return;
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
