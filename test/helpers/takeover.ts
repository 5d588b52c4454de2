// For task takeover tests: a source that sends half the data on its first GET and then stalls (the
// first worker is stuck there when it is killed), and the whole data afterwards; and the
// configuration of `glimpse worker` children sharing a test app's database and stores.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startTestApp, type TestApp } from './app.ts';
import type { Child } from './processes.ts';

export interface StallingSource {
  port: number;
  /** The responses left hanging (the first GET's). */
  stalled: ServerResponse[];
  /** GET requests served so far (HEAD probes are answered and not counted). */
  gets(): number;
  close(): void;
}

export async function startStallingSource(payload: Buffer): Promise<StallingSource> {
  let gets = 0;
  const stalled: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-length': payload.length });
    if (req.method === 'HEAD') return res.end();
    gets++;
    if (gets === 1) {
      res.write(payload.subarray(0, payload.length / 2)); // …and never the rest
      stalled.push(res);
    } else {
      res.end(payload);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port, stalled, gets: () => gets,
    close() {
      for (const res of stalled) res.destroy();
      server.close();
    },
  };
}

/** glimpse.conf of a worker child on the test app in `dir`, allowed to fetch from 127.0.0.1:`port`; 3 s leases. */
export function workerConf(dir: string, port: number): string {
  return [
    '[database]', `connection = sqlite:///${join(dir, 'glimpse.db')}`,
    '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
    '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`,
    '[import_filtering_opts]', 'allowed_hosts = 127.0.0.1', `allowed_ports = ${port}`, 'read_timeout = 600',
    '[task]', 'lease_duration = 3', 'poll_interval = 0.2',
  ].join('\n');
}

/**
 * Registers the before/after hooks of a takeover test: a stalling source serving `payload`, and a
 * test app without an in-process worker (only `glimpse worker` children run tasks), allowed to
 * fetch from the source, with `env` on top. Children pushed to `children` are killed afterwards.
 */
export function takeoverFixture(payload: Buffer, env: Record<string, string> = {}):
  { source: () => StallingSource; app: () => TestApp; children: Child[] } {
  let source: StallingSource | undefined;
  let t: TestApp | undefined;
  const children: Child[] = [];
  before(async () => {
    source = await startStallingSource(payload);
    t = await startTestApp({
      GLIMPSE_TASK__RUN_WORKER_IN_API: 'false',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(source.port),
      ...env,
    });
  });
  after(async () => {
    for (const child of children) await child.stop('SIGKILL');
    source?.close();
    await t?.close();
  });
  return { source: () => source!, app: () => t!, children };
}
