#!/usr/bin/env node
// Builds the sendfile binding (native/sendfile/build/Release/glimpse_sendfile.node; decision 0033)
// with the node-gyp that ships with npm and Node's own headers. `npm ci` runs this (the `install`
// script). It is optional: without a compiler, or on a platform other than Linux, it says so and
// succeeds, and downloads then read the file into buffers as before (src/lib/sendfile.ts).
// --required makes a failure an error; a binding newer than its sources is kept (--force rebuilds).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.argv.includes('--required');

function give(message) {
  process.stderr.write(`glimpse: ${message}\n`);
  process.exit(required ? 1 : 0);
}

if (process.platform !== 'linux') give('sendfile binding: Linux only; downloads read into buffers');
try {
  createRequire(import.meta.url).resolve('node-addon-api');
} catch {
  give('node-addon-api is not installed; the sendfile binding is not built (downloads read into buffers)');
}

const built = join(here, 'build', 'Release', 'glimpse_sendfile.node');
const mtime = (p) => statSync(p).mtimeMs;
if (!process.argv.includes('--force') && existsSync(built)
  && ['sendfile.cc', 'binding.gyp', 'build.mjs'].every((f) => mtime(join(here, f)) < mtime(built))) {
  process.stdout.write('glimpse: native/sendfile is up to date\n');
  process.exit(0);
}

const prefix = dirname(dirname(process.execPath));
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]
  .find((p) => p && existsSync(p));
if (!gyp) give('node-gyp not found (it ships with npm); the sendfile binding is not built');
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];

const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: here, encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  give('building the sendfile binding failed (see above); downloads read into buffers');
}
process.stdout.write('glimpse: built native/sendfile (sendfile for downloads)\n');
