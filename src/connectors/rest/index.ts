/** REST: a system written through its HTTP API (a target only: nothing is captured from it). */
import { readSecret } from '../../config';
import { restFindings } from '../../preflight';
import type { Connector } from '../types';
import { restProblems } from './consistency';
import { createRestTarget } from './target';

export { restSettings, type RestSettings, type RestEndpointConfig, type RestAuthConfig } from './schema';

export const rest: Connector = {
  type: 'rest',
  label: 'REST',
  dialect: null,
  config: { settingsKey: 'rest', consistency: restProblems },
  target: createRestTarget,
  preflight: async ({ config, system, env, timeoutMs }) => ({ findings: await restFindings(config, system, env, timeoutMs) }),
  status: async () => ({ lagSeconds: null, retainedLog: 'n/a' }),
  alertWebhook: ({ system, spec, env }) => (spec.rest?.alertWebhook ? readSecret(spec.rest.alertWebhook, `systems.${system}.rest.alertWebhook`, env) : undefined),
};
