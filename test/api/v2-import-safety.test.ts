// Golden-file security tests (users-and-security.md §2 rows 1 and 2): malicious or mislabelled
// images, built here with small writers, are refused on plain upload, on stage and on import, and
// the image is never `active`. The import case tampers with the staged file after a clean stage
// (as a compromised node or a plugin's output could): the import inspects the staged data again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, json, octet, ownerMember, show } from '../helpers/v2.ts';
import { importImage, stage, waitForTasks } from '../helpers/import.ts';
import { KiB, gpt, qcow2, qed, vmdkDescriptor, vmdkSparse } from '../unit/formats-images.ts';

/** [name, declared disk_format, data, expected message]. */
const GOLDEN: [string, string, Buffer, RegExp][] = [
  ['qcow2 with a backing file', 'qcow2', qcow2({ backingFile: '/etc/passwd' }), /safety checks: backing_file/],
  ['qcow2 with an external data file', 'qcow2', qcow2({ dataFileExtension: '/etc/shadow' }), /safety checks: data_file/],
  ['vmdk whose flat extent names a host file', 'vmdk',
    Buffer.from(vmdkDescriptor('monolithicSparse', ['RW 1 FLAT "/etc/passwd" 0'])), /safety checks: .*extents/],
  ['vmdk monolithicFlat', 'vmdk', Buffer.from(vmdkDescriptor('monolithicFlat', ['RW 1 FLAT "disk-flat.vmdk" 0'])),
    /safety checks: descriptor/],
  ['QED', 'qcow2', qed(), /safety checks: banned/],
  ['GPT with a broken protective MBR', 'raw', gpt({ extra: [{ type: 0x83, startLba: 100, sectors: 10 }] }),
    /safety checks: mbr/],
  ['qcow2 data declared raw', 'raw', qcow2(), /disk_format raw does not match the data, which is qcow2/],
  ['raw data declared qcow2', 'qcow2', Buffer.alloc(64 * KiB, 0x5a), /disk_format qcow2 does not match the data, which is raw/],
];

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

const clean = Buffer.alloc(8 * KiB, 0x11);

for (const [name, diskFormat, data, message] of GOLDEN) {
  test(`${name}: refused on upload, on stage and on import; never active`, async () => {
    // plain upload
    const uploaded = await createImage(t, { disk_format: diskFormat, container_format: 'bare' });
    const put = await t.app.inject({ method: 'PUT', url: `/v2/images/${uploaded.id}/file`,
      headers: { ...ownerMember, ...octet, ...json }, payload: data });
    assert.equal(put.statusCode, 415, put.body);
    assert.match(put.json().message, message);
    assert.equal((await show(t, uploaded.id)).json().status, 'queued');

    // stage
    const staged = await createImage(t, { disk_format: diskFormat, container_format: 'bare' });
    const res = await stage(t, staged.id, data);
    assert.equal(res.statusCode, 415, res.body);
    assert.match(res.json().message, message);
    const afterStage = (await show(t, staged.id)).json();
    assert.equal(afterStage.status, 'queued');
    assert.equal(afterStage.size, null);
    assert.ok(!readdirSync(t.config.imageImport.stagingDir).some((f) => f.startsWith(staged.id)), 'nothing left staged');

    // import: a clean stage whose staged bytes are then replaced
    const imported = await createImage(t, { disk_format: diskFormat, container_format: 'bare' });
    const cleanData = { raw: clean, qcow2: qcow2(), vmdk: vmdkSparse() }[diskFormat]!;
    assert.equal((await stage(t, imported.id, cleanData)).statusCode, 204);
    writeFileSync(join(t.config.imageImport.stagingDir, imported.id), data);
    assert.equal((await importImage(t, imported.id, { method: { name: 'glance-direct' } })).statusCode, 202);
    const [task] = await waitForTasks(t, imported.id);
    assert.equal(task!.status, 'failure');
    assert.match(String(task!.message), message);
    const image = (await show(t, imported.id)).json();
    assert.equal(image.status, 'queued');
    assert.match(String(image.os_glance_import_error), message);
    assert.ok(!readdirSync(join(t.dir, 'images')).some((f) => f.startsWith(imported.id)), 'nothing stored');
  });
}
