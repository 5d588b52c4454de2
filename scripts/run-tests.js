#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx. Node 20 does not expand
// globs after --test, so the files are collected here. Extra arguments are passed on
// (e.g. `npm test -- --test-name-pattern=healthcheck`); file arguments narrow the set.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts'));
const result = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...flags, ...(files.length ? files : collect('test'))],
  { stdio: 'inherit' });
process.exit(result.status ?? 1);
