// A Writable over a FileHandle opened with O_DIRECT: the image goes from the request's buffers to
// the disk without the page cache (decision 0032). A buffered write makes the kernel copy every byte
// into freshly allocated page-cache pages and later write them back: on the 2-vCPU VM measured, that
// copy and writeback cost 0.5–2 CPU-s per GB on the writing process (the dominant cost after md5 +
// sha512), and it fills the page cache with image data that is rarely read again soon. With O_DIRECT
// the device reads the data from this process's memory; what is left here is one memcpy of each
// request chunk into an aligned block (cache-hot: the digests have just read it).
//
// O_DIRECT needs aligned memory, lengths and offsets. Blocks are BLOCK (1 MiB) of a
// WebAssembly.Memory each, which V8 allocates page-aligned (node has no other aligned allocation);
// they are pooled process-wide (a few kept free). Writes are whole blocks at block offsets; the last
// one is padded with zeros to ALIGN and the file then truncated to the true size.
//
// Memory: chunks are held (not copied) until a block's worth has arrived — at most one block of
// request buffers — plus the one block being written: within the upload's TRANSFER_WINDOW (2 MiB;
// services/transfer-budget.ts). A stalled upload holds only the bytes it sent since its last block.
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export const BLOCK = 1024 * 1024;
/** Offset and length alignment of the last, padded write (covers 512- and 4096-byte sector devices). */
export const ALIGN = 4096;
/** Aligned blocks kept for reuse when no upload holds them. */
const KEEP_FREE = 4;

const freeBlocks: Buffer[] = [];

function takeBlock(): Buffer {
  return freeBlocks.pop() ?? Buffer.from(new WebAssembly.Memory({ initial: BLOCK / 65_536, maximum: BLOCK / 65_536 }).buffer);
}

function giveBack(block: Buffer): void {
  if (freeBlocks.length < KEEP_FREE) freeBlocks.push(block);
}

export class DirectFileSink extends Writable {
  /** Bytes of image data written (not counting the padding of the last block). */
  bytesWritten = 0;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;

  constructor(private readonly handle: FileHandle) {
    // A small stream buffer: the sink holds up to a block of chunks itself (see `pending`).
    super({ highWaterMark: 64 * 1024, decodeStrings: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.take(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  /** Holds the chunks; writes every whole block they complete (waiting for the previous write first). */
  private async take(chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    while (this.pendingBytes >= BLOCK) await this.writeBlock(BLOCK);
  }

  private async finish(): Promise<void> {
    if (this.pendingBytes > 0) await this.writeBlock(this.pendingBytes);
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
    // The last block was padded to ALIGN: cut the file back to the data's size.
    await this.handle.truncate(this.bytesWritten);
  }

  /** Copies `length` pending bytes into an aligned block and starts writing it (one write in flight). */
  private async writeBlock(length: number): Promise<void> {
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
    const block = takeBlock();
    let filled = 0;
    while (filled < length) {
      const chunk = this.pending[0]!;
      const n = Math.min(chunk.length, length - filled);
      chunk.copy(block, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(n);
    }
    this.pendingBytes -= length;
    const padded = Math.ceil(length / ALIGN) * ALIGN;
    if (padded > length) block.fill(0, length, padded);
    const position = this.bytesWritten;
    this.bytesWritten += length;
    this.inFlight = this.writeAll(block, padded, position)
      .catch((error: unknown) => { this.failure ??= error; })
      .finally(() => giveBack(block));
  }

  private async writeAll(block: Buffer, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.handle.write(block, done, length - done, position + done);
      if (bytesWritten === 0) throw Object.assign(new Error('EIO: write made no progress'), { code: 'EIO', syscall: 'write' });
      done += bytesWritten;
    }
  }
}
