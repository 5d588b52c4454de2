// `npm run bench`: the acceptance benchmark. Measures, in one run, against a Glimpse server in a
// child process (and against the reference Glance when REF_GLANCE_URL is set):
//   1. GET /v2/images/{id} req/s at concurrency 16;
//   2. GET /v2/images?limit=25 latency (p50/p95) with 1k and with BENCH_IMAGES (default 100k) images;
//   3. upload and download MiB/s of a BENCH_SIZE_MB (default 1024) MiB image, and the server's
//      peak RSS during the upload;
//   4. the machine's md5+sha512 one-pass hashing rate: the ceiling of an upload (sampled at the
//      start and right before every upload, since other load on the machine moves it).
// It prints numbers and a target check; it asserts nothing (its exit code is 0 unless it broke).
// BENCH_ROUNDS (default 3) sets the repetitions of the transfer and req/s rounds; medians are shown.
// `npm run bench:hash` runs the detailed hashing/store breakdown (bench/hash.ts).
import { cpus } from 'node:os';

import { benchGlimpse } from './glimpse-run.ts';
import { hashCeiling } from './hash.ts';
import { median } from './measure.ts';
import { fmt, printTable, type Row } from './report.ts';
import { benchReference, type ReferenceResults } from './reference.ts';
import { benchStores, storeRows, type StoreBenchResult } from './stores.ts';
import { benchScaleOut, printScaleOut } from './scale-out.ts';
import { runMetadataBench } from './metadata.ts';
import { benchTransferCpu, printTransferCpu } from './transfer.ts';
import { benchMemory, printMemory } from './memory.ts';
import { runQuotaBench } from './quotas.ts';
import { benchNotifications } from './notifications.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MB ?? 1024);
const images = Number(process.env.BENCH_IMAGES ?? 100_000);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const refUrl = process.env.REF_GLANCE_URL;
const size = Math.round(sizeMiB * MiB);

/** Upload must reach this share of the hashing ceiling; peak RSS must stay below this. */
const UPLOAD_SHARE = 0.9;
const RSS_LIMIT = 150e6;
/** "Flat": latency at the large catalogue within 1.5× of the small one's (1 ms allowed for noise). */
const FLAT_RATIO = 1.5;
const flat = (small: number, large: number) => large <= Math.max(small * FLAT_RATIO, small + 1);

console.log(`bench: node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}); `
  + `image ${sizeMiB} MiB, list at 1k and ${fmt.count(images)} images, ${rounds} round(s); `
  + `reference: ${refUrl ?? 'none (set REF_GLANCE_URL)'}`);

// The ceiling moves with the machine's other load, so besides these samples one more is taken right
// before every upload (server idle), and the ceiling is the median of all of them.
const ceilingMiB = Math.min(sizeMiB, 1024);
const ceilingSamples = hashCeiling(ceilingMiB, rounds).samples;
const sampleCeiling = () => { ceilingSamples.push(...hashCeiling(ceilingMiB, 1).samples); };

console.log('\n== Glimpse (child process, SQLite, file store, trusted-auth) ==');
const glimpse = await benchGlimpse({ images, size, rounds, beforeUpload: sampleCeiling });
const g = glimpse.transfer;
console.log(`  req/s rounds: ${glimpse.rate.rounds.map((r) => r.toFixed(0)).join(', ')} (non-2xx ${glimpse.rate.non2xx}, errors ${glimpse.rate.errors})`);
console.log(`  upload MiB/s: ${g.uploads.map((r) => r.toFixed(0)).join(', ')}; download MiB/s: ${g.downloads.map((r) => r.toFixed(0)).join(', ')}`);
console.log(`  RSS before upload ${fmt.mb(glimpse.rssBeforeUpload)}; peak during upload: VmHWM ${fmt.mb(g.uploadHwm)}, `
  + `largest 50 ms VmRSS sample ${fmt.mb(g.uploadRssPeaks[0])} (of it anonymous: ${fmt.mb(g.uploadAnonPeaks[0])}); `
  + `seeding took ${glimpse.seedSeconds.toFixed(0)} s`);

