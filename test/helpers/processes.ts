// Real Glimpse processes for multi-node tests: `glimpse serve` / `glimpse worker` children on
// ephemeral ports sharing one database, one staging directory and one image store.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

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

/**
 * Starts `glimpse <command>` with `conf` as its config file (written to `dir/<name>.conf`); waits until
 * it is up (its output shows `ready`; by default the line each command prints when it has started).
 */
export async function startGlimpse(dir: string, name: string, command: 'serve' | 'worker', conf: string,
  readyText?: string): Promise<Child> {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const port = /bind_port = (\d+)/.exec(conf)?.[1];
  const child = spawn(process.execPath, [bin, command, '--config-file', file], { cwd: dir, env: cleanEnv() });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = readyText ?? (command === 'serve' ? 'serving the Images API' : 'task worker');
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

/** Waits up to `ms` for `pattern` to appear in the child's output (log lines arrive after the work they report). */
export async function waitForOutput(child: Child, pattern: RegExp, ms = 30000): Promise<string> {
  const until = Date.now() + ms;
  while (!pattern.test(child.output()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return child.output();
}

export const trusted = (project: string, roles = 'member,reader') => ({
  'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${project}-user`, 'x-roles': roles,
});

/** Sends SIGTERM to a child that is still running and waits for it to exit. */
export async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
