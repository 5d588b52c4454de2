// An import plugin run on the staged data of an api_image_import task (src/tasks/plugins/staged.ts): the staged object is
// replaced whole — by a rename in a file staging store, by delete + put in any other — and no work
// files are left behind, whether the plugin succeeded or failed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import type { PutResult, StoreDriver } from '../../src/ports/store.ts';
import { ImportPluginError, createImportPlugins } from '../../src/tasks/plugins/index.ts';
import { FileStoreDriver } from '../../src/stores/file/file-driver.ts';
import { runOnStaged } from '../../src/tasks/plugins/staged.ts';
import { newImage } from '../helpers/image-fixtures.ts';
import { quietLog, scratch } from './import-plugins-helpers.ts';

const { dir, cleanup } = scratch();
after(cleanup);

const [plugin] = createImportPlugins({
  plugins: ['image_decompression'], conversion: { outputFormat: 'raw', timeoutSeconds: 30 },
  inject: { ignoreUserRoles: [], properties: {} }, imageSizeCap: 1024 * 1024, inspection: { vmdkAllowedTypes: [] },
});
const decompress = { run: (staged: Parameters<typeof runOnStaged>[1]) => runOnStaged(plugin!, staged, quietLog) };
const content = 'the disk inside the gzip stream';

/** A staging store kept in memory: a fake, standing in for a non-file staging store (none exists yet). */
class MemoryStagingFake implements StoreDriver {
  readonly id = 'memory-staging-fake';
  readonly type = 'memory';
  readonly objects = new Map<string, Buffer>();
  async put(imageId: string, source: Readable): Promise<PutResult> {
    const location = this.locationFor(imageId);
    if (this.objects.has(location)) throw new Error('exists');
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(chunk as Buffer);
    this.objects.set(location, Buffer.concat(chunks));
    return { location, bytesWritten: this.objects.get(location)!.length };
  }
  async get(location: string) {
    const data = this.objects.get(location);
    if (!data) throw new Error('missing');
    return { stream: Readable.from([data]), size: data.length };
  }
  async delete(location: string) { this.objects.delete(location); }
  async size(location: string) { return this.objects.get(location)?.length ?? 0; }
  owns(location: string) { return location.startsWith('memory://'); }
  locationFor(imageId: string) { return `memory://${imageId}`; }
}

function context(staging: StoreDriver, imageId: string) {
  return {
    image: newImage({ id: imageId, diskFormat: 'raw', containerFormat: 'bare' }), staging,
    stagedLocation: staging.locationFor!(imageId), roles: ['member'], signal: new AbortController().signal,
  };
}

describe('import plugins on the staged data', () => {
  test('file staging: the staged file is replaced in place and the work directory removed', async () => {
    const staging = new FileStoreDriver({ id: 'os_glance_staging_store', dataDir: join(dir, 'staging') });
    const id = 'aaaaaaaa-0000-0000-0000-000000000001';
    await staging.put(id, Readable.from([gzipSync(content)]));
    const result = await decompress.run(context(staging, id));
    assert.deepEqual(result, { replacedData: true, diskFormat: undefined, containerFormat: undefined, properties: undefined });
    assert.equal(readFileSync(join(dir, 'staging', id), 'utf8'), content);
    assert.deepEqual(readdirSync(join(dir, 'staging')), [id]);
  });

  test('other staging stores: a local copy, then delete + put', async () => {
    const staging = new MemoryStagingFake();
    const id = 'aaaaaaaa-0000-0000-0000-000000000002';
    await staging.put(id, Readable.from([gzipSync(content)]));
    assert.equal((await decompress.run(context(staging, id))).replacedData, true);
    assert.equal(await text((await staging.get(`memory://${id}`)).stream), content);
    assert.equal(existsSync(join(tmpdir(), `glimpse-import-${id}`)), false);
  });

  test('unchanged data is not rewritten; a failure leaves the staged data and no work files', async () => {
    const staging = new FileStoreDriver({ id: 'os_glance_staging_store', dataDir: join(dir, 'staging2') });
    const plain = 'aaaaaaaa-0000-0000-0000-000000000003';
    await staging.put(plain, Readable.from([Buffer.from('not compressed')]));
    assert.equal((await decompress.run(context(staging, plain))).replacedData, false);
    const bomb = 'aaaaaaaa-0000-0000-0000-000000000004';
    const data = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    await staging.put(bomb, Readable.from([data]));
    await assert.rejects(decompress.run(context(staging, bomb)), ImportPluginError);
    assert.deepEqual(readFileSync(join(dir, 'staging2', bomb)), data);
    assert.deepEqual(readdirSync(join(dir, 'staging2')).sort(), [plain, bomb].sort());
  });
});
