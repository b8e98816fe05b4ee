/**
 * Authorization headers for a REST target. Secrets are resolved once, kept in
 * memory, and never put in an error message or a log line.
 */
import { ApplyError } from '../../errors';

export type RestAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'apiKey'; header: string; value: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };

export interface AuthProvider {
  headers(): Promise<Record<string, string>>;
  /** The target answered 401: drop what is cached. True when trying once more may help. */
  invalidate(): boolean;
}

export function authProvider(auth: RestAuth, timeoutMs: number, now: () => number = Date.now): AuthProvider {
  switch (auth.kind) {
    case 'none':
      return { headers: async () => ({}), invalidate: () => false };
    case 'bearer':
      return { headers: async () => ({ authorization: `Bearer ${auth.token}` }), invalidate: () => false };
    case 'apiKey':
      return { headers: async () => ({ [auth.header.toLowerCase()]: auth.value }), invalidate: () => false };
    case 'basic': {
      const value = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      return { headers: async () => ({ authorization: value }), invalidate: () => false };
    }
    case 'oauth2':
      return new OAuth2ClientCredentials(auth, timeoutMs, now);
  }
}

/** Refresh this long before the token's stated expiry. */
const EXPIRY_SKEW_MS = 5_000;

/** OAuth2 client credentials grant (RFC 6749 §4.4), the token cached until shortly before it expires. */
export class OAuth2ClientCredentials implements AuthProvider {
  private token: { value: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;
  /** Tokens fetched (for tests and metrics). */
  fetched = 0;

  constructor(
    private readonly auth: Extract<RestAuth, { kind: 'oauth2' }>,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.accessToken()}` };
  }

  invalidate(): boolean {
    this.token = null;
    return true;
  }

  private accessToken(): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt) return Promise.resolve(this.token.value);
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.auth.clientId, client_secret: this.auth.clientSecret });
    if (this.auth.scope) body.set('scope', this.auth.scope);
    let response: Response;
    try {
      response = await fetch(this.auth.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ApplyError(`OAuth2 token request failed: ${(error as Error).name}`, { retriable: true, code: 'REST_AUTH_UNAVAILABLE' }, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      // The token endpoint's error (invalid_client, …), never the credentials sent.
      const retriable = response.status >= 500 || response.status === 429;
      throw new ApplyError(`OAuth2 token request answered ${response.status}: ${text.slice(0, 500)}`, { retriable, code: 'REST_AUTH_FAILED' });
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new ApplyError('OAuth2 token response is not JSON', { retriable: true, code: 'REST_AUTH_FAILED' });
    }
    if (typeof parsed.access_token !== 'string') throw new ApplyError('OAuth2 token response has no access_token', { retriable: true, code: 'REST_AUTH_FAILED' });
    const expiresIn = typeof parsed.expires_in === 'number' ? parsed.expires_in * 1000 : 3_600_000;
    this.fetched += 1;
    this.token = { value: parsed.access_token, expiresAt: this.now() + Math.max(0, expiresIn - Math.min(EXPIRY_SKEW_MS, expiresIn / 10)) };
    return parsed.access_token;
  }
}
