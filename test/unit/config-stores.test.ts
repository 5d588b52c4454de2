import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

test('legacy store types: filesystem is file; http, swift, s3 and rbd load; unknown types are refused or warned about', () => {
  assert.equal(load('[glance_store]\ndefault_store = filesystem\n').config.stores.defaultBackend, 'file');
  const listed = load('[glance_store]\nstores = file, http, cinder\n');
  assert.deepEqual(listed.warnings, [
    '[glance_store] stores is deprecated; use [DEFAULT] enabled_backends instead',
    '[glance_store] stores: store type "cinder" is not supported yet; ignored',
  ]);
  assert.deepEqual(listed.config.stores.backends.map((b) => [b.id, b.type]), [['file', 'file'], ['http', 'http']]);
  assert.match(loadError('[glance_store]\ndefault_store = cinder\n').message,
    /store type "cinder" \(\[glance_store\] default_store\) is not supported yet/);
  const rbd = load('[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_user = glance\n').config.stores;
  assert.deepEqual([rbd.defaultBackend, rbd.backends[0]!.rbd], ['rbd', { pool: 'images', user: 'glance', confFile: '',
    chunkSize: 8 * 1024 * 1024, connectTimeout: -1, thinProvisioning: false }], 'glance_store\'s defaults');
  assert.match(loadError('[glance_store]\nstores = swift\n').message, /\[glance_store\] stores must include "file"/);
  assert.match(loadError('[glance_store]\nstores = file, ftp\n').message, /invalid value for \[glance_store\] stores: "ftp" is not one of/);
  assert.match(loadError('[glance_store]\nstores = swift\ndefault_store = swift\n').message, /\[glance_store\] swift_store_auth_address must be set/);
  const swift = load('[glance_store]\nstores = swift, file\ndefault_store = swift\nswift_store_auth_address = http://127.0.0.1:8080/auth/v1.0\n'
    + 'swift_store_auth_version = 1\nswift_store_user = test:tester\nswift_store_key = testing\nswift_store_large_object_size = 2\n');
  assert.equal(swift.config.stores.defaultBackend, 'swift');
  const s = swift.config.stores.backends.find((b) => b.id === 'swift')!.swift!;
  assert.deepEqual([s.authVersion, s.container, s.largeObjectSize, s.largeObjectChunkSize, s.reference], ['1', 'glance', 2 * 1024 * 1024, 200 * 1024 * 1024, undefined]);
});

