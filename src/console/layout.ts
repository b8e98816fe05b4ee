import { html, raw, type Html } from './html';

export const PAGES = [
  { path: '/', title: 'Overview' },
  { path: '/snapshots', title: 'Snapshots' },
  { path: '/conflicts', title: 'Conflicts' },
  { path: '/exceptions', title: 'Exceptions' },
  { path: '/rules', title: 'Rules' },
] as const;

export interface PageOptions {
  title: string;
  path: string;
  body: Html;
  /** Reload every this many seconds (overview, snapshots). */
  refreshSeconds?: number;
  /** Load uPlot and the chart script. */
  charts?: boolean;
  /** Shown right of the navigation: the instance, read-only or actions on. */
  mode: string;
}

export function page(options: PageOptions): string {
  const nav = PAGES.map((p) => html`<a href="${p.path}"${raw(p.path === options.path ? ' aria-current="page"' : '')}>${p.title}</a>`);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${options.title} · tandem</title>
<link rel="stylesheet" href="/assets/console.css">
${options.charts ? html`<link rel="stylesheet" href="/assets/uplot.css"><script src="/assets/uplot.js" defer></script><script src="/assets/console.js" defer></script>` : ''}
</head><body>
<header><strong>tandem</strong><nav>${nav}</nav><span class="mode">${options.mode}</span></header>
<main><h1>${options.title}</h1>${options.body}</main>
<footer>rendered ${new Date().toISOString()}</footer>
</body></html>`.text;
}

/** A table from headers and rows of cells (each cell escaped unless Html). */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<Html | string | number | null>>, empty = 'none'): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table>`;
}

export function badge(state: string, text: string = state): Html {
  return html`<span class="badge ${state}">${text}</span>`;
}

/** `42s`, `7m 3s`, `2h 5m`, `3d 4h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) [v, u] = [v / 1024, u + 1];
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export const CSS = `
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #24292f; color: #fff; }
header nav a { color: #d0d7de; text-decoration: none; margin-right: 1rem; }
header nav a[aria-current=page] { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
header .mode { margin-left: auto; color: #d0d7de; font-size: 12px; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { font-size: 20px; margin: .2rem 0 1rem; } h2 { font-size: 16px; margin: 1.4rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: .5rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eaeef2; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre, .value { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.degraded, .badge.stalled, .badge.warn { background: var(--warn); } .badge.failed, .badge.bad { background: var(--bad); }
.banner { padding: .8rem 1rem; border-radius: 6px; margin-bottom: 1rem; color: #fff; font-size: 16px; }
.banner.ok { background: var(--ok); } .banner.degraded, .banner.stalled { background: var(--warn); } .banner.failed { background: var(--bad); }
.banner ul { margin: .3rem 0 0; padding-left: 1.2rem; font-size: 14px; }
.empty { color: var(--muted); font-style: italic; }
.note { color: var(--muted); }
.flash { background: #ddf4ff; border: 1px solid #54aeff; padding: .5rem .8rem; border-radius: 6px; margin-bottom: 1rem; }
.flash.bad { background: #ffebe9; border-color: var(--bad); }
.chart { background: #fff; border: 1px solid var(--line); padding: .4rem; margin-bottom: .5rem; min-height: 40px; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, textarea, button { font: inherit; padding: .25rem .4rem; }
button { cursor: pointer; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
button.primary { background: var(--ok); color: #fff; border-color: var(--ok); }
.winner { font-weight: 600; color: var(--ok); }
details summary { cursor: pointer; color: #0969da; }
footer { color: var(--muted); font-size: 12px; padding: 1rem 1.2rem; }
`;

/** Draws every `.chart` from its JSON block with uPlot (loaded from /assets/uplot.js, never a CDN). */
export const CHART_JS = `
document.querySelectorAll('.chart[data-series]').forEach(function (el) {
  var block = document.getElementById(el.getAttribute('data-series'));
  if (!block || typeof uPlot === 'undefined') return;
  var data = JSON.parse(block.textContent);
  var colors = ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#57606a'];
  var series = [{}].concat(data.names.map(function (name, i) { return { label: name, stroke: colors[i % colors.length], width: 2 }; }));
  var width = Math.max(320, el.clientWidth - 10);
  new uPlot({ width: width, height: 180, series: series, axes: [{}, { label: data.unit }], scales: { x: { time: true } } }, [data.x].concat(data.ys), el);
});
`;

/**
 * A source position for people: one shaped as the PostgreSQL source writes
 * it (`<LSN 16 hex>:<index 8 hex>`, see capture/postgres/lsn.ts) as the LSN
 * PostgreSQL prints (`0/575CB8E0`); any other as stored (the raw position
 * stays in the cell's title).
 */
export function positionText(position: string | undefined): string {
  if (!position) return '-';
  const lsn = /^([0-9A-F]{8})([0-9A-F]{8}):[0-9A-F]{8}$/.exec(position);
  if (!lsn) return position;
  const trim = (hex: string) => hex.replace(/^0+(?=.)/, '');
  return `${trim(lsn[1]!)}/${trim(lsn[2]!)}`;
}
