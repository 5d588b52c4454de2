// This node's prefetcher (glance-cache-prefetcher): fetches the images queued for its cache
// (PUT /v2/cache/{id}) through the same fill as a download, so they are verified the same way.
// A queued image that is gone or not active leaves the queue; one whose fetch fails stays queued
// and is tried again on the next pass.
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Image } from '../domain/image.ts';
import type { CacheLog } from '../ports/image-cache.ts';
import type { LocalImageCache } from './local-cache.ts';

export interface PrefetcherDeps {
  cache: LocalImageCache;
  images: { get(id: string): Promise<Image | undefined> };
  /** The image's data from its store, or undefined when it has none. */
  openData(image: Image): Promise<Readable | undefined>;
  log: CacheLog & { error?(obj: unknown, msg?: string): void };
  intervalSeconds: number;
}

export interface PrefetchResult {
  fetched: string[];
  failed: string[];
  dropped: string[];
}

const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

export class CachePrefetcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PrefetchResult> | undefined;
  private stopped = false;

  constructor(private readonly deps: PrefetcherDeps) {}

  /** One pass over the queue; concurrent calls share the pass in progress. */
  runOnce(onProgress?: (done: number, total: number, imageId: string) => void): Promise<PrefetchResult> {
    this.running ??= this.pass(onProgress).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async pass(onProgress?: (done: number, total: number, imageId: string) => void): Promise<PrefetchResult> {
    const { cache, images, log } = this.deps;
    const result: PrefetchResult = { fetched: [], failed: [], dropped: [] };
    const queued = await cache.queuedImages();
    for (const [index, id] of queued.entries()) {
      try {
        const image = await images.get(id);
        if (!image || image.status !== 'active') {
          await cache.dequeue(id);
          result.dropped.push(id);
        } else if (await cache.isCached(id)) {
          await cache.dequeue(id);
          result.fetched.push(id);
        } else {
          const data = await this.deps.openData(image);
          if (!data) {
            await cache.dequeue(id);
            result.dropped.push(id);
          } else {
            await pipeline(await cache.fill(image, data, log), sink());
            await cache.idle();
            if (await cache.isCached(id)) result.fetched.push(id); else result.failed.push(id);
          }
        }
      } catch (error) {
        log.warn({ err: error, image_id: id }, 'prefetching an image into the cache failed');
        result.failed.push(id);
      }
      onProgress?.(index + 1, queued.length, id);
    }
    return result;
  }

  start(): void {
    this.stopped = false;
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.poke();
      this.maintain().catch((error: unknown) => this.deps.log.warn({ err: error }, 'image cache cleaning/pruning failed'));
    }, this.deps.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Periodic cleaning (stalled and invalid files) and pruning (image_cache_max_size), as glance-cache-cleaner/-pruner. */
  async maintain(): Promise<void> {
    const cleaned = await this.deps.cache.clean();
    const pruned = await this.deps.cache.prune();
    if (cleaned.stalled + cleaned.invalid + pruned.files > 0) {
      this.deps.log.info?.({ ...cleaned, pruned_files: pruned.files, pruned_bytes: pruned.bytes }, 'image cache maintained');
    }
  }

  /** Runs a pass soon (an image was just queued on this node). */
  poke(): void {
    if (this.stopped) return;
    this.runOnce().catch((error: unknown) => this.deps.log.warn({ err: error }, 'cache prefetcher pass failed'));
  }

  /**
   * A pass after a short delay: an image just queued through the API is listed as queued first (tempest's
   * caching test checks that), then fetched without waiting for the next periodic pass.
   */
  pokeSoon(delayMs = 1000): void {
    setTimeout(() => this.poke(), delayMs).unref();
  }

  /** No more passes, periodic or poked (runOnce still works, for commands and tests). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
