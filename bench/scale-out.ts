// Two API nodes vs one on one PostgreSQL database: metadata throughput (GET /v2/images/{id} over
// many images and GET /v2/images?limit=25), both measured in one run, rounds interleaved
// (one node, two nodes, one node, …) so drifting machine load hits both alike. Each node is a
// `glimpse serve` child process (workers = 1) on its own ephemeral port; the load is autocannon,
// the same total connections either way (two nodes: half against each, run at the same time).
// The PostgreSQL base URL comes from BENCH_POSTGRES_URL or GLIMPSE_TEST_POSTGRES_URL; the bench
// gets a private schema and drops it afterwards.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { ImagesClient } from './client.ts';
import { median } from './measure.ts';
import { privatePostgresSchema } from '../test/helpers/postgres-schema.ts';
import { CALLER, seedImages } from './seed.ts';
import { createDeployment, startGlimpse, type Deployment } from './server.ts';

export interface ScaleOutResult {
  oneNode: number[];
  twoNodes: number[];
  ratio: number;
  non2xx: number;
  errors: number;
}

/** Points a deployment at the shared database and the shared store directory. */
async function shareDatabase(deployment: Deployment, databaseUrl: string, dataDir: string): Promise<void> {
  await writeFile(deployment.configFile, [
    '[DEFAULT]', 'bind_host = 127.0.0.1', `bind_port = ${deployment.port}`, 'workers = 1', '',
    '[database]', `connection = ${databaseUrl}`, '',
    '[glance_store]', `filesystem_store_datadir = ${dataDir}`, '',
    '[paste_deploy]', 'flavor = trusted-auth', '',
  ].join('\n'));
}

/** Requests/s of `connections` autocannon connections spread over `urls`, all at once, for `seconds`. */
async function load(urls: string[], ids: string[], connections: number, seconds: number, headers: Record<string, string>) {
  const requests = [...ids.slice(0, 49).map((id) => ({ method: 'GET' as const, path: `/v2/images/${id}` })),
    { method: 'GET' as const, path: '/v2/images?limit=25' }];
  const runs = await Promise.all(urls.map((url) => autocannon({
    url, connections: Math.max(1, Math.round(connections / urls.length)), duration: seconds, headers, requests,
  })));
  return {
    reqPerSec: runs.reduce((sum, r) => sum + r.requests.average, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

export async function benchScaleOut(baseUrl: string, options: { rounds: number; seconds?: number; connections?: number }): Promise<ScaleOutResult> {
  const { rounds, seconds = 8, connections = 32 } = options;
  const database = await privatePostgresSchema(baseUrl, 'glimpse_bench');
  const nodes = [await createDeployment(), await createDeployment()];
  try {
    const ids = await seedImages(database.url, nodes[0]!.dataDir, 0, 1000);
    for (const node of nodes) await shareDatabase(node, database.url, nodes[0]!.dataDir);
    const servers = [await startGlimpse(nodes[0]!), await startGlimpse(nodes[1]!)];
    const client = new ImagesClient(servers[0]!.url, CALLER);
    try {
      const urls = servers.map((s) => s.url);
      await load(urls, ids, connections, 2, client.headers); // warm-up both
      const one: number[] = [];
      const two: number[] = [];
      let non2xx = 0;
      let errors = 0;
      for (let i = 0; i < rounds; i++) {
        for (const [target, into] of [[urls.slice(0, 1), one], [urls, two]] as const) {
          const r = await load([...target], ids, connections, seconds, client.headers);
          into.push(r.reqPerSec);
          non2xx += r.non2xx;
          errors += r.errors;
        }
      }
      return { oneNode: one, twoNodes: two, ratio: median(two) / median(one), non2xx, errors };
    } finally {
      client.close();
      for (const server of servers) await server.stop();
    }
  } finally {
    for (const node of nodes) await node.remove();
    await database.drop();
  }
}

/** Target: two nodes serve at least 1.8× what one node does. */
export const SCALE_OUT_TARGET = 1.8;

export function printScaleOut(r: ScaleOutResult): void {
  const fmt = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ');
  console.log(`  one node req/s rounds: ${fmt(r.oneNode)} → median ${median(r.oneNode).toFixed(0)}`);
  console.log(`  two nodes req/s rounds: ${fmt(r.twoNodes)} → median ${median(r.twoNodes).toFixed(0)}`);
  console.log(`  ratio ${r.ratio.toFixed(2)}× (target ≥ ${SCALE_OUT_TARGET}×: ${r.ratio >= SCALE_OUT_TARGET ? 'met' : 'NOT met'}); `
    + `non-2xx ${r.non2xx}, errors ${r.errors}; ${cpus().length} CPU(s) shared by both nodes, PostgreSQL and the load generator`);
}
