import { readdir, readFile } from 'node:fs/promises';
import { ImagesClient } from './bench/client.ts';
import { seedImages, CALLER } from './bench/seed.ts';
import { createDeployment, startGlimpse } from './bench/server.ts';
async function cpu(pid: number) { let ns = 0; for (const t of await readdir(`/proc/${pid}/task`)) ns += Number((await readFile(`/proc/${pid}/task/${t}/schedstat`, 'utf8')).split(' ')[0]); return ns / 1e9; }
const d = await createDeployment();
const ids = await seedImages(d.databaseUrl, d.dataDir, 0, 1000);
const s = await startGlimpse(d);
const c = new ImagesClient(s.url, CALLER);
const run = async (label: string, n: number, f: () => Promise<unknown>) => {
  for (let i = 0; i < 200; i++) await f();
  const b = await cpu(s.pid); let next = 0; const t0 = Date.now();
  await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < n) await f(); }));
  console.log(`${label}: ${((await cpu(s.pid) - b) / n * 1000).toFixed(3)} CPU-s/1k, ${(n / (Date.now() - t0) * 1000).toFixed(0)} req/s`);
};
for (let r = 0; r < 3; r++) {
  await run('GET', 4000, () => c.json('GET', `/v2/images/${ids[0]}`));
  await run('list member', 1000, () => c.json('GET', `/v2/images?limit=25`));
  await run('create', 1000, () => c.json('POST', '/v2/images', { name: 'x', disk_format: 'raw', container_format: 'bare', os_distro: 'ubuntu', tags: ['bench'] }));
}
c.close(); await s.stop(); await d.remove();
