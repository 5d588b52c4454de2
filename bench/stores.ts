// Upload and download MiB/s of one large image through the swift, s3 and rbd drivers (the real object
// store of shared/tools/objectstore.sh, read from SWIFT_* / S3_* as the tests do; the Ceph cluster of
// scripts/ceph.sh, from CEPH_*, measured next to `rbd import`/`rbd export` in the same run), each with
// Glance's default driver options, against a Glimpse server in a child process — the same
// measurement as the file store's, so the numbers sit side by side. A store without its env is
// reported as skipped. Each run uses a fresh container/bucket and removes it afterwards.
import { randomBytes } from 'node:crypto';

import { S3StoreDriver } from '../src/stores/s3/s3-driver.ts';
import { SwiftAuth } from '../src/stores/swift/swift-auth.ts';
import { SwiftStoreDriver } from '../src/stores/swift/swift-driver.ts';
import { locationBase } from '../src/stores/swift/swift-location.ts';
import { ImagesClient } from './client.ts';
import { rbdReference, type RbdReference } from './rbd-reference.ts';
import { median, transfer, type TransferResult } from './measure.ts';
import { CALLER } from './seed.ts';
import { createDeployment, resetPeak, startGlimpse } from './server.ts';

export type Store = 'file' | 'swift' | 's3' | 'rbd';

export interface StoreBenchResult {
  store: Store;
  transfer?: TransferResult;
  /** rbd: Ceph's own CLI on the same cluster and data size. */
  reference?: RbdReference;
  skipped?: string;
}

export function storeConfig(store: Store, name: string): string[] | string {
  const env = process.env;
  if (store === 'file') return [];
  const head = ['[DEFAULT]', `enabled_backends = obj:${store}`, '[glance_store]', 'default_backend = obj', '[obj]'];
  if (store === 'swift') {
    if (!env.SWIFT_AUTH_URL || !env.SWIFT_USER || !env.SWIFT_KEY) return 'SWIFT_AUTH_URL/SWIFT_USER/SWIFT_KEY not set';
    return [...head, 'swift_store_auth_version = 1', `swift_store_auth_address = ${env.SWIFT_AUTH_URL}`,
      `swift_store_user = ${env.SWIFT_USER}`, `swift_store_key = ${env.SWIFT_KEY}`, `swift_store_container = ${name}`,
      'swift_store_create_container_on_put = true', ''];
  }
  if (store === 'rbd') {
    if (!env.CEPH_CONF || !env.CEPH_USER || !env.CEPH_POOL) return 'CEPH_CONF/CEPH_USER/CEPH_POOL not set (scripts/ceph.sh env)';
    return [...head, `rbd_store_pool = ${env.CEPH_POOL}`, `rbd_store_user = ${env.CEPH_USER}`, `rbd_store_ceph_conf = ${env.CEPH_CONF}`, ''];
  }
  if (!env.S3_ENDPOINT || !env.S3_ACCESS_KEY || !env.S3_SECRET_KEY) return 'S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY not set';
  return [...head, `s3_store_host = ${env.S3_ENDPOINT}`, `s3_store_access_key = ${env.S3_ACCESS_KEY}`,
    `s3_store_secret_key = ${env.S3_SECRET_KEY}`, `s3_store_bucket = ${name}`, 's3_store_create_bucket_on_put = true',
    `s3_store_region = ${env.S3_REGION ?? 'us-east-1'}`, ''];
}

/** Removes what a run left (the images were deleted through the API; this drops the container/bucket). */
async function dropContainer(store: Store, name: string): Promise<void> {
  const env = process.env;
  if (store === 'file' || store === 'rbd') return;
  if (store === 'swift') {
    const auth = new SwiftAuth({ authVersion: '1', authAddress: env.SWIFT_AUTH_URL!, user: env.SWIFT_USER!, key: env.SWIFT_KEY! });
    await new SwiftStoreDriver({ id: 'obj', auth, base: locationBase({ authAddress: env.SWIFT_AUTH_URL! }), container: name,
      largeObjectSize: 1, largeObjectChunkSize: 1 }).removeContainer(name);
    return;
  }
  const driver = new S3StoreDriver({ id: 'obj', endpoint: env.S3_ENDPOINT!, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!,
    region: env.S3_REGION ?? 'us-east-1', bucket: name, forcePathStyle: true, largeObjectSize: 1, largeObjectChunkSize: 1, threadPools: 1 });
  const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  await (await driver.s3()).send(new DeleteBucketCommand({ Bucket: name }));
}

