// Pulls a byte stream apart into consecutive pieces of at most N bytes without buffering more than
// one incoming chunk: each piece is an async generator that a request body can consume with
// backpressure (Swift segments, one PUT per piece).
import type { Readable } from 'node:stream';

export class ChunkReader {
  private readonly iterator: AsyncIterator<unknown>;
  private leftover: Buffer | undefined;
  private ended = false;
  /** Bytes handed out so far. */
  bytesRead = 0;

  constructor(source: Readable) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** True when the source has no bytes left; reads one chunk ahead to know. Source errors reject. */
  async atEnd(): Promise<boolean> {
    while (!this.leftover?.length) {
      if (this.ended) return true;
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        return true;
      }
      const value = next.value;
      this.leftover = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
    }
    return false;
  }

  /** The next `limit` bytes (fewer at the end of the source), as they arrive. */
  async *take(limit: number): AsyncGenerator<Buffer> {
    let remaining = limit;
    while (remaining > 0 && !(await this.atEnd())) {
      let chunk = this.leftover!;
      if (chunk.length > remaining) {
        this.leftover = chunk.subarray(remaining);
        chunk = chunk.subarray(0, remaining);
      } else {
        this.leftover = undefined;
      }
      remaining -= chunk.length;
      this.bytesRead += chunk.length;
      yield chunk;
    }
  }
}
