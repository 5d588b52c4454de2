// TaskRepository over Kysely (SQLite, PostgreSQL, MariaDB/MySQL). Contract: test/contract/task-repository.test.ts.
//
// Leases: a worker claims a task with one compare-and-set UPDATE on (status, lease_owner,
// lease_expires_at), so of several workers on several nodes exactly one wins; it renews the lease
// while it works (renew … WHERE lease_owner = me) and finishes with the same guard, so a worker that
// lost its lease (paused past the expiry, then woke up) can no longer overwrite the new holder's work.
// Expired tasks (expires_at before now) are left out of every read: Glance's lazy expiry.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import { internalTaskTypes, type Task, type TaskStatus, type TaskType } from '../domain/task.ts';
import type { TaskQueueStats } from '../ports/metrics.ts';
import type { ClaimedTask, TaskEmit, TaskListQuery, TaskRepository } from '../ports/tasks.ts';
import { writeOutbox } from './outbox-repository.ts';
import type { Database } from './connect.ts';
import { toBool, toDate, toNullableDate, toNumber } from './image-mapper.ts';
import type { Schema, TasksTable } from './schema.ts';

type TaskRow = Selectable<TasksTable>;
type TasksEb = ExpressionBuilder<Schema, 'tasks'>;

function parseJson(text: string | null): Record<string, unknown> | null {
  if (text === null || text === '') return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

export function taskFromRow(row: TaskRow): Task {
  return {
    id: row.id, type: row.type as TaskType, status: row.status as TaskStatus, owner: row.owner,
    imageId: row.image_id, requestId: row.request_id, userId: row.user_id,
    input: parseJson(row.input), result: parseJson(row.result), message: row.message ?? '',
    expiresAt: toNullableDate(row.expires_at), createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at),
    deleted: toBool(row.deleted), deletedAt: toNullableDate(row.deleted_at),
  };
}

const json = (value: Record<string, unknown> | null) => value === null ? null : JSON.stringify(value);

