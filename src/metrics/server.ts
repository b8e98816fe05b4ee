import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/** More routes on the same server (the console); `handle` resolves true when it answered. */
export interface HttpFallback {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** `/metrics` (Prometheus text), `/healthz`, `/readyz`; anything else goes to `fallback` (404 without one). */
export async function serveMetrics(registry: Registry, health: HealthProbe, host: string, port: number, fallback?: HttpFallback): Promise<Server> {
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
      } else if (!(fallback && (await fallback.handle(req, res)))) {
        res.writeHead(404).end();
      }
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
