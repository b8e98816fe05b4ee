#!/usr/bin/env -S node --max-semi-space-size=32
// --max-semi-space-size: a young generation of 32 MB instead of 16 MB. A batch's
// objects live across a few awaits; with the default most of them were copied
// to the old generation and collected there (garbage collection took 27 % of
// node's busy time in the pg → pg bench, 12.5 % with 64 MB).
// The CLI runs the TypeScript sources through tsx, so the binary and the code
// under test are always the same files.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
