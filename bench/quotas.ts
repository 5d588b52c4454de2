// Keystone unified limits on vs off (issue 16): two Glimpse servers side by side (SQLite, file
// store, trusted-auth), one with use_keystone_limits against the real Keystone (a project of its own
// with limits set through Keystone's API; [glimpse_quotas] limits_cache_time at its default), one
// without; create (POST /v2/images) and GET /v2/images/{id} req/s at concurrency 8, the two servers
// measured in alternating rounds so that the machine's other load weighs on both alike. Target: the
// quota costs < 10 % of either rate. Needs GLIMPSE_TEST_KEYSTONE_URL (or BENCH_KEYSTONE_URL).
// `npm run bench:quotas` runs it alone; `npm run bench` runs it at the end (BENCH_QUOTAS=0 skips).
import autocannon from 'autocannon';

import { limitsEnv, limitsFixture } from '../test/helpers/keystone-limits.ts';
import { ImagesClient } from './client.ts';
import { median } from './measure.ts';
import { cpuSeconds } from './transfer.ts';
import { fmt, printTable, type Row } from './report.ts';
import { createDeployment, startGlimpse, type GlimpseServer } from './server.ts';

const TARGET = 0.10;

function log(text: string): void {
  console.log(`  [quotas] ${text}`);
}

interface Sample {
  /** Requests a second (wall clock: moves with the machine's other load). */
  rate: number;
  /** Server CPU-seconds (user + system, all threads) per 1,000 requests: independent of other load. */
  cpuPer1000: number;
}

async function measure(server: GlimpseServer, project: string, method: 'GET' | 'POST', path: string, body?: string,
  seconds = 5): Promise<Sample> {
  const client = new ImagesClient(server.url, project);
  const cpu = await cpuSeconds(server.pid);
  const result = await autocannon({
    url: `${server.url}${path}`, method, connections: 8, duration: seconds, body,
    headers: { ...client.headers, ...(body ? { 'content-type': 'application/json' } : {}) },
  });
  const used = await cpuSeconds(server.pid) - cpu;
  client.close();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${method} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rate: result.requests.average, cpuPer1000: (used / Math.max(1, result.requests.total)) * 1000 };
}

export async function runQuotaBench(options: { rounds?: number; seconds?: number } = {}): Promise<void> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const keystone = process.env.BENCH_KEYSTONE_URL ?? process.env.GLIMPSE_TEST_KEYSTONE_URL;
  if (!keystone) {
    log('skipped: set GLIMPSE_TEST_KEYSTONE_URL (or BENCH_KEYSTONE_URL) to the Keystone of keystone.sh');
    return;
  }
  const fixture = await limitsFixture();
  const deployments = [];
  const servers: GlimpseServer[] = [];
  try {
    await fixture.setLimits({ image_count_total: 10_000_000, image_size_total: 1_000_000 });
    const env = limitsEnv(fixture.endpointId, keystone);
    const oslo = Object.entries(env).filter(([k]) => k.startsWith('GLIMPSE_OSLO_LIMIT__'))
      .map(([k, v]) => `${k.slice('GLIMPSE_OSLO_LIMIT__'.length).toLowerCase()} = ${v}`);
    deployments.push(await createDeployment());
    // A second [DEFAULT] section adds to the first (as in oslo.config).
    deployments.push(await createDeployment(['[DEFAULT]', 'use_keystone_limits = true', '[oslo_limit]', ...oslo]));
    for (const d of deployments) servers.push(await startGlimpse(d));
    const project = fixture.projectId;
    const ids = await Promise.all(servers.map(async (s) => {
      const client = new ImagesClient(s.url, project);
      const image = await client.json<{ id: string }>('POST', '/v2/images', { name: 'bench', disk_format: 'raw', container_format: 'bare' });
      client.close();
      return image.id;
    }));
    const body = JSON.stringify({ name: 'bench-create', disk_format: 'raw', container_format: 'bare', tags: ['bench'] });
    const create: Sample[][] = [[], []];
    const get: Sample[][] = [[], []];
    for (const i of [0, 1]) await measure(servers[i]!, project, 'GET', `/v2/images/${ids[i]}`, undefined, 2); // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) create[i]!.push(await measure(servers[i]!, project, 'POST', '/v2/images', body, seconds));
      for (const i of order) get[i]!.push(await measure(servers[i]!, project, 'GET', `/v2/images/${ids[i]}`, undefined, seconds));
    }
    const list = (samples: Sample[], pick: (s: Sample) => number, digits: number) => samples.map((s) => pick(s).toFixed(digits)).join(', ');
    for (const [name, samples] of [['create', create], ['GET', get]] as const) {
      log(`${name} req/s off: ${list(samples[0]!, (s) => s.rate, 0)}; on: ${list(samples[1]!, (s) => s.rate, 0)}`);
      log(`${name} server CPU-s per 1,000 off: ${list(samples[0]!, (s) => s.cpuPer1000, 3)}; on: ${list(samples[1]!, (s) => s.cpuPer1000, 3)}`);
    }
    const held = await Promise.all(servers.map(async (s) => {
      const client = new ImagesClient(s.url, project);
      const usage = await client.json<{ usage?: { image_count_total?: { usage: number } } }>('GET', '/v2/info/usage').catch(() => undefined);
      client.close();
      return usage?.usage?.image_count_total?.usage;
    }));
    if (held[1] !== undefined) log(`images of the project on the quota server at the end: ${held[1]}`);
    const rows: Row[] = [];
    for (const [metric, samples] of [['create (POST /v2/images), c=8', create], ['GET /v2/images/{id}, c=8', get]] as const) {
      const [off, on] = samples.map((s) => median(s.map((x) => x.rate))) as [number, number];
      const [cpuOff, cpuOn] = samples.map((s) => median(s.map((x) => x.cpuPer1000))) as [number, number];
      const cost = 1 - on / off;
      const cpuCost = cpuOn / cpuOff - 1;
      rows.push({ metric: `${metric}, req/s`, glimpse: `${fmt.rate(off, 'req/s')} off, ${fmt.rate(on, 'req/s')} on (cost ${(cost * 100).toFixed(1)} %)`,
        target: `cost < ${TARGET * 100} %`, pass: cost < TARGET });
      rows.push({ metric: `${metric}, server CPU`, glimpse: `${cpuOff.toFixed(3)} s off, ${cpuOn.toFixed(3)} s on per 1,000 (cost ${(cpuCost * 100).toFixed(1)} %)`,
        target: `cost < ${TARGET * 100} %`, pass: cpuCost < TARGET });
    }
    printTable(rows, false);
  } finally {
    for (const s of servers) await s.stop();
    for (const d of deployments) await d.remove();
    await fixture.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('== Keystone unified limits on vs off (bench/quotas.ts) ==');
  await runQuotaBench({ rounds: Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3)), seconds: Math.max(1, Number(process.env.BENCH_SECONDS ?? 5)) });
}
