// The Ceph RBD store (glance_store's `rbd`), with glance_store's data layout so that Nova and Cinder
// clone Glimpse's images as they clone Glance's: one RBD image per Glance image, named by the image
// id, objects of `rbd_store_chunk_size`, the cluster's default features (layering at least), and a
// protected snapshot `snap`; the location is `rbd://<fsid>/<pool>/<image id>/snap`.
//
// put() is all-or-nothing: the image is created (creation fails with EEXIST for an existing one:
// Duplicate, nothing touched), written chunk by chunk — grown by doubling steps when the size is
// unknown, trimmed to the byte count at the end — and only then snapshotted and protected. Any
// failure removes what this call created. delete() unprotects and removes the snapshot, then the
// image; while clones of the snapshot exist librbd refuses to unprotect (EBUSY) and nothing is
// removed (InUse → 409, glance_store's InUseByStore). Reads come from the snapshot.
//
// librbd is reached through the native binding in native/rbd (decision 0019); every call runs on
// libuv's thread pool.
import { readFileSync } from 'node:fs';
import { Readable, addAbortSignal, type Writable } from 'node:stream';

import { ChunkRing, type SinkAware } from '../../lib/file-range-stream.ts';
import { StoreError, type ByteRange, type PutResult, type StoreDriver } from '../../ports/store.ts';
import { StoreDuplicateError } from '../errors.ts';
import type { RbdBackendConfig } from '../../config/types.ts';
import { isCephError, loadLibrbd, type Librbd, type RadosCluster, type RbdImage, type RbdPool } from './librbd.ts';
import { formatRbdLocation, parseRbdLocation, type RbdLocation } from './rbd-location.ts';

/** One rbd backend's options (glance_store's rbd_store_* names, config/types.ts) and its store id. */
export interface RbdStoreDriverOptions extends RbdBackendConfig {
  id: string;
  /** The binding (tests); default: native/rbd. */
  lib?: Librbd;
}

/** glance_store's snapshot name. */
export const SNAPSHOT = 'snap';
/** RBD image names are Glance image ids: plain names only (no `/`, `@` or pool syntax). */
const IMAGE_ID = /^[A-Za-z0-9_-]{1,200}$/;
/** Writes of one upload in flight at once (each holds one chunk and one thread-pool thread). */
const WRITES_IN_FLIGHT = 4;
/** Growth step ceiling for uploads of unknown size (glance_store: 8 GiB). */
const MAX_RESIZE_STEP = 8 * 1024 ** 3;
/** Bytes per read when serving an image, and reads in flight beyond the one being sent. */
const READ_PIECE = 4 * 1024 * 1024;
const READ_AHEAD = 1;

export class RbdStoreDriver implements StoreDriver {
  readonly id: string;
  readonly type = 'rbd';
  readonly pool: string;
  /** The location put(imageId) writes to; defined once the cluster's fsid is known (ceph.conf or connect). */
  locationFor?: (imageId: string) => string;
  private readonly options: RbdStoreDriverOptions;
  private readonly order: number;
  private fsid: string | undefined;
  private cluster: Promise<RadosCluster> | undefined;
  private readonly pools = new Map<string, Promise<RbdPool>>();

  constructor(options: RbdStoreDriverOptions) {
    this.id = options.id;
    this.pool = options.pool;
    this.options = options;
    this.order = Math.max(12, Math.min(25, Math.floor(Math.log2(options.chunkSize))));
    this.setFsid(fsidOf(options.confFile));
  }

  /** True for rbd:// locations of this cluster (when its fsid is known) and pool. */
  owns(location: string): boolean {
    return this.locate(location) !== undefined;
  }

  /** Chunk buffers of a put: one per write in flight and one filling (reused; thin provisioning adds a zero chunk). */
  putBuffers(): number {
    return (WRITES_IN_FLIGHT + 1 + (this.options.thinProvisioning ? 1 : 0)) * this.options.chunkSize;
  }

  /** A download's ring: READ_AHEAD + 2 pieces, less the 2 MiB every transfer reserves anyway. */
  getBuffers(): number {
    return Math.max(0, (READ_AHEAD + 2) * Math.min(READ_PIECE, this.options.chunkSize) - 2 * 1024 * 1024);
  }

