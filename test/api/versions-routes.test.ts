// The versions document lists exactly the versions whose features are served (issue 21): for each
// configuration (cache on/off, v1 on/off, one store or several), every advertised version's routes
// are in the route table and are really served (not "not supported at this site"), every
// advertised version is accepted in URLs, and a version whose feature is off is neither listed
// nor accepted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteTable } from '../../src/http/routes.ts';
import { versionRoutes } from '../../src/http/versions.ts';
import { as, startTestApp } from '../helpers/app.ts';

const admin = as('p1', 'admin,member,reader');
const someId = '7b2d0b0e-0000-4000-8000-000000000000';

/**
 * A request that shows whether a version's feature is on: "not supported at this site" means off.
 * (2.15 has none: Glance master lists it with one store too, where its stores detail call answers
 * "Multi backend is not supported at this site." as 2.8's list does.)
 */
const probes: Record<string, { method: 'GET' | 'POST'; url: string }> = {
  'v2.8': { method: 'GET', url: '/v2/info/stores' },
  'v2.14': { method: 'GET', url: '/v2/cache' },
  'v2.17': { method: 'GET', url: `/v2/images/${someId}/locations` },
  'v2.18': { method: 'POST', url: '/v2/cache/prune' },
};

const configs = [
  { name: 'one store, no cache, no v1', cache: false, v1: false, multiStore: false },
  { name: 'one store, cache, v1', cache: true, v1: true, multiStore: false },
  { name: 'two stores, cache, no v1', cache: true, v1: false, multiStore: true },
  { name: 'two stores, no cache, v1', cache: false, v1: true, multiStore: true },
];

describe('versions document against the route table and the configuration', () => {
  for (const c of configs) {
    test(c.name, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'glimpse-versions-'));
      const env: Record<string, string> = { GLIMPSE_DEFAULT__ENABLE_V1_API: String(c.v1) };
      if (c.cache) env.GLIMPSE_DEFAULT__IMAGE_CACHE_DIR = join(dir, 'cache');
      if (c.multiStore) {
        Object.assign(env, { GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file, cheap:file', GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
          GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(dir, 'fast'), GLIMPSE_CHEAP__FILESYSTEM_STORE_DATADIR: join(dir, 'cheap') });
      }
      const t = await startTestApp(env);
      try {
        const doc = (await t.app.inject({ url: '/versions' })).json() as { versions: { id: string; status: string }[] };
        const ids = doc.versions.map((v) => v.id);
        assert.equal(new Set(ids).size, ids.length, 'no version listed twice');
        assert.deepEqual(doc.versions.filter((v) => v.status === 'CURRENT').map((v) => v.id), [c.cache ? 'v2.18' : 'v2.17']);
        assert.equal(ids.includes('v1.0') && ids.includes('v1.1'), c.v1);
        assert.equal(ids.some((id) => id.startsWith('v1')), c.v1);

        const table = (t.app as unknown as { routeTable: RouteTable }).routeTable;
        const served = new Set(table.entries().map((r) => `${r.method} ${r.url}`));
        for (const [version, routes] of Object.entries(versionRoutes)) {
          const listed = ids.includes(version);
          const token = await t.app.inject({ url: `/${version}/images`, headers: admin });
          assert.equal(token.statusCode === 300, !listed, `/${version}/images → ${token.statusCode} while listed=${listed}`);
          if (!listed) continue;
          for (const route of routes) assert.ok(served.has(route), `${version} is listed but ${route} is not routed`);
          const probe = probes[version];
          if (probe) {
            const res = await t.app.inject({ method: probe.method, url: probe.url, headers: admin });
            assert.doesNotMatch(res.body, /not supported at this site/, `${version} is listed but ${probe.url} is off`);
            assert.notEqual(res.statusCode, 405, `${probe.method} ${probe.url}`);
          }
        }
        // A feature that is off is not listed: its probe says so.
        for (const [version, probe] of Object.entries(probes)) {
          if (ids.includes(version)) continue;
          const res = await t.app.inject({ method: probe.method, url: probe.url, headers: admin });
          assert.match(res.body, /not supported at this site/, `${version} is not listed but ${probe.url} answers ${res.statusCode}`);
        }
        // Each listed v2 version routes; v1 routes exactly when listed.
        for (const id of ids.filter((v) => v.startsWith('v2'))) {
          assert.notEqual((await t.app.inject({ url: `/${id}/schemas/image`, headers: admin })).statusCode, 300, id);
        }
        assert.equal((await t.app.inject({ url: '/v1/images/detail', headers: admin })).statusCode !== 300, c.v1);
      } finally {
        await t.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
