/**
 * The viewer page end to end, in a real headless Chromium (Debian's, driven by
 * playwright-core: no browser download) against a real server over a SQLite
 * store filled by the demo (its built CLI, as a child process) and by spans an
 * OpenTelemetry SDK sends over OTLP. Every step goes through the page as a
 * person would use it, and the test fails on any console error, page error or
 * request that leaves 127.0.0.1. Screenshots of the list, two traces and the
 * metric charts go to tests/viewer/artifacts/ (gitignored).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  createTelemetry,
  type SpanDetail,
  type Telemetry,
  type TraceDetail,
} from '@telemetry/core';
import { createTelemetryServer, type TelemetryServer } from '@telemetry/server';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TOKEN = 'e2e-viewer-token';
/** A key's effect shows in well under this; waiting longer would only hide a lost key. */
const KEY_WAIT = { timeout: 5_000 };
/** The caller's traceparent the demo's first turn continues: its root has this remote parent. */
const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const ARTIFACTS = join(dirname(new URL(import.meta.url).pathname), '..', 'artifacts');

const run = promisify(execFile);

interface DemoResult {
  runId: string;
  turns: { traceId: string; rootSpanId: string }[];
}

let dir: string;
let store: SqliteSink;
let telemetry: Telemetry;
let server: TelemetryServer;
let url: string;
let browser: BrowserContext;
let page: Page;
let demo: DemoResult;
let checkoutTraceId: string;
const problems: string[] = [];
const requested: string[] = [];

