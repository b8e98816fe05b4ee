import { readSecret, secretOrigin, type SecretRef } from '../config';
import { errorMessage, isUnreachable, TandemError } from '../errors';

/**
 * A server the CLI connects to, with what configured it: a failure then
 * names the system, the address, the setting and the variable or file the
 * setting read — never the password.
 */
export interface Endpoint {
  /** What it is for a person: "state store", "system erp". */
  what: string;
  /** The configuration path of the URL: `stateStore.url`. */
  setting: string;
  ref: SecretRef;
  url: string;
}

export function endpoint(what: string, setting: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Endpoint {
  return { what, setting, ref, url: readSecret(ref, setting, env) };
}

/** A server the CLI could not reach or was refused by. */
export class ConnectionError extends TandemError {
  override readonly code: string = 'CONNECTION_FAILED';
  override readonly retriable: boolean = true;
}

/**
 * `state store not reachable at 127.0.0.1:5433 (stateStore.url from
 * TANDEM_STATE_URL): ECONNREFUSED`. Refusals after connecting (a wrong
 * password, a missing database) say "refused the connection" instead.
 */
export function connectionError(target: Endpoint, error: unknown): ConnectionError {
  const verb = isUnreachable(error) ? 'not reachable at' : 'refused the connection at';
  const message = `${target.what} ${verb} ${address(target.url)} (${target.setting} from ${secretOrigin(target.ref)}): ${redact(reason(error), target.url)}`;
  return new ConnectionError(message, {}, { cause: error });
}

/** Runs `connect` (a first query), turning its failure into a ConnectionError naming `target`. */
export async function reach<T>(target: Endpoint, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw connectionError(target, error);
  }
}

/** `host:port` of a URL, without user or password; the text itself when it is no URL. */
export function address(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || DEFAULT_PORTS[parsed.protocol] || '';
    return `${parsed.hostname}${port ? `:${port}` : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}

const DEFAULT_PORTS: Record<string, string> = { 'postgres:': '5432', 'postgresql:': '5432', 'mysql:': '3306', 'mariadb:': '3306', 'redis:': '6379', 'http:': '80', 'https:': '443' };

/** The driver's code when it has one (ECONNREFUSED), else its message; the first of an AggregateError (IPv4 and IPv6 tried). */
function reason(error: unknown): string {
  const first = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  const e = first as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  return errorMessage(first);
}

/** Drivers sometimes quote the connection string; the password never reaches the terminal. */
function redact(text: string, url: string): string {
  let out = text.split(url).join(address(url));
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join('***');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}
