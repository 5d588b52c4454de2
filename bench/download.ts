// `npm run bench:download`: server CPU-seconds per GB (10^9 bytes) DOWNLOADED, side by side in one
// run, rounds interleaved: Glimpse builds (BENCH_TRANSFER_ENTRIES, default bin/glimpse.js), the
// reference Glance (REF_GLANCE_URL, trusted-auth flavor) and the loopback HTTP download ceilings
// (plain node:http servers that only send bytes: see ceilingSource). Each server gets one image of
// BENCH_SIZE_MB uploaded once; then every round downloads it once from each, in a rotated order.
// CPU is the servers' user + system time from /proc/<pid>/task/*/schedstat (nanoseconds, all
// threads) before and after each download, so other load on the machine does not count; the rate
// is wall clock and moves with that load. The load average is printed at start and end.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';

import { ImagesClient } from './client.ts';
import { median } from './measure.ts';
import { CALLER } from './seed.ts';
import { createDeployment, listenerPids, startGlimpse, type Deployment, type GlimpseServer } from './server.ts';
import { REF_PROJECT } from './reference.ts';

const GB = 1e9;

/** CPU seconds (user + system) of the processes' live threads, from schedstat (ns). */
async function cpuOf(pids: number[]): Promise<number> {
  let ns = 0;
  for (const pid of pids) {
    for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0');
      ns += Number(text.split(' ')[0]);
    }
  }
  return ns / 1e9;
}

/** User and system CPU seconds of the processes (clock ticks, 1/100 s), for the split. */
async function userSys(pids: number[]): Promise<[number, number]> {
  let user = 0;
  let sys = 0;
  for (const pid of pids) {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ') x 0 0 0 0 0 0 0 0 0 0 0 0')).split(') ')[1]!.split(' ');
    user += Number(fields[11]) / 100;
    sys += Number(fields[12]) / 100;
  }
  return [user, sys];
}

// Loopback ceilings: a node:http server whose GET /<n> sends n bytes, and nothing else.
//   naive: res.write of one 1 MiB buffer at a time, waiting for 'drain' (what bench/transfer.ts measures);
//   file:  the same, but the bytes come from the image file by fs.read into two reused 1 MiB
//          buffers, each written with a callback (the floor of any read-then-write server).
const ceilingSource = (kind: string, file: string) => `
const http = require('node:http');
const fs = require('node:fs');
const kind = ${JSON.stringify(kind)};
const block = Buffer.alloc(1024 * 1024, 7);
const server = http.createServer((req, res) => {
  let left = Number(req.url.slice(1));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
  if (kind === 'naive') {
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  const fd = fs.openSync(${JSON.stringify(file)}, 'r');
  const bufs = [Buffer.allocUnsafeSlow(1 << 20), Buffer.allocUnsafeSlow(1 << 20)];
  let pos = 0, i = 0;
  const next = () => {
    if (left === 0) { fs.closeSync(fd); return void res.end(); }
    const b = bufs[i]; i ^= 1;
    fs.read(fd, b, 0, Math.min(left, b.length), pos, (err, n) => {
      if (err || n === 0) { res.destroy(err); return; }
      pos += n; left -= n;
      res.write(n === b.length ? b : b.subarray(0, n), () => {});
      if (res.writableLength <= b.length) next(); else res.once('drain', next);
    });
  };
  next();
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

interface Target {
  name: string;
  pids: number[];
  /** Starts one download; resolves with the bytes received. */
  download(): Promise<number>;
  stop(): Promise<void>;
}

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    httpRequest(url, { headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url} → ${res.statusCode}`));
      let n = 0;
      res.on('data', (chunk: Buffer) => { n += chunk.length; });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

async function ceiling(kind: string, file: string, bytes: number): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, ['-e', ceilingSource(kind, file)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [port] = await once(child, 'message') as [number];
  return {
    name: `ceiling: loopback, ${kind}`, pids: [child.pid!],
    download: () => get(`http://127.0.0.1:${port}/${bytes}`),
    stop: async () => { child.kill(); },
  };
}

