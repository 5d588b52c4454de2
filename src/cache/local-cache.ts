// One node's image cache: complete files in `image_cache_dir/<image id>`, fills in progress in
// `image_cache_dir/incomplete/<image id>`, and the metadata (entries, hits, queue) in the shared
// database under this node's name. A file is an entry only once every byte arrived and matched the
// image's os_hash_value (or checksum); the rename into place happens before the row is written, so
// a row always has its file (a crash in between leaves a file without row, which cleaning removes).
// Nothing here fails a download: read() and fill() log and fall back to the store on any problem.
import { constants, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { nodeHashName } from '../config/hash-algorithms.ts';
import type { Image } from '../domain/image.ts';
import type {
  CacheEntry, CacheHit, CacheLog, CacheMetadataRepository, CleanResult, ImageCache, ImageCacheManager, PruneResult,
} from '../ports/image-cache.ts';
import type { ByteRange } from '../ports/store.ts';
import { CacheFill, type FillResult } from './fill.ts';
import { FileRangeStream } from '../lib/file-range-stream.ts';

export interface LocalImageCacheOptions {
  dir: string;
  node: string;
  maxSize: number;
  stallTimeSeconds: number;
  metadata: CacheMetadataRepository;
  /** Looks images up for cleaning (entries of images no longer active with the same data go). */
  images: { get(id: string): Promise<Image | undefined> };
  log: CacheLog;
  now?: () => Date;
}

const INCOMPLETE = 'incomplete';
/** A file without row younger than this may be a fill between its rename and its row: left alone. */
const ORPHAN_GRACE_MS = 5 * 60 * 1000;
const READ_CHUNK = 1024 * 1024;

/** The digest a cache file must match: os_hash_value, or the MD5 checksum of images without one. */
export function expectedDigest(image: Image): { algorithm: string; value: string } | undefined {
  if (image.osHashAlgo && image.osHashValue) {
    try {
      return { algorithm: nodeHashName(image.osHashAlgo), value: image.osHashValue };
    } catch {
      // An algorithm Glimpse does not know (data carried over from elsewhere): fall back to MD5.
    }
  }
  return image.checksum ? { algorithm: 'md5', value: image.checksum } : undefined;
}

/** Image ids become file names: only plain names (Glance's are UUIDs). */
const safeName = (id: string) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(id);

const errno = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

export class LocalImageCache implements ImageCache, ImageCacheManager {
  readonly node: string;
  private readonly fills = new Set<Promise<void>>();
  private readonly now: () => Date;

  constructor(private readonly options: LocalImageCacheOptions) {
    this.node = options.node;
    this.now = options.now ?? (() => new Date());
  }

  /** Creates the directories; call once before use. */
  async init(): Promise<void> {
    await mkdir(join(this.options.dir, INCOMPLETE), { recursive: true });
  }

  /** Resolves when every fill started so far has committed or been abandoned (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.fills.size > 0) await Promise.all([...this.fills]);
  }

  private file(id: string): string { return join(this.options.dir, id); }
  private incomplete(id: string): string { return join(this.options.dir, INCOMPLETE, id); }

  private cacheable(image: Image): boolean {
    return image.status === 'active' && image.size !== null && image.size > 0 && image.size <= this.options.maxSize
      && safeName(image.id) && expectedDigest(image) !== undefined;
  }

  async read(image: Image, range: ByteRange | undefined, log: CacheLog, signal?: AbortSignal): Promise<CacheHit | undefined> {
    if (!this.cacheable(image)) return undefined;
    let handle: FileHandle | undefined;
    try {
      const entry = await this.options.metadata.entry(this.node, image.id);
      if (!entry) return undefined;
      if (entry.checksum !== expectedDigest(image)!.value || entry.size !== image.size) {
        log.warn({ image_id: image.id, node: this.node }, 'cached image data no longer matches the image; dropping it');
        await this.removeCached(image.id);
        return undefined;
      }
      try {
        handle = await open(this.file(image.id), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
        log.warn({ image_id: image.id, node: this.node }, 'cache entry without its file; dropping it');
        await this.options.metadata.removeEntry(this.node, image.id);
        return undefined;
      }
      const size = (await handle.stat()).size;
      if (size !== entry.size) {
        await handle.close();
        handle = undefined;
        await this.removeCached(image.id);
        return undefined;
      }
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? size - 1, size - 1);
      const stream = new FileRangeStream(handle, { start, end, chunkSize: READ_CHUNK });
      if (signal) addAbortSignal(signal, stream);
      this.options.metadata.recordHit(this.node, image.id, this.now())
        .catch((error: unknown) => log.warn({ err: error, image_id: image.id }, 'could not count a cache hit'));
      return { stream, size };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      log.warn({ err: error, image_id: image.id, node: this.node }, 'image cache read failed; serving from the store');
      return undefined;
    }
  }

  async fill(image: Image, source: Readable, log: CacheLog): Promise<Readable> {
    if (!this.cacheable(image)) return source;
    const digest = expectedDigest(image)!;
    let handle: FileHandle;
    try {
      handle = await open(this.incomplete(image.id), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW);
    } catch (error) {
      // EEXIST: another download on this node is filling it already.
      if (errno(error) !== 'EEXIST') log.warn({ err: error, image_id: image.id }, 'image cache cannot start a fill');
      return source;
    }
    const tee = new CacheFill(handle, digest.algorithm, image.size!, {
      onComplete: (result, h) => this.commit(image, digest.value, result, h, log),
      onAbandon: async (h, reason) => {
        await h.close().catch(() => undefined);
        await rm(this.incomplete(image.id), { force: true });
        log.info?.({ image_id: image.id, reason: (reason as Error)?.message }, 'image cache fill abandoned');
      },
    });
    const settled = tee.settled.finally(() => this.fills.delete(settled));
    this.fills.add(settled);
    // Errors reach the consumer through the tee itself (pipeline destroys it with the error).
    pipeline(source, tee, () => undefined);
    return tee;
  }

  private async commit(image: Image, expected: string, result: FillResult, handle: FileHandle, log: CacheLog): Promise<void> {
    const partial = this.incomplete(image.id);
    let renamed = false;
    try {
      if (result.bytes !== image.size || result.digest !== expected) {
        log.warn({ image_id: image.id, bytes: result.bytes, size: image.size }, 'image data did not match its checksum; not cached');
        throw new Error('verification failed');
      }
      await handle.datasync();
      await handle.close();
      await rename(partial, this.file(image.id));
      renamed = true;
      const now = this.now();
      await this.options.metadata.addEntry(this.node, {
        imageId: image.id, size: result.bytes, hits: 0, lastAccessed: now, lastModified: now, checksum: expected,
      });
      await this.options.metadata.dequeue(this.node, image.id);
      log.info?.({ image_id: image.id, node: this.node, size: result.bytes }, 'image cached');
      if (await this.totalSize() > this.options.maxSize) await this.prune();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(partial, { force: true }).catch(() => undefined);
      if (renamed) await rm(this.file(image.id), { force: true }).catch(() => undefined);
      if ((error as Error).message !== 'verification failed') log.warn({ err: error, image_id: image.id }, 'image cache commit failed');
    }
  }

  async invalidate(imageId: string, log: CacheLog): Promise<void> {
    try {
      await this.options.metadata.forgetImage(imageId);
      if (safeName(imageId)) await rm(this.file(imageId), { force: true });
    } catch (error) {
      log.warn({ err: error, image_id: imageId }, 'could not invalidate cached image data');
    }
  }

  // ---- management (cache API, glimpse cache) -------------------------------------------------

  cachedImages(): Promise<CacheEntry[]> { return this.options.metadata.entries(this.node); }
  queuedImages(): Promise<string[]> { return this.options.metadata.queued(this.node); }
  async isCached(imageId: string): Promise<boolean> { return (await this.options.metadata.entry(this.node, imageId)) !== undefined; }
  queue(imageId: string): Promise<boolean> { return this.options.metadata.enqueue(this.node, imageId, this.now()); }
  dequeue(imageId: string): Promise<boolean> { return this.options.metadata.dequeue(this.node, imageId); }
  clearQueue(): Promise<number> { return this.options.metadata.clearQueue(this.node); }
  nodesCaching(imageId: string): Promise<string[]> { return this.options.metadata.nodesCaching(imageId); }

  async removeCached(imageId: string): Promise<boolean> {
    const removed = await this.options.metadata.removeEntry(this.node, imageId);
    if (safeName(imageId)) await rm(this.file(imageId), { force: true });
    return removed;
  }

  async removeAllCached(): Promise<number> {
    let count = 0;
    for (const entry of await this.cachedImages()) if (await this.removeCached(entry.imageId)) count++;
    return count;
  }

  private async totalSize(): Promise<number> {
    return (await this.cachedImages()).reduce((sum, e) => sum + e.size, 0);
  }

  async prune(): Promise<PruneResult> {
    const entries = await this.cachedImages();
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    const result = { files: 0, bytes: 0 };
    const lru = [...entries].sort((a, b) => a.lastAccessed.getTime() - b.lastAccessed.getTime());
    for (const entry of lru) {
      if (total <= this.options.maxSize) break;
      total -= entry.size;
      // Another prune (or a delete) may have removed it meanwhile: count only what this one removed.
      if (!(await this.removeCached(entry.imageId))) continue;
      result.files++;
      result.bytes += entry.size;
    }
    return result;
  }

  async clean(): Promise<CleanResult> {
    const result = { stalled: 0, invalid: 0 };
    const now = this.now().getTime();
    for (const name of await this.names(join(this.options.dir, INCOMPLETE))) {
      const info = await stat(this.incomplete(name)).catch(() => undefined);
      if (info && now - info.mtimeMs >= this.options.stallTimeSeconds * 1000) {
        await rm(this.incomplete(name), { force: true });
        result.stalled++;
      }
    }
    const entries = new Map((await this.cachedImages()).map((e) => [e.imageId, e]));
    for (const entry of entries.values()) {
      const image = await this.options.images.get(entry.imageId);
      const valid = image !== undefined && image.status === 'active' && image.size === entry.size
        && expectedDigest(image)?.value === entry.checksum
        && await stat(this.file(entry.imageId)).then((s) => s.size === entry.size, () => false);
      if (!valid) {
        await this.removeCached(entry.imageId);
        result.invalid++;
      }
    }
    for (const name of await this.names(this.options.dir)) {
      if (name === INCOMPLETE || entries.has(name)) continue;
      const info = await stat(this.file(name)).catch(() => undefined);
      if (info?.isFile() && now - info.mtimeMs >= ORPHAN_GRACE_MS && !(await this.isCached(name))) {
        await rm(this.file(name), { force: true });
        result.invalid++;
      }
    }
    return result;
  }

  private async names(dir: string): Promise<string[]> {
    const dirents: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
    return dirents.filter((d) => d.isFile() || (d.isDirectory() && d.name === INCOMPLETE)).map((d) => d.name);
  }
}
