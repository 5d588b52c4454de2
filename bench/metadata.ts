// `npm run bench` part: the metadata paths per request (issue 22). One Glimpse server per catalogue
// size (BENCH_LIST_SIZES, default 1k, 10k, 100k images of seed.ts), all running at once, and the
// reference Glance when REF_GLANCE_URL is set. For every list case of list-cases.ts (each persona,
// filter, sort key, limit) the servers get their requests interleaved (one to each in turn), so
// the machine's other load weighs on all alike; then GET image (5 s of autocannon at c=16) and
// create (5 s at c=8), one target after the other. Reported per server:
// p50 latency and server CPU-seconds per 1,000 requests (utime + stime of the server processes
// threads from /proc/…/schedstat, before and after; for Glance the processes holding its port).
// Personas without a project are refused get_images by the default policy (as by Glance), so
// the anonymous case is covered by the plan test only. CPU per request is
// the primary figure: it does not depend on what else runs on the machine.
import autocannon from 'autocannon';

import { ImagesClient } from './client.ts';
import { processCpuSeconds } from './cpu.ts';
import { listCases, personaHeaders, personas, type ListCase } from './list-cases.ts';
import { median, percentile } from './measure.ts';
import { fmt } from './report.ts';
import { CALLER, seedImages } from './seed.ts';
import { createDeployment, listenerPids, startGlimpse, type Deployment, type GlimpseServer } from './server.ts';

const cpuSeconds = processCpuSeconds;

interface Target {
  label: string;
  url: string;
  pids: number[];
  /** Images the target holds. */
  images: number;
}

export interface Measured {
  p50: number;
  /** Server CPU-seconds per 1,000 requests. */
  cpuPer1000: number;
  /** Requests per second of one sequential client (1000 / mean latency). */
  reqPerSec: number;
}

