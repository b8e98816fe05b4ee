#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx, so the binary and the code
// under test are always the same files.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
