#!/usr/bin/env node
// Builds dist/glimpse.js: the whole of src/ (from src/cli/main.ts) as one ES module, compiled by
// esbuild; npm packages stay external and are imported from node_modules at run time as usual.
// bin/glimpse.js runs it, so a server does not carry tsx's loader thread and source maps
// (decision 0011). Takes well under a second; `npm ci` runs it (the `prepare` script) and
// bin/glimpse.js runs it again whenever a file under src/ is newer than the build.
//   node scripts/build.js            build if stale, quietly
//   node scripts/build.js --force    always build
import { fileURLToPath } from 'node:url';

import { buildIfStale } from '../bin/build-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const result = await buildIfStale(root, { force: process.argv.includes('--force') });
process.stdout.write(`glimpse: ${result === 'built' ? 'built' : 'up to date:'} dist/glimpse.js\n`);
