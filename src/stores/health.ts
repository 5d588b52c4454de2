// Whether each configured store can be used now: for the start-up check of `glimpse serve` and
// `glimpse worker`, and for /healthcheck's detailed mode. Results are cached briefly so a load
// balancer polling /healthcheck does not turn into a stream of requests to the object store.
import type { GlimpseConfig } from '../config/types.ts';
import type { StoreProbe, StoreRegistry } from '../ports/store.ts';

export interface StoreHealth extends Partial<StoreProbe> {
  id: string;
  type: string;
  isDefault: boolean;
  /** False for drivers that cannot be probed (rbd, http): nothing is known. */
  checked: boolean;
}

const PROBE_TIMEOUT_MS = 5000;

/** Probes every store at once, each within `timeoutMs`. */
export async function probeStores(stores: StoreRegistry, timeoutMs = PROBE_TIMEOUT_MS): Promise<StoreHealth[]> {
  const defaultId = stores.default().id;
  return Promise.all(stores.ids().map(async (id): Promise<StoreHealth> => {
    const driver = stores.get(id)!;
    const base = { id, type: driver.type, isDefault: id === defaultId };
    if (driver.probe === undefined) return { ...base, checked: false };
    const signal = AbortSignal.timeout(timeoutMs);
    const timedOut = new Promise<StoreProbe>((resolve) => signal.addEventListener('abort', () =>
      resolve({ reachable: false, writable: false, reason: `no answer within ${timeoutMs / 1000} s` }), { once: true }));
    return { ...base, checked: true, ...await Promise.race([driver.probe(signal), timedOut]) };
  }));
}

/** probeStores, remembered for `ttlMs` (concurrent callers share one probe). */
export function cachedStoreProbe(stores: StoreRegistry, ttlMs = 10_000): () => Promise<StoreHealth[]> {
  let last: { at: number; result: Promise<StoreHealth[]> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at > ttlMs) last = { at: now, result: probeStores(stores) };
    return last.result;
  };
}

/** The option that locates a store's data, as an operator would look it up: `[glance_store] filesystem_store_datadir`. */
export function storeOptionName(config: GlimpseConfig, id: string): string {
  const backend = config.stores.backends.find((b) => b.id === id);
  const section = config.stores.multiStore ? id : 'glance_store';
  const option: Record<string, string> = {
    file: 'filesystem_store_datadir', s3: 's3_store_bucket', swift: 'swift_store_container', rbd: 'rbd_store_pool',
  };
  return `[${section}] ${option[backend?.type ?? ''] ?? 'enabled_backends'}`;
}
