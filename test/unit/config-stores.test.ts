import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { load, loadError } from './config-helpers.ts';

const twoFileStores = [
  '[DEFAULT]', 'enabled_backends = fast:file, cheap:file',
  '[glance_store]', 'default_backend = fast',
  '[fast]', 'filesystem_store_datadir = data/fast', 'store_description = SSD', 'weight = 100',
  '[cheap]', 'filesystem_store_datadir = /srv/cheap',
].join('\n');

test('legacy single store: one backend "file" from [glance_store] filesystem_store_datadir', () => {
  const { config, warnings, dir } = load('[glance_store]\nfilesystem_store_datadir = images\nfilesystem_store_chunk_size = 65536\n');
  assert.deepEqual(config.stores, {
    multiStore: false, defaultBackend: 'file',
    backends: [{
      id: 'file', type: 'file', weight: 0, filesystemStoreDatadir: join(dir, 'images'),
      options: { filesystem_store_datadir: 'images', filesystem_store_chunk_size: '65536' },
    }],
  });
  assert.deepEqual(warnings, [
    '[glance_store] filesystem_store_chunk_size is a Glance option Glimpse does not use yet; ignored (glimpse-api.conf, line 3)',
  ]);
});

test('legacy store types: filesystem is file; others are refused as default, warned about in stores', () => {
  assert.equal(load('[glance_store]\ndefault_store = filesystem\n').config.stores.defaultBackend, 'file');
  const listed = load('[glance_store]\nstores = file, http\n');
  assert.deepEqual(listed.warnings, [
    '[glance_store] stores is deprecated; use [DEFAULT] enabled_backends instead',
    '[glance_store] stores: store type "http" is not supported yet; ignored',
  ]);
  assert.match(loadError('[glance_store]\ndefault_store = swift\n').message,
    /store type "swift" \(\[glance_store\] default_store\) is not supported yet/);
  assert.match(loadError('[glance_store]\nstores = swift\n').message, /\[glance_store\] stores must include "file"/);
  assert.match(loadError('[glance_store]\nstores = file, ftp\n').message, /invalid value for \[glance_store\] stores: "ftp" is not one of/);
});

test('multi-store: backends in enabled_backends order with their sections', () => {
  const { config, warnings, dir } = load(twoFileStores);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.stores, {
    multiStore: true,
    defaultBackend: 'fast',
    backends: [
      { id: 'fast', type: 'file', description: 'SSD', weight: 100, filesystemStoreDatadir: join(dir, 'data/fast'),
        options: { filesystem_store_datadir: 'data/fast', store_description: 'SSD', weight: '100' } },
      { id: 'cheap', type: 'file', weight: 0, filesystemStoreDatadir: '/srv/cheap',
        options: { filesystem_store_datadir: '/srv/cheap' } },
    ],
  });
});

test('multi-store: default_backend is required and must be an enabled id', () => {
  const noDefault = loadError('[DEFAULT]\nenabled_backends = fast:file\n[fast]\nfilesystem_store_datadir = x\n');
  assert.match(noDefault.message, /\[glance_store\] default_backend must be set when \[DEFAULT\] enabled_backends is set \(to one of: fast\)/);
  const wrong = loadError(twoFileStores.replace('default_backend = fast', 'default_backend = slow'));
  assert.match(wrong.message, /invalid value for \[glance_store\] default_backend: "slow" is not one of the ids in \[DEFAULT\] enabled_backends \(fast, cheap\)/);
});

test('multi-store: a file backend without filesystem_store_datadir names [id] filesystem_store_datadir', () => {
  const err = loadError(twoFileStores.replace('filesystem_store_datadir = /srv/cheap', ''));
  assert.match(err.message, /^\[cheap\] filesystem_store_datadir must be set/);
  assert.equal(err.section, 'cheap');
  assert.equal(err.option, 'filesystem_store_datadir');
});

test('multi-store: bad values in backend sections name the backend section', () => {
  assert.match(loadError(twoFileStores.replace('weight = 100', 'weight = heavy')).message,
    /invalid value for \[fast\] weight: "heavy" is not an integer \(glimpse-api\.conf, line 8\)/);
});

test('multi-store: other store types warn, unless they are the default backend', () => {
  const withSwift = twoFileStores.replace('fast:file, cheap:file', 'fast:file, cheap:file, obj:swift')
    + '\n[obj]\nswift_store_container = glance\n';
  const { config, warnings } = load(withSwift);
  assert.deepEqual(config.stores.backends.map((b) => [b.id, b.type]), [['fast', 'file'], ['cheap', 'file'], ['obj', 'swift']]);
  assert.deepEqual(config.stores.backends[2]!.options, { swift_store_container: 'glance' });
  assert.deepEqual(warnings, ['store type "swift" of backend "obj" is not supported yet (only file stores are); the backend is unavailable']);

  const err = loadError(withSwift.replace('default_backend = fast', 'default_backend = obj'));
  assert.match(err.message, /store type "swift" of the default backend "obj" is not supported yet/);
});