/** Microseconds of an ISO time from the store (Date.parse drops them). */
function micros(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) throw new Error(`not a store time: ${iso}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** One trace over OTLP from the OpenTelemetry SDK: a checkout whose card charge fails. */
async function sendCheckoutTrace(name: string, startMs: number): Promise<string> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [
      new SimpleSpanProcessor(
        new OTLPTraceExporter({
          url: `${url}/v1/traces`,
          headers: { Authorization: `Bearer ${TOKEN}` },
        }),
      ),
    ],
  });
  const tracer = provider.getTracer('e2e');
  const root = tracer.startSpan(name, {
    kind: SpanKind.SERVER,
    startTime: startMs,
    attributes: { 'http.route': '/checkout', 'cart.items': 3 },
  });
  const inRoot = trace.setSpan(otelContext.active(), root);
  const charge = tracer.startSpan(
    'charge card',
    { kind: SpanKind.CLIENT, startTime: startMs + 50, attributes: { 'payment.provider': 'acme' } },
    inRoot,
  );
  charge.addEvent('retrying', { attempt: 1 }, startMs + 120);
  charge.recordException(new Error('card declined by issuer'), startMs + 240);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  charge.end(startMs + 250);
  const db = tracer.startSpan('db insert order', { startTime: startMs + 260 }, inRoot);
  db.end(startMs + 380);
  root.end(startMs + 400);
  await provider.forceFlush();
  await provider.shutdown();
  await telemetry.flush();
  return root.spanContext().traceId;
}

function watch(p: Page): void {
  p.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  p.on('request', (request) => requested.push(request.url()));
  p.on('requestfailed', (request) => {
    // The page cancels its own stale requests (suggestions while typing): that is no failure.
    const reason = request.failure()?.errorText;
    if (reason === 'net::ERR_ABORTED' && hostOf(request.url()) === '127.0.0.1') return;
    problems.push(`request failed: ${request.url()} (${reason})`);
  });
}

const hostOf = (address: string) => {
  const inner = address.startsWith('blob:') ? address.slice(5) : address;
  try {
    return new URL(inner).hostname;
  } catch {
    return address;
  }
};

/** The traces the page lists, in order. */
const listedTraceIds = (p: Page) =>
  p.$$eval('table.results tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.traceId));

async function search(p: Page, fill: (p: Page) => Promise<void>): Promise<void> {
  await p.click('a.button:has-text("Reset")');
  await p.waitForURL(/#\/traces$/);
  await p.waitForSelector('table.results tbody tr');
  await fill(p);
  const before = p.url();
  await p.click('button:has-text("Search")');
  await p.waitForURL((u) => u.toString() !== before);
  await p.waitForSelector('[data-testid="result-count"]');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; scripts/test.sh does it when run as root).`,
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'telemetry-viewer-e2e-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const dbPath = join(dir, 'store.db');
  const resultFile = join(dir, 'demo.json');

  // The demo, as a user runs it, writes its traces, logs and token metrics into the file.
  const require = createRequire(import.meta.url);
  const demoCli = join(dirname(require.resolve('@telemetry/demo/package.json')), 'dist/index.js');
  await run(
    process.execPath,
    [
      demoCli,
      '--sinks',
      'sqlite',
      '--db',
      dbPath,
      '--requests',
      '4',
      '--traceparent',
      `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      '--result-file',
      resultFile,
    ],
    { env: { ...process.env, NO_COLOR: '1' } },
  );
  demo = JSON.parse(readFileSync(resultFile, 'utf8')) as DemoResult;

  store = createSqliteSink({ path: dbPath, retentionIntervalMs: 0 });
  telemetry = createTelemetry({ sinks: [store] });
  server = createTelemetryServer({
    telemetry,
    port: 0,
    token: TOKEN,
    onError: (error) => problems.push(`server error: ${String(error)}`),
  });
  url = (await server.listen()).url;
  checkoutTraceId = await sendCheckoutTrace('POST /checkout', Date.now() - 5_000);

  browser = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    colorScheme: 'light',
    // The page's local times (datetime-local fields) are the test's.
    timezoneId: Intl.DateTimeFormat().resolvedOptions().timeZone,
  });
  // Nothing may leave 127.0.0.1: such a request is refused here and fails the test.
  await browser.route('**/*', (route) => {
    const address = route.request().url();
    if (hostOf(address) === '127.0.0.1') return route.continue();
    problems.push(`request outside 127.0.0.1: ${address}`);
    return route.abort('blockedbyclient');
  });
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(url).origin,
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  watch(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await telemetry?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the viewer page in Chromium', () => {
  it('signs in with ?token= once and lists every trace, newest first', async () => {
    const response = await page.goto(`${url}/?token=${TOKEN}#/traces`);
    expect(response?.status()).toBe(200);
    // The token left the address: only the hash route is there.
    expect(page.url()).toBe(`${url}/#/traces`);
    const cookies = await browser.cookies(url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(cookies[0]!.value).not.toContain(TOKEN);

    await page.waitForSelector('table.results tbody tr');
    const all = await store.searchTraces({ limit: 1000 });
    expect(await listedTraceIds(page)).toEqual(all.traces.map((t) => t.trace_id));
    expect(all.traces).toHaveLength(5); // 4 demo turns, 1 OTLP checkout
    // The scatter has a point per trace, error traces marked.
    expect(await page.locator('.scatter circle').count()).toBe(5);
    expect(await page.locator('.scatter circle.error').count()).toBe(
      all.traces.filter((t) => t.error_count > 0).length,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'list.png') });
  });

  it('searches by an attribute', async () => {
    await search(page, async (p) => {
      await p.fill('input[name="attr"]', 'payment.provider=acme');
    });
    expect(page.url()).toContain('attr=payment.provider%3Dacme');
    await page.waitForFunction(
      () => document.querySelectorAll('table.results tbody tr').length === 1,
    );
    expect(await listedTraceIds(page)).toEqual([checkoutTraceId]);

    await search(page, async (p) => {
      await p.fill('input[name="attr"]', `demo.run_id=${demo.runId}`);
    });
    await page.waitForFunction(
      () => document.querySelectorAll('table.results tbody tr').length === 4,
    );
    expect(new Set(await listedTraceIds(page))).toEqual(new Set(demo.turns.map((t) => t.traceId)));
  });

  it('searches by error status, and every result is marked', async () => {
    await search(page, async (p) => {
      await p.selectOption('select[name="status"]', 'error');
    });
    expect(page.url()).toContain('status=error');
    const expected = await store.searchTraces({ status: 'error' });
    expect(expected.traces.length).toBeGreaterThanOrEqual(2); // the checkout and a demo retry
    await page.waitForFunction(
      (n) => document.querySelectorAll('table.results tbody tr').length === n,
      expected.traces.length,
    );
    expect(await listedTraceIds(page)).toEqual(expected.traces.map((t) => t.trace_id));
    expect(await page.locator('table.results tbody tr.error .badge.error').count()).toBe(
      expected.traces.length,
    );
  });

  it('searches by duration, typed as people write it', async () => {
    await search(page, async (p) => {
      await p.fill('input[name="min_duration"]', '0.3s');
      await p.fill('input[name="max_duration"]', '1m');
    });
    expect(page.url()).toContain('min_duration_ms=300&max_duration_ms=60000');
    const expected = await store.searchTraces({ min_duration_ms: 300, max_duration_ms: 60_000 });
    expect(expected.traces.map((t) => t.trace_id)).toContain(checkoutTraceId);
    await page.waitForFunction(
      (n) => document.querySelectorAll('table.results tbody tr').length === n,
      expected.traces.length,
    );
    expect(await listedTraceIds(page)).toEqual(expected.traces.map((t) => t.trace_id));
  });

  it('searches a custom time window, and the window survives a reload', async () => {
    const checkout = (await store.getTraceDetail(checkoutTraceId))!.trace;
    // datetime-local works in the browser's zone (the test's, set at launch), to the second.
    const local = (ms: number) => {
      const d = new Date(ms);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    };
    // From a whole minute (Chromium shows that value without seconds) to a
    // couple of seconds past the checkout's start.
    const started = Date.parse(checkout.start_time);
    const from = Math.floor(started / 60_000) * 60_000;
    const to = Math.floor(started / 1000) * 1000 + 2_000;
    await search(page, async (p) => {
      await p.selectOption('select[name="since"]', 'custom');
      await p.fill('input[name="start"]', local(from));
      await p.fill('input[name="end"]', local(to));
    });
    const startIso = new Date(from).toISOString();
    const endIso = new Date(to).toISOString();
    expect(page.url()).toContain(`start=${encodeURIComponent(startIso)}`);
    expect(page.url()).toContain(`end=${encodeURIComponent(endIso)}`);
    const expected = await store.searchTraces({ start: startIso, end: endIso });
    expect(expected.traces.map((t) => t.trace_id)).toContain(checkoutTraceId);
    await page.waitForFunction(
      (n) => document.querySelectorAll('table.results tbody tr').length === n,
      expected.traces.length,
    );
    expect(await listedTraceIds(page)).toEqual(expected.traces.map((t) => t.trace_id));

    await page.reload();
    await page.waitForSelector('table.results tbody tr');
    expect(await page.inputValue('select[name="since"]')).toBe('custom');
    // Read back as times: Chromium drops ":00" seconds from a datetime-local value.
    const shown = async (name: string) =>
      new Date(await page.inputValue(`input[name="${name}"]`)).getTime();
    expect(await shown('start')).toBe(from);
    expect(await shown('end')).toBe(to);
  });

  it('opens a trace: the waterfall bars are ordered and sized by the spans times', async () => {
    await search(page, async (p) => {
      await p.selectOption('select[name="status"]', 'error');
    });
    await page.click(`tr[data-trace-id="${checkoutTraceId}"] a`);
    await page.waitForURL(new RegExp(`#/trace/${checkoutTraceId}$`));
    await page.waitForSelector('.wf-row');
    const detail = (await store.getTraceDetail(checkoutTraceId)) as TraceDetail;
    expect(detail.spans).toHaveLength(3);

    // Expected order, worked out here: depth first, children by start time.
    const children = new Map<string | null, SpanDetail[]>();
    for (const s of detail.spans) {
      const key = detail.spans.some((p) => p.span_id === s.parent_span_id)
        ? s.parent_span_id
        : null;
      children.set(key, [...(children.get(key) ?? []), s]);
    }
    const order: string[] = [];
    const visit = (parent: string | null) => {
      const kids = (children.get(parent) ?? []).sort(
        (a, b) => micros(a.start_time) - micros(b.start_time),
      );
      for (const kid of kids) {
        order.push(kid.span_id);
        visit(kid.span_id);
      }
    };
    visit(null);

    const rows = await page.$$eval('.wf-row', (els) =>
      els.map((el) => {
        const track = el.querySelector('.wf-track')!.getBoundingClientRect();
        const bar = el.querySelector('.bar')!.getBoundingClientRect();
        return {
          id: (el as HTMLElement).dataset.spanId!,
          left: bar.left - track.left,
          width: bar.width,
          trackWidth: track.width,
          error: el.classList.contains('error'),
          depth: Number(el.getAttribute('aria-level')),
        };
      }),
    );
    expect(rows.map((r) => r.id)).toEqual(order);
    const t0 = Math.min(...detail.spans.map((s) => micros(s.start_time)));
    const t1 = Math.max(...detail.spans.map((s) => micros(s.end_time)));
    for (const row of rows) {
      const s = detail.spans.find((x) => x.span_id === row.id)!;
      const left = ((micros(s.start_time) - t0) / (t1 - t0)) * row.trackWidth;
      const width = ((micros(s.end_time) - micros(s.start_time)) / (t1 - t0)) * row.trackWidth;
      expect(Math.abs(row.left - left), `${s.name} left`).toBeLessThan(1.5);
      expect(Math.abs(row.width - width), `${s.name} width`).toBeLessThan(1.5);
      expect(row.error).toBe(s.status === 'error');
    }
    // The sent times, to the millisecond: the charge is 200 of the trace's 400 ms.
    const charge = rows.find(
      (r) => detail.spans.find((s) => s.span_id === r.id)!.name === 'charge card',
    )!;
    expect(charge.width / charge.trackWidth).toBeCloseTo(0.5, 3);
    expect(rows.map((r) => r.depth)).toEqual([1, 2, 2]);

    // Collapse and expand.
    await page.click('.wf-row[aria-level="1"] button.toggle');
    expect(await page.locator('.wf-row').count()).toBe(1);
    expect(await page.locator('.wf-row .badge.error').textContent()).toContain('1');
    await page.click('.wf-row[aria-level="1"] button.toggle');
    expect(await page.locator('.wf-row').count()).toBe(3);

    // The keyboard walks the spans: the focus follows the selection.
    await page.focus('.wf-row[aria-level="1"]');
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(new RegExp(`\\?span=${order[1]}$`), KEY_WAIT);
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(new RegExp(`\\?span=${order[2]}$`), KEY_WAIT);
    const focused = () =>
      page.evaluate(() => (document.activeElement as HTMLElement).dataset.spanId);
    expect(await focused()).toBe(order[2]);
    // Keys pressed faster than the page renders are none of them lost.
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.waitForURL(new RegExp(`\\?span=${order[0]}$`), KEY_WAIT);
    expect(await focused()).toBe(order[0]);
  });

  it('opens a span with its logs, attributes and a link to its parent', async () => {
    const detail = await store.getTraceDetail(checkoutTraceId);
    const charge = detail.spans.find((s) => s.name === 'charge card')!;
    await page.click(`.wf-row[data-span-id="${charge.span_id}"]`);
    await page.waitForURL(new RegExp(`\\?span=${charge.span_id}$`));
    const panel = page.locator('[data-testid="span-panel"]');
    await expect(panel.locator('h2').textContent()).resolves.toBe('charge card');
    const logs = panel.locator('[data-testid="logs"] li');
    expect(await logs.count()).toBe(2);
    expect(await logs.nth(0).locator('.sev').textContent()).toBe('info');
    expect(await logs.nth(1).locator('.sev').textContent()).toBe('error');
    // The exception event, with its type and message.
    expect(await logs.nth(1).textContent()).toContain('Error: card declined by issuer');
    expect(await panel.locator('[data-testid="attributes"]').textContent()).toContain(
      'payment.provideracme',
    );
    expect(await panel.textContent()).toContain('card declined');
    await page.screenshot({ path: join(ARTIFACTS, 'trace-otlp.png') });

    await panel.locator('[data-testid="parent-link"]').click();
    await page.waitForURL(new RegExp(`\\?span=${charge.parent_span_id}$`));
    await expect(panel.locator('h2').textContent()).resolves.toBe('POST /checkout');
  });

  it('copies the trace id and downloads the trace as JSON', async () => {
    await page.click('button:has-text("Copy id")');
    await page.waitForSelector('button:has-text("Copied")');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(checkoutTraceId);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("Download JSON")'),
    ]);
    expect(download.suggestedFilename()).toBe(`trace-${checkoutTraceId}.json`);
    const saved = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(saved).toEqual(JSON.parse(JSON.stringify(await store.getTraceDetail(checkoutTraceId))));
  });

  it('shows a demo span with logs at each severity, and a remote parent', async () => {
    const first = demo.turns.find((t) => t.traceId === CALLER_TRACE)!;
    await page.goto(`${url}/#/trace/${first.traceId}?span=${first.rootSpanId}`);
    const panel = page.locator('[data-testid="span-panel"]');
    await panel.waitFor();
    await expect(panel.locator('[data-testid="remote-parent"] code').textContent()).resolves.toBe(
      CALLER_SPAN,
    );
    const detail = await store.getTraceDetail(first.traceId);
    const failed = detail.spans.find((s) => s.status === 'error')!;
    const expectedLogs = detail.logs.filter((l) => l.span_id === failed.span_id);
    expect(expectedLogs.length).toBeGreaterThan(0);
    await page.click(`.wf-row[data-span-id="${failed.span_id}"]`);
    await expect(panel.locator('h2').textContent()).resolves.toBe(failed.name);
    expect(await panel.locator('[data-testid="logs"] .sev').allTextContents()).toEqual(
      expectedLogs.map((l) => l.severity),
    );
    expect(await panel.locator('[data-testid="logs"] .message').allTextContents()).toEqual(
      expectedLogs.map((l) => l.message),
    );
    // docs/images/viewer-trace.png, in the READMEs, is this screenshot (in 64 colours).
    await page.screenshot({
      path: join(ARTIFACTS, 'trace.png'),
      clip: { x: 0, y: 0, width: 1280, height: 720 },
    });
    // The inference span carries the token counts as metric events.
    const inference = detail.spans.find((s) => s.name === 'InferenceClient.complete')!;
    await page.click(`.wf-row[data-span-id="${inference.span_id}"]`);
    const metricRows = panel.locator('[data-testid="metric-events"] tbody tr');
    expect(await metricRows.count()).toBe(
      detail.metrics.filter((m) => m.span_id === inference.span_id).length,
    );
  });

  it('renders a chart per series with the right number of points', async () => {
    await page.click('nav a:has-text("Metrics")');
    await page.waitForURL(/#\/metrics$/);
    // The chart library is fetched only now, by the first chart.
    expect(requested.some((r) => /uPlot/.test(r))).toBe(false);
    await page.fill('input[name="metric"]', 'total_tokens');
    await page.selectOption('select[name="since"]', '1h');
    await page.click('button:has-text("Query")');
    await page.waitForURL(/metric=total_tokens/);
    await page.waitForSelector('.chart[data-points] canvas');
    const nowSeconds = Math.floor(Date.now() / 1000);
    const series = await store.queryMetrics('total_tokens', {
      query_type: 'range',
      start_time: nowSeconds - 3600,
      end_time: nowSeconds + 60,
    });
    expect(series.length).toBe(2); // one per model
    await page.waitForFunction(
      (n) => document.querySelectorAll('.chart[data-points]').length === n,
      series.length,
    );
    const drawn = await page.$$eval('figure.series', (figures) =>
      figures.map((f) => ({
        label: (f as HTMLElement).dataset.series,
        points: Number(f.querySelector('.chart')!.getAttribute('data-points')),
      })),
    );
    expect(drawn.sort((a, b) => a.label!.localeCompare(b.label!))).toEqual(
      series
        .map((s) => ({
          label: s.labels.map((l) => `${l.name}=${l.value}`).join(', '),
          points: s.values.length,
        }))
        .sort((a, b) => a.label.localeCompare(b.label)),
    );
    expect(requested.some((r) => /uPlot/.test(r))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'metrics.png') });

    // A label matcher keeps one series.
    await page.click('.chip:has-text("model_id=llama-3.2-3b-instruct")');
    await page.waitForURL(/match=model_id%3Dllama-3\.2-3b-instruct/);
    await page.waitForFunction(() => document.querySelectorAll('.chart[data-points]').length === 1);
  });

  it('follows deep links to a search and to a span, in a new tab', async () => {
    const tab = await browser.newPage();
    watch(tab);
    await tab.goto(`${url}/#/traces?status=error&attr=payment.provider%3Dacme`);
    await tab.waitForSelector('table.results tbody tr');
    expect(await listedTraceIds(tab)).toEqual([checkoutTraceId]);
    expect(await tab.inputValue('input[name="attr"]')).toBe('payment.provider=acme');
    expect(await tab.inputValue('select[name="status"]')).toBe('error');

    const detail = await store.getTraceDetail(checkoutTraceId);
    const db = detail.spans.find((s) => s.name === 'db insert order')!;
    await tab.goto(`${url}/#/trace/${checkoutTraceId}?span=${db.span_id}`);
    await tab.waitForSelector('[data-testid="span-panel"]');
    expect(await tab.locator('.wf-row.selected').getAttribute('data-span-id')).toBe(db.span_id);
    expect(await tab.locator('[data-testid="span-panel"] h2').textContent()).toBe(
      'db insert order',
    );
    // Back goes to the search.
    await tab.goBack();
    await tab.waitForSelector('table.results tbody tr');
    expect(await listedTraceIds(tab)).toEqual([checkoutTraceId]);

    // A page size in the link; the next pages come with their cursor.
    const all = (await store.searchTraces({ limit: 1000 })).traces.map((t) => t.trace_id);
    await tab.goto(`${url}/#/traces?limit=2`);
    await tab.waitForFunction(
      () => document.querySelectorAll('table.results tbody tr').length === 2,
    );
    for (let shown = 2; shown < all.length; shown = Math.min(shown + 2, all.length)) {
      await tab.click('button:has-text("Load more")');
      await tab.waitForFunction(
        (n) => document.querySelectorAll('table.results tbody tr').length === n,
        Math.min(shown + 2, all.length),
      );
    }
    expect(await listedTraceIds(tab)).toEqual(all);
    expect(await tab.locator('button:has-text("Load more")').count()).toBe(0);
    await tab.close();
  });

  it('shows new traces while the list is open', async () => {
    await page.goto(`${url}/#/traces?attr=http.route%3D%2Fcheckout`);
    await page.waitForFunction(
      () => document.querySelectorAll('table.results tbody tr').length === 1,
    );
    const fresh = await sendCheckoutTrace('POST /checkout (retry)', Date.now() - 1_000);
    await page.waitForSelector(`tr.fresh[data-trace-id="${fresh}"]`, { timeout: 10_000 });
    expect(await listedTraceIds(page)).toEqual([fresh, checkoutTraceId]);
  });

  it('made no request outside 127.0.0.1 and logged no error', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((r) => hostOf(r) !== '127.0.0.1')).toEqual([]);
    expect(problems).toEqual([]);
  });
});
