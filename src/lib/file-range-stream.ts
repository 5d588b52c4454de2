// A byte range of an open file as a Readable that reuses its read buffers (issue 22; decision 0027).
// fs.createReadStream allocates a fresh buffer for every read; each is external memory to V8, and
// a download of 1 MiB reads adds it faster than scavenges see it die, so V8 runs a full
// mark-compact for "external memory pressure" every few tens of MiB (20–70 ms each, measured with
// --trace-gc: the largest single CPU cost of a download). This stream reads into a small ring of
// buffers instead, and reuses a buffer only once it is known to be released: its consumer is told,
// through drainsInto(sink), which Writable its chunks go to (the HTTP response), and a chunk is
// released when everything pushed after it covers all the bytes still waiting in this stream's own
// buffer and in the sink (a Writable counts a chunk in writableLength until the write is done, and
// both are FIFO). Without a sink, or while the sink holds them all, it reads into fresh buffers as
// createReadStream does; a buffer is never reused on a guess.
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';

/** A Readable that can reuse its chunks' memory once it knows where they go. */
export interface SinkAware {
  /** Tells the stream the Writable its chunks are written to, directly and in order (no copy kept elsewhere). */
  drainsInto(sink: Writable): void;
}

export function isSinkAware(stream: unknown): stream is SinkAware {
  return typeof (stream as Partial<SinkAware> | null)?.drainsInto === 'function';
}

/** Tells `stream` where its chunks go when it can use that (see SinkAware); otherwise nothing. */
export function drainInto(stream: unknown, sink: Writable): void {
  if (isSinkAware(stream)) stream.drainsInto(sink);
}

export interface FileRangeOptions {
  /** First byte to read. */
  start: number;
  /** Last byte to read (inclusive). */
  end: number;
  /** Bytes per read (and the ring's buffer size). */
  chunkSize: number;
  /** Buffers in the ring (default 2: one being sent, one being read). */
  slots?: number;
}

interface Pushed {
  /** Ring slot of the chunk's memory, or -1 for a fresh buffer. */
  slot: number;
  bytes: number;
}

/**
 * The buffers of a stream that reuses its chunks' memory (see the module comment): take() a buffer
 * for the next read, handedOn() each chunk as it is pushed (in order), giveBack() a slot whose read
 * produced nothing. A slot is reused only once its chunk is known to be written.
 */
export class ChunkRing {
  private readonly ring: Array<Buffer | undefined>;
  private readonly free: boolean[];
  /** Chunks pushed and not yet known to be written, oldest first. */
  private readonly pushed: Pushed[] = [];
  private sink: Writable | undefined;

  constructor(slots: number, private readonly size: number) {
    this.ring = new Array<Buffer | undefined>(slots).fill(undefined);
    this.free = new Array<boolean>(slots).fill(true);
  }

  drainsInto(sink: Writable): void {
    this.sink = sink;
  }

  /**
   * A buffer for a read of up to `want` (≤ size) bytes: a free ring buffer, else a fresh one.
   * `buffered`: the bytes the stream itself still holds (its readableLength).
   */
  take(want: number, buffered: number): { buffer: Buffer; slot: number } {
    this.releaseWritten(buffered);
    const slot = this.free.indexOf(true);
    if (slot < 0) return { buffer: Buffer.allocUnsafeSlow(want), slot };
    this.free[slot] = false;
    return { buffer: this.ring[slot] ??= Buffer.allocUnsafeSlow(this.size), slot };
  }

  /** The chunk read into `slot` (`bytes` long) has been pushed, after all chunks handed on before it. */
  handedOn(slot: number, bytes: number): void {
    this.pushed.push({ slot, bytes });
  }

  /** A slot whose read was not pushed (the end, an error) is free again. */
  giveBack(slot: number): void {
    if (slot >= 0) this.free[slot] = true;
  }

  /** Frees the slots of chunks the sink has written. */
  private releaseWritten(buffered: number): void {
    if (this.sink === undefined || this.pushed.length === 0) return;
    let waiting = buffered + this.sink.writableLength;
    let newest = this.pushed.length - 1;
    for (; newest >= 0 && waiting > 0; newest--) waiting -= this.pushed[newest]!.bytes;
    // pushed[0..newest] were all handed on before the bytes still waiting: written.
    for (let i = 0; i <= newest; i++) this.giveBack(this.pushed[i]!.slot);
    this.pushed.splice(0, newest + 1);
  }
}

export class FileRangeStream extends Readable implements SinkAware {
  private position: number;
  private readonly end: number;
  private readonly chunkSize: number;
  private readonly ring: ChunkRing;
  private reading = false;
  private closeWhenRead: (() => void) | undefined;

  constructor(private readonly handle: FileHandle, options: FileRangeOptions) {
    super({ highWaterMark: options.chunkSize });
    this.position = options.start;
    this.end = options.end;
    this.chunkSize = options.chunkSize;
    this.ring = new ChunkRing(options.slots ?? 2, options.chunkSize);
  }

  drainsInto(sink: Writable): void {
    this.ring.drainsInto(sink);
  }

  override _read(): void {
    const want = Math.min(this.chunkSize, this.end + 1 - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const { buffer, slot } = this.ring.take(want, this.readableLength);
    this.reading = true;
    read(this.handle.fd, buffer, 0, want, this.position, (error, bytesRead) => {
      this.reading = false;
      if (this.closeWhenRead) {
        this.closeWhenRead();
        return;
      }
      if (error || bytesRead === 0) {
        this.ring.giveBack(slot);
        // A file shorter than the range (it changed under us) ends here, as createReadStream does.
        if (error) this.destroy(error);
        else this.push(null);
        return;
      }
      this.position += bytesRead;
      this.ring.handedOn(slot, bytesRead);
      this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const close = () => {
      this.closeWhenRead = undefined;
      this.handle.close().then(() => callback(error), (closeError: unknown) => callback(error ?? closeError as Error));
    };
    // A read in flight still uses the descriptor: close it when that read is back.
    if (this.reading) this.closeWhenRead = close;
    else close();
  }
}
