import type { Env } from '@telemetry/core/sink';
import type { Issue } from './issues.ts';

/**
 * `${env.NAME}`, `${env.NAME:=default}`, `${env.NAME:+value_if_set}` (Llama Stack's
 * run-config syntax) and the older `${env.NAME:default}`.
 */
const REFERENCE = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::([=+]?)([^}]*))?\}/g;

/**
 * Replaces environment references in every string of `value` (keys are left
 * alone), as Llama Stack's `replace_env_vars` does for a whole run config:
 * - `${env.NAME}` needs NAME set and non-empty, else an issue at that path;
 * - `${env.NAME:=default}` (or `${env.NAME:default}`) is NAME when non-empty, else `default`;
 * - `${env.NAME:+value}` is `value` when NAME is non-empty, else empty.
 * A string that substitution leaves empty counts as not set: its key is
 * dropped (so the default applies). Values stay strings: unlike Llama Stack,
 * `"true"` or `"8080"` are not turned into a boolean or a number, because every
 * key of this provider's config is a string or a list of strings.
 */
export function substituteEnv(
  value: unknown,
  env: Env,
  issues: Issue[],
  path: readonly PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') return substituteString(value, env, issues, path);
  if (Array.isArray(value)) {
    return value.map((item, i) => substituteEnv(item, env, issues, [...path, i]));
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const next = substituteEnv(item, env, issues, [...path, key]);
      if (next !== undefined || item === undefined) out[key] = next;
    }
    return out;
  }
  return value;
}

function substituteString(
  text: string,
  env: Env,
  issues: Issue[],
  path: readonly PropertyKey[],
): string | undefined {
  let substituted = false;
  let missing = false;
  const result = text.replace(
    REFERENCE,
    (_match, name: string, operator: string | undefined, operand: string | undefined) => {
      substituted = true;
      const set = env[name];
      const isSet = set !== undefined && set !== '';
      if (operator === '+') return isSet ? (operand ?? '') : '';
      // `:=` and the older `:` form: the variable when set, else the default.
      if (operator !== undefined) return isSet ? set : (operand ?? '');
      if (isSet) return set;
      missing = true;
      issues.push({
        path: [...path],
        message: `environment variable ${name} is not set: set it, or give a default with \${env.${name}:=default}`,
        kind: 'env',
      });
      return '';
    },
  );
  if (missing) return undefined;
  if (substituted && result === '') return undefined;
  return result;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
