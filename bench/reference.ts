// The same measurements against a running reference Glance (REF_GLANCE_URL, trusted-auth flavor).
// Its catalogue is whatever it holds; when the bench project sees fewer than 1k images, 1k are
// created through its API first (100k through Glance's API would take hours, so the reference
// gets the 1k list only). Everything the bench creates there is deleted again at the end.
// The Glance processes' memory is read by finding who holds its listening socket (/proc).
import { ImagesClient } from './client.ts';
import { getImageRate, listLatency, transfer, type LatencyResult, type RateResult, type TransferResult } from './measure.ts';
import { listenerPids } from './server.ts';

export const REF_PROJECT = 'glimpse-bench';

export interface ReferenceResults {
  rate: RateResult;
  list: LatencyResult & { images: number };
  transfer: TransferResult;
  pids: number[];
  seeded: number;
}

function log(text: string): void {
  console.log(`  [reference] ${text}`);
}

/** Counts the images the client's project sees (default list, pages of 1000). */
async function visibleImages(client: ImagesClient): Promise<number> {
  let count = 0;
  let next: string | undefined = '/v2/images?limit=1000';
  while (next !== undefined) {
    const page: { images: unknown[]; next?: string } = await client.json('GET', next);
    count += page.images.length;
    next = page.next;
  }
  return count;
}

/** Creates `count` images like the seeded Glimpse ones (properties, tags, no data), 4 at a time. */
async function createImages(client: ImagesClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  let n = 0;
  const worker = async () => {
    while (n < count) {
      const i = n++;
      ids.push(await client.createImage(`bench-list-${String(i).padStart(4, '0')}`, {
        os_distro: 'ubuntu', os_version: String(10 + (i % 14)), hw_disk_bus: 'virtio',
        description: `Seeded image ${i} for the list benchmark`, tags: ['bench'],
      }));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return ids;
}

async function deleteAll(client: ImagesClient, ids: string[]): Promise<void> {
  let i = 0;
  const worker = async () => { while (i < ids.length) await client.deleteImage(ids[i++]!); };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

export async function benchReference(url: string, options: {
  size: number; rounds: number; beforeUpload?: () => void;
}): Promise<ReferenceResults> {
  const client = new ImagesClient(url, REF_PROJECT);
  const created: string[] = [];
  try {
    const port = Number(new URL(url).port || 80);
    const pids = await listenerPids(port);
    log(`${url}; processes holding port ${port}: ${pids.join(', ') || 'unknown'}`);
    const before = await visibleImages(client);
    if (before < 1000) {
      const started = Date.now();
      created.push(...await createImages(client, 1000 - before));
      log(`created ${1000 - before} images through the API in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    const images = await visibleImages(client);
    if (created.length === 0) created.push(await client.createImage('bench-get'));
    const target = created[0]!;
    log('GET /v2/images/{id} at concurrency 16');
    const rate = await getImageRate(client, target);
    log(`list at ${images} images`);
    const list = { ...await listLatency(client), images };
    log(`upload/download ${options.size / 2 ** 20} MiB × ${options.rounds}`);
    const moved = await transfer(client, options.size, {
      rounds: options.rounds, watch: pids, beforeUpload: async () => options.beforeUpload?.(),
    });
    return { rate, list, transfer: moved, pids, seeded: created.length };
  } finally {
    if (created.length > 0) {
      log(`deleting the ${created.length} images the bench created`);
      await deleteAll(client, created);
    }
    client.close();
  }
}
