// A Glimpse API server in a child process of its own (`node bin/glimpse.js serve`), so the bench's
// client load and memory do not mix with the server's, and the server's resident memory can be read
// from /proc/<pid>/status: VmHWM (peak RSS of the process so far) and VmRSS (now).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = resolve(import.meta.dirname, '..');

/** A temp directory holding one Glimpse deployment: config file, SQLite database, file store, log. */
export interface Deployment {
  dir: string;
  configFile: string;
  databaseUrl: string;
  dataDir: string;
  port: number;
  /** Removes everything. */
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/**
 * Writes the config (trusted-auth, SQLite and file store in a temp dir, a free loopback port);
 * `extraConfig` lines are appended (e.g. `enabled_backends` and a swift or s3 backend section).
 */
export async function createDeployment(extraConfig: string[] = []): Promise<Deployment> {
  const dir = await mkdtemp(join(process.env.GLIMPSE_BENCH_DIR ?? tmpdir(), 'glimpse-bench-server-'));
  const dataDir = join(dir, 'images');
  await mkdir(dataDir);
  const databaseUrl = `sqlite:///${join(dir, 'glimpse.db')}`;
  const port = await freePort();
  const configFile = join(dir, 'glimpse-api.conf');
  await writeFile(configFile, [
    '[DEFAULT]', 'bind_host = 127.0.0.1', `bind_port = ${port}`, 'workers = 1', '',
    '[database]', `connection = ${databaseUrl}`, '',
    '[glance_store]', `filesystem_store_datadir = ${dataDir}`, '',
    '[paste_deploy]', 'flavor = trusted-auth', '',
    ...extraConfig,
  ].join('\n'));
  return {
    dir, configFile, databaseUrl, dataDir, port,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface MemoryStatus {
  /** Peak resident set size of the process so far, bytes. */
  hwm: number;
  /** Resident set size now, bytes. */
  rss: number;
  /** The anonymous part of it (heaps, buffers, stacks; not the mapped binary and libraries), bytes. */
  anon: number;
}

/** VmHWM and VmRSS of a process (Linux /proc). */
export async function memoryOf(pid: number): Promise<MemoryStatus> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { hwm: kib('VmHWM'), rss: kib('VmRSS'), anon: kib('RssAnon') };
}

/** Samples VmRSS and RssAnon of some processes every `everyMs` until stop(); returns the largest of each. */
export function sampleRss(pids: number[], everyMs = 50): { stop(): Promise<Array<{ rss: number; anon: number }>> } {
  const peaks = pids.map(() => ({ rss: 0, anon: 0 }));
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(pids.map(async (pid, i) => {
        const { rss, anon } = await memoryOf(pid).catch(() => ({ rss: 0, anon: 0 }));
        peaks[i] = { rss: Math.max(peaks[i]!.rss, rss), anon: Math.max(peaks[i]!.anon, anon) };
      }));
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}

/** Resets the process's VmHWM to its current RSS (Linux ≥ 4.0, `echo 5 > /proc/<pid>/clear_refs`). */
export async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export interface GlimpseServer {
  url: string;
  pid: number;
  memory(): Promise<MemoryStatus>;
  stop(): Promise<void>;
}

/**
 * Starts `node bin/glimpse.js serve --config-file …` and waits until /healthcheck answers.
 * `nodeArgs` go to node (e.g. --cpu-prof); GLIMPSE_BENCH_NODE_ARGS adds more (space-separated), and
 * GLIMPSE_BENCH_ENTRY replaces bin/glimpse.js (e.g. a bundled build, to compare its memory).
 */
export async function startGlimpse(deployment: Deployment, nodeArgs: string[] = [], entry?: string): Promise<GlimpseServer> {
  const log = await open(join(deployment.dir, 'glimpse.log'), 'a');
  const extra = (process.env.GLIMPSE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [...extra, ...nodeArgs, resolve(root, entry ?? process.env.GLIMPSE_BENCH_ENTRY ?? 'bin/glimpse.js'), 'serve', '--config-file', deployment.configFile];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: deployment.dir,
    stdio: ['ignore', log.fd, log.fd],
    env: serverEnv(),
  });
  await log.close();
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${deployment.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = (await readFile(join(deployment.dir, 'glimpse.log'), 'utf8')).slice(-2000);
      throw new Error(`glimpse exited during start (${child.exitCode ?? child.signalCode}):\n${tail}`);
    }
    const ok = await fetch(`${url}/healthcheck`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('glimpse did not answer /healthcheck within 30 s');
    }
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    url, pid,
    memory: () => memoryOf(pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The bench's environment minus GLIMPSE_* settings, which would change the deployment (or warn). */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'production' };
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('GLIMPSE_')) env[name] = value;
  return env;
}

/**
 * The processes that hold the socket listening on `port` (a pre-forking server's parent and
 * workers), found through /proc/net/tcp and each process's fds; empty when it cannot be told.
 */
export async function listenerPids(port: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is hex ip:port; state 0A = LISTEN; inode is field 9
      if (f[3] === '0A' && Number.parseInt(f[1]?.split(':')[1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fds = await readdir(`/proc/${name}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${name}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        pids.push(Number(name));
        break;
      }
    }
  }
  return pids;
}
