// The task engine on a real (SQLite) task table: outcomes, unexpected errors, release on stop,
// the attempts cap, and a lost lease that silences the old holder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import type { Task } from '../../src/domain/task.ts';
import { TaskWorker, type TaskHandler } from '../../src/tasks/worker.ts';

let dir: string;
let database: Database;
let repo: SqlTaskRepository;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glimpse-worker-'));
  database = await openDatabase(`sqlite:///${join(dir, 'g.db')}`);
  await migrateToLatest(database);
  repo = new SqlTaskRepository(database);
});
after(async () => { await database.close(); rmSync(dir, { recursive: true, force: true }); });

const log = pino({ level: 'silent' });

async function newTask(): Promise<Task> {
  const now = new Date();
  return repo.create({ id: randomUUID(), type: 'api_image_import', status: 'pending', owner: 'p', imageId: null,
    requestId: null, userId: null, input: {}, result: null, message: '', expiresAt: null, createdAt: now, updatedAt: now,
    deleted: false, deletedAt: null });
}

function worker(handler: TaskHandler, extra: Partial<ConstructorParameters<typeof TaskWorker>[0]> = {}) {
  return new TaskWorker({ tasks: repo, handlers: { api_image_import: handler }, log, leaseSeconds: 30,
    pollIntervalSeconds: 60, timeToLiveHours: 1, ...extra });
}

test('a handler outcome is stored with expires_at; an unexpected error becomes a failure with its message', async () => {
  const ok = await newTask();
  const w = worker(async () => ({ status: 'success', result: { n: 1 }, message: '' }));
  await w.pollOnce();
  await w.idle();
  const done = await repo.get(ok.id, new Date());
  assert.equal(done?.status, 'success');
  assert.deepEqual(done?.result, { n: 1 });
  assert.ok(done!.expiresAt!.getTime() > Date.now() + 3000_000);

  const bad = await newTask();
  const w2 = worker(async () => { throw new Error('disk on fire'); });
  await w2.pollOnce();
  await w2.idle();
  const failed = await repo.get(bad.id, new Date());
  assert.equal(failed?.status, 'failure');
  assert.equal(failed?.message, 'disk on fire');
});

test('stop() aborts a running task and hands it back (pending) for another worker', async () => {
  const t = await newTask();
  let started!: () => void;
  const running = new Promise<void>((r) => { started = r; });
  const w = worker((run) => new Promise((_resolve, reject) => {
    started();
    run.signal.addEventListener('abort', () => reject(run.signal.reason));
  }));
  await w.pollOnce();
  await running;
  await w.stop();
  assert.equal((await repo.get(t.id, new Date()))?.status, 'pending');
  const next = worker(async () => ({ status: 'success', result: null, message: '' }));
  await next.pollOnce();
  await next.idle();
  assert.equal((await repo.get(t.id, new Date()))?.status, 'success');
});

test('a task claimed more than maxAttempts times is failed instead of run again', async () => {
  const t = await newTask();
  let runs = 0;
  for (let i = 0; i < 3; i++) {
    // Each worker "dies": claim, then the lease is forced to expire.
    const claimed = await repo.claim(`dead${i}`, new Date(), new Date(Date.now() - 1), t.id);
    assert.equal(claimed?.task.id, t.id);
  }
  const w = worker(async () => { runs++; return { status: 'success', result: null, message: '' }; }, { maxAttempts: 3 });
  await w.pollOnce();
  await w.idle();
  const failed = await repo.get(t.id, new Date());
  assert.equal(runs, 0);
  assert.equal(failed?.status, 'failure');
  assert.match(failed!.message, /abandoned after 3 attempts/);
});

test('a worker whose lease was taken over is aborted and its outcome is dropped', async () => {
  const t = await newTask();
  let aborted = false;
  const slow = worker((run) => new Promise((resolve) => {
    run.signal.addEventListener('abort', () => { aborted = true; resolve({ status: 'failure', result: null, message: 'late' }); });
  }), { leaseSeconds: 1.5, keepProcessAlive: true });
  await slow.pollOnce();
  // Simulate a pause past the lease: another worker takes the task over and finishes it.
  await database.db.updateTable('tasks').set({ lease_expires_at: new Date(Date.now() - 1) }).where('id', '=', t.id).execute();
  const other = worker(async () => ({ status: 'success', result: { by: 'other' }, message: '' }));
  await other.pollOnce();
  await other.idle();
  await slow.idle();
  assert.equal(aborted, true, 'the old holder noticed at its next renewal');
  const done = await repo.get(t.id, new Date());
  assert.equal(done?.status, 'success');
  assert.deepEqual(done?.result, { by: 'other' });
  await slow.stop();
});
