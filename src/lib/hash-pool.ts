// Digests computed off the event loop. An upload's hash stage is the most expensive thing the
// API process does (md5 + sha512 ≈ 3.2 CPU-s per GiB); on the main thread it caps one process's
// total upload rate at what one core can hash, and every other request waits behind it.
//
// A HashPool owns a few worker threads (at most one per core, started on demand, stopped when idle)
// shared by all uploads. Each upload opens a HashLane on the least busy worker; that worker
// computes all of the lane's digests in one pass. (Splitting one upload's md5 and sha512 over two
// workers was measured too: no faster on 2 cores, more CPU and one more isolate of memory.)
// The bytes travel through a small ring of SharedArrayBuffer blocks owned by the lane: the main
// thread copies each chunk into the current block (one memcpy, ~0.1 s per GiB), posts the block
// when it is full, and may reuse it once the worker has acknowledged it. A full ring makes update()
// wait, so hashing pushes back on the request stream like any slow stage; memory per upload is the
// ring (blocks × blockSize), whatever the image size. An upload (lib/streams.ts uploadTap) fills the
// ring's blocks itself instead and submits each with hashBlock(), so the same block is also what
// gets written to the store: one copy of the data in all.
// Rings are reused: a lane's ring goes back to the pool when the lane is done with it (recycle()),
// and the next lane of that size gets it. Shared memory is freed only once every isolate that saw it
// has collected its handle, and a hash worker allocates so little that it hardly ever collects: a
// fresh ring per upload grew the process by the ring's size on every upload while a worker ran.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// CommonJS, evaluated: no file to resolve, the same under tsx, a bundle or compiled JS.
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const lanes = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') {
      lanes.set(m.lane, { view: new Uint8Array(m.memory), hashes: m.algorithms.map((a) => [a, createHash(a)]) });
    } else if (m.op === 'block') {
      const lane = lanes.get(m.lane);
      if (!lane) return;
      const data = lane.view.subarray(m.offset, m.offset + m.length);
      for (const [, hash] of lane.hashes) hash.update(data);
      parentPort.postMessage({ op: 'ack', lane: m.lane, slot: m.slot });
    } else if (m.op === 'end') {
      const lane = lanes.get(m.lane);
      lanes.delete(m.lane);
      if (!lane) return;
      const digests = {};
      for (const [name, hash] of lane.hashes) digests[name] = hash.digest('hex');
      parentPort.postMessage({ op: 'digests', lane: m.lane, digests });
    } else if (m.op === 'close') {
      lanes.delete(m.lane);
    }
  } catch (error) {
    lanes.delete(m.lane);
    parentPort.postMessage({ op: 'error', lane: m.lane, message: String(error && error.message || error) });
  }
});
`;


type FromWorker =
  | { op: 'ack'; lane: number; slot: number }
  | { op: 'digests'; lane: number; digests: Record<string, string> }
  | { op: 'error'; lane: number; message: string };

/** A worker thread and the lanes it serves. */
interface PoolWorker {
  worker: Worker;
  lanes: Map<number, HashLane>;
  idleTimer?: NodeJS.Timeout;
}

export interface HashPoolOptions {
  /** Worker threads at most (default: the number of cores). */
  maxWorkers?: number;
  /** Bytes per ring block (default 1 MiB): one message to the worker per block. */
  blockSize?: number;
  /** Blocks per lane (default 4): how far the copy may run ahead of the hashing. */
  blocks?: number;
  /** A worker without lanes stops after this long (default 30 s); the next lane starts one again. */
  idleMs?: number;
  /** Rings kept for reuse at most (default: 2 per worker); more concurrent lanes get rings of their own. */
  maxIdleRings?: number;
}

/** A lane's shared memory: `blocks` blocks of `blockSize` bytes. */
export interface Ring {
  memory: SharedArrayBuffer;
  blockSize: number;
  blocks: number;
}

export class HashPool {
  readonly maxWorkers: number;
  readonly blockSize: number;
  readonly blocks: number;
  private readonly idleMs: number;
  private readonly maxIdleRings: number;
  /** Rings no lane uses, for the next lanes. */
  private readonly idleRings: Ring[] = [];
  private readonly workers = new Set<PoolWorker>();
  private nextLane = 1;
  private closed = false;

  constructor(options: HashPoolOptions = {}) {
    this.maxWorkers = Math.max(1, options.maxWorkers ?? availableParallelism());
    this.blockSize = Math.max(1, options.blockSize ?? 1024 * 1024);
    this.blocks = Math.max(2, options.blocks ?? 4);
    this.idleMs = options.idleMs ?? 30_000;
    this.maxIdleRings = Math.max(0, options.maxIdleRings ?? 2 * this.maxWorkers);
  }

  /**
   * Opens a lane computing `algorithms` (node:crypto names) on the least busy worker, or on a new
   * one while fewer than maxWorkers run and all are busy. Throws at once for an unknown algorithm.
   */
  lane(algorithms: readonly string[], options: { blocks?: number; recycle?: 'auto' | 'manual' } = {}): HashLane {
    if (this.closed) throw new Error('HashPool is closed');
    const unique = [...new Set(algorithms)];
    for (const name of unique) createHash(name); // fail here, synchronously, like hashTap()
    let host: PoolWorker | undefined;
    for (const w of this.workers) if (host === undefined || w.lanes.size < host.lanes.size) host = w;
    if (host === undefined || (host.lanes.size > 0 && this.workers.size < this.maxWorkers)) host = this.spawn();
    clearTimeout(host.idleTimer);
    const id = this.nextLane++;
    const blocks = Math.max(2, options.blocks ?? this.blocks);
    const at = this.idleRings.findIndex((r) => r.blocks === blocks);
    const ring = at >= 0 ? this.idleRings.splice(at, 1)[0]!
      : { memory: new SharedArrayBuffer(this.blockSize * blocks), blockSize: this.blockSize, blocks };
    const lane = new HashLane(id, unique, host.worker, ring, () => this.release(host, id), (r) => this.reuse(r),
      options.recycle ?? 'auto');
    host.lanes.set(id, lane);
    return lane;
  }

  /** Rings waiting for a lane. */
  get idleRingCount(): number {
    return this.idleRings.length;
  }

  private reuse(ring: Ring): void {
    if (!this.closed && this.idleRings.length < this.maxIdleRings) this.idleRings.push(ring);
  }

  /** Stops every worker; lanes still open fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.idleRings.length = 0;
    await Promise.all([...this.workers].map((w) => this.stop(w, new Error('HashPool closed'))));
  }

  /** Running worker threads. */
  get size(): number {
    return this.workers.size;
  }

  /** Open lanes. */
  get lanes(): number {
    let n = 0;
    for (const w of this.workers) n += w.lanes.size;
    return n;
  }

  private spawn(): PoolWorker {
    const worker = new Worker(workerSource, { eval: true, stdout: false, stderr: false });
    worker.unref(); // an idle pool never keeps the process alive
    const host: PoolWorker = { worker, lanes: new Map() };
    worker.on('message', (m: FromWorker) => host.lanes.get(m.lane)?.receive(m));
    const fail = (error: Error) => {
      this.workers.delete(host);
      clearTimeout(host.idleTimer);
      for (const lane of [...host.lanes.values()]) lane.fail(error);
      host.lanes.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited (code ${code})`)));
    this.workers.add(host);
    return host;
  }

  private release(host: PoolWorker, id: number): void {
    host.lanes.delete(id);
    if (host.lanes.size > 0 || !this.workers.has(host)) return;
    clearTimeout(host.idleTimer);
    host.idleTimer = setTimeout(() => {
      if (host.lanes.size === 0) void this.stop(host, new Error('hash worker stopped while idle'));
    }, this.idleMs);
    host.idleTimer.unref();
  }

  private async stop(host: PoolWorker, reason: Error): Promise<void> {
    this.workers.delete(host);
    clearTimeout(host.idleTimer);
    for (const lane of [...host.lanes.values()]) lane.fail(reason);
    host.lanes.clear();
    await host.worker.terminate();
  }
}

