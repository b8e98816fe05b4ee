import type { EmbeddedServer } from './embedded';

/**
 * The environment the demo's configuration reads (its `{ env: … }` secrets),
 * and the shell lines that give it to the CLI, so `tandem status` (and every
 * other command) reaches the kept databases and the demo's metrics server.
 */
export function demoEnv(server: Pick<EmbeddedServer, 'urls'>): Record<string, string> {
  return { TANDEM_STATE_URL: server.urls.tandem, ERP_DATABASE_URL: server.urls.erp, CRM_DATABASE_URL: server.urls.crm };
}

/** `export NAME='value'` lines (POSIX shells), TANDEM_CONFIG first; the metrics port is the one really bound. */
export function exportLines(configFile: string, server: Pick<EmbeddedServer, 'urls'>, metricsPort: number | null): string[] {
  const variables: Record<string, string> = { TANDEM_CONFIG: configFile, ...demoEnv(server) };
  if (metricsPort !== null) variables.TANDEM_METRICS_PORT = String(metricsPort);
  return Object.entries(variables).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
}

/** Single quotes keep every character as it is; a single quote inside becomes '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
