import { verifyConflictChain, queryConflicts, type ChainVerdict, type ConflictFilter, type ConflictRow } from '../store';
import type { ConsoleContext } from './context';
import { html, type Html } from './html';
import { badge, page } from './layout';
import { within } from './read';
import { explainConflict, type Competitor } from './why';

export const DECISIONS = ['rejected', 'accepted', 'held', 'resolved', 'discarded', 'target-rejected', 'exception-resolved', 'repair'] as const;
const LIMIT = 100;
/** A whole-log verification is reused this long (it reads every row). */
const VERIFY_EVERY_MS = 30_000;

/** The chain's last verification, shared by page loads. */
export class ChainStatus {
  private last: { at: number; verdict: ChainVerdict } | null = null;
  private running: Promise<void> | null = null;

  /** The last verdict; starts a new verification when it is older than VERIFY_EVERY_MS and waits for it a little. */
  async current(ctx: ConsoleContext): Promise<{ at: number; verdict: ChainVerdict } | null> {
    if ((!this.last || Date.now() - this.last.at > VERIFY_EVERY_MS) && !this.running) {
      this.running = verifyConflictChain(ctx.view.store, ctx.view.schema)
        .then((verdict) => void (this.last = { at: Date.now(), verdict }))
        .catch((error: unknown) => {
          ctx.view.logger.warn('console: conflict chain verification failed', { error: String(error) });
        })
        .finally(() => (this.running = null));
    }
    if (this.running) await within('chain verification', () => this.running!, 3_000);
    return this.last;
  }
}

/** Filters as the query string gives them (the names `tandem conflicts list` uses). */
export function filterOf(query: URLSearchParams): { filter: ConflictFilter; problem: string | null } {
  const text = (name: string) => query.get(name)?.trim() || undefined;
  const filter: ConflictFilter = {
    entity: text('entity'), key: text('key'), field: text('field'), system: text('system'), ruleContains: text('rule'),
    decision: (DECISIONS as readonly string[]).includes(text('decision') ?? '') ? text('decision') : undefined,
  };
  const problems: string[] = [];
  for (const name of ['since', 'until'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) problems.push(`${name}: "${value}" is not a time (2026-12-01T12:00 or 2026-12-01T12:00:00Z)`);
    else filter[name] = new Date(ms);
  }
  return { filter, problem: problems.length > 0 ? problems.join('; ') : null };
}

export async function conflictsPage(ctx: ConsoleContext, query: URLSearchParams, chain: ChainStatus): Promise<string> {
  const { filter, problem } = filterOf(query);
  const { view } = ctx;
  const rows = await within('state store (conflict log)', () => queryConflicts(view.store, view.schema, filter, LIMIT, true));
  const status = await chain.current(ctx);
  const list = rows.ok ? [...rows.value].reverse() : [];
  const competitors = await within('state store (journal)', () => Promise.all(list.map((r) => competitorOf(ctx, r))));
  const body = html`
${chainBanner(status)}
${filterForm(ctx, query)}
${problem ? html`<p class="flash bad">${problem}</p>` : ''}
${rows.ok ? '' : html`<p class="flash bad">${rows.problem}</p>`}
<p class="note">${list.length} entr${list.length === 1 ? 'y' : 'ies'}, newest first${list.length === LIMIT ? ` (the newest ${LIMIT}; narrow the filters for older ones)` : ''}. Values are shown in full.</p>
${list.length === 0 ? html`<p class="empty">no conflict matches</p>` : html`<table class="conflicts"><thead><tr><th>#</th><th>when / record</th><th>decision</th><th>this change</th><th>the value it met</th><th>kept (winner)</th><th>why</th></tr></thead><tbody>
${list.map((r, i) => conflictRow(ctx, r, competitors.ok ? competitors.value[i]! : null))}</tbody></table>`}`;
  return page({ title: 'Conflicts', path: '/conflicts', body, mode: ctx.mode });
}

function chainBanner(status: { at: number; verdict: ChainVerdict } | null): Html {
  if (!status) return html`<p class="flash">Conflict log chain: verification running (the page shows it on the next load).</p>`;
  const { verdict, at } = status;
  const head = html`head <span class="value" id="chain-head">${verdict.head.seq}:${verdict.head.hash}</span>`;
  const when = new Date(at).toISOString();
  if (!verdict.ok) return html`<p class="flash bad" id="chain" data-ok="false">${badge('failed', 'TAMPERED')} row #${verdict.firstBad!.id}: ${verdict.firstBad!.problem} (${rowsText(verdict.rows)} checked at ${when}); ${head}</p>`;
  return html`<p class="flash" id="chain" data-ok="true">${badge('ok', 'chain intact')} ${rowsText(verdict.rows)} checked at ${when}, every hash and link verifies; ${head}. <span class="note">Anchored proof against a rewritten log: tandem conflicts verify --checkpoints … --public-key …</span></p>`;
}

