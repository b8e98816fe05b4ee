import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** The process is alive and its stages are running. */
  healthy(): boolean;
  /**
   * Sources have started, the state store answers and no component is
   * degraded or failed; `detail` (one line per component) is the body.
   */
  ready(): Promise<boolean | { ready: boolean; detail: string }>;
}

/** `/metrics` (Prometheus text), `/healthz`, `/readyz`. */
export async function serveMetrics(registry: Registry, health: HealthProbe, host: string, port: number): Promise<Server> {
  const server = createServer(async (req, res) => {
    try {
      if (req.url === '/metrics') {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      } else if (req.url === '/healthz') {
        const ok = health.healthy();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'failing\n');
      } else if (req.url === '/readyz') {
        const answer = await health.ready();
        const { ready, detail } = typeof answer === 'boolean' ? { ready: answer, detail: '' } : answer;
        const body = `${ready ? 'ready' : 'not ready'}\n${detail ? `${detail}\n` : ''}`;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
      } else {
        res.writeHead(404).end();
      }
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
