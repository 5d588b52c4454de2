// The image cache ports. The metadata (entries and queue) is shared by every API node through the
// main database, keyed by node (Glance's centralized_db driver); each node's files are on its own
// disk. Implementations: src/db/cache-repository.ts (metadata), src/cache/ (files, tee, hits).
import type { Readable } from 'node:stream';
import type { Image } from '../domain/image.ts';
import type { ByteRange } from './store.ts';

export interface CacheEntry {
  imageId: string;
  size: number;
  hits: number;
  lastAccessed: Date;
  /** When the entry was completed. */
  lastModified: Date;
  /** The digest the data was verified against (os_hash_value, or the MD5 checksum without one). */
  checksum: string;
}

export interface CacheMetadataRepository {
  entries(node: string): Promise<CacheEntry[]>;
  entry(node: string, imageId: string): Promise<CacheEntry | undefined>;
  /** Records a complete, verified file (replacing an older entry of the same image on that node). */
  addEntry(node: string, entry: CacheEntry): Promise<void>;
  recordHit(node: string, imageId: string, at: Date): Promise<void>;
  removeEntry(node: string, imageId: string): Promise<boolean>;
  /** Removes the image's entries and queue rows on every node (its data changed or went away). */
  forgetImage(imageId: string): Promise<void>;
  /** The nodes holding an entry for the image. */
  nodesCaching(imageId: string): Promise<string[]>;
  queued(node: string): Promise<string[]>;
  /** False when the image was already queued on that node. */
  enqueue(node: string, imageId: string, at: Date): Promise<boolean>;
  dequeue(node: string, imageId: string): Promise<boolean>;
  clearQueue(node: string): Promise<number>;
}

export interface CacheHit {
  stream: Readable;
  size: number;
}

/** What the download path asks of the cache. No method throws: a cache problem is logged and ignored. */
export interface ImageCache {
  /** The cached data (or one range of it) of an active image, or undefined on a miss. */
  read(image: Image, range: ByteRange | undefined, log: CacheLog, signal?: AbortSignal): Promise<CacheHit | undefined>;
  /**
   * Wraps a full download from the store: the bytes pass through unchanged and are also written to the
   * cache, which keeps them only when all arrived and match the image's checksum/os_hash_value.
   */
  fill(image: Image, source: Readable, log: CacheLog): Promise<Readable>;
  /** The image's data changed or went away: drop its entries on every node. */
  invalidate(imageId: string, log: CacheLog): Promise<void>;
}

export interface CacheLog {
  warn(obj: unknown, msg?: string): void;
  info?(obj: unknown, msg?: string): void;
}

export interface PruneResult {
  files: number;
  bytes: number;
}

export interface CleanResult {
  /** Unfinished files nothing wrote to for image_cache_stall_time. */
  stalled: number;
  /** Entries whose file is gone or whose image is no longer active with the same data, and files without entry. */
  invalid: number;
}

/** The cache API's and the `glimpse cache` commands' view of this node's cache. */
export interface ImageCacheManager {
  /** This node's name (worker_self_reference_url). */
  readonly node: string;
  cachedImages(): Promise<CacheEntry[]>;
  queuedImages(): Promise<string[]>;
  isCached(imageId: string): Promise<boolean>;
  /** Removes the entry and its file; false when there was none. */
  removeCached(imageId: string): Promise<boolean>;
  removeAllCached(): Promise<number>;
  /** Queues an image for this node's prefetcher; false when it was queued already. */
  queue(imageId: string): Promise<boolean>;
  dequeue(imageId: string): Promise<boolean>;
  clearQueue(): Promise<number>;
  /** Least recently used entries first, until the cache fits image_cache_max_size. */
  prune(): Promise<PruneResult>;
  clean(): Promise<CleanResult>;
  nodesCaching(imageId: string): Promise<string[]>;
}
