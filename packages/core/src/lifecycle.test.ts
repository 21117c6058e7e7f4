/**
 * Lifecycle for a core-only application: shutdown hooks and the
 * register-and-replace global, in real processes that get real signals.
 */
import {
  createMemorySink,
  createTelemetry,
  getGlobalTelemetry,
  installShutdownHooks,
  registerReplacing,
  TelemetryValidationError,
} from '@telemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useChildScripts } from './test-support/child.ts';

describe('installShutdownHooks', () => {
  const children = useChildScripts();

  /** A pipeline whose only sink takes `writeMs` to deliver, then writes each span to stdout. */
  const pipeline = (writeMs = 50) => `
import { createTelemetry, installShutdownHooks } from '@telemetry/core';
const sink = {
  name: 'stdout',
  async writeSpans(spans) {
    await new Promise((r) => setTimeout(r, ${writeMs}));
    for (const s of spans) process.stdout.write('span ' + s.name + '\\n');
  },
  async shutdown() { process.stdout.write('closed\\n'); },
};
const telemetry = createTelemetry({ sinks: [sink] });
`;

  it('on SIGTERM delivers, shuts down, then lets the signal end the process', async () => {
    const file = await children.script(`${pipeline()}
installShutdownHooks(telemetry);
telemetry.withTrace('work', () => {});
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`);
    let sent = false;
    const r = await children.run(file, {
      onStdout(text, child) {
        if (!sent && text.includes('ready')) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect([r.code, r.signal]).toEqual([null, 'SIGTERM']);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['ready', 'span work', 'closed']);
    expect(r.stderr).toBe('');
  });

  it('without the hooks the same process loses the span (the test above can fail)', async () => {
    // A delivery that outlasts any delay before the signal: with 50 ms, a
    // parent slower than that to answer 'ready' saw the span delivered.
    const file = await children.script(`${pipeline(60_000)}
telemetry.withTrace('work', () => {});
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`);
    let sent = false;
    const r = await children.run(file, {
      onStdout(text, child) {
        if (!sent && text.includes('ready')) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).not.toContain('span work');
  });

  it('shuts down when the event loop empties, so a script that just ends loses nothing', async () => {
    const file = await children.script(`${pipeline()}
installShutdownHooks(telemetry, { timeoutMs: 5000 });
telemetry.withTrace('work', () => {});
`);
    const r = await children.run(file);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['span work', 'closed']);
  });

  it('says what process.exit() cost', async () => {
    const file = await children.script(`${pipeline()}
installShutdownHooks(telemetry);
telemetry.withTrace('unsent', () => {});
process.exit(0);
`);
    const r = await children.run(file);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      '[telemetry] the process exited with 2 telemetry events not yet delivered to the sinks: await telemetry.shutdown() before calling process.exit().\n',
    );
  });

  it('rejects options that cannot work, listing every problem', () => {
    const t = createTelemetry();
    let error: unknown;
    try {
      installShutdownHooks(t, {
        signals: ['SIGTERM', 'SIGNOPE' as NodeJS.Signals],
        timeoutMs: -5,
        beforeExit: 'yes' as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as Error).message).toMatchInlineSnapshot(`
      "Invalid shutdown hook options (3 problems):
        - options.signals[1]: expected a signal name such as SIGTERM or SIGINT, got "SIGNOPE"
        - options.beforeExit: expected true or false
        - options.timeoutMs: expected a number of milliseconds above 0"
    `);
    expect(() => installShutdownHooks(t, { timeoutMs: Number.POSITIVE_INFINITY })).toThrow(
      /timeoutMs: expected a finite number/,
    );
  });
});

describe('registerReplacing', () => {
  afterEach(async () => {
    await getGlobalTelemetry()?.shutdown();
  });

  it('replaces and shuts down a pipeline registered the same way, so nothing is written twice', async () => {
    const first = createMemorySink({ name: 'memory' });
    const second = createMemorySink({ name: 'memory' });
    const a = createTelemetry({ sinks: [first] });
    const b = createTelemetry({ sinks: [second] });
    await registerReplacing(a);
    a.withTrace('before', () => {});
    await registerReplacing(b);
    expect(getGlobalTelemetry()).toBe(b);
    expect(a.isShutdown).toBe(true);
    // What the first one had is delivered before it closed.
    expect(first.spans.map((s) => s.name)).toEqual(['before']);
    b.withTrace('after', () => {});
    await b.flush();
    expect(second.spans.map((s) => s.name)).toEqual(['after']);
  });

  it('leaves running a pipeline the application registered by hand', async () => {
    const own = createMemorySink({ name: 'own' });
    const handMade = createTelemetry({ sinks: [own] }).register();
    const next = createTelemetry({ sinks: [createMemorySink()] });
    await registerReplacing(next);
    expect(getGlobalTelemetry()).toBe(next);
    expect(handMade.isShutdown).toBe(false);
    handMade.withTrace('still-open', () => {});
    await handMade.flush();
    expect(own.spans.map((s) => s.name)).toEqual(['still-open']);
    await handMade.shutdown();
  });
});
