// Replays test/compat/cache-scenarios.ts against Glimpse with the cache on (and the cachemanage
// routes) and compares with the reference Glance 25.1's answers recorded with the cache on
// (test/compat/cache-golden.json: GLANCE_CACHE=1 refglance.sh, COMPAT_SET=cache npm run compat:record).
// With REF_CACHE_GLANCE_URL set, that reference is also asked live and must agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newRun, play, type Outcome } from './harness.ts';
import { cacheScenarios } from './cache-scenarios.ts';

const golden = JSON.parse(readFileSync(new URL('./cache-golden.json', import.meta.url), 'utf8')) as Record<string, Outcome[]>;
const reference = process.env.REF_CACHE_GLANCE_URL?.replace(/\/+$/, '');

let t: TestApp;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'glimpse-cache-compat-'));
before(async () => {
  t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false', GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file',
    GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast', GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(dir, 'fast'),
    GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(dir, 'cache'), GLIMPSE_PASTE_DEPLOY__FLAVOR: 'trusted-auth+cachemanagement' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compat (cache on): Glimpse against recorded reference answers', () => {
  for (const scenario of cacheScenarios) {
    test(scenario.name, async () => {
      const expected = golden[scenario.name];
      assert.ok(expected, `no recorded reference answer for "${scenario.name}": run COMPAT_SET=cache npm run compat:record`);
      assert.deepEqual(await play(newRun(base), scenario), expected);
    });
  }
});

if (!reference) test('compat (cache on): live reference Glance', { skip: 'REF_CACHE_GLANCE_URL not set' }, () => {});

describe('compat (cache on): Glimpse against the live reference Glance', { skip: reference ? false : 'REF_CACHE_GLANCE_URL not set' }, () => {
  for (const scenario of cacheScenarios) {
    test(scenario.name, async () => {
      const ours = await play(newRun(base), scenario);
      assert.deepEqual(ours, await play(newRun(reference!), scenario));
    });
  }
});
