import { formatPath, TelemetryValidationError, type ValidationIssue } from '@telemetry/core/sink';
import type { z } from 'zod';

/** A validation problem while its path is still a list (so it can be prefixed and located). */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** `env`: an unset variable; later problems at or under its path are its consequence. */
  readonly kind?: 'env';
}

export function issuesFromZodError(error: z.ZodError, prefix: readonly PropertyKey[]): Issue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path],
    message: issue.message,
  }));
}

function isUnder(path: readonly PropertyKey[], root: readonly PropertyKey[]): boolean {
  return root.length <= path.length && root.every((part, i) => path[i] === part);
}

/**
 * One TelemetryValidationError listing every problem, in document order of
 * discovery; a problem caused by an unset environment variable is reported
 * once, as the variable.
 */
export function validationError(
  what: string,
  issues: readonly Issue[],
  locate?: (path: readonly PropertyKey[]) => string | undefined,
): TelemetryValidationError {
  const envRoots = issues.filter((i) => i.kind === 'env').map((i) => i.path);
  const seen = new Set<string>();
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    if (issue.kind !== 'env' && envRoots.some((root) => isUnder(issue.path, root))) continue;
    const where = locate?.(issue.path);
    const formatted = {
      path: formatPath(issue.path),
      message: where ? `${issue.message} (${where})` : issue.message,
    };
    const key = `${formatted.path}\u0000${formatted.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(formatted);
  }
  return new TelemetryValidationError(what, out);
}
