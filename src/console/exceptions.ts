import { errorMessage } from '../errors';
import { discardLetter, EventRetrier, eventOf, retryTaskLetter, taskOf, type LetterAccess } from '../pipeline';
import { getDeadLetter, getRecord, listOpenExceptions, queryDeadLetters, type DeadLetterRow, type OpenException } from '../store';
import type { CanonicalRecord } from '../transform';
import { compileMappings } from '../transform';
import type { ConsoleContext } from './context';
import { html, type Html } from './html';
import { badge, duration, page, table } from './layout';
import { within } from './read';

const LIMIT = 200;

/** Open exceptions (a record a target refuses) and open dead letters, with their context, and (actions on) retry / discard. */
export async function exceptionsPage(ctx: ConsoleContext, query: URLSearchParams): Promise<string> {
  const { view } = ctx;
  const now = Date.now();
  const [exceptions, letters] = await Promise.all([
    within('state store (exceptions)', async () => {
      const open = await listOpenExceptions(view.store, view.schema, LIMIT);
      return Promise.all(open.map(async (e) => ({ e, record: await getRecord(view.store, view.schema, e.entity, e.key) })));
    }),
    within('state store (dead letters)', () => queryDeadLetters(view.store, view.schema, { status: 'open' }, LIMIT)),
  ]);
  const done = query.get('done');
  const failed = query.get('failed');
  const body = html`
${done ? html`<p class="flash" id="action-result">${done}</p>` : ''}${failed ? html`<p class="flash bad" id="action-result">${failed}</p>` : ''}
${ctx.actions ? '' : html`<p class="note">Read-only: set <code>console.actions: true</code> to retry and discard here (or use tandem dlq retry / discard).</p>`}
<h2>Open exceptions (records a target refuses)</h2>
${exceptions.ok ? exceptionTable(exceptions.value, now) : html`<p class="flash bad">${exceptions.problem}</p>`}
<h2>Open dead letters</h2>
${letters.ok ? letterTable(ctx, letters.value, now) : html`<p class="flash bad">${letters.problem}</p>`}`;
  return page({ title: 'Exceptions', path: '/exceptions', body, mode: ctx.mode });
}

function exceptionTable(rows: Array<{ e: OpenException; record: CanonicalRecord | null }>, now: number): Html {
  return table(['#', 'age', 'target', 'record', 'from', 'field: record holds → target holds', 'refusals', 'letter', 'error'], rows.map(({ e, record }) => {
    const shadow = record?.shadows[e.target] ?? {};
    const held = e.fields.length === 0 ? html`(delete)` : html`${e.fields.map((f) => html`<div><strong>${f}</strong>: <span class="value">${JSON.stringify(record?.fields[f] ?? null)}</span> → <span class="value">${f in shadow ? JSON.stringify(shadow[f]) : '-'}</span></div>`)}`;
    return [e.id, duration((now - e.openedAt.getTime()) / 1000), e.target, `${e.entity} ${e.key}`, e.origin ?? '-', held, String(e.failures),
      e.deadLetterId ? `#${e.deadLetterId}` : '-', html`<span class="value">${e.errorCode}: ${e.error}</span>`];
  }), 'no open exception');
}

function letterTable(ctx: ConsoleContext, letters: DeadLetterRow[], now: number): Html {
  return table(['#', 'age', 'kind', 'system / table', 'about', 'error', 'context', ...(ctx.actions ? ['act'] : [])], letters.map((l) => [
    l.id, duration((now - l.createdAt.getTime()) / 1000), l.kind, `${l.system ?? '-'} ${l.table ?? ''}`, subjectOf(l),
    html`<span class="value">${l.errorCode}: ${l.error}</span><br><span class="note">attempts ${l.attempts}; position ${l.position ?? '-'}; correlation ${l.correlationId ?? '-'}</span>`,
    html`<details><summary>payload</summary><pre class="value">${JSON.stringify(l.payload, null, 2)}</pre></details>`,
    ...(ctx.actions ? [html`<a class="retry" href="/exceptions/confirm?action=retry&amp;id=${l.id}">Retry…</a> · <a class="discard" href="/exceptions/confirm?action=discard&amp;id=${l.id}">Discard…</a>`] : []),
  ]), 'no open dead letter');
}

function subjectOf(letter: DeadLetterRow): string {
  const task = taskOf(letter);
  if (task) return `${String(task.entity)} ${String(task.key)} → ${String(task.target ?? letter.system ?? '')}`;
  const event = eventOf(letter);
  return event ? `${event.op} on ${event.source.table} at ${event.source.position}` : 'raw message';
}

