/**
 * Parsers of option values (commander calls them; a bad value becomes one
 * usage line naming the option), and the names of the options that each
 * store parameter comes from, so a store's validation error reads in flags.
 */
import {
  type AttributeFilter,
  type MetricLabelMatcher,
  parseAttributeFilter,
  TRACE_SEARCH_QUERY,
} from '@telemetry/core';
import { InvalidArgumentError } from 'commander';
import { parseDuration, parseTime } from './time.ts';

export function durationArg(bare?: 'ms') {
  return (text: string): number => {
    try {
      return parseDuration(text, bare ? { bare } : {});
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  };
}

export function timeArg(now: () => number) {
  return (text: string): number => {
    try {
      return parseTime(text, now());
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  };
}

export function wholeNumberArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `Expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}.`,
      );
    }
    return n;
  };
}

export function choiceArg<T extends string>(choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new InvalidArgumentError(`Expected ${choices.join(', ')}.`);
    }
    return text as T;
  };
}

/** Repeatable `--attr key=value`: core's short form (`=`, `!=`, `>`, `<`, JSON values) or a JSON condition. */
export function attrArg(text: string, previous: AttributeFilter[] = []): AttributeFilter[] {
  const parsed = parseAttributeFilter(text);
  if (parsed.error !== undefined) throw new InvalidArgumentError(`${capitalize(parsed.error)}.`);
  return [...previous, parsed.condition];
}

/** Repeatable text (`--save key`, `--attribute key`, `--trace id`). */
export function repeatArg(text: string, previous: string[] = []): string[] {
  return [...previous, text];
}

const MATCHER_OPS = ['!~', '=~', '!=', '='] as const;

/** A Prometheus label matcher: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
export function parseLabelMatcher(text: string): MetricLabelMatcher {
  for (let i = 0; i < text.length; i++) {
    for (const op of MATCHER_OPS) {
      if (!text.startsWith(op, i)) continue;
      const name = text.slice(0, i);
      if (name === '' || !/^[A-Za-z_][\w.]*$/.test(name)) {
        throw new Error(
          `expected a label name before ${op} (letters, digits, _ and .), got ${JSON.stringify(name)}`,
        );
      }
      return { name, operator: op, value: text.slice(i + op.length) };
    }
  }
  throw new Error('expected name=value, name!=value, name=~regex or name!~regex');
}

export function labelArg(text: string, previous: MetricLabelMatcher[] = []): MetricLabelMatcher[] {
  try {
    return [...previous, parseLabelMatcher(text)];
  } catch (error) {
    throw new InvalidArgumentError(`${capitalize((error as Error).message)}.`);
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Store and server parameter names, as the options they come from. */
const FLAG_OF: Readonly<Record<string, string>> = {
  start: '--since',
  end: '--until',
  service: '--service',
  name: '--name',
  status: '--error',
  min_duration_ms: '--min-duration',
  max_duration_ms: '--max-duration',
  attribute_filters: '--attr',
  attr: '--attr',
  limit: '--limit',
  cursor: '--cursor',
  newer_than: '--cursor',
  event_limit: '--limit',
  label_matchers: '--label',
  granularity: '--granularity',
  start_time: '--since',
  end_time: '--until',
  query_type: '--instant',
  older_than: '--older-than',
  keep_spans: '--keep-spans',
  vacuum: '--vacuum',
  max_depth: '--max-depth',
  offset: '--offset',
  attributes_to_return: '--attribute',
  attributes_to_save: '--save',
  trace_id: 'the trace id',
  span_id: 'the span id',
  metric_name: 'the metric name',
};
// Every trace search parameter has an option.
for (const name of Object.keys(TRACE_SEARCH_QUERY)) {
  if (!(name in FLAG_OF)) throw new Error(`no option for the trace search parameter ${name}`);
}

/** `attribute_filters[1].value` -> `--attr #2`; `min_duration_ms` -> `--min-duration`. */
export function flagOfPath(path: string): string {
  const m = /^([A-Za-z_]+)(?:\[(\d+)\])?/.exec(path);
  if (!m) return path;
  const flag = FLAG_OF[m[1]!];
  if (!flag) return path;
  return m[2] === undefined ? flag : `${flag} #${Number(m[2]) + 1}`;
}
