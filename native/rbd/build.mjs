#!/usr/bin/env node
// Builds the librbd binding (native/rbd/build/Release/glimpse_rbd.node) when librbd's headers are
// installed (Debian: librbd-dev), with the node-gyp that ships with npm. `npm ci` runs this (the
// `prepare` script): without the headers it says so and succeeds, so a machine without Ceph installs
// and runs exactly as before (the rbd store is then unavailable). A failed compile is a warning
// there too; `npm run build:rbd` (--required) makes both an error, for CI and Ceph hosts. A binding
// newer than its sources is kept (--force rebuilds).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.argv.includes('--required');
const header = process.env.GLIMPSE_LIBRBD_HEADER ?? '/usr/include/rbd/librbd.h';

function give(message) {
  process.stderr.write(`glimpse: ${message}\n`);
  process.exit(required ? 1 : 0);
}

if (!existsSync(header)) {
  give(`librbd headers not found (${header}); the rbd store driver is not built (install librbd-dev, then npm run build:rbd)`);
}
try {
  createRequire(import.meta.url).resolve('node-addon-api');
} catch {
  give('node-addon-api is not installed; the rbd store driver is not built');
}

// Node-API is ABI-stable: a binding newer than its sources needs no rebuild (CI builds twice otherwise).
const built = join(here, 'build', 'Release', 'glimpse_rbd.node');
const mtime = (p) => statSync(p).mtimeMs;
if (!process.argv.includes('--force') && existsSync(built)
  && ['rbd.cc', 'binding.gyp', 'build.mjs'].every((f) => mtime(join(here, f)) < mtime(built))) {
  process.stdout.write('glimpse: native/rbd is up to date\n');
  process.exit(0);
}

// npm sets npm_config_node_gyp for scripts; otherwise the node-gyp bundled with npm next to node.
const prefix = dirname(dirname(process.execPath));
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]
  .find((p) => p && existsSync(p));
if (!gyp) give('node-gyp not found (it ships with npm); the rbd store driver is not built');
// Node's own headers when installed (Debian, nodesource, official tarballs): no download.
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];

const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: here, encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  give('building the librbd binding failed (see above); the rbd store driver is unavailable');
}
process.stdout.write('glimpse: built native/rbd (librbd binding for the rbd store)\n');
