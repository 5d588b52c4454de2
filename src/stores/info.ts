// What /v2/info/stores/detail shows per store: Glance's non-secret properties for each store
// type (never credentials, auth addresses or keys), and the `weight` of each store.
import type { BackendConfig, GlimpseConfig } from '../config/types.ts';
import type { StoreInfo } from '../ports/store.ts';

function int(backend: BackendConfig, option: string, fallback: number): number {
  const raw = backend.options[option]?.trim();
  return raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : fallback;
}

function bool(backend: BackendConfig, option: string): boolean {
  return /^(true|1|yes|on)$/i.test(backend.options[option]?.trim() ?? '');
}

/** glance_store's defaults for the properties Glance's discovery API shows. */
function properties(backend: BackendConfig): Record<string, unknown> {
  switch (backend.type) {
    case 'file':
    case 'filesystem':
      return { data_dir: backend.options['filesystem_store_datadir'] ?? backend.filesystemStoreDatadir,
        chunk_size: int(backend, 'filesystem_store_chunk_size', 65536),
        thin_provisioning: bool(backend, 'filesystem_thin_provisioning') };
    case 'swift':
      return { container: backend.options['swift_store_container'] ?? 'glance',
        large_object_size: int(backend, 'swift_store_large_object_size', 5120),
        large_object_chunk_size: int(backend, 'swift_store_large_object_chunk_size', 200) };
    case 's3':
      return { s3_store_large_object_size: int(backend, 's3_store_large_object_size', 100),
        s3_store_large_object_chunk_size: int(backend, 's3_store_large_object_chunk_size', 10),
        s3_store_thread_pools: int(backend, 's3_store_thread_pools', 10) };
    case 'rbd':
      return { chunk_size: int(backend, 'rbd_store_chunk_size', 8), pool: backend.options['rbd_store_pool'] ?? 'images',
        thin_provisioning: bool(backend, 'rbd_thin_provisioning') };
    case 'cinder':
      return { volume_type: backend.options['cinder_volume_type'] ?? null, use_multipath: bool(backend, 'cinder_use_multipath') };
    default:
      return {};
  }
}

export function storeInfos(config: Pick<GlimpseConfig, 'stores'>): StoreInfo[] {
  return config.stores.backends.map((backend) => {
    const info: StoreInfo = { id: backend.id, type: backend.type, isDefault: backend.id === config.stores.defaultBackend,
      properties: properties(backend), weight: backend.weight };
    if (backend.description) info.description = backend.description;
    return info;
  });
}

export function storeWeights(config: Pick<GlimpseConfig, 'stores'>): Record<string, number> {
  return Object.fromEntries(config.stores.backends.map((b) => [b.id, b.weight]));
}