async function timed(client: ImagesClient, method: string, path: string, body?: unknown): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await client.send(method, path, body);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${res.text.slice(0, 200)}`);
  return ms;
}

/** `requests` of `send` to each target in turn (after `warmup`), CPU of each target counted around its own requests. */
async function interleaved(targets: Target[], clients: ImagesClient[], requests: number, warmup: number,
  send: (client: ImagesClient, i: number) => Promise<number>): Promise<Measured[]> {
  for (let r = 0; r < warmup; r++) for (let i = 0; i < targets.length; i++) await send(clients[i]!, r);
  const samples: number[][] = targets.map(() => []);
  const cpu = targets.map(() => 0);
  const BLOCK = 10;
  for (let r = 0; r < requests; r += BLOCK) {
    for (let k = 0; k < targets.length; k++) {
      const i = (r / BLOCK) % 2 === 0 ? k : targets.length - 1 - k;
      const before = await cpuSeconds(targets[i]!.pids);
      for (let j = 0; j < BLOCK && r + j < requests; j++) samples[i]!.push(await send(clients[i]!, r + j));
      cpu[i]! += (await cpuSeconds(targets[i]!.pids)) - before;
    }
  }
  return samples.map((s, i) => ({
    p50: percentile(s, 50), cpuPer1000: (cpu[i]! / s.length) * 1000, reqPerSec: 1000 / (s.reduce((a, b) => a + b, 0) / s.length),
  }));
}

/**
 * `seconds` of autocannon at `concurrency` (as the issue's GET and create figures were measured: a
 * Node.js client timing each request costs about as much CPU as the server on the same two cores,
 * and capped Glimpse's rate well below its CPU bound); server CPU per 1,000 requests and req/s.
 */
async function concurrent(target: Target, client: ImagesClient, method: 'GET' | 'POST', path: string, body: unknown,
  seconds: number, concurrency: number): Promise<Measured & { total: number }> {
  const options = {
    url: `${target.url}${path}`, method, connections: concurrency,
    headers: { ...client.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
  await autocannon({ ...options, amount: 20 * concurrency });
  const before = await cpuSeconds(target.pids);
  const started = process.hrtime.bigint();
  const result = await autocannon({ ...options, duration: seconds });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = (await cpuSeconds(target.pids)) - before;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${method} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const total = result.requests.total;
  return { p50: result.latency.p50, cpuPer1000: (cpu / total) * 1000, reqPerSec: total / elapsed, total };
}

export interface MetadataResults {
  targets: Target[];
  /** list[case][target] */
  list: Measured[][];
  get: Measured[];
  create: Measured[];
}

function log(text: string): void {
  console.log(`  [metadata] ${text}`);
}

/** The path of page `page` of a list: page 1's path, else the `next` link after page - 1 pages (the last page when there are fewer). */
async function pagePath(client: ImagesClient, first: string, page: number): Promise<string> {
  let path = first;
  for (let n = 1; n < page; n++) {
    const body = await client.json<{ next?: string }>('GET', path);
    if (body.next === undefined) break;
    path = body.next;
  }
  return path;
}

export async function benchMetadata(options: { sizes: number[]; refUrl?: string; refImages?: number; requests?: number; page?: number }): Promise<MetadataResults> {
  const { sizes, refUrl, requests = 200, page: listPage = 1 } = options;
  const deployments: Deployment[] = [];
  const servers: GlimpseServer[] = [];
  const clients: ImagesClient[][] = [];
  const created: string[] = [];
  try {
    const targets: Target[] = [];
    let reference: Target | undefined;
    if (refUrl) {
      const port = Number(new URL(refUrl).port || 80);
      const images = await seedReference(refUrl, options.refImages ?? 300, created);
      reference = { label: `Glance ${fmt.count(images)}`, url: refUrl, pids: await listenerPids(port), images };
    }
    for (const size of sizes) {
      const deployment = await createDeployment();
      deployments.push(deployment);
      const started = Date.now();
      await seedImages(deployment.databaseUrl, deployment.dataDir, 0, size);
      log(`seeded ${fmt.count(size)} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    for (const [i, deployment] of deployments.entries()) {
      const server = await startGlimpse(deployment);
      servers.push(server);
      targets.push({ label: `Glimpse ${fmt.count(sizes[i]!)}`, url: server.url, pids: [server.pid], images: sizes[i]! });
    }
    if (reference) targets.push(reference);
    const clientFor = (target: Target, c: ListCase) => {
      const client = new ImagesClient(target.url, c.persona.project ?? '');
      Object.assign(client.headers, personaHeaders(c.persona));
      if (c.persona.project === null) delete client.headers['x-tenant-id'];
      return client;
    };
    const list: Measured[][] = [];
    for (const c of listCases.filter((x) => x.persona.project !== null)) {
      const cs = targets.map((t) => clientFor(t, c));
      clients.push(cs);
      // BENCH_LIST_PAGE=n: page n of the case (the `next` link after n - 1 pages, with its marker).
      const paths = await Promise.all(cs.map((client) => pagePath(client, `/v2/images?${c.query}`, listPage)));
      list.push(await interleaved(targets, cs, requests, 20, (client) => timed(client, 'GET', paths[cs.indexOf(client)]!)));
      log(`${c.label}: ${list[list.length - 1]!.map((m, i) => `${targets[i]!.label} ${m.p50.toFixed(2)} ms ${m.cpuPer1000.toFixed(2)} s/1k`).join('; ')}`);
    }
    const member = targets.map((t) => clientFor(t, { label: '', persona: personas.member, query: '' }));
    clients.push(member);
    const getIds = await Promise.all(member.map(async (client) => {
      const page = await client.json<{ images: Array<{ id: string }> }>('GET', '/v2/images?limit=1');
      return page.images[0]!.id;
    }));
    const get: Measured[] = [];
    const create: Measured[] = [];
    for (const [i, target] of targets.entries()) {
      get.push(await concurrent(target, member[i]!, 'GET', `/v2/images/${getIds[i]}`, undefined, 5, 16));
      const made = await concurrent(target, member[i]!, 'POST', '/v2/images',
        { name: 'bench-create', disk_format: 'raw', container_format: 'bare', os_distro: 'ubuntu', tags: ['bench'] }, 5, 8);
      create.push(made);
      if (target.label.startsWith('Glance')) created.push(...await createdBy(member[i]!));
      log(`${target.label}: GET ${get[i]!.reqPerSec.toFixed(0)} req/s ${get[i]!.cpuPer1000.toFixed(2)} s/1k; create ${create[i]!.reqPerSec.toFixed(0)} req/s ${create[i]!.cpuPer1000.toFixed(2)} s/1k`);
    }
    return { targets, list, get, create };
  } finally {
    for (const cs of clients) for (const c of cs) c.close();
    for (const s of servers) await s.stop();
    for (const d of deployments) await d.remove();
    if (refUrl && created.length > 0) {
      // Admin: the images belong to several projects.
      const client = new ImagesClient(refUrl, 'glimpse-bench-metadata', 'admin,member,reader');
      log(`deleting the ${created.length} images the bench created on the reference`);
      let next = 0;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < created.length) {
          const id = created[next++]!;
          await client.deleteImage(id).catch((error: unknown) => log(`could not delete ${id}: ${String(error)}`));
        }
      }));
      client.close();
    }
  }
}

