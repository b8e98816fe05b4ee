import { RestTarget, type RestAuth } from '../../apply';
import { readSecret } from '../../config';
import { ConfigError } from '../../errors';
import type { TargetContext } from '../types';
import type { RestAuthConfig } from './schema';

/** A REST system's target, its secrets (URL, credentials, webhook) read now. */
export function createRestTarget({ config, system, env, url, logger }: TargetContext): RestTarget {
  const rest = config.systems[system]!.rest;
  const at = `systems.${system}.rest`;
  if (!rest) throw new ConfigError(`REST system ${system} has no rest settings`, { system, path: at });
  const secret = (ref: Parameters<typeof readSecret>[0], path: string) => readSecret(ref, `${at}.${path}`, env);
  return new RestTarget({
    system,
    baseUrl: url(),
    auth: restAuth(rest.auth, secret),
    timeoutMs: rest.timeoutMs,
    rateLimitPerSecond: rest.rateLimitPerSecond,
    rateLimitBurst: rest.rateLimitBurst,
    circuitBreaker: rest.circuitBreaker,
    alertWebhook: rest.alertWebhook ? secret(rest.alertWebhook, 'alertWebhook') : undefined,
    endpoints: rest.endpoints,
    concurrency: config.pipeline.applyConcurrency,
    log: logger ? (level, message, meta) => logger.log(level, message, meta) : undefined,
  });
}

function restAuth(auth: RestAuthConfig | undefined, secret: (ref: Parameters<typeof readSecret>[0], path: string) => string): RestAuth {
  if (!auth) return { kind: 'none' };
  if ('bearer' in auth) return { kind: 'bearer', token: secret(auth.bearer, 'auth.bearer') };
  if ('apiKey' in auth) return { kind: 'apiKey', header: auth.apiKey.header, value: secret(auth.apiKey.value, 'auth.apiKey.value') };
  if ('basic' in auth) return { kind: 'basic', username: auth.basic.username, password: secret(auth.basic.password, 'auth.basic.password') };
  const { tokenUrl, clientId, clientSecret, scope } = auth.oauth2;
  return { kind: 'oauth2', tokenUrl, clientId, clientSecret: secret(clientSecret, 'auth.oauth2.clientSecret'), scope };
}
