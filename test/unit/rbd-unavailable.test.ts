// Without the librbd binding (a machine without librbd-dev), an rbd backend is unavailable with the
// reason, and an rbd default backend stops the start with that reason; everything else works.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createStoreRegistry } from '../../src/stores/registry.ts';
import type { BackendConfig } from '../../src/config/types.ts';

// Before anything loads the binding (each test file runs in its own process).
process.env.GLIMPSE_RBD_ADDON = '/nonexistent/glimpse_rbd.node';

const rbd: BackendConfig = { id: 'ceph', type: 'rbd', weight: 0, options: {},
  rbd: { pool: 'images', confFile: '', chunkSize: 8 * 2 ** 20, connectTimeout: -1, thinProvisioning: false } };
const file: BackendConfig = { id: 'fast', type: 'file', weight: 0, options: {}, filesystemStoreDatadir: '/tmp/glimpse-unused' };

test('an rbd backend without the binding is skipped with the reason; the others are served', () => {
  const warned: string[] = [];
  const registry = createStoreRegistry({ stores: { multiStore: true, defaultBackend: 'fast', backends: [file, rbd] } },
    { log: { warn: (_obj, message) => warned.push(String(message)) } });
  assert.deepEqual(registry.ids(), ['fast']);
  assert.equal(registry.skipped.length, 1);
  assert.match(registry.skipped[0]!.reason, /librbd binding cannot be loaded/);
  assert.deepEqual(warned, ['stores without a driver are unavailable: ceph (rbd)']);
});

test('an rbd default backend without the binding: the error says why', () => {
  assert.throws(() => createStoreRegistry({ stores: { multiStore: true, defaultBackend: 'ceph', backends: [file, rbd] } }),
    /default store "ceph" has no driver: the librbd binding cannot be loaded/);
});
