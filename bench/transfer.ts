// CPU per byte of the data path, the number the upload and download code is tuned for (issue 22):
// server CPU-seconds per GB (10^9 bytes) uploaded and downloaded, side by side with the ceilings
// measured in the same run:
//   hashing   md5 + sha512 in one pass on one thread (what an upload must compute), 64 KiB chunks;
//   loopback  a plain node:http server in a child process that only consumes an upload body, or
//             only sends a download body from one 1 MiB buffer: the HTTP floor of each direction;
//   disk      1 MiB writes + fsync to a file in the deployment's directory.
// CPU is read from /proc/<pid>/stat (user + system, all threads) before and after each transfer, so
// other load on the machine does not count; wall-clock rates are shown too but move with that load.
// Several server builds can be compared in one run, their rounds interleaved (BENCH_TRANSFER_ENTRIES
// = comma-separated entry scripts, e.g. the bin/glimpse.js of an older commit exported with
// `git archive`, with a node_modules symlink). Peak RSS is VmHWM, reset before each transfer.
// With REF_GLANCE_URL (a reference Glance, trusted-auth flavor, e.g. shared/tools/refglance.sh), the
// same upload and download go to it in every round too, its CPU summed over the processes holding
// its port (parent and worker) and its peak RSS the largest VmHWM among them: the Glance row.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ImagesClient, generatedBytes } from './client.ts';
import { median } from './measure.ts';
import { CALLER } from './seed.ts';
import { REF_PROJECT } from './reference.ts';
import { createDeployment, listenerPids, memoryOf, resetPeak, startGlimpse, type GlimpseServer } from './server.ts';

const GB = 1e9;

/** User + system CPU seconds of a process so far (all its threads; clock ticks of 1/100 s). */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Measured {
  /** Server (or ceiling) CPU-seconds per GB. */
  cpuPerGB: number;
  /** MB/s (10^6 bytes) wall clock. */
  rate: number;
  /** Peak RSS during the transfer, bytes (0 when not measured). */
  hwm: number;
}

function summary(samples: Measured[]): Measured {
  return { cpuPerGB: median(samples.map((s) => s.cpuPerGB)), rate: median(samples.map((s) => s.rate)), hwm: Math.max(...samples.map((s) => s.hwm)) };
}

/** md5 + sha512 over `bytes` in 64 KiB chunks on this thread. */
export function hashingCeiling(bytes: number): Measured {
  const md5 = createHash('md5');
  const sha = createHash('sha512');
  const before = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const chunk of generatedBytes(bytes, 64 * 1024)) {
    md5.update(chunk);
    sha.update(chunk);
  }
  md5.digest();
  sha.digest();
  const used = process.cpuUsage(before);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { cpuPerGB: ((used.user + used.system) / 1e6) * (GB / bytes), rate: bytes / 1e6 / seconds, hwm: 0 };
}

/** 1 MiB writes of `bytes` to a new file in `dir`, then fsync (this process's CPU). */
export async function diskCeiling(dir: string, bytes: number): Promise<Measured> {
  const path = join(dir, `disk-ceiling-${process.pid}`);
  const handle = await open(path, 'w');
  const before = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    for (const chunk of generatedBytes(bytes)) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const used = process.cpuUsage(before);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await rm(path, { force: true });
  return { cpuPerGB: ((used.user + used.system) / 1e6) * (GB / bytes), rate: bytes / 1e6 / seconds, hwm: 0 };
}