  async put(imageId: string, source: Readable, options: { sizeHint?: number; signal?: AbortSignal } = {}): Promise<PutResult> {
    const { signal } = options;
    let pool: RbdPool;
    let cluster: RadosCluster;
    try {
      if (!IMAGE_ID.test(imageId)) throw new StoreError('InvalidLocation', `Invalid image id for an RBD image name: ${JSON.stringify(imageId)}`);
      signal?.throwIfAborted();
      cluster = await this.connection();
      pool = await this.ioctx(this.pool);
      signal?.throwIfAborted();
      const size = options.sizeHint !== undefined && options.sizeHint > 0 ? options.sizeHint : 0;
      await pool.create(imageId, size, this.order, features(cluster, this.lib()));
    } catch (error) {
      source.destroy();
      if (isCephError(error, 'EEXIST')) throw new StoreDuplicateError(imageId, { cause: error });
      throw storeError(error, 'write');
    }

    let image: RbdImage | undefined;
    try {
      image = await pool.open(imageId, null, false);
      if (signal) addAbortSignal(signal, source);
      const bytesWritten = await this.receive(image, source, options.sizeHint ?? 0);
      await image.snapCreate(SNAPSHOT);
      await image.snapProtect(SNAPSHOT);
      const opened = image;
      image = undefined;
      await opened.close();
      return { location: formatRbdLocation({ fsid: cluster.fsid(), pool: this.pool, image: imageId, snapshot: SNAPSHOT }), bytesWritten };
    } catch (error) {
      source.destroy();
      if (image) await image.close().catch(() => undefined);
      await this.remove(pool, imageId, SNAPSHOT).catch(() => undefined);
      throw storeError(error, 'write');
    }
  }

