/**
 * Configs built to break the reader (issue 11, item 8): each is refused with
 * a config error that says what is wrong, never a RangeError, an untyped
 * ReferenceError, or a file nobody asked for.
 */
import {
  getGlobalTelemetry,
  TelemetryConfigError,
  TelemetryError,
  TelemetryValidationError,
} from '@telemetry/core';
import { defineSink, z } from '@telemetry/core/sink';
import {
  createTelemetryFromConfig,
  loadRunConfig,
  parseRunConfig,
  parseTelemetryConfig,
} from '@telemetry/provider-meta-reference';
import { describe, expect, it } from 'vitest';
import { rejection, scratchDir, thrown } from './test-support/scratch.ts';

const env = { HOME: '/home/ada' };
const { file } = scratchDir('provider-hostile-');

const PROVIDER = `telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
`;

describe('nesting', () => {
  it('YAML nested 5,000 deep is a config error that says so', async () => {
    const path = await file(
      'deep-5000.yaml',
      `${PROVIDER}      sinks: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
    );
    const error = await rejection(loadRunConfig(path, { env }));
    expect(error).toBeInstanceOf(TelemetryConfigError);
    // Where the parser gave up depends on the stack it had: the line, and a column inside the brackets.
    const prefix = `Cannot parse the telemetry run config ${path} as YAML: it nests more than 100 levels deep; a telemetry config needs a few (look for a value that contains itself, or brackets or indentation that run away) (line 5, column `;
    expect(error.message.startsWith(prefix)).toBe(true);
    expect(Number(error.message.slice(prefix.length, -1))).toBeGreaterThan(100);
  });

  it('YAML the parser can read but nested past the limit is refused at its line, in block style too', async () => {
    const block = Array.from({ length: 300 }, (_, i) => `${' '.repeat(8 + 2 * i)}- `).join('\n');
    const path = await file('deep-300.yaml', `${PROVIDER}      sinks:\n${block}console\n`);
    const error = await rejection(loadRunConfig(path, { env }));
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect(error.message).toMatch(
      /^Cannot read the telemetry run config .*deep-300\.yaml: it nests more than 100 levels deep; .* \(line \d+, column \d+\)$/,
    );
  });

  it('an object nested 5,000 deep is a validation error at its path, not a RangeError', () => {
    let deep: unknown = 'console';
    for (let i = 0; i < 5000; i++) deep = [deep];
    for (const parse of [
      () => parseRunConfig({ sinks: deep }, { env }),
      () => parseTelemetryConfig({ sinks: deep }, { env }),
    ]) {
      const error = thrown(parse);
      expect(error).toBeInstanceOf(TelemetryValidationError);
      expect((error as TelemetryValidationError).issues).toEqual([
        {
          path: 'sinks[0][0][0]',
          message:
            'nests more than 100 levels deep; a telemetry config needs a few (look for a value that contains itself, or brackets or indentation that run away)',
        },
      ]);
    }
  });

  it('an object that contains itself is refused the same way', async () => {
    const block: Record<string, unknown> = { sinks: 'console' };
    block.self = block;
    const error = await rejection(createTelemetryFromConfig({ telemetry: [], other: block }));
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'other.self.self.self',
    ]);
  });

  it('deep parts of a run config that are not telemetry stay within the limit', async () => {
    let models: unknown = { id: 'llama' };
    for (let i = 0; i < 60; i++) models = { nested: models };
    const config = parseRunConfig(
      {
        version: 2,
        models,
        providers: { telemetry: [{ provider_id: 'm', provider_type: 'inline::meta-reference' }] },
      },
      { env },
    );
    expect(config.telemetry).toHaveLength(1);
  });
});

describe('aliases', () => {
  it('an alias bomb is a config error, not an untyped ReferenceError', async () => {
    const path = await file(
      'bomb.yaml',
      `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
${PROVIDER}      sinks: *f
`,
    );
    const error = await rejection(loadRunConfig(path, { env }));
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect(error).toBeInstanceOf(TelemetryError);
    expect(error.message).toBe(
      `Cannot read the telemetry run config ${path}: its aliases (*name) expand to too many values, as a "billion laughs" file does. Write the values out, or use fewer aliases.`,
    );
  });

  it('a few aliases, as run configs use them, still work', async () => {
    const path = await file(
      'anchors.yaml',
      `common: &sinks [console, sqlite]
${PROVIDER}      sinks: *sinks
      sqlite_db_path: ':memory:'
`,
    );
    expect((await loadRunConfig(path, { env })).telemetry[0]!.config).toEqual({
      sinks: ['console', 'sqlite'],
      sqlite_db_path: ':memory:',
    });
  });
});

describe('shutdown hooks', () => {
  it('a negative timeout and an unknown signal are refused, and the sinks made are closed', async () => {
    let closed = 0;
    const probe = defineSink({
      type: 'probe',
      options: z.object({}),
      create: () => ({
        writeEvents() {},
        async shutdown() {
          closed++;
        },
      }),
    });
    const counts = () =>
      ['SIGTERM', 'SIGINT', 'beforeExit', 'exit'].map((e) => process.listenerCount(e));
    const before = counts();
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: 'probe' },
        {
          env,
          register: true,
          sinkTypes: [probe],
          shutdownHooks: { timeoutMs: -1, signals: ['SIGTERM', 'SIGNOPE' as NodeJS.Signals] },
        },
      ),
    );
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid shutdown hook options (2 problems):
        - options.signals[1]: expected a signal name such as SIGTERM or SIGINT, got "SIGNOPE"
        - options.timeoutMs: expected a number of milliseconds above 0"
    `);
    expect(counts()).toEqual(before);
    expect(getGlobalTelemetry()).toBeUndefined();
    expect(closed).toBe(1);
  });
});