/** The confirmation step: what will happen to which letter, and the form that does it. */
export async function confirmPage(ctx: ConsoleContext, query: URLSearchParams): Promise<{ status: number; body: string }> {
  const action = query.get('action');
  const id = query.get('id') ?? '';
  if ((action !== 'retry' && action !== 'discard') || !/^[1-9]\d*$/.test(id)) return { status: 400, body: page({ title: 'Exceptions', path: '/exceptions', body: html`<p class="flash bad">say which letter and whether to retry or discard it</p>`, mode: ctx.mode }) };
  const letter = await within('state store', () => getDeadLetter(ctx.view.store, ctx.view.schema, id));
  if (!letter.ok || !letter.value || letter.value.status !== 'open') {
    const why = !letter.ok ? letter.problem : !letter.value ? `no dead letter #${id}` : `#${id} is already ${letter.value.status}`;
    return { status: letter.ok ? 404 : 503, body: page({ title: 'Exceptions', path: '/exceptions', body: html`<p class="flash bad">${why}</p><a href="/exceptions">back</a>`, mode: ctx.mode }) };
  }
  const l = letter.value;
  const what = action === 'retry'
    ? (l.kind === 'task' ? 'The task goes back to the outbox (attempts reset, due now); the letter is marked retried.' : 'The event is run through the resolve stage again with the current configuration; it may be parked again.')
    : 'The change is given up for good. The discard and your reason are chained onto the conflict log (decision discarded); an exception it holds is closed so later changes of the record flow again.';
  const body = html`<h2>${action === 'retry' ? 'Retry' : 'Discard'} dead letter #${l.id}?</h2>
<p>${subjectOf(l)} — <span class="value">${l.errorCode}: ${l.error}</span></p>
<p>${what}</p>
<form method="post" action="/exceptions/${action}">
<input type="hidden" name="id" value="${l.id}"><input type="hidden" name="csrf" value="${ctx.guard.csrfToken()}">
<p><label>your name (for the record) <input name="by" required maxlength="100" placeholder="e.g. ops-ann"></label></p>
${action === 'discard' ? html`<p><label>reason (required, logged)<br><textarea name="reason" required rows="3" cols="70"></textarea></label></p>` : ''}
<button type="submit" class="${action === 'retry' ? 'primary' : 'danger'}" id="confirm">Yes, ${action} #${l.id}</button> <a href="/exceptions">cancel</a>
</form>`;
  return { status: 200, body: page({ title: 'Exceptions', path: '/exceptions', body, mode: ctx.mode }) };
}

/** Carries out a confirmed retry or discard; the message for the page. */
export async function act(ctx: ConsoleContext, action: 'retry' | 'discard', form: URLSearchParams): Promise<{ ok: boolean; message: string }> {
  const id = form.get('id') ?? '';
  const name = (form.get('by') ?? '').trim();
  const reason = (form.get('reason') ?? '').trim();
  if (!/^[1-9]\d*$/.test(id)) return { ok: false, message: 'no letter named' };
  if (!name) return { ok: false, message: 'say who you are (for the record)' };
  if (action === 'discard' && !reason) return { ok: false, message: `#${id} not discarded: a discard needs a reason` };
  const by = `${name} (console)`;
  const { view } = ctx;
  const access: LetterAccess = { knex: view.store, schema: view.schema, loaded: view.loaded };
  try {
    const letter = await getDeadLetter(view.store, view.schema, id);
    if (!letter) return { ok: false, message: `no dead letter #${id}` };
    if (letter.status !== 'open') return { ok: false, message: `#${id} is already ${letter.status} (by ${letter.resolvedBy ?? '?'})` };
    if (action === 'discard') {
      const logged = await discardLetter(access, compileMappings(view.loaded.config.mappings), letter, by, reason);
      view.logger.info('console: dead letter discarded', { letter: id, by, reason, conflict: logged });
      return { ok: true, message: `#${id}: discarded, logged as conflict #${logged}` };
    }
    let what: string;
    if (letter.kind === 'task') what = await retryTaskLetter(access, letter, by);
    else {
      const retrier = new EventRetrier(access, view.env);
      try {
        what = await retrier.retry(letter, by);
      } finally {
        await retrier.close();
      }
    }
    view.logger.info('console: dead letter retried', { letter: id, by, result: what });
    return { ok: true, message: `#${id}: ${what}` };
  } catch (error) {
    return { ok: false, message: `#${id}: not ${action === 'retry' ? 'retried' : 'discarded'}: ${errorMessage(error)}` };
  }
}

