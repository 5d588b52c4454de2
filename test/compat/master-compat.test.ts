// Replays test/compat/master-scenarios.ts against Glimpse: behaviour only Glance master has, with
// expectations written by hand from master's code and api-ref (each scenario names its source),
// because the reference Glance 25.1 cannot be asked (decision 0025).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newRun, play } from './harness.ts';
import { masterScenarios, type MasterSetup } from './master-scenarios.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-master-compat-'));
const dirs = { fast: join(dir, 'fast'), cheap: join(dir, 'cheap') };
const apps = new Map<MasterSetup, { t: TestApp; base: string }>();

const stores = { GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file, cheap:file', GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
  GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: dirs.fast, GLIMPSE_CHEAP__FILESYSTEM_STORE_DATADIR: dirs.cheap, GLIMPSE_CHEAP__WEIGHT: '7' };
const setups: Record<MasterSetup, Record<string, string>> = {
  stores,
  cache: { GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file', GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
    GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(dir, 'cache-fast'), GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(dir, 'cache'),
    GLIMPSE_DEFAULT__WORKER_SELF_REFERENCE_URL: 'http://glimpse-node.example:9292' },
  single: {},
};

before(async () => {
  for (const [name, env] of Object.entries(setups) as [MasterSetup, Record<string, string>][]) {
    const t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false', ...env });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    apps.set(name, { t, base: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}` });
  }
});
after(async () => {
  for (const { t } of apps.values()) await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compat: Glimpse against Glance master (expectations written from master\'s code and api-ref)', () => {
  for (const scenario of masterScenarios) {
    test(`${scenario.name} [${scenario.source}]`, async () => {
      const { base } = apps.get(scenario.setup)!;
      assert.deepEqual(await play(newRun(base), scenario), scenario.expected(dirs));
    });
  }
});
