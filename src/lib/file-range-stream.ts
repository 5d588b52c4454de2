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
//
// When the sink is an HTTP response on a plain TCP socket, the stream is piped into it, and the
// sendfile binding is there (lib/sendfile.ts; decision 0033), the bytes do not pass through this
// process at all: once the response head is in the socket, the range goes from the file to the
// socket by sendfile(2), in jobs of up to SENDFILE_JOB bytes; the stream pushes nothing and ends
// when the last job is done, so the pipe then ends the response. Node sees no activity on the
// socket during a job, so its idle timer (client_socket_timeout) is suspended for the job and the
// sender thread applies the same timeout to the bytes the socket accepts: a slow client that keeps
// reading is served to the end, one that stopped is cut off as Node's timer would.
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { Readable, type Writable } from 'node:stream';

import { sendFile, sendfileAvailable } from './sendfile.ts';

/** A Readable that can reuse its chunks' memory once it knows where they go. */
export interface SinkAware {
  /** Tells the stream the Writable its chunks are written to, directly and in order (no copy kept elsewhere). */
  drainsInto(sink: Writable): void;
}

/** A stream that knows how many bytes it delivered to its consumer (pushed, or sent past it). */
export interface CountsDelivered {
  readonly bytesDelivered: number;
}

export function countsDelivered(stream: unknown): stream is Readable & CountsDelivered {
  return typeof (stream as Partial<CountsDelivered> | null)?.bytesDelivered === 'number';
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
  /** false: never sendfile, always read into buffers (default: sendfile when the sink allows it). */
  sendfile?: boolean;
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

/** Bytes per sendfile job: between jobs the stream can stop (a job in flight is cancelled by destroy()). */
export const SENDFILE_JOB = 8 * 1024 * 1024;

const NOTHING = Buffer.alloc(0);
const { ETIMEDOUT } = constants.errno;

/** The socket of `sink` when sendfile may write to it directly: an HTTP response (not HEAD) on plain TCP. */
function directSocket(sink: Writable): { socket: Socket; fd: number } | undefined {
  const response = sink as Partial<ServerResponse>;
  const socket = response.socket as (Socket & { encrypted?: boolean; _handle?: { fd?: unknown } }) | null | undefined;
  if (!socket || socket.encrypted || response.req?.method === 'HEAD' || typeof response.flushHeaders !== 'function') return undefined;
  const fd = socket._handle?.fd;
  if (typeof fd !== 'number' || fd < 0 || !sendfileAvailable()) return undefined;
  return { socket, fd };
}

export class FileRangeStream extends Readable implements SinkAware, CountsDelivered {
  private position: number;
  private readonly end: number;
  private readonly chunkSize: number;
  private readonly ring: ChunkRing;
  private reading = false;
  private closeWhenRead: (() => void) | undefined;
  private sink: Writable | undefined;
  /** Set once the stream is piped into its sink and sendfile may serve it; then the running job's stop. */
  private direct: { socket: Socket; fd: number } | undefined;
  private stopJob: (() => void) | undefined;
  private directStarted = false;
  /** The socket's idle timeout (ms; 0: none) while a sendfile job runs with Node's own timer suspended. */
  private suspendedTimeout: number | undefined;
  private delivered = 0;
  private readonly sendfile: boolean;

  constructor(private readonly handle: FileHandle, options: FileRangeOptions) {
    super({ highWaterMark: options.chunkSize });
    this.sendfile = options.sendfile ?? true;
    this.position = options.start;
    this.end = options.end;
    this.chunkSize = options.chunkSize;
    this.ring = new ChunkRing(options.slots ?? 2, options.chunkSize);
  }

  drainsInto(sink: Writable): void {
    this.sink = sink;
    this.ring.drainsInto(sink);
  }

  /** Bytes pushed or sent by sendfile so far. */
  get bytesDelivered(): number {
    return this.delivered;
  }

  // Only a pipe into the named sink may go around the stream: anyone else reading gets the bytes.
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.sink !== undefined && (destination as unknown) === this.sink && options?.end !== false && this.sendfile && !this.directStarted) {
      this.direct = directSocket(this.sink);
    }
    return super.pipe(destination, options);
  }

  override _read(): void {
    if (this.direct) {
      this.startDirect(this.direct);
      return;
    }
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
      this.delivered += bytesRead;
      this.ring.handedOn(slot, bytesRead);
      this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    });
  }

  /** Sends the rest of the range with sendfile once the response head is in the socket. */
  private startDirect(direct: { socket: Socket; fd: number }): void {
    if (this.directStarted) return;
    this.directStarted = true;
    const response = this.sink as ServerResponse;
    // Also when writeHead() was called: that only prepares the head, the first write sends it.
    response.flushHeaders();
    // Writes are FIFO: this empty write's callback runs once the head written before it is in the kernel.
    direct.socket.write(NOTHING, (error) => {
      if (error) this.destroy(error);
      else this.nextJob(direct);
    });
  }

  private nextJob(direct: { socket: Socket; fd: number }): void {
    if (this.destroyed) return;
    const want = Math.min(SENDFILE_JOB, this.end + 1 - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    // Node's idle timer (client_socket_timeout) would count the job as silence however fast the client
    // reads: the sender thread times the job out instead, on the bytes the socket accepts.
    const idle = direct.socket.timeout ?? 0;
    try {
      this.stopJob = sendFile(direct.fd, this.handle.fd, this.position, want, idle, (errno, sent) => {
        this.stopJob = undefined;
        this.position += sent;
        this.delivered += sent;
        this.resumeTimer(direct.socket);
        if (this.destroyed) return;
        if (errno === ETIMEDOUT) {
          // Silent for the whole timeout: what Node's timer does (the HTTP server closes the connection).
          direct.socket.emit('timeout');
          this.destroy(direct.socket.destroyed ? undefined : Object.assign(new Error('sendfile: the client read nothing for the idle timeout'), { code: 'ETIMEDOUT', errno, syscall: 'sendfile' }));
          return;
        }
        if (errno !== 0) {
          this.destroy(Object.assign(new Error(`sendfile: errno ${errno}`), { errno, syscall: 'sendfile' }));
          return;
        }
        // A file shorter than the range (it changed under us) ends here, as the read path does.
        if (sent < want) {
          this.push(null);
          return;
        }
        this.nextJob(direct);
      });
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (idle > 0) {
      this.suspendedTimeout = idle;
      direct.socket.setTimeout(0);
    }
  }

  /** Re-arms the socket's idle timer suspended for the job that just reported: it counts again from now. */
  private resumeTimer(socket: Socket): void {
    const idle = this.suspendedTimeout;
    this.suspendedTimeout = undefined;
    if (idle !== undefined && !socket.destroyed) socket.setTimeout(idle);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The binding sends from its own copies of both descriptors: closing ours now is safe.
    this.stopJob?.();
    this.stopJob = undefined;
    const close = () => {
      this.closeWhenRead = undefined;
      this.handle.close().then(() => callback(error), (closeError: unknown) => callback(error ?? closeError as Error));
    };
    // A read in flight still uses the descriptor: close it when that read is back.
    if (this.reading) this.closeWhenRead = close;
    else close();
  }
}
