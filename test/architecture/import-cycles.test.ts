/**
 * No runtime import cycle spans folders of src/. Under a module loader that
 * evaluates a cycle part-way (vitest's), a module reads a not-yet-initialised
 * export as undefined: conflict-log verify once read GENESIS_HASH that way.
 * Type-only imports vanish at runtime and dynamic `import()` runs after load,
 * so neither counts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Cycles inside one folder that exist today (each file loaded through its folder's index, in an order that works). */
const ALLOWED_IN_FOLDER: readonly string[][] = [
  ['conflict/existence.ts', 'conflict/resolver.ts', 'conflict/review.ts'],
  ['apply/dedup-redis.ts', 'apply/dedup-store.ts', 'apply/dedup.ts'],
];

const STATIC_IMPORT = /^(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+['"](\.[^'"]+)['"]/gms;

/** Relative module specifiers a file imports or re-exports at runtime. */
function runtimeSpecifiers(text: string): string[] {
  const found: string[] = [];
  for (const [, what, spec] of text.matchAll(STATIC_IMPORT)) {
    const braces = /\{([^}]*)\}/.exec(what!);
    const outside = what!.replace(/\{[^}]*\}/g, '').replace(/^[\s,*]+|[\s,*]+$/g, '');
    const allTypes = braces !== null && outside === ''
      && braces[1]!.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '));
    if (!allTypes) found.push(spec!);
  }
  return found;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFilesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The runtime import graph of src/: file (relative to src, `/`-separated) to the files it loads. */
function importGraph(): Map<string, string[]> {
  const key = (path: string) => relative(SRC, path).split(sep).join('/');
  const files = new Set(tsFilesUnder(SRC));
  const resolve = (from: string, spec: string): string | undefined => {
    const base = normalize(join(dirname(from), spec));
    return [`${base}.ts`, join(base, 'index.ts')].find((candidate) => files.has(candidate));
  };
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = runtimeSpecifiers(readFileSync(file, 'utf8')).map((spec) => resolve(file, spec));
    graph.set(key(file), [...new Set(targets.filter((t): t is string => t !== undefined).map(key))]);
  }
  return graph;
}

/** Strongly connected components of more than one node (Tarjan), each sorted. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '.');

/** A cycle with its files and the imports that close it, for the failure message. */
function describeCycle(component: string[], graph: ReadonlyMap<string, readonly string[]>): string {
  const inside = new Set(component);
  return component.map((f) => `  ${f} -> ${(graph.get(f) ?? []).filter((t) => inside.has(t)).join(', ')}`).join('\n');
}

describe('runtime import graph of src/', () => {
  it('reads value imports and re-exports, not type-only ones', () => {
    const text = [
      "import type { A } from './a';",
      "import { type B, type C } from './b';",
      "export type { D } from './d';",
      "import { e, type E } from './e';",
      "import f from './f';",
      "export * from './g';",
      "export { h } from './h';",
      "import {\n  i,\n  type I,\n} from './i';",
      "import { z } from 'zod';",
      "const lazy = () => import('./j');",
    ].join('\n');
    expect(runtimeSpecifiers(text)).toEqual(['./e', './f', './g', './h', './i']);
  });

  it('finds a cycle through several files and leaves acyclic parts out', () => {
    const graph = new Map([
      ['a/x.ts', ['b/y.ts']], ['b/y.ts', ['c/z.ts']], ['c/z.ts', ['a/x.ts', 'd/w.ts']], ['d/w.ts', []],
    ]);
    expect(cycles(graph)).toEqual([['a/x.ts', 'b/y.ts', 'c/z.ts']]);
  });

  it('has no cycle across folders, and only the known ones inside a folder', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    const found = cycles(graph);
    const crossFolder = found.filter((c) => new Set(c.map(folderOf)).size > 1);
    expect(crossFolder.map((c) => describeCycle(c, graph)), 'runtime import cycles across folders of src/').toEqual([]);
    const allowed = new Set(ALLOWED_IN_FOLDER.map((c) => [...c].sort().join(' ')));
    const unknown = found.filter((c) => !allowed.has(c.join(' ')));
    expect(unknown.map((c) => describeCycle(c, graph)), 'runtime import cycles not in ALLOWED_IN_FOLDER').toEqual([]);
  });
});