test('swift_store_config_file: credentials come from the default_swift_reference section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-swiftref-'));
  try {
    const file = join(dir, 'glance-swift.conf');
    writeFileSync(file, '[ref1]\nuser = service:glance\nkey = s3cret\nauth_address = http://keystone:5000/v3\nauth_version = 3\n'
      + 'user_domain_name = Users\n\n[ref2]\nuser = a:b\nkey = k\nauth_address = http://swift:8080/auth/v1.0\nauth_version = 1\n');
    const conf = (ref: string) => `[DEFAULT]\nenabled_backends = obj:swift\n[glance_store]\ndefault_backend = obj\n[obj]\n`
      + `swift_store_config_file = ${file}\ndefault_swift_reference = ${ref}\nswift_store_multiple_containers_seed = 3\n`;
    const one = load(conf('ref1')).config.stores.backends[0]!.swift!;
    assert.deepEqual([one.authVersion, one.authAddress, one.user, one.key, one.userDomainName, one.userDomainId, one.projectDomainId, one.reference,
      one.multipleContainersSeed], ['3', 'http://keystone:5000/v3', 'service:glance', 's3cret', 'Users', undefined, 'default', 'ref1', 3]);
    assert.equal(load(conf('ref2')).config.stores.backends[0]!.swift!.authVersion, '1');
    const missing = loadError(conf('ref3'));
    assert.match(missing.message, /has no section \[ref3\]/);
    assert.doesNotMatch(missing.message, /s3cret/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('s3 backends: Glance option names, MB sizes, region from an AWS host', () => {
  const conf = (extra: string) => '[DEFAULT]\nenabled_backends = b:s3\n[glance_store]\ndefault_backend = b\n[b]\n'
    + 's3_store_access_key = AK\ns3_store_secret_key = SK\ns3_store_bucket = images\n' + extra;
  const c = load(conf('s3_store_host = s3-eu-west-1.amazonaws.com\ns3_store_thread_pools = 4\n')).config.stores.backends[0]!.s3!;
  assert.deepEqual([c.region, c.largeObjectSize, c.largeObjectChunkSize, c.threadPools, c.bucketUrlFormat],
    ['eu-west-1', 100 * 1024 * 1024, 10 * 1024 * 1024, 4, 'auto']);
  assert.equal(load(conf('s3_store_host = http://127.0.0.1:8080\n')).config.stores.backends[0]!.s3!.region, 'us-east-1');
  assert.match(loadError(conf('s3_store_host = x\ns3_store_large_object_chunk_size = 4\n')).message, /s3_store_large_object_chunk_size/);
  assert.match(loadError(conf('')).message, /\[b\] s3_store_host must be set for a s3 store/);
});

test('multi-store: bad values in backend sections name the backend section', () => {
  assert.match(loadError(twoFileStores.replace('weight = 100', 'weight = heavy')).message,
    /invalid value for \[fast\] weight: "heavy" is not an integer \(glimpse-api\.conf, line 8\)/);
});

test('multi-store: store types without a driver warn, unless they are the default backend', () => {
  const withCinder = twoFileStores.replace('fast:file, cheap:file', 'fast:file, cheap:file, obj:cinder')
    + '\n[obj]\ncinder_volume_type = fast\n';
  const { config, warnings } = load(withCinder);
  assert.deepEqual(config.stores.backends.map((b) => [b.id, b.type]), [['fast', 'file'], ['cheap', 'file'], ['obj', 'cinder']]);
  assert.deepEqual(config.stores.backends[2]!.options, { cinder_volume_type: 'fast' });
  assert.deepEqual(warnings, ['store type "cinder" of backend "obj" is not supported yet (supported: file, swift, s3, http, rbd); the backend is unavailable']);

  const err = loadError(withCinder.replace('default_backend = fast', 'default_backend = obj'));
  assert.match(err.message, /store type "cinder" of the default backend "obj" is not supported yet/);
});

test('multi-store: rbd backends read glance_store\'s rbd options from their own sections', () => {
  const twoPools = twoFileStores.replace('fast:file, cheap:file', 'fast:file, cheap:file, ceph:rbd, ceph2:rbd')
    + '\n[ceph]\nrbd_store_pool = images\nrbd_store_user = glance\nrbd_store_ceph_conf = etc/ceph.conf\n'
    + 'rbd_store_chunk_size = 4\nrados_connect_timeout = 10\nrbd_thin_provisioning = true\n'
    + '\n[ceph2]\nrbd_store_pool = fast-images\nrbd_store_chunk_size = 6\n';
  const { config, warnings, dir } = load(twoPools);
  const [ceph, ceph2] = config.stores.backends.slice(2);
  assert.deepEqual(ceph!.rbd, { pool: 'images', user: 'glance', confFile: join(dir, 'etc/ceph.conf'),
    chunkSize: 4 * 1024 * 1024, connectTimeout: 10, thinProvisioning: true });
  assert.deepEqual(ceph2!.rbd, { pool: 'fast-images', user: undefined, confFile: '', chunkSize: 6 * 1024 * 1024,
    connectTimeout: -1, thinProvisioning: false });
  assert.deepEqual(warnings, ['[ceph2] rbd_store_chunk_size = 6 is not a power of two; RBD objects of 4 MB are used']);
  assert.match(loadError(twoPools.replace('rbd_store_chunk_size = 4', 'rbd_store_chunk_size = 64')).message,
    /invalid value for \[ceph\] rbd_store_chunk_size/);
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
    'unknown option [DEFAULT] bind_prot (environment variable GLIMPSE_DEFAULT__BIND_PROT) (did you mean bind_port?); ignored',
    '[task] task_executor is a Glance option Glimpse does not use yet; ignored (environment variable GLIMPSE_TASK__TASK_EXECUTOR)',
  ]);
});
