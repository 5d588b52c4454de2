// The configured stores: one driver per backend (enabled_backends, or the legacy single `file`
// store), the default backend, and the lookup from an image location to the driver that owns it.
// Backend types without a driver (cinder, vmware; rbd where the librbd binding is not built) are
// skipped with a warning (the config loader already refuses cinder and vmware for the default backend).
import { tlsConnectOptions, tlsDispatcher } from '../lib/tls.ts';
import type { BackendConfig, GlimpseConfig } from '../config/types.ts';
import { createSafeFetcher, type SafeFetcher } from '../net/index.ts';
import type { StoreDriver, StoreRegistry as StoreRegistryPort } from '../ports/store.ts';
import { FileStoreDriver, type RecoverOptions } from './file/file-driver.ts';
import { HttpStoreDriver } from './http/http-driver.ts';
import { loadLibrbd } from './rbd/librbd.ts';
import { RbdStoreDriver } from './rbd/rbd-driver.ts';
import { S3StoreDriver } from './s3/s3-driver.ts';
import { SwiftAuth } from './swift/swift-auth.ts';
import { SwiftStoreDriver } from './swift/swift-driver.ts';
import { locationBase } from './swift/swift-location.ts';

export interface SkippedBackend {
  id: string;
  type: string;
  reason: string;
}

export interface StoreRegistryOptions {
  log?: { warn(obj: unknown, msg?: string): void };
  /** The SSRF-safe fetcher http stores read through (the process's one); default: one made from [import_filtering_opts]. */
  fetcher?: SafeFetcher;
  /** Wraps each driver (the metrics decorator of the StoreDriver port). */
  decorate?: (driver: StoreDriver) => StoreDriver;
}

export class StoreRegistry implements StoreRegistryPort {
  private readonly drivers: ReadonlyMap<string, StoreDriver>;

  constructor(drivers: readonly StoreDriver[], private readonly defaultId: string,
    /** Backends that got no driver, for logs and /info/stores. */
    readonly skipped: readonly SkippedBackend[] = []) {
    this.drivers = new Map(drivers.map((d) => [d.id, d]));
    if (!this.drivers.has(defaultId)) {
      const why = skipped.find((s) => s.id === defaultId)?.reason;
      throw new Error(`default store "${defaultId}" has no driver${why ? `: ${why}` : ''} (configured: ${[...this.drivers.keys()].join(', ') || 'none'})`);
    }
  }

  default(): StoreDriver {
    return this.drivers.get(this.defaultId)!;
  }

  get(id: string): StoreDriver | undefined {
    return this.drivers.get(id);
  }

  /** The driver that owns `location`, or undefined (unknown scheme, or a path outside every store). */
  forLocation(location: string): StoreDriver | undefined {
    for (const driver of this.drivers.values()) if (driver.owns(location)) return driver;
    return undefined;
  }

  /** Ids of the stores that have a driver, in configuration order. */
  ids(): string[] {
    return [...this.drivers.keys()];
  }

  /** Releases drivers' connections (rbd: the cluster handle). */
  async close(): Promise<void> {
    for (const driver of this.drivers.values()) if (driver instanceof RbdStoreDriver) await driver.close();
  }

  /** Startup recovery: removes temp files a crash left in every file store; returns them per store. */
  async recoverTempFiles(options?: RecoverOptions): Promise<Record<string, string[]>> {
    const removed: Record<string, string[]> = {};
    for (const driver of this.drivers.values()) {
      if (driver instanceof FileStoreDriver) removed[driver.id] = await driver.recoverTempFiles(options);
    }
    return removed;
  }
}

/** `filesystem_store_file_perm`: octal digits as an int option (Glance: int(str(value), 8)); 0 = leave as created. */
function filePerm(backend: BackendConfig): number {
  const raw = backend.options['filesystem_store_file_perm']?.trim();
  if (!raw || !/^[0-7]{1,4}$/.test(raw)) return 0;
  return parseInt(raw, 8);
}

