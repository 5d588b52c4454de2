// Recognising and undoing the compressions the image_decompression plugin handles, file to file,
// with the output bounded (a decompression bomb stops at `maxBytes`) and every decoder's memory
// bounded whatever the input says:
//   gzip  node:zlib (multi-member)                 memory: 32 KiB window
//   zstd  fzstd (pure JS), behind ZstdFrameGuard   memory: window ≤ 128 MiB, checked before decoding
//   xz    xz-decompress (xz-embedded in wasm)      memory: dictionary ≤ 64 MiB (its dict_max)
//   bzip2 the bzip2 tool under prlimit             memory: < 4 MiB by design (the npm decoders buffer
//                                                  whole blocks as JS arrays, hundreds of MiB worst case)
//   zip   yauzl; exactly one file, as Glance      memory: 32 KiB window (stored/deflate only)
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { open } from 'node:fs/promises';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';

import type * as XzModule from 'xz-decompress';
import type yauzl from 'yauzl';

import { lazyImport } from '../../lib/lazy-import.ts';
import { byteLimit } from '../../lib/streams.ts';
import { runLimited } from './limited-process.ts';
import { ZstdFrameGuard } from './zstd-guard.ts';

// The decoders are loaded when an image of their kind is first seen (most processes never do).
const fzstd = lazyImport(() => import('fzstd'));
const yauzlModule = lazyImport(async () => (await import('yauzl')).default);
// xz-decompress is a UMD bundle whose exports Node's ESM loader cannot see by name.
const xz = lazyImport(async () => createRequire(import.meta.url)('xz-decompress') as typeof XzModule);

export type Compression = 'zip' | 'lha' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Bytes needed to recognise any of them. */
export const MAGIC_BYTES = 10;

/**
 * By magic bytes, in Glance's order (zip at 0, LHA's `-lh` at 2, gzip's 1f 8b 08 at 0), then the
 * formats Glimpse adds: bzip2 (`BZh1`–`BZh9` and a block or end-of-stream marker), xz, zstd.
 */
