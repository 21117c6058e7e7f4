import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { Authenticator } from './auth.ts';
import {
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
} from './core-api.ts';
import { HttpError, TelemetryServerError } from './errors.ts';
import { PipelineGuard } from './guard.ts';
import { mountLlamaStackRoutes } from './llama-routes.ts';
import {
  isLoopback,
  type ResolvedOptions,
  resolveOptions,
  type TelemetryServerOptions,
} from './options.ts';
import { mountOtlpRoutes, OTLP_PATHS, otlpEncodingOf, otlpError } from './otlp/routes.ts';
import { mountSearchRoutes } from './search-routes.ts';
import { mountViewer, type Viewer } from './viewer-route.ts';

/** Where a listening server answers. */
export interface TelemetryServerAddress {
  /** Base URL of the Llama Stack API (and OTLP), e.g. `http://127.0.0.1:8321`: a llama-stack-client `baseURL`. */
  readonly url: string;
  readonly port: number;
  /** Base URL for OTLP exporters (`OTEL_EXPORTER_OTLP_ENDPOINT`): the OTLP port's, else `url`. */
  readonly otlpUrl: string;
  readonly otlpPort: number;
}

export interface TelemetryServer {
  /** The Hono app with every route: mount it in an app of your own (`parent.route('/', server.app)`). */
  readonly app: Hono;
  /** Answers one request, fetch-style: for any runtime or framework that speaks Request/Response. */
  fetch(request: Request): Promise<Response>;
  /** Starts listening on `host`:`port` (and `otlpPort`); resolves once both accept connections. */
  listen(): Promise<TelemetryServerAddress>;
  /**
   * Stops accepting connections, answers the requests in flight (cutting
   * connections still busy after `closeTimeoutMs`), then flushes the pipeline.
   * The pipeline itself stays open: shutting it down is its owner's call.
   */
  close(): Promise<void>;
  /** The addresses, once listening. */
  readonly address: TelemetryServerAddress | undefined;
  [Symbol.asyncDispose](): Promise<void>;
}

interface State {
  closing: boolean;
  inFlight: number;
  idle: (() => void)[];
}

/**
 * Serves a telemetry pipeline over HTTP: the Llama Stack telemetry API and
 * OTLP/HTTP ingest. A library first: use `fetch` or `app` inside your own
 * server, or `listen()` to run it alone.
 */
export function createTelemetryServer(options: TelemetryServerOptions): TelemetryServer {
  const resolved = resolveOptions(options);
  const guard = new PipelineGuard(
    resolved.telemetry,
    resolved.maxPendingEvents,
    resolved.retryAfterSeconds,
  );
  const state: State = { closing: false, inFlight: 0, idle: [] };
  const app = buildApp(resolved, guard, state, true);
  const otlpApp = buildApp(resolved, guard, state, false);
  const servers: Server[] = [];
  let address: TelemetryServerAddress | undefined;
  let listenPromise: Promise<TelemetryServerAddress> | undefined;
  let closePromise: Promise<void> | undefined;

  const startServer = (handler: Hono, port: number): Promise<Server> => {
    const listener = getRequestListener(handler.fetch, { overrideGlobalObjects: false });
    const server = createServer(
      {
        requestTimeout: resolved.requestTimeoutMs,
        headersTimeout: resolved.requestTimeoutMs,
        keepAliveTimeout: resolved.keepAliveTimeoutMs,
        // How often Node checks the two timeouts above (its default is 30 s).
        connectionsCheckingInterval: Math.min(1_000, resolved.requestTimeoutMs),
      },
      listener,
    );
    // A connection silent this long (a client that stopped reading) is cut.
    server.setTimeout(resolved.requestTimeoutMs);
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new TelemetryServerError(
            `Cannot listen on ${resolved.host}:${port} (${error.code ?? error.message}): ${
              error.code === 'EADDRINUSE'
                ? 'the port is taken; choose another (0 picks a free one)'
                : 'check the host and port options'
            }.`,
            { cause: error },
          ),
        );
      };
      server.once('error', onError);
      // A deep accept queue: bursts of connections wait instead of being reset
      // while the event loop is busy (e.g. writing a batch to SQLite).
      server.listen({ port, host: resolved.host, backlog: 4096 }, () => {
        server.off('error', onError);
        resolve(server);
      });
    });
  };

  const urlOf = (server: Server) => {
    const { port } = server.address() as AddressInfo;
    const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
    return { url: `http://${host}:${port}${resolved.basePath}`, port };
  };

  const start = async (): Promise<TelemetryServerAddress> => {
    if (!resolved.token && !isLoopback(resolved.host)) {
      resolved.warn(
        `[telemetry-server] listening on ${resolved.host} without a token: anyone who reaches this address can read and write the store. Set the token option or TELEMETRY_SERVER_TOKEN.`,
      );
    }
    const main = await startServer(app, resolved.port);
    servers.push(main);
    const mainAddress = urlOf(main);
    let otlp = mainAddress;
    if (resolved.otlpPort !== undefined && resolved.otlpPort !== mainAddress.port) {
      try {
        const otlpServer = await startServer(otlpApp, resolved.otlpPort);
        servers.push(otlpServer);
        otlp = urlOf(otlpServer);
      } catch (error) {
        await new Promise((resolve) => main.close(resolve));
        servers.length = 0;
        throw error;
      }
    }
    address = {
      url: mainAddress.url,
      port: mainAddress.port,
      otlpUrl: otlp.url,
      otlpPort: otlp.port,
    };
    return address;
  };

  const server: TelemetryServer = {
    app,
    fetch: async (request) => app.fetch(request),
    get address() {
      return address;
    },
    listen() {
      if (state.closing) {
        return Promise.reject(
          new TelemetryServerError('This server was closed: create a new one.'),
        );
      }
      // Concurrent calls share one start; a failed start can be tried again.
      listenPromise ??= start().catch((error: unknown) => {
        listenPromise = undefined;
        throw error;
      });
      return listenPromise;
    },
    close() {
      closePromise ??= (async () => {
        state.closing = true;
        const closed = servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        );
        const drained = Promise.all([
          ...closed,
          new Promise<void>((resolve) => {
            if (state.inFlight === 0) resolve();
            else state.idle.push(resolve);
          }),
        ]);
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, resolved.closeTimeoutMs);
        });
        await Promise.race([drained, deadline]);
        clearTimeout(timer);
        for (const s of servers) s.closeAllConnections();
        await Promise.all(closed);
        await resolved.telemetry.flush();
      })();
      return closePromise;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

