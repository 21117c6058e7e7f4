import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { Context, Hono } from 'hono';
import type { Authenticator } from './auth.ts';
import { HttpError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/**
 * Where the page's built files are: `dist/viewer` of this package, written by
 * `scripts/build-viewer.mjs`. The same relative path works from `src/` (tests)
 * and from `dist/` (the published package).
 */
const ASSETS_DIR = new URL('../dist/viewer/', import.meta.url);

/** Paths of the page under the base path: the page itself and its assets. */
export const VIEWER_PATHS = Object.freeze({ page: '/', assets: '/assets/' });

interface Asset {
  readonly body: Uint8Array<ArrayBuffer>;
  /** The gzip form, for text worth compressing. */
  readonly gzip: Uint8Array<ArrayBuffer> | undefined;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

/** Asset names are plain file names: nothing a request sends is ever joined to a path. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The page's own scripts and styles only; it talks to this origin only. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function toAsset(file: Uint8Array, type: string): Asset {
  const body = new Uint8Array(file);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  const compress =
    body.length > 512 && !type.startsWith('image/') ? new Uint8Array(gzipSync(body)) : undefined;
  return {
    body,
    gzip: compress && compress.length < body.length ? compress : undefined,
    type,
    // Weak: the gzip and plain forms are the same content.
    etag: `W/"${hash}"`,
  };
}

interface Assets {
  readonly page: Asset;
  /** By file name. */
  readonly files: ReadonlyMap<string, Asset>;
}

async function loadAssets(dir: URL): Promise<Assets> {
  const page = toAsset(await readFile(new URL('index.html', dir)), TYPES.html!);
  const files = new Map<string, Asset>();
  for (const name of await readdir(new URL('assets/', dir))) {
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (!ASSET_NAME.test(name) || type === undefined) continue;
    files.set(name, toAsset(await readFile(new URL(`assets/${name}`, dir)), type));
  }
  return { page, files };
}

/** True when the client takes gzip (`Accept-Encoding`, honouring `q=0`). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

function send(c: Context, asset: Asset, headers: Record<string, string>): Response {
  const all: Record<string, string> = {
    ...COMMON_HEADERS,
    ...headers,
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
  };
  if (etagMatches(c.req.header('if-none-match'), asset.etag)) {
    return new Response(null, { status: 304, headers: all });
  }
  all['Content-Type'] = asset.type;
  const gzip = asset.gzip !== undefined && acceptsGzip(c.req.header('accept-encoding'));
  if (gzip) all['Content-Encoding'] = 'gzip';
  const body = gzip ? asset.gzip! : asset.body;
  all['Content-Length'] = String(body.length);
  return new Response(c.req.method === 'HEAD' ? null : body, { status: 200, headers: all });
}

const LOGIN_STYLE =
  'body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;line-height:1.5}' +
  'input{font:inherit;padding:.3rem .5rem;width:100%;margin:.5rem 0}button{font:inherit;padding:.3rem 1rem}' +
  '.wrong{color:#cf222e}code{font-size:.9em}@media(prefers-color-scheme:dark){body{background:#0f1318;color:#e2e8ef}}';
const LOGIN_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(LOGIN_STYLE).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page a browser gets without the token: a form that sends it as `?token=`. */
function loginPage(c: Context, wrong: boolean): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Telemetry: token needed</title><style>${LOGIN_STYLE}</style></head>
<body><h1>This telemetry server needs its token</h1>
${wrong ? '<p class="wrong">That token is wrong.</p>' : ''}
<form method="get" action="./">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Open the viewer</button></form>
<p>Or open this page once as <code>?token=&lt;token&gt;</code>: the browser keeps a session cookie
for this server. API clients send <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>`;
  return new Response(c.req.method === 'HEAD' ? null : html, {
    status: 401,
    headers: {
      ...COMMON_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': LOGIN_CSP,
      'WWW-Authenticate': 'Bearer realm="telemetry"',
    },
  });
}

export interface Viewer {
  /** The request is a read of the page or its assets: the viewer checks the token itself. */
  owns(c: Context): boolean;
}

/**
 * Serves the viewer page at `basePath + '/'` and its assets under
 * `basePath + '/assets/'`, behind the server's token: `?token=` on the page
 * checks it once, sets the session cookie and redirects to the same URL
 * without it (the fragment, which holds the page's own route, is kept by
 * the browser).
 */
export function mountViewer(
  app: Hono,
  options: ResolvedOptions,
  auth: Authenticator,
  assetsDir: URL = ASSETS_DIR,
): Viewer {
  const { basePath } = options;
  const pagePath = basePath + VIEWER_PATHS.page;
  const assetsPrefix = basePath + VIEWER_PATHS.assets;
  const privacy = auth.required ? 'private' : 'public';
  let loading: Promise<Assets> | undefined;
  const assets = async () => {
    loading ??= loadAssets(assetsDir).catch((error: unknown) => {
      loading = undefined; // built later (a dev build): the next request reads again
      throw new HttpError(
        501,
        'TELEMETRY_VIEWER_NOT_BUILT',
        `The viewer page's files are missing (${(error as Error).message}): build the package (pnpm --filter @telemetry/server build), or start the server with viewer: false.`,
        { headers: { 'x-should-retry': 'false' }, cause: error },
      );
    });
    return loading;
  };

  const owns = (c: Context) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return false;
    const path = c.req.path;
    return path === basePath || path === pagePath || path.startsWith(assetsPrefix);
  };

  app.use(async (c, next) => {
    if (!owns(c)) return next();
    const path = c.req.path;
    const url = new URL(c.req.url);
    if (path !== pagePath && path === basePath) {
      // The page's links are relative: it must be addressed as a folder.
      return c.redirect(`${pagePath}${url.search}`, 308);
    }
    if (path === pagePath) {
      const token = url.searchParams.get('token');
      if (token !== null) {
        if (auth.required && !auth.tokenMatches(token)) return loginPage(c, true);
        url.searchParams.delete('token');
        const headers: Record<string, string> = {
          ...COMMON_HEADERS,
          Location: `${pagePath}${url.search}`,
          'Cache-Control': 'no-store',
        };
        if (auth.required) headers['Set-Cookie'] = auth.sessionCookie(url.protocol === 'https:');
        return new Response(null, { status: 303, headers });
      }
      const result = auth.check(c.req.raw, true);
      if (result !== 'ok') return loginPage(c, result === 'wrong');
      return send(c, (await assets()).page, {
        // Revalidated on every visit (cheap: a 304), so a new build is picked up at once.
        'Cache-Control': `${privacy}, no-cache`,
        'Content-Security-Policy': PAGE_CSP,
        'X-Frame-Options': 'DENY',
      });
    }
    const result = auth.check(c.req.raw, true);
    if (result !== 'ok') {
      throw new HttpError(
        401,
        'TELEMETRY_UNAUTHORIZED',
        'This server needs its token: open the page with ?token=<token> once, or send Authorization: Bearer <token>.',
        { headers: { 'WWW-Authenticate': 'Bearer realm="telemetry"' } },
      );
    }
    const name = path.slice(assetsPrefix.length);
    const asset = ASSET_NAME.test(name) ? (await assets()).files.get(name) : undefined;
    if (asset === undefined) {
      throw new HttpError(
        404,
        'TELEMETRY_ASSET_NOT_FOUND',
        `No file ${path} on this server: the page names its files by content, so reload the page to get the current ones.`,
      );
    }
    // Names carry a hash of their content: a file never changes under its name.
    return send(c, asset, { 'Cache-Control': `${privacy}, max-age=31536000, immutable` });
  });

  return { owns };
}