function live(eb: TasksEb, now: Date): Expression<SqlBool> {
  return eb.and([eb('deleted', '=', false), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);
}

export class SqlTaskRepository implements TaskRepository {
  private readonly db: Kysely<Schema>;

  constructor(database: Database) {
    this.db = database.db;
  }

  /** Runs `work` in a transaction that also writes the notifications of the task it returns. */
  private async withEvents<T>(options: TaskEmit | undefined, work: (db: Kysely<Schema>) => Promise<T>,
    stored: (result: T, db: Kysely<Schema>) => Promise<Task | undefined>): Promise<T> {
    const emit = options?.emit;
    if (!emit) return work(this.db);
    return this.db.transaction().execute(async (trx) => {
      const result = await work(trx);
      const task = await stored(result, trx);
      if (task) await writeOutbox(trx, emit(task));
      return result;
    });
  }

  private static async load(db: Kysely<Schema>, id: string): Promise<Task> {
    return taskFromRow(await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  }

  async create(task: Task, options?: TaskEmit): Promise<Task> {
    return this.withEvents(options, (db) => this.insert(db, task), async (t) => t);
  }

  private async insert(db: Kysely<Schema>, task: Task): Promise<Task> {
    await db.insertInto('tasks').values({
      id: task.id, type: task.type, status: task.status, owner: task.owner, image_id: task.imageId,
      request_id: task.requestId, user_id: task.userId, input: json(task.input), result: json(task.result),
      message: task.message, expires_at: task.expiresAt, created_at: task.createdAt, updated_at: task.updatedAt,
      deleted: task.deleted, deleted_at: task.deletedAt, lease_owner: null, lease_expires_at: null, attempts: 0,
    }).execute();
    return task;
  }

  async get(id: string, now: Date): Promise<Task | undefined> {
    const row = await this.db.selectFrom('tasks').selectAll().where('id', '=', id).where((eb) => live(eb, now))
      .executeTakeFirst();
    return row && taskFromRow(row);
  }

  async list(query: TaskListQuery): Promise<Task[]> {
    const { sortKey, sortDir, marker } = query;
    const key = sortKey === 'expires_at' ? 'created_at' : sortKey;
    let qb = this.db.selectFrom('tasks').selectAll().where((eb) => live(eb, query.now))
      .where('type', 'not in', [...internalTaskTypes]);
    if (query.owner !== undefined) qb = qb.where('owner', '=', query.owner);
    if (query.status !== undefined) qb = qb.where('status', '=', query.status);
    if (query.type !== undefined) qb = qb.where('type', '=', query.type);
    if (marker !== undefined) {
      const op = sortDir === 'asc' ? '>' : '<';
      const value = markerValue(marker, key);
      qb = key === 'id'
        ? qb.where('id', op, marker.id)
        : qb.where((eb) => eb.or([eb(key, op, value), eb.and([eb(key, '=', value), eb('id', op, marker.id)])]));
    }
    const rows = await qb.orderBy(key, sortDir).orderBy('id', sortDir).limit(query.limit).execute();
    return rows.map(taskFromRow);
  }

  async listForImage(imageId: string, now: Date, owner?: string): Promise<Task[]> {
    let qb = this.db.selectFrom('tasks').selectAll().where('image_id', '=', imageId).where((eb) => live(eb, now))
      .where('type', 'not in', [...internalTaskTypes]);
    if (owner !== undefined) qb = qb.where('owner', '=', owner);
    const rows = await qb.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map(taskFromRow);
  }

  /** Tasks pending and processing, and the wait of the oldest pending one (the metrics' queue gauges). */
  async queueStats(now: Date): Promise<TaskQueueStats> {
    const rows = await this.db.selectFrom('tasks')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('count'), (eb) => eb.fn.min('created_at').as('oldest')])
      .where('deleted', '=', false).where('status', 'in', ['pending', 'processing'])
      .groupBy('status').execute();
    const of = (status: string) => rows.find((r) => r.status === status);
    const oldest = of('pending')?.oldest;
    return {
      pending: Number(of('pending')?.count ?? 0),
      processing: Number(of('processing')?.count ?? 0),
      oldestPendingAgeSeconds: oldest ? Math.max(0, (now.getTime() - new Date(oldest as Date | string).getTime()) / 1000) : 0,
    };
  }

  async claim(worker: string, now: Date, leaseUntil: Date, preferId?: string, options?: TaskEmit): Promise<ClaimedTask | undefined> {
    return this.withEvents(options, (db) => this.claimWith(db, worker, now, leaseUntil, preferId), async (c) => c?.task);
  }

  private async claimWith(db: Kysely<Schema>, worker: string, now: Date, leaseUntil: Date, preferId?: string): Promise<ClaimedTask | undefined> {
    const runnable = (eb: TasksEb) => eb.and([
      eb('deleted', '=', false),
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)])]),
        eb.and([eb('status', '=', 'processing'), eb('lease_expires_at', '<', now)]),
      ]),
    ]);
    let candidates = await db.selectFrom('tasks').select(['id'])
      .where(runnable).orderBy('created_at', 'asc').limit(8).execute();
    if (preferId !== undefined) {
      candidates = [...candidates.filter((c) => c.id === preferId), ...candidates.filter((c) => c.id !== preferId)];
    }
    for (const candidate of candidates) {
      // The UPDATE re-checks `runnable`: a racing worker that claimed first made the task processing
      // with a live lease, so this statement then matches no row.
      const result = await db.updateTable('tasks')
        .set({ status: 'processing', lease_owner: worker, lease_expires_at: leaseUntil, updated_at: now,
          attempts: sql<number>`attempts + 1` as unknown as number })
        .where('id', '=', candidate.id)
        .where(runnable)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) continue;
      const row = await db.selectFrom('tasks').selectAll().where('id', '=', candidate.id).executeTakeFirstOrThrow();
      return { task: taskFromRow(row), lease: { owner: worker, expiresAt: leaseUntil, attempts: toNumber(row.attempts) } };
    }
    return undefined;
  }

  async renew(id: string, worker: string, now: Date, leaseUntil: Date): Promise<boolean> {
    const result = await this.db.updateTable('tasks').set({ lease_expires_at: leaseUntil, updated_at: now })
      .where('id', '=', id).where('lease_owner', '=', worker).where('status', '=', 'processing').executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async release(id: string, worker: string): Promise<void> {
    await this.db.updateTable('tasks').set({ status: 'pending', lease_owner: null, lease_expires_at: null })
      .where('id', '=', id).where('lease_owner', '=', worker).where('status', '=', 'processing').execute();
  }

  async finish(id: string, worker: string | null, outcome: Parameters<TaskRepository['finish']>[2],
    options?: TaskEmit): Promise<boolean> {
    return this.withEvents(options, (db) => this.finishWith(db, id, worker, outcome),
      async (done, db) => done ? SqlTaskRepository.load(db, id) : undefined);
  }

  private async finishWith(db: Kysely<Schema>, id: string, worker: string | null,
    outcome: Parameters<TaskRepository['finish']>[2]): Promise<boolean> {
    let qb = db.updateTable('tasks').set({
      status: outcome.status, result: json(outcome.result), message: outcome.message, expires_at: outcome.expiresAt,
      updated_at: outcome.now, lease_owner: null, lease_expires_at: null,
    }).where('id', '=', id);
    qb = worker === null ? qb.where('status', '=', 'pending').where('lease_owner', 'is', null)
      : qb.where('lease_owner', '=', worker).where('status', '=', 'processing');
    const result = await qb.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async saveResult(id: string, worker: string, result: Record<string, unknown>, now: Date): Promise<boolean> {
    const updated = await this.db.updateTable('tasks').set({ result: json(result), updated_at: now })
      .where('id', '=', id).where('lease_owner', '=', worker).where('status', '=', 'processing').executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }
}

function markerValue(marker: Task, key: Exclude<TaskListQuery['sortKey'], 'expires_at'>): string | Date {
  switch (key) {
    case 'created_at': return marker.createdAt;
    case 'updated_at': return marker.updatedAt;
    case 'id': return marker.id;
    case 'status': return marker.status;
    case 'type': return marker.type;
    case 'owner': return marker.owner;
  }
}
