// Small pass-through Transforms for byte streams: limit, count, hash. Each one handles a chunk
// as it passes and never holds more than the stream's own buffer, so they keep backpressure
// intact and can sit in any pipeline() between a request body and a store.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import type { HashPool } from './hash-pool.ts';
import { collectYoungGarbage } from './young-gc.ts';

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

export interface UploadTapOptions {
  /** At most this many bytes (Infinity: no limit); one more errors with onExceed(max), passing none of that chunk. */
  maxBytes: number;
  onExceed: (max: number) => Error;
  /** Exactly this many bytes, else onMismatch(actual, expected) — at once when over, at the end when under. */
  expectedSize?: number;
  onMismatch?: (actual: number, expected: number) => Error;
  /** Digests to compute (node:crypto names). */
  algorithms: readonly string[];
  /** Hash in this pool's worker threads instead of on the calling thread. */
  pool?: HashPool;
  /** Bytes per block (default: the pool's block size, else 1 MiB). */
  blockSize?: number;
  /** Blocks the stage owns (default 8): how far hashing and the consumer may lag behind receiving. */
  blocks?: number;
}

// ---- chunk release ------------------------------------------------------------------------------

const releasers = new WeakMap<object, () => void>();
const kReleasing = Symbol('glimpse.releasingConsumer');

/**
 * Called by a consumer of an uploadTap stream before it reads: it promises to call releaseChunk()
 * for every chunk once it no longer uses its bytes, and to read in flowing mode (pipe/pipeline), so
 * it gets the chunks as pushed. The stage then hands out views of its own blocks and reuses each
 * once released (and hashed); otherwise it hands out a copy of each block. No effect on other streams.
 */
export function willReleaseChunks(stream: object): void {
  (stream as { [kReleasing]?: () => void })[kReleasing]?.();
}

/** Gives a chunk back to the stage that produced it (see willReleaseChunks); a no-op for others. */
export function releaseChunk(chunk: object): void {
  const release = releasers.get(chunk);
  if (release === undefined) return;
  releasers.delete(chunk);
  release();
}

/**
 * Minor collections run after every this many bytes received (see lib/young-gc.ts). 2 MiB against
 * 8 MiB, 1 GiB uploads (bench/README.md): peak RSS 117–125 against 136–141 MB, at the same rate and
 * CPU; 32 MiB was worse on both (160 MB, +40 % CPU).
 */
const COLLECT_EVERY = 2 * 1024 * 1024;

/**
 * byteLimit → exactLength → hashTap as ONE Transform, with the same semantics and errors in the
 * same order (limit first), that also re-blocks the data: each incoming chunk (a 64 KiB socket
 * read, typically) is copied at once into the stage's current block (1 MiB), and full blocks are
 * hashed and passed on. So the request's own buffers are garbage as soon as they arrive (a minor
 * collection every 2 MiB frees them: lib/young-gc.ts), the consumer gets 1/16 of the chunks, and
 * all the upload holds is the stage's blocks (8 MiB by default) and its consumer's buffers.
 * With `pool`, the blocks are the hash lane's shared ring and the worker hashes each block where it
 * lies (no copy); a block is refilled once hashed and — for a consumer that releases chunks
 * (willReleaseChunks) — once the consumer is done with it. With no free block, the stage waits,
 * which pushes back on the source like any slow stage. The bytes before a refused chunk are passed
 * on before the error, as by the separate stages, so downstream sees exactly what was accepted.
 */
