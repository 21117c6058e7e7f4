import type { LogSeverity } from './schemas.ts';

/** Rank of each severity, lowest first: for "at least" filters. */
export const SEVERITY_RANK: Readonly<Record<LogSeverity, number>> = Object.freeze({
  verbose: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  critical: 5,
});

/** True when `severity` is `min` or more severe. */
export function severityAtLeast(severity: LogSeverity, min: LogSeverity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}

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
  if (typeof level === 'string') {
    const name = level.toLowerCase();
    return Object.hasOwn(NAMES, name) ? NAMES[name]! : 'info';
  }
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
