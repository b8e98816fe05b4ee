/**
 * PostgreSQL array literals (`{1,NULL,"a \"b\""}`, nested `{{1,2},{3,4}}`,
 * with an optional `[0:1]=` bounds prefix) ⇄ nested arrays of element texts.
 * Elements stay text here; `decode-value.ts` decodes them by element type.
 */
import { DecodeError } from '../../errors';

export type ArrayItem = string | null | ArrayItem[];

export function parseArrayLiteral(text: string, delimiter = ','): ArrayItem[] {
  const parser = new ArrayParser(text, delimiter);
  return parser.parse();
}

class ArrayParser {
  private at = 0;

  constructor(private readonly text: string, private readonly delimiter: string) {}

  parse(): ArrayItem[] {
    this.skipBounds();
    const result = this.parseArray();
    this.skipSpace();
    if (this.at !== this.text.length) this.fail('trailing characters');
    return result;
  }

  /** `[1:3]={...}`: bounds only matter for non-default lower bounds, which we drop. */
  private skipBounds(): void {
    this.skipSpace();
    if (this.text[this.at] !== '[') return;
    const eq = this.text.indexOf('=', this.at);
    if (eq < 0) this.fail('bounds without "="');
    this.at = eq + 1;
    this.skipSpace();
  }

  private parseArray(): ArrayItem[] {
    this.expect('{');
    const items: ArrayItem[] = [];
    this.skipSpace();
    if (this.peek() === '}') {
      this.at++;
      return items;
    }
    for (;;) {
      this.skipSpace();
      items.push(this.parseItem());
      this.skipSpace();
      const c = this.peek();
      this.at++;
      if (c === '}') return items;
      if (c !== this.delimiter) this.fail(`expected "${this.delimiter}" or "}"`);
    }
  }

  private parseItem(): ArrayItem {
    const c = this.peek();
    if (c === '{') return this.parseArray();
    if (c === '"') return this.parseQuoted();
    return this.parseUnquoted();
  }

  private parseQuoted(): string {
    this.at++;
    let out = '';
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) this.fail('unterminated quoted element');
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.text[this.at++];
        if (next === undefined) this.fail('dangling backslash');
        out += next;
      } else out += c;
    }
  }

  private parseUnquoted(): string | null {
    let out = '';
    let escaped = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated array');
      if (c === this.delimiter || c === '}') break;
      this.at++;
      if (c === '\\') {
        const next = this.text[this.at++];
        if (next === undefined) this.fail('dangling backslash');
        out += next;
        escaped = true;
      } else out += c;
    }
    // PostgreSQL trims unquoted whitespace; an unquoted, unescaped NULL is SQL NULL.
    const trimmed = escaped ? out : out.trim();
    if (!escaped && trimmed.toUpperCase() === 'NULL') return null;
    if (trimmed === '') this.fail('empty unquoted element');
    return trimmed;
  }

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] ?? '')) this.at++;
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) this.fail(`expected "${c}"`);
    this.at++;
  }

  private fail(why: string): never {
    throw new DecodeError(`bad array literal at ${this.at}: ${why}: ${this.text.slice(0, 200)}`);
  }
}

/** Formats like PostgreSQL's array_out: quotes only the elements that need it. */
export function formatArrayLiteral(items: readonly ArrayItem[], delimiter = ','): string {
  return `{${items.map((item) => formatItem(item, delimiter)).join(delimiter)}}`;
}

function formatItem(item: ArrayItem, delimiter: string): string {
  if (item === null) return 'NULL';
  if (Array.isArray(item)) return formatArrayLiteral(item, delimiter);
  return needsQuotes(item, delimiter) ? `"${item.replace(/["\\]/g, '\\$&')}"` : item;
}

function needsQuotes(text: string, delimiter: string): boolean {
  if (text === '' || text.toUpperCase() === 'NULL') return true;
  return /[{}"\\\s]/.test(text) || text.includes(delimiter);
}
