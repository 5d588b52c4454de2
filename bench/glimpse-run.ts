// The measurements against Glimpse servers in child processes, over two deployments (temp dirs):
//   1. the small one, 1k images seeded → start → GET image req/s → stop;
//   2. the large one, `images` seeded → start a fresh process → 1 GiB upload/download with its RSS
//      sampled (VmHWM read after the uploads); then a fresh process on the small deployment beside
//      it, and list latency of both with their requests interleaved → stop both.
// The upload's process is fresh so that its peak RSS belongs to the upload, not to earlier load.
// The two list measurements run side by side so that the machine's other load (this machine is
// shared) weighs on both alike; measured minutes apart, they differed by that load more than by size.
import { ImagesClient } from './client.ts';
import { getImageRate, interleavedListLatency, listLatency, transfer, type LatencyResult, type RateResult, type TransferResult } from './measure.ts';
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
  const smallDeployment = await createDeployment();
  const largeDeployment = images > small ? await createDeployment() : smallDeployment;
  try {
    let seedSeconds = 0;
    const seed = async (url: string, dataDir: string, count: number) => {
      const started = Date.now();
      const ids = await seedImages(url, dataDir, 0, count);
      seedSeconds += (Date.now() - started) / 1000;
      log(`seeded ${count} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return ids;
    };
    const callerImages = await seed(smallDeployment.databaseUrl, smallDeployment.dataDir, small);

    const phase1 = await withServer(await startGlimpse(smallDeployment), async (client) => {
      log('GET /v2/images/{id} at concurrency 16');
      return { rate: await getImageRate(client, callerImages[0]!) };
    });

    if (largeDeployment !== smallDeployment) await seed(largeDeployment.databaseUrl, largeDeployment.dataDir, images);
    const server = await startGlimpse(largeDeployment);
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
      let listSmall: GlimpseResults['listSmall'];
      let listLarge: GlimpseResults['listLarge'];
      if (largeDeployment === smallDeployment) {
        log(`list at ${small} images`);
        listSmall = { ...await listLatency(client), images: small };
      } else {
        log(`list at ${small} and at ${images} images, interleaved (a second server on the ${small}-image deployment)`);
        const [smallList, largeList] = await withServer(await startGlimpse(smallDeployment),
          (smallClient) => interleavedListLatency([smallClient, client]));
        listSmall = { ...smallList!, images: small };
        listLarge = { ...largeList!, images };
      }
      return { transfer: moved, rssBeforeUpload, listSmall, listLarge };
    });
    return { ...phase1, ...phase2, seedSeconds };
  } finally {
    await smallDeployment.remove();
    if (largeDeployment !== smallDeployment) await largeDeployment.remove();
  }
}
