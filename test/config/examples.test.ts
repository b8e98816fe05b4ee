/**
 * Every configuration the README shows and every file under config/ is one a
 * user may copy: complete ones (with systems and mappings) must load and pass
 * `tandem rules check` without errors — `tandem run` refuses to start
 * otherwise — and fragments must match the spec for the sections they show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { analyseRules } from '../../src/cli/rules/analysis';
import { configSpec, parseConfig } from '../../src/config';

const README = readFileSync('README.md', 'utf8');

/** The ```yaml blocks of a markdown text, with the line each starts on. */
function yamlBlocks(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  for (const match of markdown.matchAll(/^```yaml\n([\s\S]*?)^```/gm)) {
    out.push({ line: markdown.slice(0, match.index).split('\n').length, text: match[1]! });
  }
  return out;
}

function rulesErrors(text: string, file: string): string[] {
  const loaded = parseConfig(text, file, {});
  return analyseRules(loaded.config).filter((f) => f.severity === 'error').map((f) => `${f.path}: ${f.message}`);
}

const blocks = yamlBlocks(README);
const complete = blocks.filter((b) => { const doc = parse(b.text) ?? {}; return 'mappings' in doc && 'systems' in doc; });
const configFiles = [
  ...readdirSync('config').filter((f) => /\.ya?ml$/.test(f)).map((f) => join('config', f)),
  // The compose stacks' tandem configurations (not the compose files themselves).
  ...readdirSync('docker').filter((f) => /^tandem.*\.ya?ml$/.test(f)).map((f) => join('docker', f)),
];

describe('the README\u2019s configuration examples', () => {
  it('are found (the extraction itself works)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(complete.length).toBeGreaterThanOrEqual(1);
  });

  it.each(complete.map((b) => [b.line, b.text] as const))('the complete example at README line %i passes tandem rules check', (line, text) => {
    expect(rulesErrors(text, `README.md:${line}`)).toEqual([]);
  });

  it.each(blocks.filter((b) => !complete.includes(b)).map((b) => [b.line, b.text] as const))('the fragment at README line %i matches the spec for its sections', (line, text) => {
    const parsed = configSpec.partial().safeParse(parse(text));
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), `README line ${line}`).toEqual([]);
  });
});

describe('config/*.yaml and docker/tandem*.yaml', () => {
  it('has files', () => expect(configFiles.length).toBeGreaterThanOrEqual(1));

  it.each(configFiles)('%s passes tandem rules check', (file) => {
    expect(rulesErrors(readFileSync(file, 'utf8'), file)).toEqual([]);
  });
});

describe('the rules check catches what the README example used to get wrong', () => {
  it('a field owned by a system that does not map it is an error', () => {
    const text = complete[0]!.text.replace('order_line: { owner: crm }', 'order_line: { owner: crm, fields: { sync_status: { owner: saas } } }');
    expect(text).not.toBe(complete[0]!.text);
    expect(rulesErrors(text, 'README.md')).toEqual([expect.stringMatching(/order_line\.sync_status is owned by saas, which does not map it/)]);
  });
});
