// /healthcheck in oslo.middleware's shape: 200 "OK", or 503 with the reasons: the operator's
// disable file exists, the metadata database does not answer, or the default store cannot be
// written to (every upload would fail). With `[healthcheck] detailed`, the answer also lists the
// state of each part: the database, every store (reachable, writable) and the task worker.
import { existsSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { DatabaseHealth } from '../ports/repositories.ts';

/** A store's state as stores/health.ts probes it. */
export interface StoreHealthReport {
  id: string;
  type: string;
  isDefault: boolean;
  checked: boolean;
  reachable?: boolean;
  writable?: boolean;
  reason?: string;
}

export interface WorkerHealthReport {
  id: string;
  running: boolean;
  tasksRunning: number;
  lastPollAt?: string;
  lastPollError?: string;
}

export interface HealthcheckOptions {
  disableByFilePath?: string;
  database: DatabaseHealth;
  /** How long the database may take to answer before it counts as down. */
  timeoutMs?: number;
  /** oslo.middleware's `detailed`. */
  detailed?: boolean;
  /** Probes the stores (cached by the caller). */
  stores?: () => Promise<StoreHealthReport[]>;
  /** This process's task worker, when it runs one. */
  worker?: () => WorkerHealthReport;
}

interface Check {
  reason: string;
  details: string;
  ok: boolean;
}

async function databaseCheck(options: HealthcheckOptions): Promise<Check> {
  const timeoutMs = options.timeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  try {
    await Promise.race([
      options.database.ping(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    return { ok: true, reason: 'OK', details: `database answered in ${Date.now() - started} ms` };
  } catch (error) {
    return { ok: false, reason: 'DATABASE UNAVAILABLE', details: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

function storeCheck(store: StoreHealthReport): Check {
  const what = `store ${store.id} (${store.type}${store.isDefault ? ', default' : ''})`;
  if (!store.checked) return { ok: true, reason: 'OK', details: `${what}: not checked by this driver` };
  if (store.writable) return { ok: true, reason: 'OK', details: `${what}: reachable, writable` };
  return { ok: false, reason: store.isDefault ? 'DEFAULT STORE UNAVAILABLE' : 'STORE UNAVAILABLE',
    details: `${what}: ${store.reachable ? 'reachable' : 'unreachable'}, not writable: ${store.reason ?? 'unknown reason'}` };
}

function workerCheck(worker: WorkerHealthReport): Check {
  const details = `task worker ${worker.id}: ${worker.running ? 'running' : 'stopped'}, ${worker.tasksRunning} task(s) running`
    + (worker.lastPollAt ? `, last looked for tasks at ${worker.lastPollAt}` : '')
    + (worker.lastPollError ? `, which failed: ${worker.lastPollError}` : '');
  return { ok: worker.running && worker.lastPollError === undefined, reason: worker.running ? 'OK' : 'TASK WORKER STOPPED', details };
}

async function checks(options: HealthcheckOptions): Promise<{ failures: string[]; all: Check[] }> {
  if (options.disableByFilePath && existsSync(options.disableByFilePath)) {
    return { failures: ['DISABLED BY FILE'], all: [{ ok: false, reason: 'DISABLED BY FILE', details: options.disableByFilePath }] };
  }
  const [database, stores] = await Promise.all([databaseCheck(options), options.stores?.() ?? Promise.resolve([])]);
  const all = [database, ...stores.map(storeCheck), ...(options.worker ? [workerCheck(options.worker())] : [])];
  // Only what makes this node unable to serve fails the check: the database and the default store.
  const failing = [database, ...stores.filter((s) => s.isDefault).map(storeCheck)].filter((c) => !c.ok);
  return { failures: [...new Set(failing.map((c) => c.reason))], all };
}

export function healthcheckHandler(options: HealthcheckOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { failures, all } = await checks(options);
    const ok = failures.length === 0;
    const lines = ok ? ['OK'] : failures;
    reply.code(ok ? 200 : 503);
    const type = new Negotiator({ headers: { accept: request.headers.accept ?? '*/*' } })
      .mediaType(['text/plain', 'application/json']);
    if (!options.detailed) {
      if (type === 'application/json') {
        return reply.type('application/json').send(JSON.stringify({ detailed: false, reasons: lines }, null, 4));
      }
      return reply.type('text/plain; charset=UTF-8').send(lines.join('\n'));
    }
    const reasons = all.map((c) => ({ reason: c.reason, details: c.details, class: c.ok ? 'HealthcheckResult' : 'HealthcheckFailure' }));
    if (type === 'application/json') {
      return reply.type('application/json').send(JSON.stringify({
        detailed: true, now: new Date().toISOString(), platform: `${process.platform} ${process.arch}`,
        node_version: process.version, pid: process.pid, uptime_seconds: Math.round(process.uptime()), reasons,
      }, null, 4));
    }
    return reply.type('text/plain; charset=UTF-8')
      .send([...lines, '', ...all.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.details}`)].join('\n'));
  };
}
