// `glimpse cache list|queue|delete|clear|prune|clean|prefetch`: this node's image cache, worked on
// directly (local files + the shared metadata under this node's name), like glance-cache-manage,
// glance-cache-pruner, glance-cache-cleaner and glance-cache-prefetcher. The node is the one the
// configuration names (worker_self_reference_url); run the command on the node whose cache it is.
import type { Logger } from 'pino';
import type { GlimpseConfig } from '../config/types.ts';
import { openDatabase } from '../db/connect.ts';
import { SqlImageRepository } from '../db/image-repository.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createImageCache } from '../main.ts';
import { createSafeFetcher } from '../net/index.ts';
import type { CacheEntry } from '../ports/image-cache.ts';
import { createStoreRegistry } from '../stores/registry.ts';
import type { CachePrefetcher } from '../cache/prefetcher.ts';
import type { LocalImageCache } from '../cache/local-cache.ts';

type Work<T> = (cache: LocalImageCache, prefetcher: CachePrefetcher) => Promise<T>;

export async function withImageCache<T>(config: GlimpseConfig, logger: Logger, work: Work<T>): Promise<T> {
  if (!config.imageCache) throw new Error('image_cache_dir is not set: this node has no image cache');
  const database = await openDatabase(config.database.connection);
  try {
    await migrateToLatest(database);
    const stores = createStoreRegistry(config, { log: logger, fetcher: createSafeFetcher(config.importFiltering) });
    const cache = (await createImageCache(config, logger, database, new SqlImageRepository(database), stores))!;
    return await work(cache.local, cache.prefetcher);
  } finally {
    await database.close();
  }
}

const iso = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

/** The cached and queued images as a table, like glance-cache-manage list-cached / list-queued. */
export function renderCacheList(node: string, cached: CacheEntry[], queued: string[]): string {
  const lines = [`node: ${node}`, `cached images: ${cached.length}`];
  if (cached.length > 0) {
    lines.push(['image id'.padEnd(36), 'size'.padStart(14), 'hits'.padStart(6), 'last accessed'.padEnd(20), 'last modified'].join('  '));
    for (const e of cached) {
      lines.push([e.imageId.padEnd(36), String(e.size).padStart(14), String(e.hits).padStart(6), iso(e.lastAccessed).padEnd(20),
        iso(e.lastModified)].join('  '));
    }
  }
  lines.push(`queued images: ${queued.length}`, ...queued);
  return lines.join('\n');
}

/** One line rewritten in place on a terminal; nothing otherwise (logs stay clean). */
export function progressLine(stream: NodeJS.WriteStream): ((done: number, total: number, imageId: string) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return (done, total, imageId) => {
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${imageId}${done === total ? '\n' : ''}`);
  };
}
