import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What a request's credentials prove. */
export type AuthResult = 'ok' | 'missing' | 'wrong';

/**
 * The optional token, as API clients and browsers present it. API clients
 * send `Authorization: Bearer <token>`. A browser gets a session cookie
 * once it opened the page with `?token=<token>` (see the viewer); the cookie
 * holds a value derived from the token, not the token, and counts only for
 * reads from the page's own origin, so another site (or another port of the
 * same host) cannot use it to write or prune.
 */
export class Authenticator {
  readonly required: boolean;
  private readonly expected: Buffer | undefined;
  private readonly sessionValue: string | undefined;
  /** Name of the session cookie: per token, so servers with different tokens on one host keep theirs. */
  readonly cookieName: string | undefined;

  constructor(
    token: string | undefined,
    private readonly basePath: string,
  ) {
    this.required = token !== undefined;
    if (token === undefined) return;
    this.expected = digest(token);
    this.sessionValue = createHmac('sha256', token)
      .update('telemetry-viewer-session-v1')
      .digest('base64url');
    const id = createHmac('sha256', token).update('telemetry-viewer-cookie-name-v1').digest('hex');
    this.cookieName = `telemetry_session_${id.slice(0, 10)}`;
  }

  /** True when `candidate` is the token (constant time). */
  tokenMatches(candidate: string): boolean {
    return this.expected !== undefined && timingSafeEqual(digest(candidate), this.expected);
  }

  /**
   * Checks a request: a bearer header decides alone (a wrong one is wrong
   * even with a valid cookie); else the session cookie, when `cookieCounts`
   * (the route is a read the page makes) and the request comes from the
   * page's own origin or is a top-level navigation (a link to a trace).
   */
  check(request: Request, cookieCounts: boolean): AuthResult {
    if (!this.required) return 'ok';
    const header = request.headers.get('authorization');
    const bearer = header === null ? null : /^Bearer\s+(.+)$/i.exec(header);
    if (bearer) return this.tokenMatches(bearer[1]!.trim()) ? 'ok' : 'wrong';
    if (!cookieCounts) return 'missing';
    const cookie = readCookie(request.headers.get('cookie'), this.cookieName!);
    // A stale or forged cookie is no credential: the browser is asked to sign in again.
    if (cookie === undefined || !sameValue(cookie, this.sessionValue!)) return 'missing';
    return fromOwnOrigin(request) ? 'ok' : 'missing';
  }

  /** The Set-Cookie value that signs a browser in for this server (a session cookie). */
  sessionCookie(secure: boolean): string {
    return `${this.cookieName}=${this.sessionValue}; Path=${this.basePath || '/'}; HttpOnly; SameSite=Lax${
      secure ? '; Secure' : ''
    }`;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameValue(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** One cookie's value from a Cookie header; undefined when absent. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The request was made by a page of this very origin, typed into the address
 * bar, or is a top-level navigation (which shows the answer to the user, not
 * to the site that linked it). Browsers say so in Sec-Fetch-Site and Origin;
 * a client that sends neither is not a browser acting for another site.
 */
function fromOwnOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    const navigation =
      request.headers.get('sec-fetch-mode') === 'navigate' &&
      (request.method === 'GET' || request.method === 'HEAD');
    if (!navigation) return false;
  }
  const origin = request.headers.get('origin');
  if (origin !== null) {
    try {
      return new URL(origin).host === new URL(request.url).host;
    } catch {
      return false;
    }
  }
  return true;
}
