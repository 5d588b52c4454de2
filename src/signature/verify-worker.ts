// Signature verification off the event loop (issue 19, decision 0032). A signed upload needs one
// more pass over the data than an unsigned one: the signature's SHA-2 hash, which cannot reuse the
// os_hash digest (node:crypto verifies RSA-PSS/DSA/ECDSA only over the data, never over a digest
// computed elsewhere). On the event loop that pass adds to the md5 + os_hash pass that already
// bounds an upload; here a worker thread runs the whole node:crypto Verify (hash and final check),
// so on a machine with a spare core a signed upload costs the event loop one memcpy per chunk.
//
// Protocol (one producer, the upload; one consumer, the worker): a SharedArrayBuffer ring of SLOTS
// slots of SLOT bytes. The upload copies each chunk into the current slot (the request's buffer is
// not kept) and publishes a slot when it is full by advancing `published` (Atomics.notify); the
// worker waits on `published`, hashes the slot in place, advances `consumed`. When all slots are
// published and unread, the upload waits (Atomics.waitAsync on `consumed`: a promise, no blocking),
// and its stream stage passes nothing on meanwhile: backpressure to the socket. The end publishes
// the partial slot and sets `done`; the worker then verifies and posts its verdict. `abort` ends a
// job without one. Counters count slots (2^31 slots of 256 KiB: no wrap in practice).
//
// At most MAX_WORKERS workers exist; an upload that finds none free verifies on the event loop
// (verifier.ts), as before. Workers are unref'd (they never keep the process alive) and end after
// IDLE_MS without a job. A worker that fails fails its job (the upload is refused, never accepted).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';

const SLOT = 256 * 1024;
const SLOTS = 8;
const IDLE_MS = 10_000;
export const MAX_WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1));

// ctrl (Int32Array) indices.
const PUBLISHED = 0;
const CONSUMED = 1;
const DONE = 2;
const ABORT = 3;
const SEQ = 4; // bumped on every publish, done and abort: what the worker waits on
const LENGTHS = 5; // SLOTS entries: bytes in each published slot

/** What the worker needs to check one signature (KeyObjects can be posted to a worker). */
export interface VerifyJob {
  /** node:crypto digest name (sha224 … sha512). */
  hash: string;
  key: KeyObject;
  signature: Buffer;
  /** RSA-PSS salt length; undefined for DSA / ECDSA (DER signatures). */
  saltLength: number | undefined;
}

/** An offloaded verification: feed every chunk, then ask for the verdict (or abort). */
export interface OffloadedVerify {
  /** Copies the chunk into the ring; a promise when the ring was full (resolves once all of it is in). */
  update(chunk: Buffer): void | Promise<void>;
  /** True when the signature matches the data; rejects if the worker failed. */
  verdict(): Promise<boolean>;
  /** Ends the job without a verdict (the upload failed). */
  abort(): void;
}