test('multi-store: bad ids and types in enabled_backends', () => {
  const bad = (value: string) => loadError(`[DEFAULT]\nenabled_backends = ${value}\n[glance_store]\ndefault_backend = a\n`).message;
  assert.match(bad('a:ftp'), /invalid value for \[DEFAULT\] enabled_backends: store type "ftp" of backend "a" is not one of: file, http/);
  assert.match(bad('os_glance_staging_store:file'), /reserved for internal stores/);
  assert.match(bad('database:file'), /backend id "database" is the name of the \[database\] section/);
  assert.match(bad('a:file, A:file'), /differ only in case/);
  assert.match(bad('a b:file'), /may contain only letters/);
});

test('multi-store: legacy store options are ignored with a warning; unknown [id] options of file backends warn', () => {
  const { warnings } = load(`${twoFileStores}\nbogus = 1\nfilesystem_store_file_perm = 0644\n[glance_store]\ndefault_store = file\n`);
  assert.deepEqual(warnings, [
    'unknown option [cheap] bogus (glimpse-api.conf, line 11); ignored',
    '[cheap] filesystem_store_file_perm is a Glance option Glimpse does not use yet; ignored (glimpse-api.conf, line 12)',
    '[glance_store] default_store is deprecated; use [glance_store] default_backend instead',
    '[glance_store] default_store is ignored because [DEFAULT] enabled_backends is set',
  ]);
});

test('a section named like a backend id is unknown when the id is not enabled; default_backend without enabled_backends warns', () => {
  const { config, warnings } = load('[glance_store]\ndefault_backend = fast\n[fast]\nfilesystem_store_datadir = x\n');
  assert.equal(config.stores.multiStore, false);
  assert.deepEqual(warnings, [
    'unknown section [fast] (glimpse-api.conf, line 3); ignored, with its options filesystem_store_datadir',
    '[glance_store] default_backend is ignored because [DEFAULT] enabled_backends is not set',
  ]);
});

const keystoneEnv = {
  GLIMPSE_KEYSTONE_AUTHTOKEN__AUTH_URL: 'http://keystone:5000', GLIMPSE_KEYSTONE_AUTHTOKEN__USERNAME: 'glance',
  GLIMPSE_KEYSTONE_AUTHTOKEN__PASSWORD: 'secret', GLIMPSE_KEYSTONE_AUTHTOKEN__PROJECT_NAME: 'service',
};

test('environment variables override the file; values are validated and errors name the variable', () => {
  const { config, warnings } = load('[DEFAULT]\nbind_port = 9393\nworkers = 2\n', {
    GLIMPSE_DEFAULT__BIND_PORT: '9494',
    GLIMPSE_DATABASE__CONNECTION: 'postgresql://glance@db/glance',
    GLIMPSE_PASTE_DEPLOY__FLAVOR: 'keystone+cachemanagement',
    GLIMPSE_IMAGE_FORMAT__DISK_FORMATS: 'raw,qcow2',
    ...keystoneEnv,
  });
  assert.deepEqual(warnings, []);
  assert.equal(config.bindPort, 9494);
  assert.equal(config.workers, 2);
  assert.equal(config.database.connection, 'postgresql://glance@db/glance');
  assert.equal(config.auth.flavor, 'keystone');
  assert.deepEqual(config.auth.flavorSuffixes, ['cachemanagement']);
  assert.equal(config.auth.keystone?.authUrl, 'http://keystone:5000/v3');
  assert.equal(config.auth.keystone?.wwwAuthenticateUri, 'http://keystone:5000/v3');
  assert.equal(config.auth.keystone?.tokenCacheTime, 300);
  assert.deepEqual(config.imageFormat.diskFormats, ['raw', 'qcow2']);

  assert.throws(() => loadConfig({ env: { GLIMPSE_DEFAULT__BIND_PORT: 'abc' } }), {
    message: 'invalid value for [DEFAULT] bind_port: "abc" is not an integer (environment variable GLIMPSE_DEFAULT__BIND_PORT)',
  });
});

test('environment variables can set up multi-store, including backend sections by id', () => {
  const { config, warnings } = loadConfig({
    cwd: '/srv',
    env: {
      GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file',
      GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
      GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: 'fast-images',
    },
  });
  assert.deepEqual(warnings, []);
  assert.equal(config.stores.defaultBackend, 'fast');
  assert.equal(config.stores.backends[0]!.filesystemStoreDatadir, '/srv/fast-images');
});

test('GLIMPSE_ variables that match no option are warnings; test and non-option variables are left alone', () => {
  const { warnings } = loadConfig({
    env: {
      GLIMPSE_DEFAULT__BIND_PROT: '1',
      GLIMPSE_BIND_PORT: '1',
      GLIMPSE_NOWHERE__X: '1',
      GLIMPSE_TASK__TASK_EXECUTOR: 'taskflow',
      GLIMPSE_TEST_POSTGRES_URL: 'postgresql://x',
      GLIMPSE_CONFIG_FILE: '/etc/glimpse/glimpse-api.conf',
      OTHER: 'x',
    },
  });
  assert.deepEqual(warnings, [
    'environment variable GLIMPSE_BIND_PORT is not of the form GLIMPSE_<SECTION>__<OPTION>; ignored',
    'environment variable GLIMPSE_NOWHERE__X names no known section (nor a backend id of enabled_backends); ignored',
    'unknown option [DEFAULT] bind_prot (environment variable GLIMPSE_DEFAULT__BIND_PROT); ignored',
    '[task] task_executor is a Glance option Glimpse does not use yet; ignored (environment variable GLIMPSE_TASK__TASK_EXECUTOR)',
  ]);
});
