// `npm run bench:memory` (also run by `npm run bench`): the server's RSS under mixed load (issue 13).
// A fresh server; RSS idle (after a short warm-up), then 3 phases of BENCH_MEMORY_SECONDS (default 60)
// of 16 clients each looping create → upload 4 KB → GET image → list (limit 25) → download → delete,
// RSS at the end of each phase, and RSS 30 s after the load stopped. Target: the last within 1.25×
// of idle (memory returns when the load ends).
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';

import { ImagesClient } from './client.ts';
import { CALLER } from './seed.ts';
import { createDeployment, startGlimpse } from './server.ts';

export interface MemoryBenchResult {
  idle: number;
  phases: Array<{ rss: number; cycles: number; errors: number }>;
  after: number;
  /** after / idle */
  ratio: number;
}

const BODY = Buffer.alloc(4096, 'm');

async function cycle(client: ImagesClient): Promise<void> {
  const id = await client.createImage('bench-memory');
  const put = await client.send('PUT', `/v2/images/${id}/file`, Readable.from([BODY]),
    { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length) });
  if (put.status !== 204) throw new Error(`upload → ${put.status}`);
  const get = await client.send('GET', `/v2/images/${id}`);
  if (get.status !== 200) throw new Error(`get → ${get.status}`);
  const list = await client.send('GET', '/v2/images?limit=25');
  if (list.status !== 200) throw new Error(`list → ${list.status}`);
  await client.download(id, BODY.length);
  await client.deleteImage(id);
}

export async function benchMemory(options: { seconds?: number; phases?: number; connections?: number; settleSeconds?: number } = {}):
  Promise<MemoryBenchResult> {
  const { seconds = 60, phases = 3, connections = 16, settleSeconds = 30 } = options;
  const deployment = await createDeployment();
  const server = await startGlimpse(deployment);
  const client = new ImagesClient(server.url, CALLER);
  try {
    for (let i = 0; i < 20; i++) await cycle(client);
    // The server runs a full collection 5 s after it goes quiet (src/lib/idle-reclaim.ts): idle is
    // read after that, in the same state as the value 30 s after the load.
    await sleep(8000);
    const idle = (await server.memory()).rss;
    const results: MemoryBenchResult['phases'] = [];
    for (let p = 0; p < phases; p++) {
      const until = Date.now() + seconds * 1000;
      let cycles = 0;
      let errors = 0;
      await Promise.all(Array.from({ length: connections }, async () => {
        while (Date.now() < until) {
          try {
            await cycle(client);
            cycles++;
          } catch {
            errors++;
          }
        }
      }));
      results.push({ rss: (await server.memory()).rss, cycles, errors });
    }
    await sleep(settleSeconds * 1000);
    const after = (await server.memory()).rss;
    return { idle, phases: results, after, ratio: after / idle };
  } finally {
    client.close();
    await server.stop();
    await deployment.remove();
  }
}

export function printMemory(r: MemoryBenchResult): void {
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  console.log(`  RSS idle ${mb(r.idle)}; end of each phase: ${r.phases.map((p) => `${mb(p.rss)} (${p.cycles} cycles, ${p.errors} errors)`).join(', ')}; `
    + `30 s after: ${mb(r.after)} = ${r.ratio.toFixed(2)}× idle (target ≤ 1.25: ${r.ratio <= 1.25 ? 'met' : 'NOT met'})`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 60);
  console.log(`memory: 3 × ${seconds} s of mixed load (create, upload 4 KB, get, list, download, delete) at 16 connections`);
  printMemory(await benchMemory({ seconds }));
}
