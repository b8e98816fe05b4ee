import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { loopbackHost } from '../config';
import { ConfigError } from '../errors';

/**
 * Who may see the console and post to it.
 *
 * - A token (`console.token`) is asked for once per browser on /login and
 *   kept in an HttpOnly, SameSite=Strict cookie holding a hash of it (or sent
 *   as `Authorization: Bearer <token>` by scripts). Required when the server
 *   listens beyond loopback.
 * - Without a token, only requests whose Host names a loopback address are
 *   answered: a web page elsewhere cannot reach the console through DNS
 *   rebinding (its Host would be the attacker's name).
 * - Every POST carries a CSRF token only this process's pages hold, and
 *   must come from the console's own origin (Origin / Sec-Fetch-Site).
 */
export class Guard {
  private readonly csrfSecret = randomBytes(32);
  private readonly session: Buffer | null;

  constructor(private readonly token: string | null, host: string) {
    if (token !== null && token.length < 16) throw new ConfigError('console.token must be at least 16 characters', { path: 'console.token' });
    if (token === null && !isLoopback(host)) {
      throw new ConfigError(`the console is served on ${host}, beyond loopback: set console.token (a secret), or console.enabled: false, or metrics.host: 127.0.0.1`, { path: 'console.token' });
    }
    this.session = token === null ? null : createHash('sha256').update(`tandem-console:${token}`).digest();
  }

  get tokenRequired(): boolean {
    return this.session !== null;
  }

  /** Null when the request may proceed; otherwise why not (and whether to offer the login form). */
  refusal(req: IncomingMessage): { status: number; message: string; login: boolean } | null {
    if (this.session === null) {
      const host = hostName(req.headers.host);
      return host !== null && isLoopback(host) ? null : { status: 403, message: 'the console answers loopback host names only (set console.token to serve it beyond loopback)', login: false };
    }
    if (this.matchesToken(bearerOf(req)) || this.matchesSession(cookieOf(req, COOKIE))) return null;
    return { status: 401, message: 'a token is needed', login: true };
  }

  /** Checks a token typed on /login; the cookie to set when it is right. */
  login(token: string): string | null {
    if (!this.matchesToken(token)) return null;
    return `${COOKIE}=${this.session!.toString('hex')}; HttpOnly; SameSite=Strict; Path=/`;
  }

  csrfToken(): string {
    return createHmac('sha256', this.csrfSecret).update('csrf').digest('hex');
  }

  /** Null when a POST may be acted on; otherwise why not. */
  postRefusal(req: IncomingMessage, form: URLSearchParams): string | null {
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site})`;
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== 'null' && hostOfOrigin(origin) !== (req.headers.host ?? '').toLowerCase()) return `request from another origin refused (${origin})`;
    if (!safeEqual(form.get('csrf') ?? '', this.csrfToken())) return 'the form is stale or forged (CSRF token mismatch): reload the page and try again';
    return null;
  }

  private matchesToken(given: string | null): boolean {
    return given !== null && this.session !== null && timingSafeEqual(createHash('sha256').update(`tandem-console:${given}`).digest(), this.session);
  }

  private matchesSession(hex: string | null): boolean {
    return hex !== null && this.session !== null && safeEqual(hex, this.session.toString('hex'));
  }
}

const COOKIE = 'tandem_console';

export const isLoopback = loopbackHost;

/** The host name of a Host header (`127.0.0.1:9464`, `[::1]:9464`), without the port. */
function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return match ? match[1]! : null;
}

function hostOfOrigin(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

function bearerOf(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match ? match[1]!.trim() : null;
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