// The loopback server: PUT consumes the body, GET /<n> sends n bytes from one 1 MiB buffer.
const loopbackSource = `
const http = require('node:http');
const block = Buffer.alloc(1024 * 1024, 7);
const server = http.createServer((req, res) => {
  if (req.method === 'PUT') {
    req.on('data', () => {});
    req.on('end', () => { res.writeHead(204); res.end(); });
    return;
  }
  let left = Number(req.url.slice(1));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
  const more = () => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

/** Upload and download of `bytes` against the loopback server: its CPU per GB, each direction. */
export async function loopbackCeilings(bytes: number): Promise<{ upload: Measured; download: Measured }> {
  const child = spawn(process.execPath, ['-e', loopbackSource], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [port] = await once(child, 'message') as [number];
    const pid = child.pid!;
    const url = `http://127.0.0.1:${port}`;
    const upload = await measure(pid, bytes, async () => {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${url}/`, { method: 'PUT', headers: { 'content-length': String(bytes) } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        pipeline(Readable.from(generatedBytes(bytes)), req).catch(reject);
      });
    });
    const download = await measure(pid, bytes, async () => {
      const received = await new Promise<number>((resolve, reject) => {
        httpRequest(`${url}/${bytes}`, (res) => {
          let n = 0;
          res.on('data', (chunk: Buffer) => { n += chunk.length; });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        }).on('error', reject).end();
      });
      if (received !== bytes) throw new Error(`loopback download: ${received} of ${bytes} bytes`);
    });
    return { upload, download };
  } finally {
    child.kill();
  }
}

async function measure(pid: number | number[], bytes: number, run: () => Promise<void>, hwm?: () => Promise<number>): Promise<Measured> {
  const pids = Array.isArray(pid) ? pid : [pid];
  const cpuOf = async () => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  await Promise.all(pids.map((p) => resetPeak(p).catch(() => undefined)));
  const cpu = await cpuOf();
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = await cpuOf() - cpu;
  return { cpuPerGB: used * (GB / bytes), rate: bytes / 1e6 / seconds, hwm: hwm ? await hwm() : 0 };
}

/** One upload then one download of `bytes` on the reference Glance (all processes holding its port). */
async function referenceTransfer(client: ImagesClient, pids: number[], bytes: number): Promise<{ upload: Measured; download: Measured }> {
  const id = await client.createImage('bench-cpu');
  try {
    const hwm = async () => Math.max(...await Promise.all(pids.map(async (p) => (await memoryOf(p)).hwm)));
    const upload = await measure(pids, bytes, async () => { await client.upload(id, bytes); }, hwm);
    const download = await measure(pids, bytes, async () => { await client.download(id, bytes); }, hwm);
    return { upload, download };
  } finally {
    await client.deleteImage(id);
  }
}

/** One upload then one download of `bytes` on a running server; the image is deleted after. */
export async function glimpseTransfer(server: GlimpseServer, client: ImagesClient, bytes: number, name = 'bench-cpu'):
  Promise<{ upload: Measured; download: Measured }> {
  const id = await client.createImage(name);
  try {
    const hwm = async () => (await memoryOf(server.pid)).hwm;
    const upload = await measure(server.pid, bytes, async () => { await client.upload(id, bytes); }, hwm);
    const download = await measure(server.pid, bytes, async () => { await client.download(id, bytes); }, hwm);
    return { upload, download };
  } finally {
    await client.deleteImage(id);
  }
}

export interface TransferCpuResult {
  ceilings: { hashing: Measured; loopbackUpload: Measured; loopbackDownload: Measured; disk: Measured };
  servers: Array<{ entry: string; idleRss: number; upload: Measured; download: Measured }>;
  reference?: { url: string; upload: Measured; download: Measured };
}

/**
 * The ceilings and `rounds` upload+download rounds of `bytes` against each entry (a fresh server
 * each), the entries' rounds interleaved so that the machine's other load weighs on all alike.
 */
export async function benchTransferCpu(options: { bytes: number; rounds: number; entries?: string[]; reference?: string }): Promise<TransferCpuResult> {
  const { bytes, rounds } = options;
  const entries = options.entries ?? ['bin/glimpse.js'];
  const deployments = await Promise.all(entries.map(() => createDeployment()));
  const servers: GlimpseServer[] = [];
  try {
    for (const [i, entry] of entries.entries()) servers.push(await startGlimpse(deployments[i]!, [], entry));
    const clients = servers.map((s) => new ImagesClient(s.url, CALLER));
    const idle = await Promise.all(servers.map(async (s) => (await s.memory()).rss));
    const hashing: Measured[] = [];
    const disk: Measured[] = [];
    const loopUp: Measured[] = [];
    const loopDown: Measured[] = [];
    const results = entries.map(() => ({ upload: [] as Measured[], download: [] as Measured[] }));
    const ref = options.reference;
    const refClient = ref ? new ImagesClient(ref, REF_PROJECT) : undefined;
    const refPids = ref ? await listenerPids(Number(new URL(ref).port || 80)) : [];
    if (ref && refPids.length === 0) throw new Error(`no process listens on the port of ${ref}`);
    const refResults = { upload: [] as Measured[], download: [] as Measured[] };
    for (let r = 0; r < rounds; r++) {
      hashing.push(hashingCeiling(Math.min(bytes, 512 * 1024 * 1024)));
      const loop = await loopbackCeilings(bytes);
      loopUp.push(loop.upload);
      loopDown.push(loop.download);
      disk.push(await diskCeiling(deployments[0]!.dir, bytes));
      const order = r % 2 === 0 ? entries.map((_, i) => i) : entries.map((_, i) => entries.length - 1 - i);
      for (const i of order) {
        const t = await glimpseTransfer(servers[i]!, clients[i]!, bytes);
        results[i]!.upload.push(t.upload);
        results[i]!.download.push(t.download);
      }
      if (refClient) {
        const t = await referenceTransfer(refClient, refPids, bytes);
        refResults.upload.push(t.upload);
        refResults.download.push(t.download);
      }
    }
    for (const c of clients) c.close();
    refClient?.close();
    return {
      ceilings: { hashing: summary(hashing), loopbackUpload: summary(loopUp), loopbackDownload: summary(loopDown), disk: summary(disk) },
      servers: entries.map((entry, i) => ({ entry, idleRss: idle[i]!, upload: summary(results[i]!.upload), download: summary(results[i]!.download) })),
      ...ref ? { reference: { url: ref, upload: summary(refResults.upload), download: summary(refResults.download) } } : {},
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(deployments.map((d) => d.remove()));
  }
}

/** Prints the result as a table; ratios are against the hashing (upload) and loopback (download) ceilings. */
export function printTransferCpu(result: TransferCpuResult): void {
  const { ceilings: c } = result;
  const row = (name: string, m: Measured, extra = '') => console.log(
    `  ${name.padEnd(44)} ${m.cpuPerGB.toFixed(2).padStart(6)} CPU-s/GB ${m.rate.toFixed(0).padStart(6)} MB/s`
    + `${m.hwm ? `  peak RSS ${(m.hwm / 1e6).toFixed(0)} MB` : ''}${extra}`);
  row('ceiling: md5+sha512 hashing, one thread', c.hashing);
  row('ceiling: loopback HTTP upload (server)', c.loopbackUpload);
  row('ceiling: loopback HTTP download (server)', c.loopbackDownload);
  row('ceiling: fsync\'d disk, 1 MiB writes', c.disk);
  for (const s of result.servers) {
    console.log(`  -- ${s.entry} (idle RSS ${(s.idleRss / 1e6).toFixed(0)} MB)`);
    row('upload, server', s.upload, `  ${(s.upload.cpuPerGB / c.hashing.cpuPerGB).toFixed(2)}× hashing CPU (target ≤ 1.3)`);
    row('download, server', s.download, `  ${(s.download.rate / c.loopbackDownload.rate).toFixed(2)}× loopback rate (target ≥ 0.8)`);
  }
  const ref = result.reference;
  if (ref) {
    console.log(`  -- reference Glance ${ref.url} (all processes holding its port)`);
    row('upload, server', ref.upload, `  ${(ref.upload.cpuPerGB / c.hashing.cpuPerGB).toFixed(2)}× hashing CPU`);
    row('download, server', ref.download);
    for (const s of result.servers) {
      console.log(`  ${s.entry} / Glance: upload CPU ${(s.upload.cpuPerGB / ref.upload.cpuPerGB).toFixed(2)} (target ≤ 0.8), `
        + `rate ${(s.upload.rate / ref.upload.rate).toFixed(2)} (target ≥ 1), peak RSS ${(s.upload.hwm / ref.upload.hwm).toFixed(2)} (target ≤ 0.5); `
        + `download CPU ${(s.download.cpuPerGB / ref.download.cpuPerGB).toFixed(2)}`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = Math.round(Number(process.env.BENCH_SIZE_MB ?? 1024) * 1024 * 1024);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
  const entries = process.env.BENCH_TRANSFER_ENTRIES?.split(',').filter(Boolean);
  console.log(`transfer CPU: ${bytes / 1024 / 1024} MiB × ${rounds} round(s), entries: ${(entries ?? ['bin/glimpse.js']).join(', ')}`);
  const reference = process.env.REF_GLANCE_URL;
  printTransferCpu(await benchTransferCpu({ bytes, rounds, entries, ...reference ? { reference } : {} }));
}
