// The `glimpse cache` subcommands (see cache.ts).
import type { Command } from 'commander';
import type { CachePrefetcher } from '../cache/prefetcher.ts';
import type { GlimpseConfig } from '../config/types.ts';
import { createLogger } from './logging.ts';
import { progressLine, renderCacheList, withImageCache } from './cache.ts';

type Load = (file: string | undefined) => GlimpseConfig;
type Opts = { configFile?: string };

export function cacheCommands(program: Command, load: Load): void {
  const cache = program.command('cache')
    .description("this node's image cache (like glance-cache-manage, -pruner, -cleaner, -prefetcher)");
  const configOption = ['--config-file <file>', 'glance-api.conf-style configuration file'] as const;
  const run = (opts: Opts, work: Parameters<typeof withImageCache<string>>[2]) => async () => {
    const config = load(opts.configFile);
    process.stdout.write(`${await withImageCache(config, createLogger(config), work)}\n`);
  };

  cache.command('list').description('list the cached and the queued images of this node').option(...configOption)
    .action((opts: Opts) => run(opts, async (c) => renderCacheList(c.node, await c.cachedImages(), await c.queuedImages()))());
  cache.command('queue').argument('<image-id...>', 'images to fetch into the cache').option(...configOption)
    .option('--now', 'fetch them at once (with a progress display on a terminal) instead of leaving them to the prefetcher')
    .description('queue images for this node\'s prefetcher')
    .action((ids: string[], opts: Opts & { now?: boolean }) => run(opts, async (c, prefetcher) => {
      for (const id of ids) await c.queue(id);
      if (!opts.now) return `queued ${ids.length} image(s)`;
      return prefetchReport(await prefetchWithProgress(prefetcher));
    })());
  cache.command('prefetch').description('fetch every queued image now, like glance-cache-prefetcher').option(...configOption)
    .action((opts: Opts) => run(opts, async (_c, prefetcher) => prefetchReport(await prefetchWithProgress(prefetcher)))());
  cache.command('delete').argument('<image-id...>', 'images to remove from the cache and the queue').option(...configOption)
    .description('remove images from this node\'s cache and queue')
    .action((ids: string[], opts: Opts) => run(opts, async (c) => {
      let removed = 0;
      for (const id of ids) if (await c.removeCached(id) || await c.dequeue(id)) removed++;
      return `removed ${removed} of ${ids.length} image(s)`;
    })());
  cache.command('clear').description('empty this node\'s cache and/or queue').option(...configOption)
    .option('--target <target>', 'cache, queue or both (default both)', 'both')
    .action((opts: Opts & { target: string }) => run(opts, async (c) => {
      if (!['cache', 'queue', 'both'].includes(opts.target)) throw new Error('--target must be cache, queue or both');
      const cached = opts.target === 'queue' ? 0 : await c.removeAllCached();
      const queued = opts.target === 'cache' ? 0 : await c.clearQueue();
      return `removed ${cached} cached and ${queued} queued image(s)`;
    })());
  cache.command('prune').description('remove least recently used images until the cache fits image_cache_max_size')
    .option(...configOption)
    .action((opts: Opts) => run(opts, async (c) => {
      const { files, bytes } = await c.prune();
      return `pruned ${files} image(s), ${bytes} bytes`;
    })());
  cache.command('clean').description('remove stalled incomplete files and invalid entries').option(...configOption)
    .action((opts: Opts) => run(opts, async (c) => {
      const { stalled, invalid } = await c.clean();
      return `removed ${stalled} stalled and ${invalid} invalid file(s)/entries`;
    })());
}

async function prefetchWithProgress(prefetcher: CachePrefetcher) {
  return prefetcher.runOnce(progressLine(process.stderr));
}

function prefetchReport(result: { fetched: string[]; failed: string[]; dropped: string[] }): string {
  if (result.failed.length > 0) process.exitCode = 1;
  return `fetched ${result.fetched.length}, failed ${result.failed.length}, dropped ${result.dropped.length} (not active or gone)`
    + (result.failed.length > 0 ? `\nfailed: ${result.failed.join(' ')}` : '');
}
