// The one upload pipeline (DESIGN "Store writer"): source → byte limit (image_size_cap / quota
// budget) → exact length (x-openstack-image-size) → md5 + os_hash_algo in one pass (+ any extra
// per-chunk consumers) → driver.put. Limit, length and hashing are one pass-through stream stage
// (lib/streams.ts uploadTap), which errors the stream before its end is passed on, so a refused
// upload never reaches the driver's commit and the driver's all-or-nothing put leaves nothing
// behind. The digests are computed on the calling thread over the request's own buffers, which go
// on to the driver unchanged: no copy, no worker (decision 0014). Backpressure runs end to end;
// no stage holds more than its stream buffer.
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';

import { nodeHashName } from '../config/hash-algorithms.ts';
import { DomainError, badRequest } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import { StoreError, type PutResult, type StoreDriver } from '../ports/store.ts';
import { uploadTap, type ChunkConsumer, type UploadTap } from '../lib/streams.ts';
import { isStoreDuplicateError } from './errors.ts';

export interface WriteImageDataOptions {
  driver: StoreDriver;
  imageId: string;
  /** The image bytes (a request body); consumed, and destroyed on failure. */
  source: Readable;
  /** At most maxBytes may arrive (Infinity: no limit); one more byte fails the upload with error(). */
  limit: { maxBytes: number; error: () => DomainError };
  /** The size the client announced; any other byte count fails the upload with 400. */
  expectedSize?: number;
  /** The likely size (expectedSize, else Content-Length), for the driver to choose how to store it. */
  sizeHint?: number;
  /** Glance's `hashing_algorithm` name (hashlib spelling: sha512, sha3_256, blake2b …). */
  hashingAlgorithm: string;
  /** Aborts the upload (client gone); the promise then rejects with signal.reason. */
  signal?: AbortSignal;
  /**
   * Further consumers of every accepted chunk, in order, after the digests and before the store
   * (e.g. a signature verifier): see ChunkConsumer. A consumer that throws fails the upload and
   * nothing is stored.
   */
  consumers?: readonly ChunkConsumer[];
}

export interface WrittenImageData {
  location: string;
  size: number;
  /** MD5 hex of the data: the image's `checksum`. */
  checksum: string;
  /** Glance's algorithm name, as given (the image's `os_hash_algo`). */
  osHashAlgo: string;
  osHashValue: string;
}

/**
 * Streams one image's data into a store and returns what the image record needs. Failures are
 * DomainErrors (413 limit / store full, 400 size mismatch, 409 duplicate data, 503 store
 * unavailable), the abort reason, or — for anything unexpected — the original error. Nothing is
 * left in the store when it rejects.
 */
export async function writeImageData(options: WriteImageDataOptions): Promise<WrittenImageData> {
  const { driver, imageId, source, limit, expectedSize, hashingAlgorithm, signal } = options;
  let algorithm: string;
  let hasher: UploadTap;
  try {
    algorithm = nodeHashName(hashingAlgorithm);
    hasher = uploadTap({
      maxBytes: limit.maxBytes, onExceed: () => limit.error(),
      expectedSize, onMismatch: () => sizeMismatch(expectedSize!),
      algorithms: ['md5', algorithm], consumers: options.consumers,
    });
  } catch (error) {
    source.destroy();
    throw error;
  }

  let upstreamError: unknown;
  const upstreamSettled = new Promise<void>((resolve) => {
    pipeline(source, hasher, (error) => {
      upstreamError = error ?? undefined;
      resolve();
    });
  });

  let stored: PutResult;
  try {
    stored = await driver.put(imageId, hasher, { sizeHint: options.sizeHint ?? expectedSize, signal });
  } catch (error) {
    // A driver that failed without consuming the body must still stop the request stream.
    hasher.destroy();
    await upstreamSettled;
    throw uploadError(error, upstreamError, imageId, signal);
  }
  await upstreamSettled;
  if (upstreamError !== undefined) {
    // Cannot happen with a driver that consumes its source to the end; never keep such data.
    await driver.delete(stored.location);
    throw upstreamError;
  }

  const size = hasher.bytes;
  if (stored.bytesWritten !== size || (expectedSize !== undefined && size !== expectedSize)) {
    await driver.delete(stored.location);
    if (stored.bytesWritten !== size) {
      throw new Error(`store ${driver.id} wrote ${stored.bytesWritten} bytes of image ${imageId} but ${size} passed the writer`);
    }
    throw sizeMismatch(expectedSize!);
  }
  const digests = hasher.digests();
  return {
    location: stored.location,
    size,
    checksum: digests.md5!,
    osHashAlgo: hashingAlgorithm,
    osHashValue: digests[algorithm]!,
  };
}

function sizeMismatch(expected: number): DomainError {
  return badRequest('The size of the uploaded data does not match the expected size of {expected} bytes.',
    { expected }, 'upload.size_mismatch');
}

/** The error to report for a failed put, preferring the root cause over its echoes. */
function uploadError(error: unknown, upstreamError: unknown, imageId: string, signal: AbortSignal | undefined): unknown {
  // A typed store failure is reported as such even when the request has gone meanwhile: the driver
  // stops the request stream on failure, which itself fires the request's abort signal.
  if (signal?.aborted && !(error instanceof StoreError) && !isStoreDuplicateError(error)) return signal.reason;
  if (error instanceof StoreError) {
    switch (error.kind) {
      case 'StoreFull':
        return new DomainError('PayloadTooLarge', 'store.full',
          msg('Image storage media is full: {reason}', { reason: error.message }), { cause: error });
      case 'StoreUnavailable':
        // glance_store's StorageWriteDenied (file stores) and RemoteServiceUnavailable (object stores).
        return new DomainError('ServiceUnavailable', 'store.write_denied', /denied/i.test(error.message)
          ? msg('Insufficient permissions on image storage media: {reason}', { reason: error.message })
          : msg('The image store is unavailable: {reason}', { reason: error.message }), { cause: error });
      case 'AddDisabled':
        return new DomainError('Gone', 'store.add_disabled',
          msg('Error in store configuration. Adding images to store is disabled.'), { cause: error });
      default:
        return error;
    }
  }
  if (isStoreDuplicateError(error)) {
    return new DomainError('Conflict', 'store.duplicate',
      msg('Unable to upload duplicate image data for image: {id}', { id: imageId }), { cause: error });
  }
  if (error instanceof DomainError) return error;
  // The source, the limit or the hash stage failed first; the driver only saw the echo.
  if (upstreamError !== undefined && !isPrematureClose(upstreamError)) return upstreamError;
  return error;
}

function isPrematureClose(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