/**
 * One upload's digests, computed by a pool worker. Used one of two ways, never both: update()
 * copies chunks into the lane's ring itself; or the caller fills the ring's blocks (`ring`) and
 * hands each one over with hashBlock() (uploadTap does, so the same bytes are hashed and written).
 * The ring goes back to the pool when the lane is released (recycle 'auto'), or, with 'manual', when
 * the caller says it no longer writes into the ring nor needs what it holds (recycle()): the caller
 * may still be writing its blocks to a store after the digests are in.
 */
export class HashLane {
  private readonly view: Uint8Array;
  private readonly blockSize: number;
  private recycled = false;
  private readonly blockWaiters = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly free: number[] = [];
  private slot = 0;
  private fill = 0;
  private waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private ending: { resolve: (d: Record<string, string>) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private ended = false;
  private released = false;

  /** @internal use HashPool.lane() */
  constructor(
    private readonly id: number,
    readonly algorithms: readonly string[],
    private readonly worker: Worker,
    /** The ring: `blocks` blocks of `blockSize` bytes in shared memory. */
    readonly ring: Ring,
    private readonly onRelease: () => void,
    private readonly onRecycle: (ring: Ring) => void,
    private readonly recycleMode: 'auto' | 'manual',
  ) {
    this.blockSize = ring.blockSize;
    this.view = new Uint8Array(ring.memory);
    for (let i = 1; i < ring.blocks; i++) this.free.push(i);
    worker.postMessage({ op: 'open', lane: id, algorithms, memory: ring.memory });
  }

  /**
   * Hands the ring back to the pool for the next lane. Call it once nothing will write into the
   * ring through this lane any more and nothing still needs the bytes it holds (blocks not yet
   * written to the store). A failed lane's worker may still read blocks queued before the failure:
   * harmless, its result is thrown away. Idempotent.
   */
  recycle(): void {
    if (this.recycled) return;
    this.recycled = true;
    this.onRecycle(this.ring);
  }

  /**
   * Takes a copy of `chunk` for hashing. Returns undefined while the ring has room, else a promise
   * that resolves once the worker has caught up. The caller may reuse `chunk` once this returns.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('HashLane: update() after digest()'));
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.blockSize - this.fill);
      this.view.set(chunk.subarray(offset, offset + n), this.slot * this.blockSize + this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === this.blockSize) {
        this.dispatch();
        const next = this.free.shift();
        if (next === undefined) {
          // Ring full: copy the rest of the chunk once the worker hands a block back.
          const rest = chunk.subarray(offset);
          return new Promise<void>((resolve, reject) => { this.waiter = { resolve, reject }; })
            .then(() => this.update(rest));
        }
        this.slot = next;
      }
    }
    return undefined;
  }

  /**
   * Hashes the first `length` bytes of ring block `slot` (filled by the caller); resolves once the
   * worker has read them, after which the caller may refill the block. One call per block at a time.
   */
  hashBlock(slot: number, length: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('HashLane: hashBlock() after digest()'));
    if (!(slot >= 0 && slot < this.ring.blocks) || this.blockWaiters.has(slot) || !(length >= 0 && length <= this.blockSize)) {
      return Promise.reject(new RangeError(`HashLane: bad block ${slot} (${length} bytes) or block already submitted`));
    }
    return new Promise((resolve, reject) => {
      this.blockWaiters.set(slot, { resolve, reject });
      this.worker.postMessage({ op: 'block', lane: this.id, slot, offset: slot * this.blockSize, length });
    });
  }