// The worker's code (a CommonJS script, eval'd: the server is one bundled module, decision 0011).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createVerify, constants } = require('node:crypto');
const [PUBLISHED, CONSUMED, DONE, ABORT, SEQ, LENGTHS, SLOT, SLOTS] = ${JSON.stringify([PUBLISHED, CONSUMED, DONE, ABORT, SEQ, LENGTHS, SLOT, SLOTS])};
parentPort.on('message', ({ ring, ctrlBuffer, hash, key, signature, saltLength }) => {
  const ctrl = new Int32Array(ctrlBuffer);
  try {
    const verifier = createVerify(hash);
    let read = 0;
    for (;;) {
      const seq = Atomics.load(ctrl, SEQ);
      const published = Atomics.load(ctrl, PUBLISHED);
      if (Atomics.load(ctrl, ABORT) === 1) return void parentPort.postMessage({ aborted: true });
      if (read < published) {
        const slot = read % SLOTS;
        verifier.update(new Uint8Array(ring, slot * SLOT, Atomics.load(ctrl, LENGTHS + slot)));
        read++;
        Atomics.store(ctrl, CONSUMED, read);
        Atomics.notify(ctrl, CONSUMED);
        continue;
      }
      if (Atomics.load(ctrl, DONE) === 1) {
        if (read === Atomics.load(ctrl, PUBLISHED)) break;
        continue;
      }
      Atomics.wait(ctrl, SEQ, seq);
    }
    let valid;
    try {
      valid = saltLength === undefined
        ? verifier.verify({ key, dsaEncoding: 'der' }, signature)
        : verifier.verify({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
    } catch {
      valid = false;
    }
    parentPort.postMessage({ valid });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.stack || error) });
  }
});
`;

/** Atomics.waitAsync (ES2024; node ≥ 16), typed here because the project's lib is ES2022. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

interface Slot {
  worker: Worker;
  busy: boolean;
  idleTimer?: NodeJS.Timeout;
}

const workers: Slot[] = [];

function takeWorker(): Slot | undefined {
  let slot = workers.find((w) => !w.busy);
  if (slot === undefined && workers.length < MAX_WORKERS) {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      return undefined; // no thread to be had (resource limits): verify inline
    }
    worker.unref();
    // A job listens for its worker's failure; between jobs a failure only ends the worker.
    worker.on('error', () => undefined);
    const made: Slot = { worker, busy: false };
    worker.on('exit', () => {
      const i = workers.indexOf(made);
      if (i >= 0) workers.splice(i, 1);
    });
    workers.push(made);
    slot = made;
  }
  if (slot === undefined) return undefined;
  clearTimeout(slot.idleTimer);
  slot.busy = true;
  return slot;
}

function releaseWorker(slot: Slot): void {
  slot.busy = false;
  slot.idleTimer = setTimeout(() => {
    if (slot.busy) return;
    // Out of the list first: a worker on its way out must not be given the next job.
    const i = workers.indexOf(slot);
    if (i >= 0) workers.splice(i, 1);
    void slot.worker.terminate();
  }, IDLE_MS);
  slot.idleTimer.unref();
}

/** Drops a worker that failed (it may be stuck); the job that used it has failed. */
function discardWorker(slot: Slot): void {
  clearTimeout(slot.idleTimer);
  const i = workers.indexOf(slot);
  if (i >= 0) workers.splice(i, 1);
  void slot.worker.terminate();
}

/** A verification on a worker thread, or undefined when none is free (then verify inline). */
export function offloadVerify(job: VerifyJob): OffloadedVerify | undefined {
  const slot = takeWorker();
  if (slot === undefined) return undefined;
  const ring = new SharedArrayBuffer(SLOT * SLOTS);
  const bytes = new Uint8Array(ring);
  const ctrlBuffer = new SharedArrayBuffer(4 * (LENGTHS + SLOTS));
  const ctrl = new Int32Array(ctrlBuffer);
  let published = 0; // slots published (mirrors ctrl[PUBLISHED])
  let fill = 0; // bytes in the current (unpublished) slot
  let ended = false;

  const result = new Promise<{ valid?: boolean; aborted?: boolean; error?: string }>((resolve) => {
    const onMessage = (message: { valid?: boolean; aborted?: boolean; error?: string }) => { done(); resolve(message); };
    const onError = (error: Error) => { done(); resolve({ error: String(error) }); };
    const onExit = (code: number) => { done(); resolve({ error: `signature worker exited (${code})` }); };
    const done = () => {
      slot.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    slot.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  }).then((message) => {
    if (message.error === undefined) releaseWorker(slot);
    else discardWorker(slot);
    return message;
  });
  slot.worker.postMessage({ ring, ctrlBuffer, hash: job.hash, key: job.key, signature: job.signature, saltLength: job.saltLength });

  const signal = () => {
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
  };
  const publish = () => {
    Atomics.store(ctrl, LENGTHS + (published % SLOTS), fill);
    published++;
    fill = 0;
    Atomics.store(ctrl, PUBLISHED, published);
    signal();
  };
  const full = () => published - Atomics.load(ctrl, CONSUMED) >= SLOTS;

  /** Copies chunk[from..] while there is room; returns how far it got. */
  const copy = (chunk: Buffer, from: number): number => {
    let at = from;
    while (at < chunk.length && !full()) {
      const n = Math.min(SLOT - fill, chunk.length - at);
      bytes.set(chunk.subarray(at, at + n), (published % SLOTS) * SLOT + fill);
      fill += n;
      at += n;
      if (fill === SLOT) publish();
    }
    return at;
  };

  const copyRest = async (chunk: Buffer, from: number): Promise<void> => {
    let at = from;
    while (at < chunk.length) {
      const consumed = Atomics.load(ctrl, CONSUMED);
      if (published - consumed >= SLOTS) {
        const wait = waitAsync(ctrl, CONSUMED, consumed);
        if (wait.async) await wait.value;
        if (ended) throw new Error('signature verification was aborted');
        continue;
      }
      at = copy(chunk, at);
    }
  };

  return {
    update(chunk) {
      const at = copy(chunk, 0);
      if (at < chunk.length) {
        // The ring is full: the chunk is copied as the worker frees slots; the caller waits for it.
        // If the worker fails meanwhile, the wait ends with the verdict's failure.
        return Promise.race([copyRest(chunk, at), result.then((m) => {
          throw new Error(m.error ?? 'signature verification ended early');
        })]);
      }
      return undefined;
    },
    async verdict() {
      if (!ended) {
        ended = true;
        if (fill > 0) publish();
        Atomics.store(ctrl, DONE, 1);
        signal();
      }
      const message = await result;
      if (message.error !== undefined) throw new Error(`signature verification failed in its worker: ${message.error}`);
      return message.valid === true;
    },
    abort() {
      if (ended) return;
      ended = true;
      Atomics.store(ctrl, ABORT, 1);
      signal();
      Atomics.notify(ctrl, CONSUMED);
    },
  };
}