async function glimpse(entry: string, bytes: number): Promise<Target & { deployment: Deployment; imagePath: string }> {
  const deployment = await createDeployment();
  const server: GlimpseServer = await startGlimpse(deployment, [], entry);
  const client = new ImagesClient(server.url, CALLER);
  const id = await client.createImage('bench-download');
  await client.upload(id, bytes);
  return {
    name: `glimpse ${entry}`, pids: [server.pid], deployment, imagePath: join(deployment.dataDir, id),
    download: async () => { await client.download(id, bytes); return bytes; },
    stop: async () => { client.close(); await server.stop(); await deployment.remove(); },
  };
}

async function reference(url: string, bytes: number): Promise<Target> {
  const client = new ImagesClient(url, REF_PROJECT);
  const port = Number(new URL(url).port || 80);
  const pids = await listenerPids(port);
  const id = await client.createImage('bench-download');
  await client.upload(id, bytes);
  return {
    name: `reference Glance (pids ${pids.join(',')})`, pids,
    download: async () => { await client.download(id, bytes); return bytes; },
    stop: async () => { await client.deleteImage(id); client.close(); },
  };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = Math.round(Number(process.env.BENCH_SIZE_MB ?? 512) * 1024 * 1024);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
  const entries = process.env.BENCH_TRANSFER_ENTRIES?.split(',').filter(Boolean) ?? ['bin/glimpse.js'];
  const ceilings = (process.env.BENCH_CEILINGS ?? 'naive,file').split(',').filter(Boolean);
  console.log(`download CPU: ${bytes / 2 ** 20} MiB × ${rounds} round(s); load average ${load()}`);
  const targets: Target[] = [];
  try {
    for (const entry of entries) targets.push(await glimpse(entry, bytes));
    const file = (targets[0] as { imagePath?: string } | undefined)?.imagePath ?? join(tmpdir(), 'unused');
    if (!targets[0]) await writeFile(file, Buffer.alloc(0));
    for (const kind of ceilings) targets.push(await ceiling(kind, file, bytes));
    if (process.env.REF_GLANCE_URL) targets.push(await reference(process.env.REF_GLANCE_URL, bytes));
    const samples = targets.map(() => ({ cpu: [] as number[], rate: [] as number[], user: [] as number[], sys: [] as number[] }));
    for (let r = 0; r < rounds; r++) {
      const order = targets.map((_, i) => (i + r) % targets.length);
      for (const i of order) {
        const t = targets[i]!;
        const before = await cpuOf(t.pids);
        const [u0, s0] = await userSys(t.pids);
        const started = process.hrtime.bigint();
        const got = await t.download();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const used = await cpuOf(t.pids) - before;
        const [u1, s1] = await userSys(t.pids);
        samples[i]!.user.push((u1 - u0) * GB / bytes);
        samples[i]!.sys.push((s1 - s0) * GB / bytes);
        if (got !== bytes) throw new Error(`${t.name}: ${got} of ${bytes} bytes`);
        samples[i]!.cpu.push(used * GB / bytes);
        samples[i]!.rate.push(bytes / 1e6 / seconds);
      }
    }
    const base = samples.findIndex((_, i) => targets[i]!.name.startsWith('reference'));
    for (const [i, t] of targets.entries()) {
      const s = samples[i]!;
      const cpu = median(s.cpu);
      const vsRef = base >= 0 ? `  ${(cpu / median(samples[base]!.cpu)).toFixed(2)}× reference CPU` : '';
      console.log(`  ${t.name.padEnd(52)} ${cpu.toFixed(3)} CPU-s/GB (${s.cpu.map((c) => c.toFixed(3)).join(' ')})`
        + ` user ${median(s.user).toFixed(2)} sys ${median(s.sys).toFixed(2)}  ${median(s.rate).toFixed(0)} MB/s${vsRef}`);
    }
    console.log(`load average at end ${load()}`);
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
  }
}