function filterForm(ctx: ConsoleContext, query: URLSearchParams): Html {
  const config = ctx.view.loaded.config;
  const select = (name: string, options: readonly string[]) => html`<label>${name}<select name="${name}"><option value="">any</option>${options.map((o) => html`<option${query.get(name) === o ? html` selected` : ''}>${o}</option>`)}</select></label>`;
  const input = (name: string, placeholder: string) => html`<label>${name}<input name="${name}" value="${query.get(name) ?? ''}" placeholder="${placeholder}"></label>`;
  const fields = [...new Set(config.mappings.flatMap((m) => Object.keys(m.fields)))].sort();
  return html`<form class="filters" method="get" action="/conflicts">
${select('entity', Object.keys(config.entities))}${select('field', fields)}${select('system', [...Object.keys(config.systems), 'manual'])}
${input('rule', 'owner=erp, latest-wins, priority…')}${select('decision', DECISIONS)}${input('key', 'record key')}
${input('since', '2026-12-01T00:00Z')}${input('until', 'ISO time')}<button type="submit">Filter</button> <a href="/conflicts">clear</a></form>`;
}

function conflictRow(ctx: ConsoleContext, row: ConflictRow, other: Competitor | null): Html {
  const priority = ctx.view.loaded.config.entities[row.entity]?.priority ?? [];
  const verdict = explainConflict(row, other, priority);
  const value = (v: unknown) => html`<pre class="value">${JSON.stringify(v ?? null, null, 1)}</pre>`;
  const time = (d: Date) => d.toISOString();
  const mark = (won: boolean | null) => (won === null ? '' : won ? html` <span class="winner">✔ winner</span>` : '');
  return html`<tr id="conflict-${row.id}" data-decision="${row.decision}">
<td>${row.id}</td>
<td>${time(row.loggedAt)}<br><strong>${row.entity}</strong> ${row.key}<br>field <strong>${row.field}</strong></td>
<td>${badge(row.decision === 'accepted' ? 'ok' : row.decision === 'rejected' || row.decision === 'target-rejected' ? 'bad' : 'warn', row.decision)}${row.corrected ? html`<br><span class="note">kept value written back</span>` : ''}</td>
<td class="side this"><strong>${row.system}</strong>${mark(verdict.thisSideWon)}<br>committed ${time(row.commitTime)}${value(row.attempted)}<span class="note">it had seen ${JSON.stringify(row.before ?? null)}</span></td>
<td class="side other"><strong>${other?.system ?? 'current value'}</strong>${mark(verdict.thisSideWon === null ? null : !verdict.thisSideWon)}<br>${other ? html`committed ${time(other.commitTime)}` : html`<span class="note">commit not in the journal</span>`}${value(row.current)}</td>
<td class="kept"><span class="winner">${verdict.winner}</span>${value(row.kept)}</td>
<td class="why">${verdict.why}<br><span class="note">rule ${row.rule}${row.ruleVersion ? ` (owner version ${row.ruleVersion})` : ''}; rules ${row.rulesVersion.slice(0, 12)}</span></td>
</tr>`;
}

/**
 * The other side: the newest change by another system that carried the
 * field before this change reached the resolver (both in the change
 * journal, kept `journal.retentionHours`). Null when either is not there.
 */
async function competitorOf({ view }: ConsoleContext, row: ConflictRow): Promise<Competitor | null> {
  if (row.field === '*' || row.system === 'manual') return null;
  const { rows } = await view.store.raw(
    `SELECT j.system, j.commit_time, j.position FROM ??.journal j
     WHERE j.entity = ? AND j.key = ? AND j.system <> ? AND jsonb_exists(j.change::jsonb -> 'after', ?)
       AND j.id < (SELECT min(id) FROM ??.journal WHERE entity = ? AND key = ? AND system = ? AND position = ?)
     ORDER BY j.id DESC LIMIT 1`,
    [view.schema, row.entity, row.key, row.system, row.field, view.schema, row.entity, row.key, row.system, row.position],
  ) as { rows: Array<{ system: string; commit_time: Date; position: string }> };
  const found = rows[0];
  return found ? { system: found.system, commitTime: new Date(found.commit_time), position: found.position } : null;
}

const rowsText = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