export function uploadTap(options: UploadTapOptions): HashTap {
  const { maxBytes, onExceed, expectedSize, onMismatch, pool } = options;
  if (!(maxBytes >= 0)) throw new RangeError(`uploadTap: maxBytes must be a non-negative number, got ${maxBytes}`);
  if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw new RangeError(`uploadTap: expectedSize must be a non-negative integer, got ${expectedSize}`);
  }
  const mismatch = (actual: number) => (onMismatch ?? ((a, e) => new Error(`expected ${e} bytes, got ${a}`)))(actual, expectedSize!);
  const unique = [...new Set(options.algorithms)];
  const blockCount = Math.max(2, options.blocks ?? 8);
  const hashes: Array<[string, Hash]> = pool ? [] : unique.map((name) => [name, createHash(name)]);
  const lane = pool?.lane(unique, { blocks: blockCount, recycle: 'manual' });
  const blockSize = lane ? lane.ring.blockSize : Math.max(1, options.blockSize ?? 1024 * 1024);
  const memory = lane ? lane.ring.memory : new ArrayBuffer(blockSize * blockCount);
  /** busy: holds on the block (filling, hashing, consumer); 0 = free. */
  const blocks = Array.from({ length: blockCount }, (_, slot) => ({ slot, busy: 0, view: Buffer.from(memory, slot * blockSize, blockSize) }));
  type Block = typeof blocks[number];
  let current: Block | undefined;
  let fill = 0;
  let releasing = false;
  let failure: Error | undefined;
  let resume: (() => void) | undefined;
  let uncollected = 0;
  let result: Record<string, string> | undefined;
  let bytes = 0;

  const wake = () => {
    const next = resume;
    resume = undefined;
    if (next) process.nextTick(next);
  };
  /** Set when no more data will be copied in: the ring goes back to the pool once no block is held. */
  let done = false;
  const recycleWhenIdle = () => {
    if (lane && done && blocks.every((b) => b.busy === 0)) lane.recycle(); // a block being filled is busy too
  };
  const release = (block: Block) => {
    block.busy--;
    if (block.busy === 0) {
      wake();
      recycleWhenIdle();
    }
  };
  const fail = (error: Error) => {
    failure ??= error;
    wake();
  };
  /** Hands the current block (its first `fill` bytes) to the hasher and downstream. */
  const emit = (stream: Transform) => {
    const block = current!;
    const length = fill;
    current = undefined;
    fill = 0;
    block.busy = 0;
    const data = block.view.subarray(0, length);
    if (lane) {
      block.busy++;
      lane.hashBlock(block.slot, length).then(() => release(block), fail);
    } else {
      for (const [, hash] of hashes) hash.update(data);
    }
    let out = data;
    if (releasing) {
      block.busy++;
      releasers.set(out, () => release(block));
    } else {
      out = Buffer.from(data); // a copy: the consumer may keep it
    }
    stream.push(out);
    uncollected += length;
    if (uncollected >= COLLECT_EVERY) {
      uncollected = 0;
      collectYoungGarbage();
    }
  };

  const tap = new Transform({
    readableHighWaterMark: blockSize,
    writableHighWaterMark: 64 * 1024,
    transform(chunk: unknown, encoding, callback) {
      const data = toBuffer(chunk, encoding);
      let refusal: Error | undefined;
      if (bytes + data.length > maxBytes) refusal = onExceed(maxBytes);
      else if (expectedSize !== undefined && bytes + data.length > expectedSize) refusal = mismatch(bytes + data.length);
      if (refusal !== undefined) {
        if (bytes + data.length <= maxBytes) bytes += data.length; // counted as exactLength did
        if (fill > 0) emit(this);
        callback(refusal);
        return;
      }
      bytes += data.length;
      let offset = 0;
      const copy = () => {
        while (offset < data.length) {
          if (failure) {
            callback(failure);
            return;
          }
          if (current === undefined) {
            current = blocks.find((b) => b.busy === 0);
            if (current === undefined) {
              resume = copy;
              return;
            }
            current.busy = 1;
          }
          const n = Math.min(data.length - offset, blockSize - fill);
          data.copy(current.view, fill, offset, offset + n);
          fill += n;
          offset += n;
          if (fill === blockSize) emit(this);
        }
        callback();
      };
      copy();
    },
    flush(callback: TransformCallback) {
      if (expectedSize !== undefined && bytes !== expectedSize) {
        callback(mismatch(bytes));
        return;
      }
      if (failure) {
        callback(failure);
        return;
      }
      if (fill > 0) emit(this);
      if (!lane) {
        result = Object.fromEntries(hashes.map(([name, hash]) => [name, hash.digest('hex')]));
        callback();
        return;
      }
      lane.digest().then((digests) => {
        result = digests;
        done = true;
        recycleWhenIdle();
        callback();
      }, callback);
    },
    destroy(error, callback) {
      resume = undefined;
      lane?.close();
      done = true;
      // Failed: the upload's bytes are thrown away, so the ring may be reused at once (a store write
      // still in flight only reads it). Otherwise the consumer may still be writing blocks of a
      // complete upload: wait until it has given every one back.
      if (error) lane?.recycle();
      else recycleWhenIdle();
      callback(error);
    },
  });
  Object.defineProperty(tap, kReleasing, { value: () => { releasing = true; } });
  Object.defineProperty(tap, 'bytes', { get: () => bytes, enumerable: true });
  return Object.assign(tap, {
    digests(): Record<string, string> {
      if (result === undefined) throw new Error('uploadTap: digests are available only after the stream has ended');
      return { ...result };
    },
  }) as HashTap;
}
