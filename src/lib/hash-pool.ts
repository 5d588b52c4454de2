// Digests computed off the event loop. An upload's hash stage is the most expensive thing the
// API process does (md5 + sha512 ≈ 3.2 CPU-s per GiB); on the main thread it caps one process's
// total upload rate at what one core can hash, and every other request waits behind it.
//
// A HashPool owns a few worker threads (at most one per core, started on demand, stopped when idle)
// shared by all uploads. Each upload opens a HashLane on the least busy worker; that worker
// computes all of the lane's digests in one pass (no data read twice, no lane split across threads).
// The bytes travel through a small ring of SharedArrayBuffer blocks owned by the lane: the main
// thread copies each chunk into the current block (one memcpy, ~0.1 s per GiB), posts the block
// when it is full, and may reuse it once the worker has acknowledged it. A full ring makes update()
// wait, so hashing pushes back on the request stream like any slow stage; memory per upload is the
// ring (blocks × blockSize), whatever the image size.
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

/** A worker thread and the lane parts it serves (part id → lane). */
interface PoolWorker {
  worker: Worker;
  parts: Map<number, HashLane>;
  idleTimer?: NodeJS.Timeout;
}

/** The algorithms of one lane that one worker computes, under a part id of their own. */
interface LanePart {
  id: number;
  host: PoolWorker;
  algorithms: string[];
}

export interface HashPoolOptions {
  /** Worker threads at most (default: the number of cores). */
  maxWorkers?: number;
  /** Bytes per ring block (default 1 MiB): one message to each of the lane's workers per block. */
  blockSize?: number;
  /** Blocks per lane (default 4): how far the copy may run ahead of the hashing. */
  blocks?: number;
  /** A worker without work stops after this long (default 30 s); the next lane starts one again. */
  idleMs?: number;
}

export class HashPool {
  readonly maxWorkers: number;
  readonly blockSize: number;
  readonly blocks: number;
  private readonly idleMs: number;
  private readonly workers = new Set<PoolWorker>();
  private nextPart = 1;
  private closed = false;

  constructor(options: HashPoolOptions = {}) {
    this.maxWorkers = Math.max(1, options.maxWorkers ?? availableParallelism());
    this.blockSize = options.blockSize ?? 1024 * 1024;
    this.blocks = Math.max(2, options.blocks ?? 4);
    this.idleMs = options.idleMs ?? 30_000;
  }

  /**
   * Opens a lane computing `algorithms` (node:crypto names); throws at once for an unknown name.
   * Each algorithm goes to the least busy worker (a new one while fewer than maxWorkers run and
   * all are busy), so one upload's md5 and sha512 run side by side on an idle machine, and many
   * uploads spread evenly over the workers.
   */
  lane(algorithms: readonly string[]): HashLane {
    if (this.closed) throw new Error('HashPool is closed');
    const unique = [...new Set(algorithms)];
    for (const name of unique) createHash(name); // fail here, synchronously, like hashTap()
    const chosen = new Map<PoolWorker, string[]>();
    const load = new Map<PoolWorker, number>([...this.workers].map((w) => [w, w.parts.size]));
    for (const name of unique) {
      let best: PoolWorker | undefined;
      for (const [w, n] of load) if (best === undefined || n < load.get(best)!) best = w;
      if (best === undefined || (load.get(best)! > 0 && this.workers.size < this.maxWorkers)) {
        best = this.spawn();
        load.set(best, 0);
      }
      load.set(best, load.get(best)! + 1);
      chosen.set(best, [...(chosen.get(best) ?? []), name]);
    }
    const parts: LanePart[] = [...chosen].map(([host, names]) => ({ id: this.nextPart++, host, algorithms: names }));
    const lane = new HashLane(parts, this.blockSize, this.blocks, (part) => this.release(part));
    for (const part of parts) {
      clearTimeout(part.host.idleTimer);
      part.host.parts.set(part.id, lane);
    }
    lane.open();
    return lane;
  }

  /** Stops every worker; lanes still open fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => this.stop(w, new Error('HashPool closed'))));
  }

  /** Running worker threads (for tests and metrics). */
  get size(): number {
    return this.workers.size;
  }