  async get(location: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<{ stream: Readable; size: number }> {
    const image = await this.openSnapshot(location);
    let size: number;
    try {
      options.signal?.throwIfAborted();
      size = await image.size();
    } catch (error) {
      await image.close().catch(() => undefined);
      throw storeError(error, 'read');
    }
    const start = options.range?.start ?? 0;
    const end = Math.min(options.range?.end ?? size - 1, size - 1) + 1;
    const stream = new ImageStream(image, start, Math.max(start, end), Math.min(READ_PIECE, this.options.chunkSize));
    if (options.signal) addAbortSignal(options.signal, stream);
    return { stream, size };
  }

  async size(location: string): Promise<number> {
    const image = await this.openSnapshot(location);
    try {
      return await image.size();
    } catch (error) {
      throw storeError(error, 'read');
    } finally {
      await image.close().catch(() => undefined);
    }
  }

  async delete(location: string): Promise<void> {
    const loc = this.locateOrThrow(location);
    const pool = await this.ioctx(loc.pool ?? this.pool);
    await this.remove(pool, loc.image, loc.snapshot);
  }

  /** Shuts the cluster connection down (tests, process exit); a later call connects again. */
  async close(): Promise<void> {
    const cluster = this.cluster;
    const pools = [...this.pools.values()];
    this.cluster = undefined;
    this.pools.clear();
    for (const pool of pools) (await pool.catch(() => undefined))?.close();
    await (await cluster?.catch(() => undefined))?.shutdown();
  }

  // ---- internals ----

  private lib(): Librbd {
    const lib = this.options.lib ?? loadLibrbd();
    if (typeof lib === 'string') throw new StoreError('StoreUnavailable', lib);
    return lib;
  }

  private setFsid(fsid: string | undefined): void {
    this.fsid = fsid;
    if (fsid === undefined) return;
    this.locationFor = (imageId) => formatRbdLocation({ fsid, pool: this.pool, image: imageId, snapshot: SNAPSHOT });
  }

  private connection(): Promise<RadosCluster> {
    if (this.cluster) return this.cluster;
    const { confFile, user, connectTimeout } = this.options;
    const connecting = Promise.resolve().then(() => this.lib().connect(confFile, user ?? '', connectTimeout)).then((cluster) => {
      this.setFsid(cluster.fsid());
      return cluster;
    });
    this.cluster = connecting;
    connecting.catch(() => { if (this.cluster === connecting) this.cluster = undefined; });
    return connecting.catch((error: unknown) => {
      throw error instanceof StoreError ? error
        : new StoreError('StoreUnavailable', `Error connecting to ceph cluster: ${(error as Error).message}`, { cause: error });
    });
  }

  private async ioctx(name: string): Promise<RbdPool> {
    let pool = this.pools.get(name);
    if (!pool) {
      const opening = this.connection().then((cluster) => cluster.openPool(name));
      this.pools.set(name, opening);
      opening.catch(() => { if (this.pools.get(name) === opening) this.pools.delete(name); });
      pool = opening;
    }
    try {
      return await pool;
    } catch (error) {
      if (isCephError(error, 'ENOENT')) throw new StoreError('StoreUnavailable', `RADOS pool ${name} does not exist`, { cause: error });
      throw storeError(error, 'read');
    }
  }

  private locate(location: string): RbdLocation | undefined {
    const loc = parseRbdLocation(location);
    if (typeof loc === 'string') return undefined;
    if (loc.pool === undefined) return loc; // rbd://<image>: the store's pool, no snapshot
    if (loc.pool !== this.pool || (this.fsid !== undefined && loc.fsid !== this.fsid)) return undefined;
    return loc;
  }

  private locateOrThrow(location: string): RbdLocation {
    const loc = this.locate(location);
    if (!loc) throw new StoreError('InvalidLocation', `Location is not in the RBD store ${this.id}`);
    return loc;
  }

  private async openSnapshot(location: string): Promise<RbdImage> {
    const loc = this.locateOrThrow(location);
    const pool = await this.ioctx(loc.pool ?? this.pool);
    try {
      return await pool.open(loc.image, loc.snapshot ?? null, true);
    } catch (error) {
      throw storeError(error, 'read');
    }
  }

  /** Writes the source in chunks of the object size; returns the byte count. */
  private async receive(image: RbdImage, source: Readable, sizeHint: number): Promise<number> {
    const chunkSize = this.options.chunkSize;
    const zero = this.options.thinProvisioning ? Buffer.alloc(chunkSize) : undefined;
    const inFlight = new Set<Promise<void>>();
    // Chunk buffers are reused once their write is done: at most WRITES_IN_FLIGHT + 1 exist, and
    // fresh 8 MiB allocations (page faults, zeroing) stay out of the upload's CPU time.
    const spare: Buffer[] = [];
    const takeChunk = () => spare.pop() ?? Buffer.allocUnsafeSlow(chunkSize);
    const release = (data: Buffer) => { if (data.length === chunkSize) spare.push(data); };
    let failure: unknown;
    let size = sizeHint;
    let step = chunkSize;
    let offset = 0;

    const write = async (data: Buffer) => {
      const at = offset;
      offset += data.length;
      if (offset > size) {
        // Size unknown (or exceeded): grow in doubling steps up to 8 GiB, as glance_store.
        step = Math.min(step * 2, MAX_RESIZE_STEP);
        size = Math.max(size + step, offset);
        await image.resize(size);
      }
      if (zero && data.equals(zero.subarray(0, data.length))) {
        release(data);
        return;
      }
      const writing = image.write(data, at).then(() => release(data), (error: unknown) => { failure ??= error; })
        .finally(() => inFlight.delete(writing));
      inFlight.add(writing);
      while (inFlight.size >= WRITES_IN_FLIGHT && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
    };

    try {
      let chunk = takeChunk();
      let fill = 0;
      for await (const piece of source as AsyncIterable<Buffer>) {
        for (let at = 0; at < piece.length;) {
          const n = piece.copy(chunk, fill, at);
          fill += n;
          at += n;
          if (fill === chunkSize) {
            await write(chunk);
            chunk = takeChunk();
            fill = 0;
          }
        }
      }
      if (fill > 0) await write(chunk.subarray(0, fill));
      while (inFlight.size > 0) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
      if (size !== offset) await image.resize(offset);
      return offset;
    } finally {
      // The image is closed by the caller: no write may still be using it.
      await Promise.allSettled([...inFlight]);
    }
  }

  /** Unprotects and removes `snapshot`, then the image; missing pieces are fine. */
  private async remove(pool: RbdPool, name: string, snapshot: string | undefined): Promise<void> {
    if (snapshot !== undefined) {
      let image: RbdImage;
      try {
        image = await pool.open(name, null, false);
      } catch (error) {
        if (isCephError(error, 'ENOENT')) return;
        throw storeError(error, 'delete');
      }
      try {
        // EINVAL: not protected (any more); ENOENT: no such snapshot (a put that failed early).
        await image.snapUnprotect(snapshot).catch((error: unknown) => { if (!isCephError(error, 'EINVAL', 'ENOENT')) throw error; });
        await image.snapRemove(snapshot).catch((error: unknown) => { if (!isCephError(error, 'ENOENT')) throw error; });
      } catch (error) {
        throw storeError(error, 'delete');
      } finally {
        await image.close().catch(() => undefined);
      }
    }
    try {
      await pool.remove(name);
    } catch (error) {
      if (isCephError(error, 'ENOENT')) return;
      // Snapshots Glance did not make: glance_store moves the image to the trash instead.
      if (isCephError(error, 'ENOTEMPTY')) {
        await pool.trashMove(name).catch((e: unknown) => { throw storeError(e, 'delete'); });
        return;
      }
      throw storeError(error, 'delete');
    }
  }
}

/** glance_store: the cluster's rbd_default_features, or layering alone when that is 0/unset. */
function features(cluster: RadosCluster, lib: Librbd): number {
  const configured = cluster.confGet('rbd_default_features');
  const n = Number(configured);
  if (configured === null || configured === '' || n === 0) return lib.FEATURE_LAYERING;
  return Number.isInteger(n) ? n : 0; // named features ("layering,exclusive-lock"): librbd reads them itself
}

/** `fsid` from the [global] section of a ceph.conf, when it names one. */
function fsidOf(confFile: string): string | undefined {
  try {
    const text = readFileSync(confFile || '/etc/ceph/ceph.conf', 'utf8');
    return /^\s*fsid\s*=\s*([0-9a-fA-F-]{36})\s*$/m.exec(text)?.[1]?.toLowerCase();
  } catch {
    return undefined;
  }
}

/** librbd/librados failures as the port's typed errors; anything else (the source's own error, an abort) unchanged. */
function storeError(error: unknown, op: 'read' | 'write' | 'delete'): unknown {
  if (error instanceof StoreError || !isCephError(error)) return error;
  switch (error.code) {
    case 'ENOENT':
      return new StoreError('StoreNotFound', 'RBD image does not exist', { cause: error });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError('StoreFull', 'insufficient space available in the RBD pool', { cause: error });
    case 'EBUSY':
      if (op === 'delete') {
        return new StoreError('InUse', 'The image cannot be deleted because it is in use through the backend store outside of Glance.',
          { cause: error });
      }
      break;
    case 'EACCES':
    case 'EPERM':
      return new StoreError('StoreUnavailable', `access to the RBD pool was denied (${error.syscall})`, { cause: error });
  }
  return new StoreError('StoreUnavailable', `RBD ${op} failed: ${error.message}`, { cause: error });
}

/**
 * The bytes [start, end) of an open image, read READ_AHEAD pieces ahead, into a ring of reused
 * buffers once the consumer names its sink (lib/file-range-stream.ts: no fresh 4 MiB buffer per
 * read, so no full GCs for external memory pressure); the image is closed when the stream ends or
 * is destroyed.
 */
class ImageStream extends Readable implements SinkAware {
  private position: number;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly ahead: Array<Promise<{ data: Buffer; slot: number }>> = [];
  private readonly ring: ChunkRing;

  constructor(private readonly image: RbdImage, start: number, private readonly end: number, private readonly piece: number) {
    super({ highWaterMark: piece });
    this.position = start;
    this.ring = new ChunkRing(READ_AHEAD + 2, piece);
  }

  drainsInto(sink: Writable): void {
    this.ring.drainsInto(sink);
  }

  private fetch(): Promise<{ data: Buffer; slot: number }> | undefined {
    if (this.position >= this.end) return undefined;
    const n = Math.min(this.piece, this.end - this.position);
    if (typeof this.image.readInto !== 'function') {
      // A binding built before readInto existed (not rebuilt since): a fresh buffer per read.
      const fresh = this.image.read(this.position, n).then((data) => ({ data, slot: -1 }));
      this.position += n;
      return this.track(fresh);
    }
    const { buffer, slot } = this.ring.take(n, this.readableLength);
    const target = buffer.length === n ? buffer : buffer.subarray(0, n);
    const reading = this.image.readInto(this.position, target).then((got) => ({ data: target.subarray(0, got), slot }));
    this.position += n;
    return this.track(reading);
  }

  /** Keeps `reading` in pending until it settles (the image is closed only after it). */
  private track<T>(reading: Promise<T>): Promise<T> {
    const settled = reading.catch(() => undefined).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
    return reading;
  }

  override _read(): void {
    const current = this.ahead.shift() ?? this.fetch();
    if (!current) {
      this.push(null);
      return;
    }
    while (this.ahead.length < READ_AHEAD) {
      const next = this.fetch();
      if (!next) break;
      this.ahead.push(next);
    }
    current.then(({ data, slot }) => {
      if (data.length === 0) {
        this.ring.giveBack(slot);
        this.push(null);
        return;
      }
      this.ring.handedOn(slot, data.length);
      this.push(data);
    }, (error: unknown) => this.destroy(storeError(error, 'read') as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // No read may still be using the image when it is closed.
    Promise.allSettled([...this.pending]).then(() => this.image.close()).catch(() => undefined).finally(() => callback(error));
  }
}