export function detectCompression(head: Buffer): Compression | null {
  const at = (offset: number, bytes: number[]) => bytes.every((b, i) => head[offset + i] === b);
  if (at(0, [0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (at(2, [0x2d, 0x6c, 0x68])) return 'lha';
  if (at(0, [0x1f, 0x8b, 0x08])) return 'gzip';
  if (at(0, [0x42, 0x5a, 0x68]) && head[3]! >= 0x31 && head[3]! <= 0x39
    && (at(4, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) || at(4, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]))) return 'bzip2';
  if (at(0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (at(0, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  return null;
}

/** The decompressed data would exceed the limit. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`decompressed data exceeds ${limit} bytes`);
    this.name = 'TooLargeError';
  }
}

/** The archive is valid but not something the plugin takes (several files, a directory, encryption, LHA). */
export class UnsupportedArchiveError extends Error {
  constructor(readonly reason: 'entries' | 'directory' | 'encrypted' | 'lha', message: string) {
    super(message);
    this.name = 'UnsupportedArchiveError';
  }
}

export interface DecompressOptions {
  maxBytes: number;
  /** Wall-clock and CPU limit for the bzip2 tool, in seconds. */
  timeoutSeconds: number;
  signal: AbortSignal;
}

/** Writes the decompressed content of `source` to `dest` (created); resolves with its size. */
export async function decompressFile(kind: Compression, source: string, dest: string, options: DecompressOptions): Promise<number> {
  switch (kind) {
    case 'gzip':
      return decode(source, dest, options, createGunzip());
    case 'zstd':
      return decode(source, dest, options, zstdDecoder);
    case 'xz':
      return decode(source, dest, options, xzDecoder);
    case 'bzip2':
      return bunzip2(source, dest, options);
    case 'zip':
      return unzipSingle(source, dest, options);
    case 'lha':
      throw new UnsupportedArchiveError('lha', 'LHA archives are not supported');
  }
}

type Decoder = Transform | ((source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>);

async function decode(source: string, dest: string, options: DecompressOptions, decoder: Decoder): Promise<number> {
  const limit = byteLimit(options.maxBytes, (max) => new TooLargeError(max));
  await pipeline(createReadStream(source), decoder, limit, createWriteStream(dest), { signal: options.signal });
  return limit.bytes;
}

/** Input is fed in small slices so one call never yields more than a few blocks (≤ 128 KiB each). */
async function* zstdDecoder(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const guard = new ZstdFrameGuard();
  const out: Buffer[] = [];
  const { Decompress: ZstdDecompress } = await fzstd();
  const decoder = new ZstdDecompress((data) => { out.push(Buffer.from(data)); });
  for await (const chunk of source) {
    guard.update(chunk);
    for (let i = 0; i < chunk.length; i += 512) {
      decoder.push(chunk.subarray(i, i + 512));
      while (out.length > 0) yield out.shift()!;
    }
  }
  guard.finish();
  decoder.push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}

async function* xzDecoder(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const { XzReadableStream } = await xz();
  const input = ReadableStream.from(source) as unknown as globalThis.ReadableStream<Uint8Array>;
  for await (const chunk of new XzReadableStream(input) as unknown as AsyncIterable<Uint8Array>) {
    yield Buffer.from(chunk);
  }
}

async function bunzip2(source: string, dest: string, options: DecompressOptions): Promise<number> {
  const input = await open(source, 'r');
  const output = await open(dest, 'w');
  try {
    // stdin/stdout are the files themselves; RLIMIT_FSIZE stops the output at maxBytes (SIGXFSZ).
    const outcome = await runLimited('bzip2', ['-dc'], {
      addressSpace: 256 * 1024 * 1024, cpuSeconds: options.timeoutSeconds, fileSize: options.maxBytes,
      timeoutMs: options.timeoutSeconds * 1000,
    }, options.signal, { stdin: input.fd, stdout: output.fd });
    if (outcome.signal === 'SIGXFSZ') throw new TooLargeError(options.maxBytes);
    if (outcome.timedOut || outcome.signal !== null || outcome.code !== 0) {
      throw new Error(`bzip2 failed (${outcome.timedOut ? 'timed out' : outcome.signal ?? `exit ${outcome.code}`}): ${outcome.stderr.trim().slice(0, 300)}`);
    }
    const size = (await output.stat()).size;
    if (size > options.maxBytes) throw new TooLargeError(options.maxBytes);
    return size;
  } finally {
    await input.close();
    await output.close();
  }
}

async function openZip(path: string): Promise<yauzl.ZipFile> {
  const yauzl = await yauzlModule();
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false },
      (err, zip) => (err ? reject(err) : resolve(zip)));
  });
}

/** Glance's rule: the archive must hold exactly one file, which becomes the image data. */
async function unzipSingle(source: string, dest: string, options: DecompressOptions): Promise<number> {
  const zip = await openZip(source);
  try {
    if (zip.entryCount !== 1) throw new UnsupportedArchiveError('entries', `the archive holds ${zip.entryCount} entries, not one`);
    const entry = await new Promise<yauzl.Entry>((resolve, reject) => {
      zip.once('entry', resolve);
      zip.once('error', reject);
      zip.readEntry();
    });
    if (entry.fileName.endsWith('/')) throw new UnsupportedArchiveError('directory', 'the archive holds a directory');
    if (entry.isEncrypted()) throw new UnsupportedArchiveError('encrypted', 'the archive entry is encrypted');
    if (entry.uncompressedSize > options.maxBytes) throw new TooLargeError(options.maxBytes);
    const stream = await new Promise<Readable>((resolve, reject) => {
      zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s)));
    });
    const limit = byteLimit(options.maxBytes, (max) => new TooLargeError(max));
    await pipeline(stream, limit, createWriteStream(dest), { signal: options.signal });
    return limit.bytes;
  } finally {
    zip.close();
  }
}