function buildApp(
  options: ResolvedOptions,
  guard: PipelineGuard,
  state: State,
  withLlamaStack: boolean,
): Hono {
  const app = options.basePath ? new Hono().basePath(options.basePath) : new Hono();
  const otlpPaths = new Set(Object.values(OTLP_PATHS).map((p) => options.basePath + p));
  const isOtlp = (c: Context) => otlpPaths.has(c.req.path);
  const auth = new Authenticator(options.token, options.basePath);
  const metricsQueryPrefix = `${options.basePath}/v1/telemetry/metrics/`;
  // The page's session cookie counts for reads only: GETs, and the one query that is a POST.
  const cookieCounts = (c: Context) =>
    withLlamaStack &&
    (c.req.method === 'GET' ||
      c.req.method === 'HEAD' ||
      (c.req.method === 'POST' && c.req.path.startsWith(metricsQueryPrefix)));
  let viewer: Viewer | undefined;

  app.use(async (c, next) => {
    state.inFlight += 1;
    try {
      if (state.closing) {
        throw new HttpError(
          503,
          'TELEMETRY_SERVER_CLOSING',
          'The server is shutting down; retry against a running server.',
          { headers: { 'Retry-After': String(options.retryAfterSeconds) } },
        );
      }
      const host = new URL(c.req.url).hostname.toLowerCase();
      if (options.allowedHosts && !options.allowedHosts.has(host)) {
        throw new HttpError(
          403,
          'TELEMETRY_HOST_NOT_ALLOWED',
          `Host '${host}' is not allowed: address this server by a loopback name, or list the name in the allowedHosts option.`,
        );
      }
      // The page and its assets check the token themselves (a browser gets a sign-in page).
      const result = viewer?.owns(c) ? 'ok' : auth.check(c.req.raw, cookieCounts(c));
      if (result !== 'ok') {
        throw new HttpError(
          401,
          'TELEMETRY_UNAUTHORIZED',
          result === 'wrong'
            ? 'The bearer token is wrong.'
            : 'This server needs a bearer token: send Authorization: Bearer <token>.',
          { headers: { 'WWW-Authenticate': 'Bearer realm="telemetry"' } },
        );
      }
      await next();
    } finally {
      state.inFlight -= 1;
      if (state.closing) {
        c.header('Connection', 'close');
        if (state.inFlight === 0) for (const resolve of state.idle.splice(0)) resolve();
      }
    }
  });

  if (withLlamaStack) {
    if (options.viewer) viewer = mountViewer(app, options, auth);
    mountLlamaStackRoutes(app, options, guard);
    mountSearchRoutes(app, options);
  }
  mountOtlpRoutes(app, options, guard);

  app.notFound((c) =>
    c.json(
      {
        code: 'TELEMETRY_ROUTE_NOT_FOUND',
        message: `No route ${c.req.method} ${c.req.path} on this server${
          withLlamaStack
            ? ''
            : ' (this port serves OTLP only: POST /v1/traces, /v1/metrics, /v1/logs)'
        }.`,
      },
      404,
    ),
  );

  app.onError((error, c) => {
    const http = toHttpError(error);
    if (!http) {
      options.onError(error);
      return c.json(
        {
          code: 'TELEMETRY_INTERNAL',
          message: 'The server failed to answer this request; its log has the details.',
        },
        500,
      );
    }
    if (isOtlp(c)) return otlpError(c, http, otlpEncodingOf(c.req.raw));
    for (const [name, value] of Object.entries(http.headers)) c.header(name, value);
    return c.json(
      {
        code: http.code,
        message: http.message,
        ...(http.issues ? { issues: http.issues } : {}),
      },
      http.status as never,
    );
  });
  return app;
}

/** The HTTP answer for an error of this toolkit; undefined for anything unexpected. */
function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof TelemetryValidationError) {
    return new HttpError(400, error.code, error.message, { issues: error.issues });
  }
  if (error instanceof TelemetryNotFoundError) return new HttpError(404, error.code, error.message);
  if (error instanceof TelemetryStoreRequiredError || error instanceof TelemetryConfigError) {
    // The server's setup lacks something: retrying will not help.
    return new HttpError(501, error.code, error.message, {
      headers: { 'x-should-retry': 'false' },
    });
  }
  if (error instanceof TelemetryError && error.code === 'TELEMETRY_SINK_CLOSED') {
    return new HttpError(503, error.code, error.message);
  }
  return undefined;
}
