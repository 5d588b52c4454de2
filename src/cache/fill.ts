// The tee of a cache miss: a Transform that passes the store's bytes on unchanged and writes them to
// the cache's incomplete file. It never fails the download: a write error abandons the fill (the
// file is removed) and the bytes keep flowing. Destroyed before the end (client gone, store read
// failed), it removes the file. At the end, `onComplete` decides (size, digest) and commits.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

export interface FillResult {
  bytes: number;
  /** Hex digest of everything that passed, in the algorithm the fill was created with. */
  digest: string;
}

export interface FillHooks {
  /** Every byte passed and the stream ended; the file is complete and still open (handle). */
  onComplete(result: FillResult, handle: FileHandle): Promise<void>;
  /** The fill was given up (error or early end); the file must go. */
  onAbandon(handle: FileHandle, reason: unknown): Promise<void>;
}

type State = 'writing' | 'committing' | 'abandoned';

export class CacheFill extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  private state: State = 'writing';
  /** Settles when the fill has committed or been abandoned. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(private readonly handle: FileHandle, algorithm: string, private readonly expectedSize: number,
    private readonly hooks: FillHooks) {
    super();
    this.hash = createHash(algorithm);
    this.settled = new Promise((resolve) => { this.settle = resolve; });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.state !== 'writing') return callback(null, chunk);
    this.hash.update(chunk);
    this.bytes += chunk.length;
    // The next chunk waits for this write, so a slow cache disk holds back the download instead of
    // piling up memory.
    writeAll(this.handle, chunk).then(() => {
      // The image's last byte is held back until the entry is committed, so a client that saw its
      // download complete finds the image in the cache list (Glance's caching iterator commits
      // before its response ends, too).
      if (this.bytes === this.expectedSize) this.complete(() => callback(null, chunk));
      else callback(null, chunk);
    }, (error: unknown) => {
      this.abandon(error);
      callback(null, chunk);
    });
  }

  override _flush(callback: TransformCallback): void {
    // Fewer bytes than the image's size: onComplete refuses them.
    if (this.state === 'writing') this.complete(() => callback());
    else callback();
  }

  private complete(then: () => void): void {
    this.state = 'committing';
    const result = { bytes: this.bytes, digest: this.hash.digest('hex') };
    // Commit errors are the cache's, never the client's.
    this.hooks.onComplete(result, this.handle).catch(() => undefined).finally(() => {
      this.settle();
      then();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.state === 'writing') this.abandon(error ?? new Error('download ended early'));
    callback(error);
  }

  private abandon(reason: unknown): void {
    if (this.state !== 'writing') return;
    this.state = 'abandoned';
    this.hooks.onAbandon(this.handle, reason).catch(() => undefined).finally(() => this.settle());
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
