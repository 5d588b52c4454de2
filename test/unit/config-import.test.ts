// [DEFAULT] enabled_import_methods / node_staging_uri, [os_glance_staging_store], [task].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { load, loadError } from './config-helpers.ts';

test('defaults: three import methods, ./data/staging, a worker in every API process', () => {
  const { config, dir } = load('');
  assert.deepEqual(config.imageImport.methods, ['glance-direct', 'web-download', 'copy-image']);
  assert.equal(config.imageImport.stagingDir, join(dir, 'data', 'staging'));
  assert.equal(config.imageImport.selfReferenceUrl, undefined);
  assert.deepEqual(config.tasks, { timeToLiveHours: 48, runWorkerInApi: true, leaseSeconds: 60, pollIntervalSeconds: 2,
    recoveryIntervalSeconds: 30 });
  assert.equal(config.imageFormat.requireFormatMatch, true);
});

test("oslo's bracketed, quoted list form is accepted; unknown methods are refused", () => {
  const { config } = load("[DEFAULT]\nenabled_import_methods = ['glance-direct', web-download,glance-download]\n");
  assert.deepEqual(config.imageImport.methods, ['glance-direct', 'web-download', 'glance-download']);
  assert.match(loadError('[DEFAULT]\nenabled_import_methods = glance-direct,ftp-download\n').message, /unknown import method ftp-download/);
  assert.deepEqual(load('[DEFAULT]\nenabled_import_methods =\n').config.imageImport.methods, []);
});

test('staging directory: [os_glance_staging_store] wins over node_staging_uri; the URI must be file:///', () => {
  assert.equal(load('[DEFAULT]\nnode_staging_uri = file:///srv/staging\n').config.imageImport.stagingDir, '/srv/staging');
  const both = load('[DEFAULT]\nnode_staging_uri = file:///srv/staging\n[os_glance_staging_store]\nfilesystem_store_datadir = /nfs/stage\n');
  assert.equal(both.config.imageImport.stagingDir, '/nfs/stage');
  assert.match(loadError('[DEFAULT]\nnode_staging_uri = /srv/staging\n').message, /not a file:\/\/\/ URI/);
});

test('[task] options and worker_self_reference_url', () => {
  const { config } = load('[DEFAULT]\nworker_self_reference_url = http://node1:9292\n[task]\ntask_time_to_live = 2\n'
    + 'run_worker_in_api = false\nlease_duration = 10\npoll_interval = 0.5\nrecovery_interval = 7\n');
  assert.equal(config.imageImport.selfReferenceUrl, 'http://node1:9292');
  assert.deepEqual(config.tasks, { timeToLiveHours: 2, runWorkerInApi: false, leaseSeconds: 10, pollIntervalSeconds: 0.5,
    recoveryIntervalSeconds: 7 });
  assert.match(loadError('[task]\nlease_duration = 1\n').message, /lease_duration/);
});
