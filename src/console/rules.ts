import { explainField, mappedColumns } from '../conflict';
import { errorMessage } from '../errors';
import type { ConsoleContext } from './context';
import { html } from './html';
import { page } from './layout';

/** Per entity and field, what `tandem rules explain <entity>.<field>` prints. */
export function rulesPage(ctx: ConsoleContext): string {
  const { config, lineOf, file } = ctx.view.loaded;
  const columns = mappedColumns(config);
  const sections = Object.entries(config.entities).map(([entity, spec]) => {
    const fields = [...new Set([...(columns.get(entity)?.keys() ?? []), ...Object.keys(spec.fields), ...Object.values(spec.groups).flatMap((g) => g.fields)])].sort();
    const explained = fields.map((field) => {
      let text: string;
      try {
        text = explainField(config, entity, field, (path) => lineOf?.(path));
      } catch (error) {
        text = `${entity}.${field}\n  ${errorMessage(error)}\n`;
      }
      return html`<pre class="value rule" id="rule-${entity}-${field}">${text}</pre>`;
    });
    return html`<h2 id="entity-${entity}">${entity}</h2><p class="note">owner of the record and of fields without a rule: ${spec.owner}; tie-break priority: ${spec.priority.join(', ') || 'none'}</p>${explained}`;
  });
  const body = html`<p class="note">From ${file} (rules version ${ctx.view.loaded.version.slice(0, 12)}), as <code>tandem rules explain &lt;entity&gt;.&lt;field&gt;</code> prints it.</p>
<p>${Object.keys(config.entities).map((e) => html`<a href="#entity-${e}">${e}</a> `)}</p>${sections}`;
  return page({ title: 'Rules', path: '/rules', body, mode: ctx.mode });
}
