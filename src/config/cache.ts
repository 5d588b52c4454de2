// `[DEFAULT] image_cache_*`, `cache_prefetcher_interval` and the node name → GlimpseConfig.imageCache.
import { hostname } from 'node:os';
import type { Settings } from './settings.ts';
import type { ImageCacheConfig } from './types.ts';

export function resolveImageCache(s: Settings, dir: string | undefined): ImageCacheConfig | undefined {
  if (dir === undefined) return undefined;
  const selfUrl = s.optionalString('DEFAULT', 'worker_self_reference_url');
  return {
    dir,
    maxSize: s.number('DEFAULT', 'image_cache_max_size'),
    stallTimeSeconds: s.number('DEFAULT', 'image_cache_stall_time'),
    prefetcherIntervalSeconds: s.number('DEFAULT', 'cache_prefetcher_interval'),
    node: (selfUrl ?? `http://${hostname()}:${s.number('DEFAULT', 'bind_port')}`).replace(/\/+$/, ''),
  };
}
