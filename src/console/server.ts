import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { readSecret } from '../config';
import { errorMessage } from '../errors';
import type { HttpExtension, PipelineView } from '../pipeline';
import { ChainStatus, conflictsPage } from './conflicts';
import type { ConsoleContext } from './context';
import { act, confirmPage, exceptionsPage } from './exceptions';
import { Guard } from './guard';
import { History } from './history';
import { html } from './html';
import { CHART_JS, CSS, page } from './layout';
import { overviewPage } from './overview';
import { rulesPage } from './rules';
import { SnapshotRates, snapshotsPage } from './snapshots';

/** uPlot, served from the installed package: the console needs no network beyond this server. */
function loadAssets(): Map<string, { type: string; body: string }> {
  const require = createRequire(import.meta.url);
  const file = (path: string) => readFileSync(require.resolve(path), 'utf8');
  return new Map([
    ['/assets/uplot.js', { type: 'text/javascript; charset=utf-8', body: file('uplot/dist/uPlot.iife.min.js') }],
    ['/assets/uplot.css', { type: 'text/css; charset=utf-8', body: file('uplot/dist/uPlot.min.css') }],
    ['/assets/console.css', { type: 'text/css; charset=utf-8', body: CSS }],
    ['/assets/console.js', { type: 'text/javascript; charset=utf-8', body: CHART_JS }],
  ]);
}

const SECURITY_HEADERS = {
  // Scripts and styles only from this server: nothing inline runs, nothing is fetched elsewhere.
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const MAX_FORM_BYTES = 16 * 1024;

/**
 * The operations console (see README "Console"): server-rendered pages at
 * `/` on the metrics server, built from what the running pipeline shows of
 * itself. `null` when `console.enabled` is false.
 */
export function createConsole(view: PipelineView): HttpExtension | null {
  const settings = view.loaded.config.console;
  if (!settings.enabled) return null;
  const token = settings.token ? readSecret(settings.token, 'console.token', view.env) : null;
  const guard = new Guard(token, view.loaded.config.metrics.host);
  const history = new History(() => view.stats());
  history.start();
  const ctx: ConsoleContext = {
    view, history, guard, actions: settings.actions,
    mode: `${settings.actions ? 'actions on' : 'read-only'}${guard.tokenRequired ? ' · token' : ''}`,
  };
  const assets = loadAssets();
  const chain = new ChainStatus();
  const rates = new SnapshotRates();

  async function get(path: string, query: URLSearchParams, res: ServerResponse): Promise<boolean> {
    const asset = assets.get(path);
    if (asset) return send(res, 200, asset.body, asset.type, { 'cache-control': 'max-age=3600' });
    switch (path) {
      case '/': return send(res, 200, await overviewPage(ctx));
      case '/snapshots': return send(res, 200, await snapshotsPage(ctx, rates));
      case '/conflicts': return send(res, 200, await conflictsPage(ctx, query, chain));
      case '/exceptions': return send(res, 200, await exceptionsPage(ctx, query));
      case '/rules': return send(res, 200, rulesPage(ctx));
      case '/exceptions/confirm': {
        if (!ctx.actions) return send(res, 403, message(ctx, 'Actions are off: set console.actions: true in the configuration to retry and discard here.'));
        const { status, body } = await confirmPage(ctx, query);
        return send(res, status, body);
      }
      default: return false;
    }
  }

  async function post(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (path !== '/exceptions/retry' && path !== '/exceptions/discard') return false;
    const form = await readForm(req);
    if (form === null) return send(res, 400, message(ctx, 'expected a form (application/x-www-form-urlencoded) of at most 16 KiB'));
    const refused = guard.postRefusal(req, form);
    if (refused) return send(res, 403, message(ctx, refused));
    if (!ctx.actions) return send(res, 403, message(ctx, 'Actions are off: set console.actions: true in the configuration to retry and discard here.'));
    const result = await act(ctx, path === '/exceptions/retry' ? 'retry' : 'discard', form);
    res.writeHead(303, { ...SECURITY_HEADERS, location: `/exceptions?${new URLSearchParams({ [result.ok ? 'done' : 'failed']: result.message })}` }).end();
    return true;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method === 'POST') {
      const form = await readForm(req);
      const cookie = form ? guard.login(form.get('token') ?? '') : null;
      if (cookie) {
        res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': cookie }).end();
        return true;
      }
      return send(res, 401, loginPage(ctx, 'That token is not right.'));
    }
    return send(res, guard.tokenRequired ? 200 : 404, guard.tokenRequired ? loginPage(ctx, null) : message(ctx, 'No token is configured: the console is open on loopback.'));
  }

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      try {
        if (url.pathname === '/login') return await login(req, res);
        const refused = guard.refusal(req);
        if (refused) {
          if (refused.login && req.method === 'GET' && !url.pathname.startsWith('/assets/')) {
            res.writeHead(303, { ...SECURITY_HEADERS, location: '/login' }).end();
            return true;
          }
          return send(res, refused.status, message(ctx, refused.message));
        }
        if (req.method === 'GET' || req.method === 'HEAD') return await get(url.pathname, url.searchParams, res);
        if (req.method === 'POST') return await post(url.pathname, req, res);
        return false;
      } catch (error) {
        view.logger.warn('console: page failed', { path: url.pathname, error: errorMessage(error) });
        return send(res, 500, message(ctx, `This page failed: ${errorMessage(error)}`));
      }
    },
    close() {
      history.stop();
    },
  };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8', extra: Record<string, string> = {}): true {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra }).end(body);
  return true;
}

function message(ctx: ConsoleContext, text: string): string {
  return page({ title: 'tandem console', path: '', body: html`<p class="flash bad">${text}</p>`, mode: ctx.mode });
}

function loginPage(ctx: ConsoleContext, problem: string | null): string {
  return page({
    title: 'Sign in', path: '/login', mode: ctx.mode,
    body: html`${problem ? html`<p class="flash bad">${problem}</p>` : ''}<form method="post" action="/login"><label>console token (console.token) <input type="password" name="token" required autofocus></label> <button type="submit">Open the console</button></form>`,
  });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
