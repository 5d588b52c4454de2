// The measurements against a Glimpse server in a child process, in two phases:
//   1. 1k images seeded → start → GET image req/s, list latency → stop;
//   2. the rest seeded (up to `images`) → start a fresh process → 1 GiB upload/download with its
//      RSS sampled (VmHWM read after the uploads) → list latency again → stop.
// The second process is fresh so that its peak RSS belongs to the upload, not to earlier load.
import { ImagesClient } from './client.ts';
import { getImageRate, listLatency, transfer, type LatencyResult, type RateResult, type TransferResult } from './measure.ts';
import { CALLER, seedImages } from './seed.ts';
import { createDeployment, resetPeak, startGlimpse, type GlimpseServer } from './server.ts';

export interface GlimpseResults {
  rate: RateResult;
  listSmall: LatencyResult & { images: number };
  listLarge?: LatencyResult & { images: number };
  transfer: TransferResult;
  /** VmRSS of the fresh server before the first upload. */
  rssBeforeUpload: number;
  seedSeconds: number;
}

function log(text: string): void {
  console.log(`  [glimpse] ${text}`);
}

async function withServer<T>(server: GlimpseServer, run: (client: ImagesClient) => Promise<T>): Promise<T> {
  const client = new ImagesClient(server.url, CALLER);
  try {
    return await run(client);
  } finally {
    client.close();
    await server.stop();
  }
}

export async function benchGlimpse(options: {
  images: number; size: number; rounds: number;
  /** Runs while the server is idle right before each upload (to sample the hashing ceiling). */
  beforeUpload?: () => void;
}): Promise<GlimpseResults> {
  const { images, size, rounds } = options;
  const small = Math.min(1000, images);
  const deployment = await createDeployment();
  try {
    let seedSeconds = 0;
    const seed = async (from: number, count: number) => {
      const started = Date.now();
      const ids = await seedImages(deployment.databaseUrl, deployment.dataDir, from, count);
      seedSeconds += (Date.now() - started) / 1000;
      log(`seeded ${count} images (${from + count} in all) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return ids;
    };
    const callerImages = await seed(0, small);

    const phase1 = await withServer(await startGlimpse(deployment), async (client) => {
      log('GET /v2/images/{id} at concurrency 16');
      const rate = await getImageRate(client, callerImages[0]!);
      log(`list at ${small} images`);
      const list = await listLatency(client);
      return { rate, listSmall: { ...list, images: small } };
    });

    if (images > small) await seed(small, images - small);
    const server = await startGlimpse(deployment);
    const phase2 = await withServer(server, async (client) => {
      const rssBeforeUpload = (await server.memory()).rss;
      log(`upload/download ${size / 2 ** 20} MiB × ${rounds} (server pid ${server.pid})`);
      // VmHWM is reset before each upload and read after it: the peak RSS of the upload itself.
      const moved = await transfer(client, size, {
        rounds, watch: [server.pid],
        beforeUpload: async () => {
          options.beforeUpload?.();
          await resetPeak(server.pid);
        },
        afterUpload: async () => (await server.memory()).hwm,
      });
      let listLarge: GlimpseResults['listLarge'];
      if (images > small) {
        log(`list at ${images} images`);
        listLarge = { ...await listLatency(client), images };
      }
      return { transfer: moved, rssBeforeUpload, listLarge };
    });
    return { ...phase1, ...phase2, seedSeconds };
  } finally {
    await deployment.remove();
  }
}
