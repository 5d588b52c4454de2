// Builds the real application (real config loader, real SQLite with migrations) for API tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { GlimpseConfig } from '../../src/config/types.ts';
import { compose, type Composed } from '../../src/main.ts';

export interface TestApp extends Composed {
  config: GlimpseConfig;
  dir: string;
}

/**
 * `env` holds GLIMPSE_<SECTION>__<OPTION> overrides on top of a temp SQLite + file store; `files` are
 * written into the temp directory first (a `glimpse-api.conf` there is loaded as the config file).
 */
export async function startTestApp(env: Record<string, string> = {},
  files: Record<string, string> = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-api-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const { config } = loadConfig({
    file: files['glimpse-api.conf'] === undefined ? undefined : join(dir, 'glimpse-api.conf'),
    env: {
      GLIMPSE_DATABASE__CONNECTION: `sqlite:///${join(dir, 'glimpse.db')}`,
      GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: join(dir, 'images'),
      GLIMPSE_OS_GLANCE_STAGING_STORE__FILESYSTEM_STORE_DATADIR: join(dir, 'staging'),
      GLIMPSE_PASTE_DEPLOY__FLAVOR: 'trusted-auth',
      ...env,
    },
  });
  const composed = await compose(config, pino({ level: 'silent' }));
  return {
    ...composed, config, dir,
    async close() {
      await composed.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Trusted-auth headers for a caller. */
export function as(project: string, roles = 'member,reader', user = `${project}-user`): Record<string, string> {
  return { 'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': user, 'x-roles': roles };
}
