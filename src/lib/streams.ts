// Small pass-through Transforms for byte streams: limit, count, hash. Each one handles a chunk
// as it passes and never holds more than the stream's own buffer, so they keep backpressure
// intact and can sit in any pipeline() between a request body and a store.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** A Transform that knows how many bytes went through it. */
export interface CountingTransform extends Transform {
  readonly bytes: number;
}

function toBuffer(chunk: unknown, encoding: BufferEncoding): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), encoding);
}

/** Counts the bytes that pass (`.bytes`), changing nothing. */
export function byteCounter(): CountingTransform {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: unknown, encoding, callback) {
      const data = toBuffer(chunk, encoding);
      bytes += data.length;
      callback(null, data);
    },
  });
  return Object.defineProperty(counter, 'bytes', { get: () => bytes, enumerable: true }) as CountingTransform;
}

/**
 * Errors the stream with `onExceed()` as soon as more than `max` bytes have arrived; the chunk
 * that crosses the limit is not passed on, so downstream never sees more than `max` bytes.
 * `max` may be Infinity (no limit).
 */
export function byteLimit(max: number, onExceed: (max: number) => Error): CountingTransform {
  if (!(max >= 0)) throw new RangeError(`byteLimit: max must be a non-negative number, got ${max}`);
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: unknown, encoding, callback) {
      const data = toBuffer(chunk, encoding);
      if (bytes + data.length > max) {
        callback(onExceed(max));
        return;
      }
      bytes += data.length;
      callback(null, data);
    },
  });
  return Object.defineProperty(limiter, 'bytes', { get: () => bytes, enumerable: true }) as CountingTransform;
}

/**
 * Requires exactly `expected` bytes: errors with `onMismatch()` as soon as more arrive, or at the
 * end of the input when fewer did. Because the error comes before the end is passed on, a store
 * downstream never commits a wrongly sized object.
 */
export function exactLength(expected: number, onMismatch: (actual: number, expected: number) => Error): CountingTransform {
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`exactLength: expected must be a non-negative integer, got ${expected}`);
  }
  let bytes = 0;
  const guard = new Transform({
    transform(chunk: unknown, encoding, callback) {
      const data = toBuffer(chunk, encoding);
      bytes += data.length;
      if (bytes > expected) {
        callback(onMismatch(bytes, expected));
        return;
      }
      callback(null, data);
    },
    flush(callback: TransformCallback) {
      callback(bytes === expected ? null : onMismatch(bytes, expected));
    },
  });
  return Object.defineProperty(guard, 'bytes', { get: () => bytes, enumerable: true }) as CountingTransform;
}

export interface HashTap extends CountingTransform {
  /** Hex digests by algorithm name, as given to hashTap(); throws before the stream has ended. */
  digests(): Record<string, string>;
}

/**
 * Computes several digests (node:crypto names: `md5`, `sha512`, `sha3-256` …) in one pass over
 * the data. Digests are final once the stream has flushed (after 'end' / 'finish').
 */
export function hashTap(algorithms: readonly string[]): HashTap {
  const unique = [...new Set(algorithms)];
  const hashes: Array<[string, Hash]> = unique.map((name) => [name, createHash(name)]);
  let result: Record<string, string> | undefined;
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: unknown, encoding, callback) {
      const data = toBuffer(chunk, encoding);
      bytes += data.length;
      for (const [, hash] of hashes) hash.update(data);
      callback(null, data);
    },
    flush(callback: TransformCallback) {
      result = Object.fromEntries(hashes.map(([name, hash]) => [name, hash.digest('hex')]));
      callback();
    },
  });
  Object.defineProperty(tap, 'bytes', { get: () => bytes, enumerable: true });
  return Object.assign(tap, {
    digests(): Record<string, string> {
      if (result === undefined) throw new Error('hashTap: digests are available only after the stream has ended');
      return { ...result };
    },
  }) as HashTap;
}