export async function benchStores(options: { size: number; rounds: number; stores?: Store[] }): Promise<StoreBenchResult[]> {
  const results: StoreBenchResult[] = [];
  for (const store of options.stores ?? ['swift', 's3']) {
    const name = `glimpse-bench-${randomBytes(4).toString('hex')}`;
    const config = storeConfig(store, name);
    if (typeof config === 'string') {
      console.log(`  [${store}] skipped: ${config}`);
      results.push({ store, skipped: config });
      continue;
    }
    const deployment = await createDeployment(config);
    const server = await startGlimpse(deployment);
    const client = new ImagesClient(server.url, CALLER);
    try {
      console.log(`  [${store}] upload/download ${options.size / 2 ** 20} MiB × ${options.rounds} (server pid ${server.pid})`);
      const once = (rounds: number) => transfer(client, options.size, {
        rounds, watch: [server.pid],
        beforeUpload: () => resetPeak(server.pid),
        afterUpload: async () => (await server.memory()).hwm,
      });
      if (store !== 'rbd') {
        results.push({ store, transfer: await once(options.rounds) });
        continue;
      }
      // rbd: API and `rbd import/export` alternate round by round, so both see the same machine load.
      const moved: TransferResult[] = [];
      const references: RbdReference[] = [];
      for (let round = 0; round < options.rounds; round++) {
        moved.push(await once(1));
        references.push(await rbdReference(options.size, 1));
      }
      const uploads = moved.flatMap((m) => m.uploads);
      const downloads = moved.flatMap((m) => m.downloads);
      results.push({ store, transfer: { ...moved.at(-1)!, uploads, downloads, uploadMiBps: median(uploads),
        downloadMiBps: median(downloads), uploadHwm: Math.max(...moved.map((m) => m.uploadHwm)) },
      reference: { importMiBps: median(references.map((r) => r.importMiBps)), exportMiBps: median(references.map((r) => r.exportMiBps)) } });
    } finally {
      client.close();
      await server.stop();
      await dropContainer(store, name).catch((error: unknown) => console.log(`  [${store}] cleanup: ${String(error)}`));
      await deployment.remove();
    }
  }
  return results;
}

/** Rows for the results table: upload/download MiB/s and peak RSS per object store. */
export function storeRows(results: StoreBenchResult[], sizeMiB: number, rate: (v: number) => string, mb: (v: number) => string) {
  return results.flatMap((r) => (r.transfer
    ? [
      { metric: `upload ${sizeMiB} MiB, ${r.store} store`, glimpse: rate(r.transfer.uploadMiBps) },
      { metric: `download ${sizeMiB} MiB, ${r.store} store`, glimpse: rate(r.transfer.downloadMiBps) },
      { metric: `peak RSS during upload, ${r.store} store`, glimpse: `${mb(r.transfer.uploadHwm)} (VmHWM)` },
      ...(r.reference ? [
        { metric: `rbd import ${sizeMiB} MiB (reference)`, glimpse: `${rate(r.reference.importMiBps)} `
          + `(API upload at ${Math.round((100 * r.transfer.uploadMiBps) / r.reference.importMiBps)} %)` },
        { metric: `rbd export ${sizeMiB} MiB (reference)`, glimpse: `${rate(r.reference.exportMiBps)} `
          + `(API download at ${Math.round((100 * r.transfer.downloadMiBps) / r.reference.exportMiBps)} %)` },
      ] : []),
    ]
    : [{ metric: `upload/download, ${r.store} store`, glimpse: `skipped: ${r.skipped}` }]));
}
