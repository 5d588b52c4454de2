// The start-up check of `glimpse serve` and `glimpse worker`: every directory and store the process
// will write to is tried once, so a misconfigured path is a one-line error naming its option instead
// of a bare ENOTDIR later or an upload failing with 503. An unusable default store stops the start
// or is logged as an error, as `unusable_store_at_start` says; other stores and the staging area are
// logged; an unusable image cache directory always stops the start (the cache cannot work without it).
import { ConfigError } from '../config/errors.ts';
import type { GlimpseConfig } from '../config/types.ts';
import type { StoreRegistry } from '../ports/store.ts';
import { probeDirectory } from '../lib/dir-probe.ts';
import { probeStores, storeOptionName } from './health.ts';

interface Log {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const STAGING_OPTION = '[os_glance_staging_store] filesystem_store_datadir (or [DEFAULT] node_staging_uri)';

export async function checkPathsAtStart(config: GlimpseConfig, stores: StoreRegistry, log: Log): Promise<void> {
  if (config.imageCache) {
    const cache = await probeDirectory(config.imageCache.dir);
    if (!cache.writable) throw new ConfigError(`[DEFAULT] image_cache_dir: ${cache.reason}`, { section: 'DEFAULT', option: 'image_cache_dir' });
  }
  for (const store of await probeStores(stores)) {
    if (!store.checked || store.writable) continue;
    const option = storeOptionName(config, store.id);
    const line = `${option}: store ${store.id} cannot be written to: ${store.reason}`;
    if (store.isDefault && config.unusableStoreAtStart === 'refuse') {
      throw new ConfigError(`${line} (the default store; [DEFAULT] unusable_store_at_start = refuse)`);
    }
    log.error({ store: store.id, option, reason: store.reason },
      store.isDefault ? `${line}; serving anyway: uploads to the default store will fail with 503` : `${line}; uploads to it will fail`);
  }
  const staging = await probeDirectory(config.imageImport.stagingDir);
  if (!staging.writable) {
    log.error({ option: STAGING_OPTION, reason: staging.reason },
      `${STAGING_OPTION}: the staging area cannot be written to: ${staging.reason}; staging and imports will fail`);
  }
}
