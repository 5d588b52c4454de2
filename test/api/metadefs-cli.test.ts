// `glimpse metadefs load | export | unload` as an operator runs them, on definition files in
// Glance's format that the test writes itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');

function glimpse(args: string[], dir: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
  return spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8',
    env: { ...env, GLIMPSE_DATABASE__CONNECTION: `sqlite:///${join(dir, 'g.db')}` } });
}

const watchdog = {
  namespace: 'Test::Compute::Watchdog', display_name: 'Watchdog', description: 'How a guest is watched.',
  visibility: 'public', protected: true, owner: 'admin',
  resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_', properties_target: null },
    { name: 'OS::Nova::Flavor', prefix: 'hw:', properties_target: null }],
  properties: { watchdog_action: { title: 'Watchdog Action', type: 'string', enum: ['disabled', 'reset'] } },
  objects: [{ name: 'Policy', description: null, required: ['watchdog_action'],
    properties: { watchdog_action: { title: 'Action', type: 'string' } } }],
  tags: [{ name: 'watch' }, { name: 'Watch' }],
};
const minimal = { namespace: 'Test::Minimal', display_name: null, description: null, visibility: 'private',
  protected: false, owner: 'ops', resource_type_associations: [], properties: {}, objects: [], tags: [] };

test('load then export round-trips a directory of definitions; loading again is idempotent; unload empties', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-metadefs-'));
  const source = join(dir, 'defs');
  mkdirSync(source);
  writeFileSync(join(source, 'compute-watchdog.json'), JSON.stringify(watchdog, null, 2));
  writeFileSync(join(source, 'minimal.json'), JSON.stringify(minimal));
  writeFileSync(join(source, 'README.txt'), 'not a definition');

  let result = glimpse(['metadefs', 'load', source], dir);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Test::Compute::Watchdog: created/);
  result = glimpse(['metadefs', 'load', source], dir);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Test::Compute::Watchdog: skipped/);

  result = glimpse(['metadefs', 'export', join(dir, 'out')], dir);
  assert.equal(result.status, 0, result.stderr);
  const files = readdirSync(join(dir, 'out')).sort();
  assert.deepEqual(files, ['TestComputeWatchdog.json', 'TestMinimal.json']);
  const read = (name: string) => JSON.parse(readFileSync(join(dir, 'out', name), 'utf8')) as unknown;
  assert.deepEqual(read('TestComputeWatchdog.json'), watchdog);
  assert.deepEqual(read('TestMinimal.json'), minimal);

  // The export loads into a fresh database and exports identically again.
  const second = mkdtempSync(join(tmpdir(), 'glimpse-metadefs-'));
  assert.equal(glimpse(['metadefs', 'load', join(dir, 'out')], second).status, 0);
  assert.equal(glimpse(['metadefs', 'export', join(second, 'out')], second).status, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(second, 'out', 'TestComputeWatchdog.json'), 'utf8')), watchdog);

  result = glimpse(['metadefs', 'unload'], dir);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(glimpse(['metadefs', 'export', join(dir, 'empty')], dir).stdout, '');
});

test('--merge adds what a namespace lacks, --prefer-new replaces, --overwrite starts again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-metadefs-'));
  const file = join(dir, 'ns.json');
  const exported = () => {
    assert.equal(glimpse(['metadefs', 'export', join(dir, 'out')], dir).status, 0);
    return JSON.parse(readFileSync(join(dir, 'out', 'TestMinimal.json'), 'utf8')) as typeof minimal;
  };
  writeFileSync(file, JSON.stringify({ ...minimal, tags: [{ name: 'a' }], properties: { p: { title: 'old', type: 'string' } } }));
  assert.equal(glimpse(['metadefs', 'load', file], dir).status, 0);
  writeFileSync(file, JSON.stringify({ ...minimal, description: 'new', tags: [{ name: 'b' }],
    properties: { p: { title: 'new', type: 'string' }, q: { title: 'q', type: 'string' } } }));
  let result = glimpse(['metadefs', 'load', '--merge', file], dir);
  assert.match(result.stdout, /merged/);
  let out = exported();
  assert.deepEqual(out.tags, [{ name: 'a' }, { name: 'b' }]);
  assert.deepEqual(out.properties, { p: { title: 'old', type: 'string' }, q: { title: 'q', type: 'string' } });
  assert.equal(out.description, null);
  assert.equal(glimpse(['metadefs', 'load', '--merge', '--prefer-new', file], dir).status, 0);
  out = exported();
  assert.equal(out.description, 'new');
  assert.deepEqual((out.properties as Record<string, { title: string }>).p!.title, 'new');
  result = glimpse(['metadefs', 'load', '--overwrite', file], dir);
  assert.match(result.stdout, /replaced/);
  assert.deepEqual(exported().tags, [{ name: 'b' }]);
});

test('a broken definition file is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-metadefs-'));
  writeFileSync(join(dir, 'bad.json'), '{nope');
  const result = glimpse(['metadefs', 'load', dir], dir);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /bad\.json: not valid JSON/);
});
