// `npm run bench:cache`: download MiB/s of one image on a cache miss (read from the store while the
// cache is filled) and on a hit (read from image_cache_dir), for the file, swift and s3 stores, with
// a Glimpse server in a child process. The file store without cache is the baseline a hit should
// match. BENCH_SIZE_MB (default 256), BENCH_CACHE_ROUNDS (default 2: a new image each round).
// The swift/s3 parts need objectstore.sh's env (`. /tmp/os.env`); without it they are skipped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ImagesClient } from './client.ts';
import { median } from './measure.ts';
import { fmt, printTable } from './report.ts';
import { CALLER } from './seed.ts';
import { createDeployment, startGlimpse } from './server.ts';
import { storeConfig, type Store } from './stores.ts';

const MiB = 2 ** 20;
const sizeMiB = Number(process.env.BENCH_SIZE_MB ?? 256);
const size = Math.round(sizeMiB * MiB);
const rounds = Math.max(1, Number(process.env.BENCH_CACHE_ROUNDS ?? 2));

interface Result { store: Store; miss: number; hit: number; uncached?: number; skipped?: string }

async function benchStore(store: Store): Promise<Result> {
  const name = `glimpse-bench-cache-${randomBytes(4).toString('hex')}`;
  const config = storeConfig(store, name);
  if (typeof config === 'string') return { store, miss: 0, hit: 0, skipped: config };
  const cacheDir = await mkdtemp(join(tmpdir(), 'glimpse-bench-cache-'));
  const deployment = await createDeployment([...config, '[DEFAULT]', `image_cache_dir = ${cacheDir}`,
    `image_cache_max_size = ${4 * size}`, '']);
  const server = await startGlimpse(deployment);
  const client = new ImagesClient(server.url, CALLER);
  const miss: number[] = [];
  const hit: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const id = await client.createImage(`cache-bench-${round}`);
      await client.upload(id, size);
      miss.push(sizeMiB / await client.download(id, size));
      hit.push(sizeMiB / await client.download(id, size));
      hit.push(sizeMiB / await client.download(id, size));
      await client.deleteImage(id);
      console.log(`  [${store}] round ${round + 1}: miss ${miss.at(-1)!.toFixed(0)} MiB/s, hits ${hit.slice(-2).map((v) => v.toFixed(0)).join(', ')} MiB/s`);
    }
  } finally {
    client.close();
    await server.stop();
    await deployment.remove();
    await rm(cacheDir, { recursive: true, force: true });
  }
  return { store, miss: median(miss), hit: median(hit) };
}

/** The file store's download without a cache: what a hit is compared with. */
async function fileBaseline(): Promise<number> {
  const deployment = await createDeployment();
  const server = await startGlimpse(deployment);
  const client = new ImagesClient(server.url, CALLER);
  const rates: number[] = [];
  try {
    const id = await client.createImage('baseline');
    await client.upload(id, size);
    for (let i = 0; i < 2 * rounds; i++) rates.push(sizeMiB / await client.download(id, size));
  } finally {
    client.close();
    await server.stop();
    await deployment.remove();
  }
  return median(rates);
}

console.log(`bench:cache: ${sizeMiB} MiB image, ${rounds} round(s)`);
const baseline = await fileBaseline();
console.log(`  file store without cache: ${baseline.toFixed(0)} MiB/s`);
const results: Result[] = [];
for (const store of ['file', 'swift', 's3'] as const) results.push(await benchStore(store));
console.log(`\n== results (medians; MiB = 2^20 bytes; file store without cache: ${fmt.rate(baseline)}) ==`);
printTable(results.flatMap((r) => r.skipped ? [{ metric: `${r.store} store`, glimpse: `skipped: ${r.skipped}` }] : [
  { metric: `download on a cache miss, ${r.store} store`, glimpse: fmt.rate(r.miss) },
  { metric: `download on a cache hit, ${r.store} store`, glimpse: `${fmt.rate(r.hit)} (${(r.hit / r.miss).toFixed(1)}× the miss; `
    + `${((r.hit / baseline) * 100).toFixed(0)} % of the file store without cache)` },
]), false);
