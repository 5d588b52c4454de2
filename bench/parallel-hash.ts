// Experimental: several digests computed in parallel worker threads instead of one after the
// other on the main thread. The main thread copies each chunk once into a SharedArrayBuffer ring
// of blocks; every worker hashes every block with its own algorithm and acknowledges it; a block
// is reused once all workers have acknowledged it. A full ring makes update() wait (backpressure).
// Kept in bench/, not used by the upload path: on the measured 2-vCPU machine it made one upload
// faster only while a core was idle, and always cost more CPU per GiB (numbers: bench/hash.ts).
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash(workerData.algorithm);
const memory = new Uint8Array(workerData.memory);
parentPort.on('message', (m) => {
  if (m.type === 'block') {
    hash.update(memory.subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ type: 'ack', slot: m.slot });
  } else {
    parentPort.postMessage({ type: 'digest', hex: hash.digest('hex') });
  }
});
`;

interface Lane { algorithm: string; worker: Worker; digest?: Promise<string> }

export class ParallelHasher {
  private readonly memory: SharedArrayBuffer;
  private readonly view: Uint8Array;
  private readonly lanes: Lane[];
  private readonly pending: number[];
  private readonly free: number[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private slot: number;
  private fill = 0;

  constructor(algorithms: readonly string[], private readonly blockSize = 1024 * 1024, blocks = 8) {
    this.memory = new SharedArrayBuffer(blockSize * blocks);
    this.view = new Uint8Array(this.memory);
    this.pending = new Array<number>(blocks).fill(0);
    for (let i = 1; i < blocks; i++) this.free.push(i);
    this.slot = 0;
    this.lanes = [...new Set(algorithms)].map((algorithm) => {
      const worker = new Worker(workerSource, { eval: true, workerData: { algorithm, memory: this.memory } });
      worker.on('message', (m: { type: string; slot: number }) => {
        if (m.type !== 'ack') return;
        if (--this.pending[m.slot]! === 0) {
          this.free.push(m.slot);
          this.wake();
        }
      });
      worker.on('error', (error: Error) => { this.failure = error; this.wake(); });
      return { algorithm, worker };
    });
  }

  async update(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.blockSize - this.fill);
      this.view.set(chunk.subarray(offset, offset + n), this.slot * this.blockSize + this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === this.blockSize) await this.dispatch();
    }
  }

  async digests(): Promise<Record<string, string>> {
    if (this.fill > 0) await this.dispatch();
    const entries = await Promise.all(this.lanes.map(async (lane) => {
      const hex = await new Promise<string>((resolve, reject) => {
        lane.worker.on('message', (m: { type: string; hex: string }) => { if (m.type === 'digest') resolve(m.hex); });
        lane.worker.once('error', reject);
        lane.worker.postMessage({ type: 'end' });
      });
      return [lane.algorithm, hex] as const;
    }));
    await this.close();
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.worker.terminate()));
  }

  private async dispatch(): Promise<void> {
    const slot = this.slot;
    this.pending[slot] = this.lanes.length;
    for (const lane of this.lanes) {
      lane.worker.postMessage({ type: 'block', slot, offset: slot * this.blockSize, length: this.fill });
    }
    this.fill = 0;
    while (this.free.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    if (this.failure) throw this.failure;
    this.slot = this.free.shift()!;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** A pass-through Transform like lib/streams hashTap, hashing in worker threads. */
export function parallelHashTap(algorithms: readonly string[]): Transform & { digests(): Record<string, string> } {
  const hasher = new ParallelHasher(algorithms);
  let result: Record<string, string> | undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hasher.update(chunk).then(() => callback(null, chunk), callback);
    },
    flush(callback: TransformCallback) {
      hasher.digests().then((d) => { result = d; callback(); }, callback);
    },
    destroy(error, callback) {
      hasher.close().then(() => callback(error), () => callback(error));
    },
  });
  return Object.assign(tap, {
    digests(): Record<string, string> {
      if (!result) throw new Error('digests are available only after the stream has ended');
      return result;
    },
  });
}