// The same transfer through the swift and s3 drivers (objectstore.sh's env; BENCH_STORES=0 skips).
const storeRounds = Math.max(1, Number(process.env.BENCH_STORE_ROUNDS ?? 1));
let stores: StoreBenchResult[] = [];
if (process.env.BENCH_STORES !== '0') {
  console.log(`\n== Glimpse on the object store (swift, s3; ${storeRounds} round(s)) ==`);
  stores = await benchStores({ size, rounds: storeRounds });
}

let ref: ReferenceResults | undefined;
if (refUrl) {
  console.log('\n== reference Glance ==');
  try {
    ref = await benchReference(refUrl, { size, rounds, beforeUpload: sampleCeiling });
    const r = ref.transfer;
    console.log(`  req/s rounds: ${ref.rate.rounds.map((v) => v.toFixed(0)).join(', ')} (non-2xx ${ref.rate.non2xx}, errors ${ref.rate.errors})`);
    console.log(`  upload MiB/s: ${r.uploads.map((v) => v.toFixed(0)).join(', ')}; download MiB/s: ${r.downloads.map((v) => v.toFixed(0)).join(', ')}`);
    console.log(`  largest VmRSS sample during upload per process (${ref.pids.join(', ')}): ${r.uploadRssPeaks.map((b) => fmt.mb(b)).join(', ')}`
      + ` (anonymous: ${r.uploadAnonPeaks.map((b) => fmt.mb(b)).join(', ')})`);
  } catch (error) {
    console.log(`  reference run failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

console.log('\n== hashing ceiling (md5+sha512, one pass, one thread, 64 KiB chunks; sampled at start and before each upload) ==');
const ceiling = { median: median(ceilingSamples) };
console.log(`  ${ceilingSamples.map((v) => v.toFixed(0)).join(', ')} MiB/s → median ${ceiling.median.toFixed(0)} MiB/s`);

const large = glimpse.listLarge;
const refList = ref ? `${fmt.ms(ref.list.p50, ref.list.p95)} (${fmt.count(ref.list.images)} visible)` : undefined;
const uploadTarget = UPLOAD_SHARE * ceiling.median;
/** One thread hashing at the ceiling's rate: its CPU-seconds per GB (10^9 bytes). */
const hashingCpuPerGB = 1e9 / (ceiling.median * MiB);
const cpuGB = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} CPU-s/GB` : '—');
const rows: Row[] = [
  { metric: 'md5+sha512 hashing ceiling', glimpse: fmt.rate(ceiling.median), reference: 'same machine' },
  { metric: 'GET /v2/images/{id} req/s, c=16', glimpse: fmt.rate(glimpse.rate.reqPerSec, 'req/s'),
    reference: ref && fmt.rate(ref.rate.reqPerSec, 'req/s') },
  { metric: `list limit=25 p50/p95 @ ${fmt.count(glimpse.listSmall.images)}`, glimpse: fmt.ms(glimpse.listSmall.p50, glimpse.listSmall.p95),
    reference: refList },
  ...(large ? [{
    metric: `list limit=25 p50/p95 @ ${fmt.count(large.images)}`, glimpse: fmt.ms(large.p50, large.p95),
    reference: ref ? 'not seeded (API too slow)' : undefined,
    target: `flat: ≤ ${FLAT_RATIO}× @ 1k`,
    pass: flat(glimpse.listSmall.p50, large.p50) && flat(glimpse.listSmall.p95, large.p95),
  }] : []),
  { metric: `upload ${sizeMiB} MiB`, glimpse: fmt.rate(g.uploadMiBps), reference: ref && fmt.rate(ref.transfer.uploadMiBps),
    target: `≥ ${fmt.rate(uploadTarget)} (90 % ceiling)`, pass: g.uploadMiBps >= uploadTarget },
  { metric: 'upload / hashing ceiling', glimpse: `${((g.uploadMiBps / ceiling.median) * 100).toFixed(0)} %`,
    reference: ref && `${((ref.transfer.uploadMiBps / ceiling.median) * 100).toFixed(0)} %` },
  { metric: `download ${sizeMiB} MiB`, glimpse: fmt.rate(g.downloadMiBps), reference: ref && fmt.rate(ref.transfer.downloadMiBps) },
  // Server CPU per byte (issue 22): against the hashing ceiling's CPU (one thread at the ceiling's
  // rate) and, with a reference, against Glance's (all its processes).
  { metric: 'server CPU-s per GB uploaded', glimpse: cpuGB(g.uploadCpuPerGB), reference: ref && cpuGB(ref.transfer.uploadCpuPerGB),
    target: `≤ ${cpuGB(1.3 * hashingCpuPerGB)} (1.3× hashing)${ref ? ', ≤ 0.8× Glance' : ''}`,
    pass: g.uploadCpuPerGB <= 1.3 * hashingCpuPerGB && (!ref || g.uploadCpuPerGB <= 0.8 * ref.transfer.uploadCpuPerGB) },
  { metric: 'server CPU-s per GB downloaded', glimpse: cpuGB(g.downloadCpuPerGB), reference: ref && cpuGB(ref.transfer.downloadCpuPerGB),
    ...(ref ? { target: '≤ 0.5× Glance', pass: g.downloadCpuPerGB <= 0.5 * ref.transfer.downloadCpuPerGB } : {}) },
  { metric: 'peak RSS during upload', glimpse: `${fmt.mb(g.uploadHwm)} (VmHWM)`,
    reference: ref && `${fmt.mb(Math.max(...ref.transfer.uploadRssPeaks))} (VmRSS max)`,
    target: `< ${fmt.mb(RSS_LIMIT)}`, pass: g.uploadHwm > 0 && g.uploadHwm < RSS_LIMIT },
  ...storeRows(stores, sizeMiB, (v) => fmt.rate(v), (v) => fmt.mb(v)),
];
console.log(`\n== results (medians of ${rounds} rounds; MiB = 2^20 bytes, MB = 10^6 bytes) ==`);
printTable(rows, refUrl !== undefined);

// CPU per byte of upload and download against the ceilings measured in the same run (issue 22), and
// RSS under mixed load (issue 13): bench/transfer.ts, bench/memory.ts; BENCH_TRANSFER=0 / BENCH_MEMORY=0 skip.
if (process.env.BENCH_TRANSFER !== '0') {
  console.log('\n== CPU-seconds per GB (10^9 bytes), server side, and the ceilings (bench/transfer.ts) ==');
  printTransferCpu(await benchTransferCpu({ bytes: size, rounds }));
}
if (process.env.BENCH_MEMORY !== '0') {
  console.log('\n== RSS under 3 × 60 s of mixed load at 16 connections (bench/memory.ts) ==');
  printMemory(await benchMemory({ seconds: Number(process.env.BENCH_MEMORY_SECONDS ?? 60) }));
}

// Several API nodes: two vs one on PostgreSQL (issue 7). Needs a PostgreSQL base URL.
const pgUrl = process.env.BENCH_POSTGRES_URL ?? process.env.GLIMPSE_TEST_POSTGRES_URL;
console.log('\n== two API nodes vs one, metadata throughput on PostgreSQL ==');
if (!pgUrl) {
  console.log('  skipped: set BENCH_POSTGRES_URL (or GLIMPSE_TEST_POSTGRES_URL) to a PostgreSQL the bench may create a schema in');
} else {
  printScaleOut(await benchScaleOut(pgUrl, { rounds }));
}

// List per persona/filter/sort at 1k/10k/100k, GET image and create, per request (bench/metadata.ts).
await runMetadataBench();

// Keystone unified limits on vs off: create and GET req/s side by side (bench/quotas.ts; issue 16).
if (process.env.BENCH_QUOTAS !== '0') {
  console.log('\n== Keystone unified limits on vs off (bench/quotas.ts) ==');
  await runQuotaBench({ rounds });
}

// Notifications on vs off: create and upload rates, RabbitMQ through the outbox (bench/notifications.ts;
// issue 17). BENCH_NOTIFY=0 skips; without a RabbitMQ URL it is skipped, saying so.
if (process.env.BENCH_NOTIFY !== '0') {
  console.log('\n== notifications on vs off (bench/notifications.ts) ==');
  const rabbitUrl = process.env.BENCH_RABBITMQ_URL ?? process.env.GLIMPSE_TEST_RABBITMQ_URL;
  if (rabbitUrl) await benchNotifications(rabbitUrl);
  else console.log('  skipped: set BENCH_RABBITMQ_URL (or GLIMPSE_TEST_RABBITMQ_URL) to a RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672');
}