function driverFor(backend: BackendConfig, fetcher: SafeFetcher | undefined): StoreDriver | string {
  if (backend.type === 'file' || backend.type === 'filesystem') {
    if (!backend.filesystemStoreDatadir) return 'filesystem_store_datadir is not set';
    return new FileStoreDriver({ id: backend.id, dataDir: backend.filesystemStoreDatadir, filePerm: filePerm(backend) });
  }
  if (backend.type === 'swift' && backend.swift) {
    const c = backend.swift;
    const dispatcher = tlsDispatcher(tlsConnectOptions(c.tls));
    return new SwiftStoreDriver({
      id: backend.id,
      auth: new SwiftAuth(c, dispatcher),
      dispatcher,
      base: locationBase({ reference: c.reference, authAddress: c.authAddress }),
      container: c.container,
      multipleContainersSeed: c.multipleContainersSeed,
      createContainerOnPut: c.createContainerOnPut,
      largeObjectSize: c.largeObjectSize,
      largeObjectChunkSize: c.largeObjectChunkSize,
    });
  }
  if (backend.type === 's3' && backend.s3) {
    const c = backend.s3;
    return new S3StoreDriver({
      id: backend.id, endpoint: c.host, accessKey: c.accessKey, secretKey: c.secretKey, region: c.region, bucket: c.bucket,
      createBucketOnPut: c.createBucketOnPut, forcePathStyle: pathStyle(c.bucketUrlFormat, c.host, c.bucket),
      largeObjectSize: c.largeObjectSize, largeObjectChunkSize: c.largeObjectChunkSize, threadPools: c.threadPools,
      tls: tlsConnectOptions(c.tls),
    });
  }
  if (backend.type === 'rbd' && backend.rbd) {
    const lib = loadLibrbd();
    if (typeof lib === 'string') return lib;
    return new RbdStoreDriver({ id: backend.id, ...backend.rbd, lib });
  }
  if (backend.type === 'http' || backend.type === 'https') {
    return new HttpStoreDriver({ id: backend.id, fetcher });
  }
  return `store type "${backend.type}" has no driver yet`;
}

/** s3_store_bucket_url_format: `auto` picks path-style where virtual-hosted names cannot work. */
function pathStyle(format: 'auto' | 'path' | 'virtual', host: string, bucket: string): boolean {
  if (format !== 'auto') return format === 'path';
  const hostname = new URL(/^https?:\/\//i.test(host) ? host : `http://${host}`).hostname;
  const ipOrLocal = /^[\d.]+$/.test(hostname) || hostname.includes(':') || hostname.startsWith('[') || hostname === 'localhost';
  return ipOrLocal || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

/** http stores fetch through the SSRF-safe fetcher: `options.fetcher`, or one made from `importFiltering` ([import_filtering_opts]). */
export function createStoreRegistry(config: Pick<GlimpseConfig, 'stores'> & Partial<Pick<GlimpseConfig, 'importFiltering'>>,
  options: StoreRegistryOptions = {}): StoreRegistry {
  const drivers: StoreDriver[] = [];
  const skipped: SkippedBackend[] = [];
  const fetcher = options.fetcher ?? (config.importFiltering ? createSafeFetcher(config.importFiltering) : undefined);
  for (const backend of config.stores.backends) {
    const driver = driverFor(backend, fetcher);
    if (typeof driver === 'string') skipped.push({ id: backend.id, type: backend.type, reason: driver });
    else drivers.push(options.decorate ? options.decorate(driver) : driver);
  }
  if (skipped.length > 0) {
    options.log?.warn({ skipped }, `stores without a driver are unavailable: ${skipped.map((s) => `${s.id} (${s.type})`).join(', ')}`);
  }
  return new StoreRegistry(drivers, config.stores.defaultBackend, skipped);
}
