/**
 * Metric label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics:
 * a regular expression matches the whole label value (fully anchored), `.`
 * matches newlines too, and a label a series lacks reads as `""`.
 *
 * Regular expressions run on RE2JS, a port of RE2 (Go's `regexp`, which
 * Prometheus uses): matching takes time linear in the label's length whatever
 * the pattern, so `(a+)+$` or `(.*)*x` cannot stall the process the way a
 * backtracking engine (JavaScript's `RegExp`) can. RE2 syntax has no
 * backreferences and no lookaround; such a pattern is a validation error.
 * Compiling is linear in the pattern once counted repetitions are expanded
 * (`a{1000}` is a thousand copies), and matching, when RE2 cannot use its
 * DFA, costs the label's length times the compiled program's size: the
 * pattern's length, its expanded size and its program size are limited.
 */
import { RE2JS } from 're2js';

/** Longest regular expression accepted, in UTF-16 code units. */
export const MAX_REGEX_LENGTH = 4_096;
/** Largest regular expression accepted after expanding counted repetitions (see `expandedSize`): bounds compiling. */
export const MAX_REGEX_EXPANDED_SIZE = 10_000;
/** Most RE2 instructions a compiled regular expression may have: bounds matching (a label of n characters costs at most n times this). */
export const MAX_REGEX_PROGRAM_SIZE = 5_000;

export interface LabelMatcherInput {
  readonly name: string;
  readonly value: string;
  readonly operator: '=' | '!=' | '=~' | '!~';
}

/** A label matcher ready to test against a series' label value. */
export interface CompiledMatcher {
  readonly name: string;
  test(value: string): boolean;
}

/**
 * Compiles matchers; returns the index and message of each one that is not a
 * valid, small enough RE2 regular expression.
 */
export function compileMatchers(matchers: readonly LabelMatcherInput[]): {
  compiled: CompiledMatcher[];
  bad: { index: number; message: string }[];
} {
  const compiled: CompiledMatcher[] = [];
  const bad: { index: number; message: string }[] = [];
  matchers.forEach((m, index) => {
    switch (m.operator) {
      case '=':
        compiled.push({ name: m.name, test: (v) => v === m.value });
        return;
      case '!=':
        compiled.push({ name: m.name, test: (v) => v !== m.value });
        return;
      default: {
        const result = compileRegex(m.value);
        if ('message' in result) {
          bad.push({ index, message: result.message });
          return;
        }
        const { re } = result;
        const negate = m.operator === '!~';
        // Series often share label values: each distinct value is matched once per query.
        const seen = new Map<string, boolean>();
        compiled.push({
          name: m.name,
          test: (v) => {
            let matched = seen.get(v);
            if (matched === undefined) {
              matched = re.testExact(v);
              seen.set(v, matched);
            }
            return matched !== negate;
          },
        });
      }
    }
  });
  return { compiled, bad };
}

function compileRegex(pattern: string): { re: RE2JS } | { message: string } {
  if (pattern.length > MAX_REGEX_LENGTH) {
    return {
      message: `regular expression too long: ${pattern.length} characters, at most ${MAX_REGEX_LENGTH}`,
    };
  }
  const size = expandedSize(pattern);
  if (size > MAX_REGEX_EXPANDED_SIZE) {
    return {
      message: `regular expression too large: about ${size} units once counted repetitions such as {1000} are expanded, at most ${MAX_REGEX_EXPANDED_SIZE}`,
    };
  }
  let re: RE2JS;
  try {
    // testExact anchors the whole pattern, so `a)|(b` cannot escape a wrapping group.
    re = RE2JS.compile(pattern, RE2JS.DOTALL);
  } catch (error) {
    const reason = ((error as Error)?.message ?? String(error))
      .replace(/^error parsing regexp: /, '')
      .replace('`(?s)', '`');
    return {
      message: `not a valid RE2 regular expression (no backreferences or lookaround): ${reason}`,
    };
  }
  const program = re.programSize();
  if (program > MAX_REGEX_PROGRAM_SIZE) {
    return {
      message: `regular expression too complex: it compiles to ${program} RE2 instructions, at most ${MAX_REGEX_PROGRAM_SIZE}`,
    };
  }
  return { re };
}

/**
 * An upper estimate of a pattern's size once counted repetitions are
 * expanded: every character counts one, and `x{m,n}` counts `x` max(m, n)
 * times (nested ones multiply). RE2 compiles to about this many instructions,
 * so this bounds the compile time before compiling. Escapes and character
 * classes count as one atom each; a brace that is not a repetition counts as
 * a character (RE2 then reports it if it is invalid).
 */
export function expandedSize(pattern: string): number {
  // One frame per open group: the size so far, and the last atom's size.
  const frames: { size: number; atom: number }[] = [{ size: 0, atom: 0 }];
  let top = frames[0]!;
  const atom = (size: number) => {
    top.size += size;
    top.atom = size;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1];
      // \p{Greek}, \x{10FFFF}: skip the braced argument.
      if ((next === 'p' || next === 'P' || next === 'x') && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        i = close === -1 ? pattern.length : close;
      } else {
        i++;
      }
      atom(1);
    } else if (c === '[') {
      i = classEnd(pattern, i);
      atom(1);
    } else if (c === '(') {
      top = { size: 0, atom: 0 };
      frames.push(top);
    } else if (c === ')' && frames.length > 1) {
      const inner = frames.pop()!;
      top = frames[frames.length - 1]!;
      atom(inner.size + 1);
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i, i + 24));
      if (m) {
        const count = Math.max(Number(m[1]), m[2] ? Number(m[2]) : 0, 1);
        top.size += top.atom * (count - 1);
        top.atom *= count;
        i += m[0].length - 1;
      } else {
        atom(1);
      }
    } else {
      atom(1);
    }
    if (top.size > MAX_REGEX_EXPANDED_SIZE * 16) break; // already far too large
  }
  while (frames.length > 1) {
    const inner = frames.pop()!;
    frames[frames.length - 1]!.size += inner.size;
  }
  return frames[0]!.size;
}

/** Index of the `]` closing the character class opened at `start` (or the last index). */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading ] is literal
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close !== -1) i = close + 1;
    } else if (c === ']') return i;
  }
  return pattern.length - 1;
}
