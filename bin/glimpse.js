#!/usr/bin/env node
// Entry point of the `glimpse` command. It runs the compiled build, dist/glimpse.js (esbuild, one
// module), rebuilding it first when a file under src/ is newer (< 1 s), so a fresh clone, an
// edited tree and `npm start` all run current code without tsx's loader in the server process
// (~50 MB less memory; decision 0011). GLIMPSE_FROM_SOURCE=1 runs the TypeScript sources
// through tsx instead (TypeScript line numbers in stack traces, no build).
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

import { DIST_ENTRY, buildIfStale } from './build-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let entry;
if (process.env.GLIMPSE_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  entry = pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href;
} else {
  await buildIfStale(root);
  entry = pathToFileURL(join(root, DIST_ENTRY)).href;
}
const { main } = await import(entry);
await main(process.argv);
