// A Writable over an open FileHandle that starts flushing to disk while the upload is still
// arriving. Without it the kernel keeps a whole image dirty in the page cache (background
// writeback starts only at dirty_background_ratio, often gigabytes) and the final fsync then
// writes all of it while the client waits: receive time + flush time, one after the other.
// Here, every `syncEvery` bytes a datasync runs in the background (one at a time), so the disk
// works while the stream is hashed and received, and the final fsync has little left to do.
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export const DEFAULT_SYNC_EVERY = 32 * 1024 * 1024;
/**
 * Bytes buffered while a write is in flight, handed to the next writev() as one batch (the request
 * body's own 64 KiB chunks, uncopied): one thread-pool round trip per batch instead of per chunk.
 * This is also most of what a fast upload holds in memory (bench/README.md).
 */
export const WRITE_BATCH = 1024 * 1024;

export class FileSink extends Writable {
  bytesWritten = 0;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private syncError: unknown;

  constructor(private readonly handle: FileHandle, private readonly syncEvery = DEFAULT_SYNC_EVERY) {
    super({ highWaterMark: WRITE_BATCH, decodeStrings: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // A background flush that failed (EIO, ENOSPC at writeback) fails the upload here at the latest.
    Promise.resolve(this.syncing).then(() => callback(this.syncError as Error | undefined), callback);
  }

  /** Writes every byte of `buffers` (a regular file may take fewer per call, e.g. when nearly full). */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    if (this.syncError !== undefined) throw this.syncError;
    let pending = buffers.filter((b) => b.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending);
      if (bytesWritten === 0) throw Object.assign(new Error('EIO: write made no progress'), { code: 'EIO', syscall: 'write' });
      this.bytesWritten += bytesWritten;
      this.unsynced += bytesWritten;
      pending = skip(pending, bytesWritten);
    }
    if (this.unsynced >= this.syncEvery && this.syncing === undefined) {
      this.unsynced = 0;
      this.syncing = this.handle.datasync()
        .catch((error: unknown) => { this.syncError ??= error; })
        .finally(() => { this.syncing = undefined; });
    }
  }
}

function skip(buffers: Buffer[], bytes: number): Buffer[] {
  let left = bytes;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    rest.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return rest;
}
