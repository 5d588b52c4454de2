// `glimpse openapi`: the OpenAPI document of the API a configuration serves, the one GET
// /openapi.json answers. The app is composed as `glimpse serve` composes it (same routers, same
// route table) on a private in-memory database and throw-away store directories, and asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

import type { GlimpseConfig } from '../config/types.ts';
import { compose } from '../main.ts';

export async function openApiText(config: GlimpseConfig): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-openapi-'));
  const isolated: GlimpseConfig = {
    ...config,
    database: { connection: 'sqlite:///:memory:' },
    stores: { ...config.stores, backends: config.stores.backends.map((b) => (b.filesystemStoreDatadir
      ? { ...b, filesystemStoreDatadir: join(dir, 'stores', b.id) } : b)) },
    imageImport: { ...config.imageImport, stagingDir: join(dir, 'staging') },
    imageCache: config.imageCache && { ...config.imageCache, dir: join(dir, 'cache') },
    tasks: { ...config.tasks, runWorkerInApi: false },
    metrics: { ...config.metrics, enabled: false },
    tls: undefined,
  };
  try {
    const composed = await compose(isolated, pino({ level: 'silent' }), { worker: false });
    try {
      const res = await composed.app.inject({ url: '/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
      return `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`;
    } finally {
      await composed.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
