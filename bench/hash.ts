// Upload hashing throughput: md5 alone, sha512 alone, md5+sha512 in one pass on the main thread
// (what src/stores/writer.ts does), the same two digests in parallel worker threads, and the file
// store with and without background flushing and hashing, to see whether hashing or the disk is the
// bottleneck. "cpu" is the CPU time of all the process's threads per GiB.
// Data: GLIMPSE_BENCH_MIB (default 1024) MiB, generated in chunks, never held at once. Each case
// runs GLIMPSE_BENCH_ROUNDS times (default 3); best and median are shown, since a shared machine
// is noisy. GLIMPSE_BENCH_DIR picks the disk for the store cases (default: the OS temp dir).
import { createHash } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';

import { uploadTap } from '../src/lib/streams.ts';
import { FileStoreDriver } from '../src/stores/file/file-driver.ts';
import { writeImageData } from '../src/stores/writer.ts';
import { ParallelHasher, parallelHashTap } from './parallel-hash.ts';

const MiB = 1024 * 1024;
const totalMiB = Number(process.env.GLIMPSE_BENCH_MIB ?? 1024);
const CHUNK = 64 * 1024; // what an HTTP request body typically delivers per 'data' event
const total = totalMiB * MiB;
const rounds = Math.max(1, Number(process.env.GLIMPSE_BENCH_ROUNDS ?? 3));

// 16 MiB of pseudo-random bytes, sliced into chunks and reused, so generation costs nothing.
const pool = Buffer.alloc(16 * MiB);
for (let i = 0, x = 0x9e3779b9; i < pool.length; i += 4) {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  pool.writeUInt32LE(x >>> 0, i);
}

function* chunks(bytes = total): Generator<Buffer> {
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    const at = sent % pool.length;
    yield pool.subarray(at, at + Math.min(CHUNK, bytes - sent));
  }
}

/** Runs `run` `rounds` times; prints best and median wall-clock rate and the CPU time it used
 *  (all threads of the process), which is what parallel hashing trades for wall-clock time. */
async function timed(name: string, run: () => Promise<void> | void): Promise<void> {
  const samples: Array<{ wall: number; cpu: number }> = [];
  for (let i = 0; i < rounds; i++) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    await run();
    const used = process.cpuUsage(cpu);
    samples.push({ wall: Number(process.hrtime.bigint() - start) / 1e9, cpu: (used.user + used.system) / 1e6 });
  }
  samples.sort((a, b) => a.wall - b.wall);
  const best = samples[0]!;
  const median = samples[Math.floor(samples.length / 2)]!;
  const rate = (s: number) => (totalMiB / s).toFixed(0).padStart(5);
  const cpuPerGiB = ((median.cpu / totalMiB) * 1024).toFixed(2).padStart(5);
  console.log(`${name.padEnd(44)} best ${rate(best.wall)} MiB/s   median ${rate(median.wall)} MiB/s   cpu ${cpuPerGiB} s/GiB`);
}

function hashSequential(algorithms: string[], bytes = total): void {
  const hashes = algorithms.map((a) => createHash(a));
  for (const chunk of chunks(bytes)) for (const h of hashes) h.update(chunk);
  for (const h of hashes) h.digest('hex');
}

/**
 * The upload ceiling: md5+sha512 in one pass on the main thread, as the writer hashes, over
 * `mib` MiB in 64 KiB chunks; the median of `times` runs, MiB/s.
 */
export function hashCeiling(mib = totalMiB, times = rounds): { median: number; samples: number[] } {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    hashSequential(['md5', 'sha512'], mib * MiB);
    samples.push(mib / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, samples };
}

async function hashParallel(algorithms: string[]): Promise<void> {
  const hasher = new ParallelHasher(algorithms);
  for (const chunk of chunks()) await hasher.update(chunk);
  await hasher.digests();
}

const hashTap = (algorithms: string[]) => uploadTap({ maxBytes: Infinity, onExceed: () => new Error('cap'), algorithms });

async function toStore(driver: FileStoreDriver, id: string, tap: Transform | undefined): Promise<void> {
  const source = Readable.from(chunks(), { objectMode: false });
  const body = tap ? source.pipe(tap) : source;
  const { location } = await driver.put(id, body);
  await driver.delete(location);
}

export async function run(): Promise<void> {
  console.log(`hash bench: ${totalMiB} MiB in ${CHUNK / 1024} KiB chunks, ${rounds} round(s), node ${process.version}, `
    + `${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})`);
  await timed('md5 (main thread)', () => hashSequential(['md5']));
  await timed('sha512 (main thread)', () => hashSequential(['sha512']));
  await timed('md5+sha512 one pass (main thread)', () => hashSequential(['md5', 'sha512']));
  await timed('md5+sha512 in 2 worker threads', () => hashParallel(['md5', 'sha512']));

  const dir = await mkdtemp(join(process.env.GLIMPSE_BENCH_DIR ?? tmpdir(), 'glimpse-bench-'));
  const driver = new FileStoreDriver({ id: 'bench', dataDir: dir });
  // The same store flushing only at the end (no background datasync): what the flushes buy.
  const endSync = new FileStoreDriver({ id: 'bench', dataDir: dir, syncEveryBytes: Infinity });
  try {
    await timed('file put, no hash, fsync at end only', () => toStore(endSync, 'a', undefined));
    await timed('file put, no hash, flush every 32 MiB', () => toStore(driver, 'b', undefined));
    await timed('file put + md5+sha512 main, fsync at end', () => toStore(endSync, 'c', hashTap(['md5', 'sha512'])));
    await timed('file put + md5+sha512 main, flush/32 MiB', () => toStore(driver, 'd', hashTap(['md5', 'sha512'])));
    await timed('file put + md5+sha512 workers, flush/32 MiB', () => toStore(driver, 'e', parallelHashTap(['md5', 'sha512'])));
    await timed('writeImageData (limit+hash+put, sha512)', async () => {
      const written = await writeImageData({
        driver, imageId: 'writer', source: Readable.from(chunks()), limit: { maxBytes: Infinity, error: () => { throw new Error('cap'); } },
        hashingAlgorithm: 'sha512',
      });
      await driver.delete(written.location);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