  private spawn(): PoolWorker {
    const worker = new Worker(workerSource, { eval: true, stdout: false, stderr: false });
    worker.unref();
    const host: PoolWorker = { worker, parts: new Map() };
    worker.on('message', (m: FromWorker) => host.parts.get(m.lane)?.receive(m));
    const fail = (error: Error) => {
      this.workers.delete(host);
      clearTimeout(host.idleTimer);
      for (const lane of host.parts.values()) lane.fail(error);
      host.parts.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited (code ${code})`)));
    this.workers.add(host);
    return host;
  }

  private release(part: LanePart): void {
    const { host } = part;
    host.parts.delete(part.id);
    if (host.parts.size > 0 || !this.workers.has(host)) return;
    clearTimeout(host.idleTimer);
    host.idleTimer = setTimeout(() => {
      if (host.parts.size === 0) void this.stop(host, new Error('idle'));
    }, this.idleMs);
    host.idleTimer.unref();
  }

  private async stop(host: PoolWorker, reason: Error): Promise<void> {
    this.workers.delete(host);
    clearTimeout(host.idleTimer);
    for (const lane of host.parts.values()) lane.fail(reason);
    host.parts.clear();
    await host.worker.terminate();
  }
}

/** One upload's digests, computed by one or more pool workers. */
export class HashLane {
  private readonly memory: SharedArrayBuffer;
  private readonly view: Uint8Array;
  /** Acknowledgements still missing per ring block. */
  private readonly pending: number[];
  private readonly free: number[] = [];
  private slot = 0;
  private fill = 0;
  private waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private ending: { resolve: (d: Record<string, string>) => void; reject: (error: Error) => void } | undefined;
  private readonly digests: Record<string, string> = {};
  private digestsMissing: number;
  private failure: Error | undefined;
  private done = false;
  private released = false;

  /** @internal use HashPool.lane() */
  constructor(
    private readonly parts: LanePart[],
    private readonly blockSize: number,
    blocks: number,
    private readonly onRelease: (part: LanePart) => void,
  ) {
    this.memory = new SharedArrayBuffer(blockSize * blocks);
    this.view = new Uint8Array(this.memory);
    this.pending = new Array<number>(blocks).fill(0);
    for (let i = 1; i < blocks; i++) this.free.push(i);
    this.digestsMissing = parts.length;
  }

  /** @internal */
  open(): void {
    for (const p of this.parts) p.host.worker.postMessage({ op: 'open', lane: p.id, algorithms: p.algorithms, memory: this.memory });
  }

  /**
   * Takes a copy of `chunk` for hashing. Returns undefined while the ring has room, else a promise
   * that resolves when the workers have caught up. The caller may reuse `chunk` once this returns.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.blockSize - this.fill);
      this.view.set(chunk.subarray(offset, offset + n), this.slot * this.blockSize + this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === this.blockSize) {
        this.dispatch();
        if (this.free.length === 0) {
          const rest = chunk.subarray(offset);
          return this.room().then(() => this.update(rest));
        }
        this.slot = this.free.shift()!;
      }
    }
    return undefined;
  }

  /** Hashes what is left and resolves with hex digests by algorithm name. */
  digest(): Promise<Record<string, string>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.done) return Promise.reject(new Error('HashLane: digest() called twice'));
    this.done = true;
    if (this.fill > 0) this.dispatch();
    return new Promise((resolve, reject) => {
      this.ending = { resolve, reject };
      for (const p of this.parts) p.host.worker.postMessage({ op: 'end', lane: p.id });
    });
  }

  /** Gives the lane up (the upload failed); pending calls reject. */
  close(): void {
    this.fail(new Error('HashLane closed'));
  }

  /** @internal a message from one of the lane's workers */
  receive(m: FromWorker): void {
    if (m.op === 'ack') {
      if (--this.pending[m.slot]! > 0) return;
      this.free.push(m.slot);
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve();
    } else if (m.op === 'digests') {
      Object.assign(this.digests, m.digests);
      if (--this.digestsMissing > 0) return;
      this.released = true;
      for (const p of this.parts) this.onRelease(p);
      this.ending?.resolve({ ...this.digests });
    } else {
      this.fail(new Error(`hashing failed: ${m.message}`));
    }
  }

  /** @internal */
  fail(error: Error): void {
    if (this.failure || this.released) return;
    this.failure = error;
    for (const p of this.parts) {
      // Frees the lane's state in workers that still run (a message to an exited worker is dropped).
      p.host.worker.postMessage({ op: 'close', lane: p.id });
      this.onRelease(p);
    }
    this.waiter?.reject(error);
    this.ending?.reject(error);
    this.waiter = undefined;
    this.ending = undefined;
  }

  private dispatch(): void {
    this.pending[this.slot] = this.parts.length;
    const message = { op: 'block', slot: this.slot, offset: this.slot * this.blockSize, length: this.fill };
    for (const p of this.parts) p.host.worker.postMessage({ ...message, lane: p.id });
    this.fill = 0;
  }

  private room(): Promise<void> {
    if (this.free.length > 0) {
      this.slot = this.free.shift()!;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.waiter = {
        resolve: () => { this.slot = this.free.shift()!; resolve(); },
        reject,
      };
    });
  }
}
