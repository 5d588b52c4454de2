// Replays test/compat/scenarios.ts against Glimpse and compares each normalized response with
// what the reference Glance 25.1 answered (test/compat/golden.json, recorded with
// `npm run compat:record` against REF_GLANCE_URL). With REF_GLANCE_URL set, the reference is
// also asked live and must agree. Steps marked statusOnly compare the status alone (reason given).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newRun, play, type Outcome } from './harness.ts';
import { scenarios } from './scenarios.ts';

const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8')) as Record<string, Outcome[]>;
const reference = process.env.REF_GLANCE_URL?.replace(/\/+$/, '');

let t: TestApp;
let base: string;
before(async () => {
  // The reference Glance 25.1 has no v1: compare the v2-only shape.
  t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false', GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file', GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
    GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: `${process.env.TMPDIR ?? '/tmp'}/glimpse-compat-${process.pid}` });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => { await t.close(); });

describe('compat: Glimpse against recorded reference answers', () => {
  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const expected = golden[scenario.name];
      assert.ok(expected, `no recorded reference answer for "${scenario.name}": run npm run compat:record`);
      assert.deepEqual(await play(newRun(base), scenario), expected);
    });
  }
});

// Node 20 leaves skipped suites out of the summary count; a skipped test is counted.
if (!reference) test('compat: live reference Glance', { skip: 'REF_GLANCE_URL not set' }, () => {});

describe('compat: Glimpse against the live reference Glance', { skip: reference ? false : 'REF_GLANCE_URL not set' }, () => {
  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const [ours, theirs] = await Promise.all([play(newRun(base), scenario), play(newRun(reference!), scenario)]);
      assert.deepEqual(ours, theirs);
    });
  }
});
