/**
 * Shutdown hooks in real Node processes that get real signals: the pipeline
 * is flushed before the process ends, the process still ends the way it
 * would have, and an application's own handler keeps the last word.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTempProject,
  type RunResult,
  type TempProject,
} from './test-support/temp-project.ts';

let project: TempProject;

/**
 * A sink that holds spans in memory and writes them to a file only when
 * flushed, after a pause, as an exporter would: a process killed before the
 * flush loses them.
 */
const SINK_MODULE = `import { appendFileSync } from 'node:fs';
export function bufferedFileSink(file, { flushMs = 100 } = {}) {
  let held = [];
  let received;
  const receivedPromise = new Promise((resolve) => { received = resolve; });
  const flush = async () => {
    const batch = held;
    held = [];
    if (batch.length === 0) return;
    console.log('flushing');
    await new Promise((resolve) => setTimeout(resolve, flushMs));
    for (const span of batch) appendFileSync(file, 'span ' + span.name + '\\n');
  };
  return {
    name: 'file',
    /** Resolves once the sink holds a span (so a test can signal with data in flight). */
    received: receivedPromise,
    writeSpans(spans) { held.push(...spans); received(); },
    forceFlush: flush,
    async shutdown() { await flush(); appendFileSync(file, 'closed\\n'); },
  };
}
`;

beforeAll(async () => {
  project = await createTempProject();
  await project.write('buffered-file-sink.mjs', SINK_MODULE);
});

afterAll(async () => {
  await project?.remove();
});

let counter = 0;

/** Writes a script that builds a pipeline around the buffered sink, logs one trace, then runs `body`. */
async function script(
  setup: string,
  body: string,
  sinkOptions = '{}',
): Promise<{ path: string; out: string }> {
  counter++;
  const out = join(project.dir, `spans-${counter}.txt`);
  const path = await project.write(
    `hooks-${counter}.mjs`,
    `import { createTelemetryFromConfig, installShutdownHooks } from '@telemetry/provider-meta-reference';
import { bufferedFileSink } from './buffered-file-sink.mjs';
const OUT = ${JSON.stringify(out)};
const sink = bufferedFileSink(OUT, ${sinkOptions});
${setup}
telemetry.withTrace('work', () => {});
await sink.received;
${body}
`,
  );
  return { path, out };
}

const KEEP_ALIVE = `const server = setInterval(() => {}, 1000);\nconsole.log('ready');`;

function runAndSignal(path: string, signal: NodeJS.Signals, when = 'ready'): Promise<RunResult> {
  let sent = false;
  return project.run(path, {
    onStdout(text, child) {
      if (!sent && text.includes(when)) {
        sent = true;
        child.kill(signal);
      }
    },
  }).done;
}

async function written(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n');
  } catch {
    return [];
  }
}

const CREATE = `const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [sink], shutdownHooks: true });`;

describe('installShutdownHooks', () => {
  it('on SIGTERM, shuts the pipeline down, then lets the signal end the process', async () => {
    const { path, out } = await script(CREATE, KEEP_ALIVE);
    const result = await runAndSignal(path, 'SIGTERM');
    expect([result.code, result.signal]).toEqual([null, 'SIGTERM']);
    expect(result.stderr).toBe('');
    expect(await written(out)).toEqual(['span work', 'closed']);
  });

  it('without hooks the same process loses the span (the test above can fail)', async () => {
    const { path, out } = await script(
      `const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [sink] });`,
      KEEP_ALIVE,
    );
    const result = await runAndSignal(path, 'SIGTERM');
    expect(result.signal).toBe('SIGTERM');
    expect(await written(out)).toEqual([]);
  });

  it('on SIGINT as well, with options given to installShutdownHooks', async () => {
    const { path, out } = await script(
      `const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [sink] });
installShutdownHooks(telemetry, { signals: ['SIGINT'], timeoutMs: 5000 });`,
      KEEP_ALIVE,
    );
    const result = await runAndSignal(path, 'SIGINT');
    expect([result.code, result.signal]).toEqual([null, 'SIGINT']);
    expect(await written(out)).toEqual(['span work', 'closed']);
  });

  it("flushes but leaves the exit to the application's own handler", async () => {
    const { path, out } = await script(
      CREATE,
      `import { existsSync } from 'node:fs';
process.on('SIGTERM', () => {
  console.log('app: draining');
  // The app exits once the hook's flush has written the span; without that flush it would wait forever.
  setInterval(() => {
    if (!existsSync(OUT)) return;
    console.log('app: exit 3');
    process.exit(3);
  }, 20);
});
${KEEP_ALIVE}`,
    );
    const result = await runAndSignal(path, 'SIGTERM');
    expect([result.code, result.signal]).toEqual([3, null]);
    expect(result.stdout).toContain('app: draining');
    expect(result.stdout).toContain('app: exit 3');
    // Flushed, not closed: the application may still log while it drains.
    expect(await written(out)).toEqual(['span work']);
    expect(result.stderr).toBe('');
  });

  it('shuts down when the event loop empties, so a script that just ends loses nothing', async () => {
    const { path, out } = await script(CREATE, `console.log('done');`);
    const result = await project.run(path).done;
    expect([result.code, result.signal]).toEqual([0, null]);
    expect(await written(out)).toEqual(['span work', 'closed']);
  });

  it('a second signal during a flush that hangs stops waiting', async () => {
    const { path, out } = await script(
      `const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [sink], shutdownHooks: { timeoutMs: 600_000 } });`,
      KEEP_ALIVE,
      '{ flushMs: 600_000 }',
    );
    let signals = 0;
    const result = await project.run(path, {
      onStdout(text, child) {
        // First Ctrl-C once ready; the second once the flush has started and hangs.
        if (text.includes('ready') && signals === 0) {
          signals++;
          child.kill('SIGINT');
        }
        if (text.includes('flushing') && signals === 1) {
          signals++;
          child.kill('SIGINT');
        }
      },
    }).done;
    expect(signals).toBe(2);
    expect([result.code, result.signal]).toEqual([null, 'SIGINT']);
    expect(await written(out)).toEqual([]);
  });

  it('warns when process.exit() leaves events undelivered', async () => {
    const { path } = await script(
      CREATE,
      `telemetry.withTrace('unsent', () => {});
process.exit(0);`,
    );
    const result = await project.run(path).done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatchInlineSnapshot(`
      "[telemetry] the process exited with 2 telemetry events not yet delivered to the sinks: await telemetry.shutdown() before calling process.exit().
      "
    `);
  });

  it('the function it returns removes the hooks', async () => {
    const { path, out } = await script(
      `const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [sink] });
const counts = () => ['SIGTERM', 'SIGINT', 'beforeExit', 'exit'].map((e) => process.listenerCount(e));
const before = counts();
const remove = installShutdownHooks(telemetry);
const installed = counts();
remove();
console.log(JSON.stringify({ before, installed, removed: counts() }));`,
      KEEP_ALIVE,
    );
    const result = await runAndSignal(path, 'SIGTERM');
    const { before, installed, removed } = JSON.parse(result.stdout.split('\n')[0]!);
    expect(installed.map((n: number, i: number) => n - before[i])).toEqual([1, 1, 1, 1]);
    expect(removed).toEqual(before);
    expect(result.signal).toBe('SIGTERM');
    expect(await written(out)).toEqual([]);
  });
});
