/**
 * HTML that is escaped by construction: every value put into an `html`
 * template is escaped unless it is itself `Html` (a template's result or
 * `raw` text written by this module's authors). Pages are built only with
 * it, so a value read from a database (a customer name holding `<script>`)
 * is shown as text.
 */
const SAFE: unique symbol = Symbol('html');

export interface Html {
  readonly [SAFE]: true;
  readonly text: string;
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup known to be safe (constant text of this module, never data). */
export function raw(text: string): Html {
  return { [SAFE]: true, text };
}

function isHtml(value: unknown): value is Html {
  return typeof value === 'object' && value !== null && SAFE in value;
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (isHtml(value)) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return raw(out);
}

/** JSON for a `<script type="application/json">` block: `<` is escaped so no `</script>` can end it early. */
export function jsonBlock(id: string, value: unknown): Html {
  const text = JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return raw(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}