  /** Hashes what is left and resolves with hex digests by algorithm name. */
  digest(): Promise<Record<string, string>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('HashLane: digest() called twice'));
    this.ended = true;
    if (this.fill > 0) this.dispatch();
    return new Promise((resolve, reject) => {
      this.ending = { resolve, reject };
      this.worker.postMessage({ op: 'end', lane: this.id });
    });
  }

  /** Gives the lane up (the upload failed or was abandoned); pending calls reject. */
  close(): void {
    this.fail(new Error('HashLane closed'));
  }

  /** @internal a message from the lane's worker */
  receive(m: FromWorker): void {
    if (m.op === 'ack') {
      const block = this.blockWaiters.get(m.slot);
      if (block) {
        this.blockWaiters.delete(m.slot);
        block.resolve();
        return;
      }
      const waiter = this.waiter;
      this.waiter = undefined;
      if (waiter) {
        this.slot = m.slot;
        waiter.resolve();
      } else {
        this.free.push(m.slot);
      }
    } else if (m.op === 'digests') {
      this.released = true;
      this.onRelease();
      if (this.recycleMode === 'auto') this.recycle();
      this.ending?.resolve(m.digests);
      this.ending = undefined;
    } else {
      this.fail(new Error(`hashing failed: ${m.message}`));
    }
  }

  /** @internal */
  fail(error: Error): void {
    if (this.failure || this.released) return;
    this.failure = error;
    this.released = true;
    // Frees the lane's state in the worker if it still runs (a message to an exited worker is dropped).
    this.worker.postMessage({ op: 'close', lane: this.id });
    this.onRelease();
    if (this.recycleMode === 'auto') this.recycle();
    this.waiter?.reject(error);
    this.ending?.reject(error);
    for (const block of this.blockWaiters.values()) block.reject(error);
    this.blockWaiters.clear();
    this.waiter = undefined;
    this.ending = undefined;
  }

  private dispatch(): void {
    this.worker.postMessage({ op: 'block', lane: this.id, slot: this.slot, offset: this.slot * this.blockSize, length: this.fill });
    this.fill = 0;
  }
}
