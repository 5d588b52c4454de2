// The byte-moving port. Drivers are dumb: no hashing, no policy, no size accounting beyond
// what they wrote. Every driver passes test/contract/store-driver.test.ts.
import type { Readable } from 'node:stream';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface PutResult {
  /** URI of the stored object in Glance's location form (file:///abs/path, swift+https://…, s3://…). */
  location: string;
  bytesWritten: number;
}

export interface StoreDriver {
  /** Backend id from enabled_backends (`fast`), or `file` in the legacy single-store form. */
  readonly id: string;
  readonly type: string;
  /**
   * Stores the whole stream or nothing: on any failure (stream error, abort, disk full) the partial
   * object is removed before the promise rejects. An existing object for the same image is never
   * overwritten in place.
   */
  put(imageId: string, source: Readable, options?: { sizeHint?: number; signal?: AbortSignal }): Promise<PutResult>;
  /** Streams the object, or one byte range of it. */
  get(location: string, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<{ stream: Readable; size: number }>;
  /** Removes the object; an already missing object is not an error. */
  delete(location: string): Promise<void>;
  size(location: string): Promise<number>;
  /** True when this driver serves `location` (by scheme and, for file, by data directory). */
  owns(location: string): boolean;
  /**
   * The location put(imageId) writes to, when the driver names objects after the image alone. Import
   * uses it to find leftovers of a crashed attempt (data stored, location never recorded).
   */
  locationFor?(imageId: string): string;
  /**
   * Removes what interrupted puts of `imageId` left behind (temp files, Swift segments no manifest
   * names, S3 multipart uploads), never a committed object; returns how many pieces went. Only for
   * when no put of the image runs anywhere (its owner is gone): a live put's partial data goes too.
   */
  removePartial?(imageId: string): Promise<number>;
  /**
   * Bytes of memory a put of about `sizeHint` bytes (undefined: unknown) holds in the driver's own
   * buffers, beyond the stream's (S3: its multipart part buffers), for the process's transfer
   * buffer budget. Absent: none.
   */
  putBuffers?(sizeHint?: number): number;
  /** As putBuffers, for a get: what the driver's read buffers hold beyond a 1 MiB read in flight and one being sent (rbd: its ring). */
  getBuffers?(): number;
  /**
   * Whether the store answers and would accept a put now (healthcheck, start-up check). Never
   * throws; `reason` says what is wrong in an operator's words. Drivers without it are not checked.
   */
  probe?(signal?: AbortSignal): Promise<StoreProbe>;
}

export interface StoreProbe {
  reachable: boolean;
  writable: boolean;
  reason?: string;
}

/**
 * Typed driver failures, mapped by the service layer (413, 503, 404/410, 400). `AddDisabled`:
 * the store is read-only (http), so put() is refused before anything is read (Glance: 410).
 * `InUse`: delete() refused because the store still uses the data outside Glance (rbd: clones of
 * the image's snapshot; glance_store's InUseByStore, 409); nothing was removed.
 */
export type StoreErrorKind = 'StoreNotFound' | 'StoreFull' | 'StoreUnavailable' | 'InvalidLocation' | 'AddDisabled' | 'InUse';

export class StoreError extends Error {
  constructor(readonly kind: StoreErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = kind;
  }
}

/** The configured stores (enabled_backends or the legacy single store). */
export interface StoreRegistry {
  default(): StoreDriver;
  get(id: string): StoreDriver | undefined;
  forLocation(location: string): StoreDriver | undefined;
  ids(): string[];
}

/** A configured store as the discovery API describes it. */
export interface StoreInfo {
  id: string;
  type: string;
  description?: string;
  isDefault: boolean;
  /** Non-secret, type-specific properties for the detail view. */
  properties: Record<string, unknown>;
  /** The backend's `weight` option (Glance master shows it in the detail view). */
  weight: number;
}
