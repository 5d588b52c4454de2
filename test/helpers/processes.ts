// Real Glimpse processes for multi-node tests: `glimpse serve` / `glimpse worker` children on
// ephemeral ports sharing one database, one staging directory and one image store.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
}

export interface Child {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `glimpse <command>` with `conf` as its config file (written to `dir/<name>.conf`); waits until it is up. */
export async function startGlimpse(dir: string, name: string, command: 'serve' | 'worker', conf: string): Promise<Child> {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const port = /bind_port = (\d+)/.exec(conf)?.[1];
  const child = spawn(process.execPath, [bin, command, '--config-file', file], { cwd: dir, env: cleanEnv() });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = command === 'serve' ? 'serving the Images API' : 'task worker';
  const until = Date.now() + 90000; // a loaded CI machine compiles the sources slowly
  while (!out.includes(ready)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`${name} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child, url: `http://127.0.0.1:${port ?? 0}`, output: () => out, exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A private schema in the PostgreSQL database at `baseUrl`; the URL to use and a drop(). */
export async function privatePostgresSchema(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `glimpse_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase(baseUrl, { maxPoolSize: 1 });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      try {
        await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db);
      } finally {
        await admin.close();
      }
    },
  };
}

export const trusted = (project: string, roles = 'member,reader') => ({
  'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${project}-user`, 'x-roles': roles,
});