/** The ids of the images named bench-create that the client's project owns (to delete them from the reference). */
async function createdBy(client: ImagesClient): Promise<string[]> {
  const ids: string[] = [];
  let path: string | undefined = '/v2/images?name=bench-create&limit=1000';
  while (path !== undefined) {
    const page: { images: Array<{ id: string; owner: string | null }>; next?: string } = await client.json('GET', path);
    for (const image of page.images) if (image.owner === CALLER) ids.push(image.id);
    path = page.next;
  }
  return ids;
}

/**
 * The reference gets a small catalogue through its API (seeding it is slow): `count` images of
 * seed.ts's shape owned by the bench's projects (the caller, the owner of many and others), the
 * caller an accepted member of the shared ones, so each persona has something to see. Returns how many images it holds.
 */
async function seedReference(url: string, count: number, created: string[]): Promise<number> {
  const { seededImage } = await import('./seed.ts');
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < count) {
      const image = seededImage(next++, '/nonexistent');
      // Admin of the owner project: public images need the admin role (publicize_image).
      const client = new ImagesClient(url, image.owner!, 'admin,member,reader');
      try {
        const made = await client.json<{ id: string }>('POST', '/v2/images', {
          name: image.name, disk_format: image.diskFormat, container_format: image.containerFormat,
          visibility: image.visibility, os_hidden: image.osHidden, tags: image.tags, ...image.properties,
        });
        created.push(made.id);
        if (image.visibility === 'shared') {
          // As in seed.ts: the caller is an accepted member of the shared images.
          await client.json('POST', `/v2/images/${made.id}/members`, { member: CALLER });
          const caller = new ImagesClient(url, CALLER);
          await caller.json('PUT', `/v2/images/${made.id}/members/${CALLER}`, { status: 'accepted' }).finally(() => caller.close());
        }
      } finally {
        client.close();
      }
    }
  }));
  log(`reference: created ${count} images through its API in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const admin = new ImagesClient(url, 'glimpse-bench-metadata', 'admin,member,reader');
  let total = 0;
  let path: string | undefined = '/v2/images?limit=1000&visibility=all';
  while (path !== undefined) {
    const page: { images: unknown[]; next?: string } = await admin.json('GET', path);
    total += page.images.length;
    path = page.next;
  }
  admin.close();
  return total;
}

/** Prints the metadata table: per case the p50 and CPU of each target, and the ratios the targets of issue 22 name. */
export function printMetadata(r: MetadataResults): void {
  const glimpse = r.targets.filter((t) => t.label.startsWith('Glimpse'));
  const ref = r.targets.findIndex((t) => t.label.startsWith('Glance'));
  const at10k = r.targets.findIndex((t) => t.images === 10_000);
  const head = ['case', ...r.targets.map((t) => `${t.label} p50 ms / CPU s per 1k`), 'max(10k,100k)/1k p50, CPU',
    ...(ref >= 0 && at10k >= 0 ? ['req/s 10k ÷ Glance'] : [])];
  const rows: string[][] = [];
  const worst = { p50: 0, cpu: 0 };
  listCases.filter((x) => x.persona.project !== null).forEach((c, i) => {
    const m = r.list[i]!;
    const base = m[0]!;
    const larger = m.slice(1, glimpse.length);
    const p50Ratio = Math.max(...larger.map((x) => x.p50 / base.p50), 1);
    const cpuRatio = Math.max(...larger.map((x) => x.cpuPer1000 / base.cpuPer1000), 1);
    worst.p50 = Math.max(worst.p50, p50Ratio);
    worst.cpu = Math.max(worst.cpu, cpuRatio);
    rows.push([c.label, ...m.map((x) => `${x.p50.toFixed(2)} / ${x.cpuPer1000.toFixed(2)}`),
      `${p50Ratio.toFixed(2)}×, ${cpuRatio.toFixed(2)}×`,
      ...(ref >= 0 && at10k >= 0 ? [`${(m[at10k]!.reqPerSec / m[ref]!.reqPerSec).toFixed(1)}×`] : [])]);
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(line(head));
  console.log(line(head.map(() => '---')));
  for (const row of rows) console.log(line(row));
  console.log(`\n  worst list ratio over 1k: p50 ${worst.p50.toFixed(2)}×, CPU ${worst.cpu.toFixed(2)}× (target ≤ 1.3×: ${worst.p50 <= 1.3 && worst.cpu <= 1.3 ? 'PASS' : 'FAIL'})`);
  const perTarget = (name: string, ms: Measured[]) => r.targets.map((t, i) => `${t.label} ${ms[i]!.reqPerSec.toFixed(0)} req/s, ${ms[i]!.cpuPer1000.toFixed(2)} CPU-s per 1k`).join('; ')
    + (ref >= 0 ? `; Glimpse ${r.targets[0]!.label.split(' ')[1]} ÷ Glance: ${(ms[0]!.reqPerSec / ms[ref]!.reqPerSec).toFixed(1)}× req/s, ${(ms[ref]!.cpuPer1000 / ms[0]!.cpuPer1000).toFixed(1)}× less CPU` : '')
    + ` (${name})`;
  console.log(`  GET image, c=16: ${perTarget('target ≥ 20× req/s', r.get)}`);
  console.log(`  create, c=8: ${perTarget('target ≥ 15× req/s', r.create)}`);
  if (ref >= 0) console.log(`  list medians: ${median(r.list.map((m) => m[ref]!.cpuPer1000)).toFixed(2)} CPU-s per 1k on Glance`);
}

/**
 * The whole part, configured from the environment: BENCH_LIST_SIZES (comma-separated, default
 * 1000,10000,100000), BENCH_LIST_REQUESTS (per case and server, default 200), BENCH_LIST_PAGE
 * (which page of each list case, default 1: page n follows the `next` links, so it carries a
 * marker), REF_GLANCE_URL and BENCH_REF_IMAGES (images created on the reference, default 300).
 * BENCH_METADATA=0 skips it.
 */
export async function runMetadataBench(): Promise<void> {
  if (process.env.BENCH_METADATA === '0') return;
  const sizes = (process.env.BENCH_LIST_SIZES ?? '1000,10000,100000').split(',').map(Number).filter((n) => n > 0);
  const page = Number(process.env.BENCH_LIST_PAGE ?? 1);
  console.log(`\n== metadata paths per request: list cases${page > 1 ? ` (page ${page})` : ''} at ${sizes.map(fmt.count).join(' / ')} images, GET image, create ==`);
  printMetadata(await benchMetadata({
    sizes, refUrl: process.env.REF_GLANCE_URL, page: Number(process.env.BENCH_LIST_PAGE ?? 1),
    refImages: Number(process.env.BENCH_REF_IMAGES ?? 300), requests: Number(process.env.BENCH_LIST_REQUESTS ?? 200),
  }));
}
