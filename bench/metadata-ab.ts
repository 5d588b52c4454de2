// GET image and create, per request, for builds side by side (issue 22): this tree's Glimpse,
// optionally another build (BENCH_AB_ENTRY: the bin/glimpse.js or dist/glimpse.js of, e.g., a
// `git archive` of main) and the reference Glance (REF_GLANCE_URL). Each target is a fresh
// deployment (SQLite, file store, trusted-auth). Rounds are interleaved (the order flips every
// round) so that the machine's other load weighs on all alike; per target and round autocannon
// sends requests for a few seconds, and the server's CPU-seconds (utime + stime of every thread,
// /proc/<pid>/task/*/schedstat) are read around them. Reported: median req/s, and server CPU-s per
// 1,000 requests, the figure that does not depend on the load the load generator and the other
// processes put on the same cores. The images created stay (thousands on the reference, in project
// glimpse-bench-ab): point it at a throwaway reference.
//   npx tsx bench/metadata-ab.ts       env: BENCH_AB_ENTRY, REF_GLANCE_URL, BENCH_ROUNDS (5),
//   BENCH_SECONDS (3, per target, round and kind of request), BENCH_CONCURRENCY (8), BENCH_AB_SEED
//   (0: each Glimpse holds only the image it GETs; N: N images of seed.ts, and the GET is of the
//   first image the seed's member caller lists, as in bench/metadata.ts, the caller then that one)
import { loadavg } from 'node:os';
import autocannon from 'autocannon';

import { ImagesClient } from './client.ts';
import { processCpuSeconds as cpuSeconds } from './cpu.ts';
import { median } from './measure.ts';
import { CALLER, seedImages } from './seed.ts';
import { createDeployment, listenerPids, startGlimpse, type Deployment, type GlimpseServer } from './server.ts';

interface Target { label: string; url: string; pids: number[]; imageId: string }
interface Sample { reqPerSec: number; cpuPer1000: number }

let PROJECT = 'glimpse-bench-ab';
const BODY = JSON.stringify({ name: 'bench-create', disk_format: 'raw', container_format: 'bare', os_distro: 'ubuntu', tags: ['bench'] });

async function run(target: Target, method: 'GET' | 'POST', seconds: number, connections: number): Promise<Sample> {
  const client = new ImagesClient(target.url, PROJECT);
  const path = method === 'GET' ? `/v2/images/${target.imageId}` : '/v2/images';
  const before = await cpuSeconds(target.pids);
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: `${target.url}${path}`, method, connections, duration: seconds,
    ...(method === 'POST' ? { body: BODY } : {}),
    headers: { ...client.headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = (await cpuSeconds(target.pids)) - before;
  client.close();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.label} ${method} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const done = result.requests.total;
  return { reqPerSec: done / elapsed, cpuPer1000: (cpu / done) * 1000 };
}

async function firstImage(url: string, seeded: boolean): Promise<string> {
  const client = new ImagesClient(url, PROJECT);
  if (seeded) {
    const page = await client.json<{ images: Array<{ id: string }> }>('GET', '/v2/images?limit=1');
    client.close();
    return page.images[0]!.id;
  }
  const image = await client.json<{ id: string }>('POST', '/v2/images', { name: 'bench', disk_format: 'raw', container_format: 'bare', tags: ['a', 'b'], os_distro: 'ubuntu' });
  client.close();
  return image.id;
}

export async function benchAb(): Promise<void> {
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const c = Number(process.env.BENCH_CONCURRENCY ?? 8);
  const seed = Number(process.env.BENCH_AB_SEED ?? 0);
  if (seed > 0) PROJECT = CALLER;
  const deployments: Deployment[] = [];
  const servers: GlimpseServer[] = [];
  const targets: Target[] = [];
  const builds: Array<[string, string | undefined]> = [['Glimpse (this tree)', undefined]];
  if (process.env.BENCH_AB_ENTRY) builds.unshift(['Glimpse (BENCH_AB_ENTRY)', process.env.BENCH_AB_ENTRY]);
  try {
    for (const [label, entry] of builds) {
      const deployment = await createDeployment();
      deployments.push(deployment);
      if (seed > 0) await seedImages(deployment.databaseUrl, deployment.dataDir, 0, seed);
      const server = await startGlimpse(deployment, [], entry);
      servers.push(server);
      targets.push({ label, url: server.url, pids: [server.pid], imageId: await firstImage(server.url, seed > 0) });
    }
    const ref = process.env.REF_GLANCE_URL;
    if (ref) {
      const port = Number(new URL(ref).port || 80);
      targets.push({ label: 'Glance', url: ref, pids: await listenerPids(port), imageId: await firstImage(ref, false) });
    }
    for (const t of targets) { await run(t, 'GET', 1, c); await run(t, 'POST', 1, c); }
    const get = targets.map((): Sample[] => []);
    const create = targets.map((): Sample[] => []);
    const loads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      loads.push(loadavg()[0]!);
      const order = targets.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) get[i]!.push(await run(targets[i]!, 'GET', seconds, c));
      for (const i of order) create[i]!.push(await run(targets[i]!, 'POST', seconds, c));
    }
    console.log(`rounds ${rounds}, c=${c}, ${seconds} s of GET and of create per target and round; load average (1 min) at each round: ${loads.map((l) => l.toFixed(2)).join(', ')}`);
    console.log('| target | GET req/s | GET CPU-s per 1k | create req/s | create CPU-s per 1k |');
    console.log('|---|---|---|---|---|');
    const summary = targets.map((t, i) => ({
      t, getRate: median(get[i]!.map((s) => s.reqPerSec)), getCpu: median(get[i]!.map((s) => s.cpuPer1000)),
      createRate: median(create[i]!.map((s) => s.reqPerSec)), createCpu: median(create[i]!.map((s) => s.cpuPer1000)),
    }));
    for (const s of summary) {
      console.log(`| ${s.t.label} | ${s.getRate.toFixed(0)} | ${s.getCpu.toFixed(3)} | ${s.createRate.toFixed(0)} | ${s.createCpu.toFixed(3)} |`);
    }
    for (const [i, t] of targets.entries()) {
      console.log(`  ${t.label} rounds: GET ${get[i]!.map((s) => `${s.reqPerSec.toFixed(0)}/${s.cpuPer1000.toFixed(3)}`).join(' ')}; create ${create[i]!.map((s) => `${s.reqPerSec.toFixed(0)}/${s.cpuPer1000.toFixed(3)}`).join(' ')}`);
    }
    const mine = summary.find((s) => s.t.label === 'Glimpse (this tree)')!;
    for (const other of summary.filter((s) => s !== mine)) {
      console.log(`  this tree vs ${other.t.label}: GET ${(mine.getRate / other.getRate).toFixed(2)}× req/s, ${(other.getCpu / mine.getCpu).toFixed(2)}× less CPU; `
        + `create ${(mine.createRate / other.createRate).toFixed(2)}× req/s, ${(other.createCpu / mine.createCpu).toFixed(2)}× less CPU`);
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const d of deployments) await d.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAb();
