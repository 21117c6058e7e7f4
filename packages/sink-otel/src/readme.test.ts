import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OtelSinkOptionsSchema, otelSink } from '@telemetry/sink-otel';
import { startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterEach, expect, it } from 'vitest';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const SNIPPET = fileURLToPath(new URL('./test-support/readme-usage.generated.ts', import.meta.url));

afterEach(() => rmSync(SNIPPET, { force: true }));

it('runs the README Usage snippet and exports what the README says', async () => {
  const readme = readFileSync(README, 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const code = /```ts\n([\s\S]*?)```/.exec(usage)![1]!;
  const r = await startOtlpReceiver();
  try {
    expect(code).toContain("'http://localhost:4318/v1/traces'");
    writeFileSync(SNIPPET, code.replace("'http://localhost:4318/v1/traces'", `'${r.tracesUrl}'`));
    await import(SNIPPET);

    expect(r.traces.map((s) => s.name).sort()).toEqual(['chat_completion', 'inference']);
    const root = r.traces.find((s) => s.name === 'chat_completion')!;
    const inference = r.traces.find((s) => s.name === 'inference')!;
    expect(inference.traceId).toBe(root.traceId);
    expect(inference.parentSpanId).toBe(root.spanId);
    expect(root.attributes).toEqual({ model: 'llama-3' });
    expect(root.resource['service.name']).toBe('my-app');
    expect(inference.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'prompt ready',
        { 'logger.name': 'app', messages: 3, message: 'prompt ready', severity: 'info' },
      ],
      ['metric.prompt_tokens', { model: 'llama-3', value: 812, unit: 'tokens' }],
    ]);
    const tokens = r.latestMetric('prompt_tokens')!;
    expect(tokens).toMatchObject({ kind: 'sum', monotonic: true, unit: 'tokens' });
    expect(tokens.points).toEqual([
      expect.objectContaining({ value: 812, valueType: 'int', attributes: { model: 'llama-3' } }),
    ]);
  } finally {
    await r.close();
  }
});

it('documents every option in the Options table, with the schema’s defaults', () => {
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('## How it fails'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `(\w+)` \| (.*?) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  expect([...rows.keys()].sort()).toEqual(Object.keys(OtelSinkOptionsSchema.shape).sort());
  // Where the schema has a default of its own, the table shows it.
  const defaults = otelSink.parseOptions({ endpoint: 'http://c:4318/v1/traces', env: {} });
  for (const [key, value] of Object.entries(defaults)) {
    if (key === 'endpoint' || key === 'env') continue;
    const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
    expect(rows.get(key), key).toContain(`\`${shown}\``);
  }
});
