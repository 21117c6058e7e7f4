/**
 * The route that serves the viewer page: the token (bearer, `?token=` once,
 * the session cookie and where it counts), the base path, caching and
 * compression headers, unknown assets and traversal attempts. Real server on
 * 127.0.0.1, the page as built into dist/viewer.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createMemorySink, createTelemetry } from '@telemetry/core';
import { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from './auth.ts';
import { createTelemetryServer, type HttpError, SERVER_DEFAULTS } from './index.ts';
import { resolveOptions } from './options.ts';
import { type Fixture, type FixtureOptions, startFixture } from './test-support/fixture.ts';
import { mountViewer } from './viewer-route.ts';

const DIST = new URL('../dist/viewer/', import.meta.url);
let assetNames: string[] = [];

beforeAll(() => {
  if (!existsSync(new URL('index.html', DIST))) {
    throw new Error(
      'dist/viewer is not built: run `pnpm --filter @telemetry/server build` first (turbo does it before the tests).',
    );
  }
  assetNames = readdirSync(new URL('assets/', DIST));
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixture(server: FixtureOptions['server'] = {}) {
  const fx = await startFixture({ server });
  cleanups.push(() => fx.close());
  return fx;
}

const asset = (ext: string) => {
  const name = assetNames.find((n) => n.startsWith('app-') && n.endsWith(`.${ext}`));
  if (!name) throw new Error(`no app-*.${ext} in dist/viewer/assets`);
  return name;
};

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path sent exactly as given (fetch would normalize `..` and `%2e`). */
function raw(
  fx: Fixture,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: fx.address.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the page without a token', () => {
  it('serves index.html at / with a strict CSP, revalidated on each visit', async () => {
    const fx = await fixture();
    const res = await fetch(`${fx.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, no-cache');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toBe(readFileSync(new URL('index.html', DIST), 'utf8'));
    // Every file the page names is relative (any base path) and served.
    const refs = [...html.matchAll(/(?:src|href)="\.\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining([asset('js'), asset('css')]));
    for (const ref of refs) expect((await fetch(`${fx.url}/assets/${ref}`)).status).toBe(200);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('answers 304 to a matching If-None-Match, and HEAD without a body', async () => {
    const fx = await fixture();
    const first = await fetch(`${fx.url}/`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    const again = await raw(fx, '/', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await raw(fx, '/', { headers: { 'if-none-match': '"other", W/"x"' } })).status).toBe(
      200,
    );
    const head = await raw(fx, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBe(
      readFileSync(new URL('index.html', DIST)).length,
    );
  });

  it('serves hashed assets as immutable, gzip only when the client takes it', async () => {
    const fx = await fixture();
    const js = asset('js');
    const onDisk = readFileSync(new URL(`assets/${js}`, DIST));
    const plain = await raw(fx, `/assets/${js}`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.body.equals(onDisk)).toBe(true);
    const zipped = await raw(fx, `/assets/${js}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(onDisk.length);
    expect(gunzipSync(zipped.body).equals(onDisk)).toBe(true);
    const refused = await raw(fx, `/assets/${js}`, {
      headers: { 'accept-encoding': 'gzip;q=0, identity' },
    });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const css = await raw(fx, `/assets/${asset('css')}`);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = assetNames.find((n) => n.endsWith('.svg'))!;
    expect((await raw(fx, `/assets/${svg}`)).headers['content-type']).toBe('image/svg+xml');
  });

  it('404s unknown assets and every traversal attempt, as JSON', async () => {
    const fx = await fixture();
    const attempts = [
      '/assets/nope.js',
      '/assets/',
      '/assets/index.html',
      '/assets/../package.json',
      '/assets/..%2Fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/package.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/.%2e/.%2e/package.json',
      '/assets/..\\package.json',
      '/assets/..%5Cpackage.json',
      `/assets/${asset('js')}%00.map`,
      '/assets/%2Fetc%2Fpasswd',
      '/assets//etc/passwd',
      `/assets/${asset('js')}/`,
    ];
    for (const path of attempts) {
      const res = await raw(fx, path);
      // Node's HTTP parser itself refuses a raw backslash (400); everything else is not found.
      expect([path, res.status]).toEqual([path, path.includes('\\') ? 400 : 404]);
      expect(res.body.toString()).not.toContain('"version"');
      expect(res.body.toString()).not.toContain('root:');
    }
    const res = await raw(fx, '/assets/nope.js');
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'TELEMETRY_ASSET_NOT_FOUND' });
    // Dot segments resolve as in any URL, so they can only name a file of the folder itself.
    const dotted = await raw(fx, `/assets/./x/../${asset('js')}`);
    expect(dotted.status).toBe(200);
    expect(dotted.body.equals(readFileSync(new URL(`assets/${asset('js')}`, DIST)))).toBe(true);
  });

  it('strips a ?token= from the URL even when the server has no token', async () => {
    const fx = await fixture();
    const res = await fetch(`${fx.url}/?token=abc&x=1`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?x=1');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('is not served with viewer: false, and the option is validated', async () => {
    const fx = await fixture({ viewer: false });
    const res = await fetch(`${fx.url}/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'TELEMETRY_ROUTE_NOT_FOUND' });
    expect((await fetch(`${fx.url}/assets/${asset('js')}`)).status).toBe(404);
    expect(SERVER_DEFAULTS.viewer).toBe(true);
    const telemetry = createTelemetry({ sinks: [createMemorySink()] });
    cleanups.push(() => telemetry.shutdown());
    expect(() => createTelemetryServer({ telemetry, viewer: 'yes' as never })).toThrowError(
      /viewer: expected true or false/,
    );
  });

  it('other methods on the page are not routes', async () => {
    const fx = await fixture();
    expect((await fetch(`${fx.url}/`, { method: 'POST', body: 'x' })).status).toBe(404);
  });
});

describe('the page under a base path', () => {
  it('lives at <basePath>/, with a redirect from <basePath> that keeps the query', async () => {
    const fx = await fixture({ basePath: '/telemetry' });
    const root = fx.url.replace(/\/telemetry$/, '');
    const redirect = await fetch(`${root}/telemetry?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/telemetry/?x=1');
    const page = await fetch(`${root}/telemetry/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('./assets/');
    expect((await fetch(`${root}/telemetry/assets/${asset('css')}`)).status).toBe(200);
    // Nothing outside the base path.
    expect((await fetch(`${root}/`)).status).toBe(404);
    expect((await fetch(`${root}/assets/${asset('css')}`)).status).toBe(404);
    expect((await fetch(`${root}/telemetryx/`)).status).toBe(404);
  });
});

describe('the page behind a token', () => {
  const TOKEN = 'viewer-s3cret';

  /** Signs in as a browser does: ?token= once, then the cookie it set. */
  async function signIn(fx: Fixture, path = '/') {
    const res = await fetch(`${fx.url}${path}${path.includes('?') ? '&' : '?'}token=${TOKEN}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const setCookie = res.headers.get('set-cookie')!;
    return { res, setCookie, cookie: setCookie.split(';', 1)[0]! };
  }

  it('a browser without it gets a sign-in page (401), assets and API a JSON 401', async () => {
    const fx = await fixture({ token: TOKEN });
    const page = await fetch(`${fx.url}/`);
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('www-authenticate')).toBe('Bearer realm="telemetry"');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('<form method="get" action="./">');
    expect(html).toContain('name="token"');
    expect(html).not.toContain('That token is wrong');
    // Its one inline style is allowed by hash, nothing else.
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[\w+/=]+'; form-action 'self'/);
    const assetRes = await fetch(`${fx.url}/assets/${asset('js')}`);
    expect(assetRes.status).toBe(401);
    expect(await assetRes.json()).toMatchObject({ code: 'TELEMETRY_UNAUTHORIZED' });
    expect((await fetch(`${fx.url}/api/v1/traces`)).status).toBe(401);
  });

  it('a wrong ?token= gets the sign-in page saying so, and no cookie', async () => {
    const fx = await fixture({ token: TOKEN });
    const res = await fetch(`${fx.url}/?token=guess`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('That token is wrong.');
  });

  it('?token= sets an HttpOnly session cookie and redirects to the URL without it', async () => {
    const fx = await fixture({ token: TOKEN });
    const { res, setCookie, cookie } = await signIn(fx, '/?a=1');
    expect(res.headers.get('location')).toBe('/?a=1');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(setCookie).toMatch(
      /^telemetry_session_[0-9a-f]{10}=[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    // The cookie holds a value derived from the token, never the token.
    expect(setCookie).not.toContain(TOKEN);
    const page = await fetch(`${fx.url}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('private, no-cache');
    const js = await fetch(`${fx.url}/assets/${asset('js')}`, { headers: { cookie } });
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    // The page's reads: search, suggestions, and the metric query (a POST).
    expect((await fetch(`${fx.url}/api/v1/traces`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${fx.url}/api/v1/services`, { headers: { cookie } })).status).toBe(200);
    const metrics = await fetch(`${fx.url}/v1/telemetry/metrics/total_tokens`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/json',
        origin: new URL(fx.url).origin,
        'sec-fetch-site': 'same-origin',
      },
      body: JSON.stringify({ query_type: 'range', start_time: 0 }),
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.json()).toEqual({ data: [] });
  });

  it('the cookie does not let anyone write, prune or ingest', async () => {
    const fx = await fixture({ token: TOKEN });
    const { cookie } = await signIn(fx);
    const json = { cookie, 'content-type': 'application/json' };
    const event = {
      event: {
        type: 'unstructured_log',
        trace_id: 'a'.repeat(32),
        span_id: 'b'.repeat(16),
        timestamp: new Date().toISOString(),
        message: 'x',
        severity: 'info',
      },
      ttl_seconds: 60,
    };
    const writes = [
      fetch(`${fx.url}/v1/telemetry/events`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify(event),
      }),
      fetch(`${fx.url}/api/v1/admin/prune`, {
        method: 'POST',
        headers: json,
        body: '{"vacuum":true}',
      }),
      fetch(`${fx.url}/v1/traces`, { method: 'POST', headers: json, body: '{"resourceSpans":[]}' }),
      fetch(`${fx.url}/v1/telemetry/spans/export`, { method: 'POST', headers: json, body: '{}' }),
      fetch(`${fx.url}/v1/telemetry/traces`, { method: 'POST', headers: json, body: '{}' }),
    ];
    for (const res of await Promise.all(writes)) expect(res.status).toBe(401);
  });

  it('the cookie does not count for requests another site makes', async () => {
    const fx = await fixture({ token: TOKEN });
    const { cookie } = await signIn(fx);
    // Raw requests: fetch sets its own Sec-Fetch-* headers.
    const get = (headers: Record<string, string>, path = '/api/v1/traces') =>
      raw(fx, path, { headers: { cookie, ...headers } }).then((r) => r.status);
    expect(await get({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' })).toBe(401);
    // Another port of the same host is the same site, not the same origin.
    expect(await get({ 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' })).toBe(401);
    expect(await get({ origin: 'http://localhost:3000' })).toBe(401);
    expect(await get({ origin: 'null' })).toBe(401);
    expect(await get({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).toBe(200);
    expect(await get({ 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' })).toBe(200);
    // A link from elsewhere to a page opens it: the answer is shown to the user, not to the site.
    expect(await get({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, '/')).toBe(
      200,
    );
    expect(await get({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, '/')).toBe(
      401,
    );
    const metrics = await fetch(`${fx.url}/v1/telemetry/metrics/m`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: 'http://127.0.0.1:1' },
      body: JSON.stringify({ query_type: 'range', start_time: 0 }),
    });
    expect(metrics.status).toBe(401);
  });

  it('a forged, stale or mangled cookie is no credential', async () => {
    const fx = await fixture({ token: TOKEN });
    const { cookie } = await signIn(fx);
    const [name, value] = cookie.split('=') as [string, string];
    for (const bad of [
      `${name}=${value.slice(0, -1)}`,
      `${name}=${TOKEN}`,
      `${name}=`,
      `telemetry_session_0000000000=${value}`,
      `${name}x=${value}`,
    ]) {
      expect((await fetch(`${fx.url}/api/v1/traces`, { headers: { cookie: bad } })).status).toBe(
        401,
      );
      expect((await fetch(`${fx.url}/`, { headers: { cookie: bad } })).status).toBe(401);
    }
    // Among other cookies, it is found.
    const jar = `a=1; ${cookie}; b=2`;
    expect((await fetch(`${fx.url}/api/v1/traces`, { headers: { cookie: jar } })).status).toBe(200);
    // Another server with another token on the same host has another cookie.
    const other = await fixture({ token: 'other-token' });
    const res = await fetch(`${other.url}/?token=other-token`, { redirect: 'manual' });
    expect(res.headers.get('set-cookie')!.split('=', 1)[0]).not.toBe(name);
    expect((await fetch(`${other.url}/`, { headers: { cookie } })).status).toBe(401);
  });

  it('the bearer header keeps working, and a wrong one is wrong even with a good cookie', async () => {
    const fx = await fixture({ token: TOKEN });
    const { cookie } = await signIn(fx);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${fx.url}/`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${fx.url}/assets/${asset('css')}`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${fx.url}/api/v1/traces`, { headers: bearer })).status).toBe(200);
    const wrong = { cookie, authorization: 'Bearer guess' };
    const api = await fetch(`${fx.url}/api/v1/traces`, { headers: wrong });
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ message: 'The bearer token is wrong.' });
    const page = await fetch(`${fx.url}/`, { headers: wrong });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('That token is wrong.');
  });

  it('under a base path, the cookie is scoped to it', async () => {
    const fx = await fixture({ token: TOKEN, basePath: '/t' });
    const res = await fetch(`${fx.url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/t/');
    expect(res.headers.get('set-cookie')).toMatch(/; Path=\/t; HttpOnly; SameSite=Lax$/);
  });
});

describe('a checkout without the built page', () => {
  it('answers 501 naming the build command, and serves the files once they are built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'viewer-assets-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const telemetry = createTelemetry({ sinks: [createMemorySink()] });
    cleanups.push(() => telemetry.shutdown());
    const options = resolveOptions({ telemetry, token: null });
    const app = new Hono();
    mountViewer(app, options, new Authenticator(undefined, ''), pathToFileURL(`${dir}/`));
    // As the server answers its HttpErrors (tested with the server's own routes).
    app.onError((error, c) => {
      const e = error as HttpError;
      for (const [name, value] of Object.entries(e.headers)) c.header(name, value);
      return c.json({ code: e.code, message: e.message }, e.status as 501);
    });
    const missing = await app.request('/');
    expect(missing.status).toBe(501);
    expect(missing.headers.get('x-should-retry')).toBe('false');
    const body = (await missing.json()) as { code: string; message: string };
    expect(body.code).toBe('TELEMETRY_VIEWER_NOT_BUILT');
    expect(body.message).toContain('pnpm --filter @telemetry/server build');
    // A build made while the server runs is picked up: the failure is not remembered.
    cpSync(DIST, pathToFileURL(`${dir}/`), { recursive: true });
    expect((await app.request('/')).status).toBe(200);
    expect((await app.request(`/assets/${asset('js')}`)).status).toBe(200);
  });
});
