// QuotaRepository over Kysely (SQLite, PostgreSQL, MariaDB/MySQL): usage counted as Glance counts
// it (glance/db/sqlalchemy/api.py, the user_get_*_usage / _count functions) and the reservations of
// migration 0011. Contract: test/contract/quota-repository.test.ts.
//
// reserve() is exact across nodes: it first bumps the project's quota_projects row, whose row lock
// every other reserving transaction of the project then waits for; then it reads the live
// reservations and only after them the usage. Releases run after the change they stand for has
// committed (the image created, the data stored), so a concurrent reader that misses a released
// reservation sees what replaced it: reading reservations first makes that hold under READ
// COMMITTED too, where each statement sees what committed before it began.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  QUOTA_RESOURCES, type OverLimit, type ProjectUsage, type QuotaRepository, type QuotaResource, type ReserveRequest,
  type ReserveResult,
} from '../ports/quotas.ts';
import type { Database } from './connect.ts';
import { toNumber } from './image-mapper.ts';
import type { Schema } from './schema.ts';

/** Image statuses that hold nothing (Glance leaves them out of every quota count). */
const GONE = ['killed', 'deleted', 'pending_delete'];
/** Statuses of an image whose data is on its way in (upload, stage, import). */
const TRANSFERRING = ['saving', 'uploading', 'importing'];
/** Set (non-empty) while copy-image or a multi-store import is writing to more stores. */
const IMPORTING_TO_STORES = 'os_glance_importing_to_stores';

type Db = Kysely<Schema> | Transaction<Schema>;

export class SqlQuotaRepository implements QuotaRepository {
  private readonly db: Kysely<Schema>;

  constructor(private readonly database: Database) {
    this.db = database.db;
  }

  async usage(projectId: string): Promise<ProjectUsage> {
    return usageOf(this.db, projectId);
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    if (request.amounts.image_count_total !== undefined) {
      throw new Error('image_count_total is not reserved: an image create counts itself (checkNewImage)');
    }
    await ensureQuotaProject(this.db, this.database.dialect, request.projectId);
    return this.db.transaction().execute(async (trx) => {
      const over = await lockAndCheck(trx, this.database.dialect, request);
      if (over.length > 0) return { ok: false, over };
      const id = request.reservationId ?? randomUUID();
      for (const resource of QUOTA_RESOURCES.filter((r) => request.amounts[r] !== undefined)) {
        const amount = request.amounts[resource]!;
        if (request.reservationId !== undefined) {
          const grown = await trx.updateTable('quota_reservations')
            .set({ amount: sql<number>`amount + ${amount}`, lease_expires_at: request.leaseUntil })
            .where('id', '=', id).where('resource', '=', resource).executeTakeFirst();
          if (Number(grown.numUpdatedRows) > 0) continue;
        }
        await trx.insertInto('quota_reservations').values({
          id, resource, project_id: request.projectId, image_id: request.imageId ?? null, owner: request.owner, amount,
          lease_expires_at: request.leaseUntil,
        }).execute();
      }
      return { ok: true, reservationId: id };
    });
  }

  async release(reservationId: string): Promise<void> {
    await this.db.deleteFrom('quota_reservations').where('id', '=', reservationId).execute();
  }

  async renew(owner: string, reservationIds: string[], leaseUntil: Date): Promise<void> {
    for (let i = 0; i < reservationIds.length; i += 500) {
      await this.db.updateTable('quota_reservations').set({ lease_expires_at: leaseUntil })
        .where('owner', '=', owner).where('id', 'in', reservationIds.slice(i, i + 500)).execute();
    }
  }

  async sweep(now: Date): Promise<number> {
    const result = await this.db.deleteFrom('quota_reservations').where('lease_expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

}

/**
 * Creates the project's lock row if missing, in a statement of its own (autocommit). Done before the
 * transaction that locks it: on MariaDB/InnoDB, concurrent transactions that each find no row and then
 * insert it take gap locks that deadlock one another; a row that already exists is simply locked in turn.
 */
export async function ensureQuotaProject(db: Kysely<Schema>, dialect: Database['dialect'], projectId: string): Promise<void> {
  // Rows are never deleted: once seen, a project's row needs no more statements from this process.
  let known = knownProjects.get(db);
  if (known?.has(projectId)) return;
  const insert = db.insertInto('quota_projects').values({ project_id: projectId, serial: 0 });
  if (dialect === 'mysql') await insert.ignore().execute();
  else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
  if (!known || known.size >= 100_000) knownProjects.set(db, known = new Set());
  known.add(projectId);
}

/** The projects whose quota_projects row this process has seen, per database. */
const knownProjects = new WeakMap<Kysely<Schema>, Set<string>>();

/**
 * Inside `trx`: takes the project's lock row (created on first use), then checks usage + the live
 * reservations (but `request.reservationId`'s) + the amounts against the limits; the resources that
 * would go over. Also used by image create (db/image-repository.ts), which inserts the image in the
 * same transaction instead of recording a reservation. Two statements: the lock, then one SELECT of
 * every reservation sum and usage count, read from one snapshot taken after the lock: a release
 * that it sees has what replaced it (committed before the release) in the counts.
 */
export async function lockAndCheck(trx: Transaction<Schema>, dialect: Database['dialect'],
  request: Pick<ReserveRequest, 'projectId' | 'amounts' | 'limits' | 'now' | 'reservationId'>): Promise<OverLimit[]> {
  const { projectId } = request;
  const bump = () => trx.updateTable('quota_projects').set({ serial: sql<number>`serial + 1` })
    .where('project_id', '=', projectId).executeTakeFirst();
  if (Number((await bump()).numUpdatedRows) === 0) {
    const insert = trx.insertInto('quota_projects').values({ project_id: projectId, serial: 0 });
    if (dialect === 'mysql') await insert.ignore().execute();
    else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
    await bump();
  }
  const resources = QUOTA_RESOURCES.filter((r) => request.amounts[r] !== undefined);
  if (resources.length === 0) return [];
  const row = await trx.selectNoFrom((eb) => [
    ...resources.map((resource) => {
      let reserved = eb.selectFrom('quota_reservations')
        .select((e) => e.fn.coalesce(e.fn.sum<number | string | null>('amount'), sql<number>`0`).as('n'))
        .where('project_id', '=', projectId)
        .where('resource', '=', resource)
        .where('lease_expires_at', '>', request.now);
      if (request.reservationId !== undefined) reserved = reserved.where('id', '!=', request.reservationId);
      return reserved.as(`reserved_${resource}`);
    }),
    ...resources.map((resource) => usageQuery(trx, projectId, resource).as(`used_${resource}`)),
  ]).executeTakeFirstOrThrow() as Record<string, number | string | null>;
  const over: OverLimit[] = [];
  for (const resource of resources) {
    const limit = request.limits[resource] ?? 0;
    const delta = request.amounts[resource]!;
    const held = toNumber(row[`used_${resource}`] ?? 0) + toNumber(row[`reserved_${resource}`] ?? 0);
    if (limit >= 0 && held + delta > limit) over.push({ resource, limit, usage: held, delta });
  }
  return over;
}

/** Whether an image with this owner and status counts towards its owner's image_count_total. */
export function countsTowardsImages(image: { owner: string | null; status: string }): boolean {
  return image.owner !== null && !GONE.includes(image.status);
}

/**
 * Inside the transaction that inserts a new image of `projectId` (counted: not in a GONE status):
 * takes the project's lock row and adds the image to quota_projects.images in one statement, counting
 * the project's images instead only when that number is not known yet (migration 0014). Returns
 * the over-limit entry when the project already holds `limit` images (the caller throws, which
 * rolls the increment back with everything else). image_count_total is never reserved, so there
 * are no reservations to add.
 */
export async function checkNewImage(trx: Transaction<Schema>, dialect: Database['dialect'], projectId: string,
  limit: number): Promise<OverLimit[]> {
  let after = await bumpWithImage(trx, dialect, projectId);
  if (after === undefined) {
    const insert = trx.insertInto('quota_projects').values({ project_id: projectId, serial: 0 });
    if (dialect === 'mysql') await insert.ignore().execute();
    else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
    after = await bumpWithImage(trx, dialect, projectId);
  }
  let images = after === undefined || after.images === null ? undefined : toNumber(after.images);
  // Counted when unknown, and again before refusing (so a count that drifted high cannot refuse
  // wrongly). Read after the lock: on PostgreSQL (read committed) and MySQL (the read view starts at
  // the first plain read) this sees every committed change; uncommitted ones wait for the lock.
  if (images === undefined || (limit >= 0 && images > limit)) {
    const row = await usageQuery(trx, projectId, 'image_count_total').executeTakeFirstOrThrow();
    images = toNumber(row.n) + 1;
    await trx.updateTable('quota_projects').set({ images }).where('project_id', '=', projectId).execute();
  }
  const usage = images - 1;
  return limit >= 0 && usage + 1 > limit ? [{ resource: 'image_count_total', limit, usage, delta: 1 }] : [];
}

/** Bumps the project's lock row and its image count (NULL stays NULL); the new count, or undefined without a row. */
async function bumpWithImage(trx: Transaction<Schema>, dialect: Database['dialect'], projectId: string):
  Promise<{ images: number | string | null } | undefined> {
  const update = trx.updateTable('quota_projects')
    .set({ serial: sql<number>`serial + 1`, images: sql<number>`images + 1` })
    .where('project_id', '=', projectId);
  if (dialect !== 'mysql') return update.returning('images').executeTakeFirst();
  if (Number((await update.executeTakeFirst()).numUpdatedRows) === 0) return undefined;
  return trx.selectFrom('quota_projects').select('images').where('project_id', '=', projectId).forUpdate().executeTakeFirst();
}

/**
 * Inside the transaction that inserts or changes an image: keeps quota_projects.images of the
 * projects concerned in step (-1 where the image stops counting, +1 where it starts). The update
 * takes each row's lock even when its count is unknown (NULL + 1 stays NULL), so a create that is
 * counting the project meanwhile either waits for this transaction or is waited for. A missing row is
 * created first (`ensured`: the caller already made sure it exists), so that no count can start
 * without seeing this change or waiting for it. Rows are locked in project order, so two owner
 * changes in opposite directions cannot deadlock.
 */
export async function adjustImageCounts(trx: Transaction<Schema>, dialect: Database['dialect'],
  before: { owner: string | null; status: string } | undefined, after: { owner: string | null; status: string },
  ensured = false): Promise<void> {
  const changes = new Map<string, number>();
  if (before && countsTowardsImages(before)) changes.set(before.owner!, -1);
  if (countsTowardsImages(after)) changes.set(after.owner!, (changes.get(after.owner!) ?? 0) + 1);
  for (const [projectId, delta] of [...changes].filter(([, d]) => d !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!ensured) {
      const insert = trx.insertInto('quota_projects').values({ project_id: projectId, serial: 0 });
      if (dialect === 'mysql') await insert.ignore().execute();
      else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
    }
    await trx.updateTable('quota_projects').set({ images: sql<number>`images + ${delta}` })
      .where('project_id', '=', projectId).execute();
  }
}

/** Glance's usage of `projectId` for every resource, in one statement: bytes for the sizes, images for the counts. */
async function usageOf(db: Db, projectId: string): Promise<ProjectUsage> {
  const row = await db.selectNoFrom(() => QUOTA_RESOURCES.map((resource) => usageQuery(db, projectId, resource).as(resource)))
    .executeTakeFirstOrThrow() as Record<string, number | string | null>;
  const usage = {} as ProjectUsage;
  for (const resource of QUOTA_RESOURCES) usage[resource] = toNumber(row[resource] ?? 0);
  return usage;
}

/** The scalar subquery of Glance's usage of `resource` by `projectId`. */
function usageQuery(db: Db, projectId: string, resource: QuotaResource) {
  const copying = db.selectFrom('image_properties').select('image_id')
    .where('name', '=', IMPORTING_TO_STORES).where('value', '!=', '').where('value', 'is not', null);
  const sizeSum = sql<number | string>`coalesce(sum(images.size), 0)`;
  switch (resource) {
    case 'image_size_total':
      // Each image's size once per location that is not deleted: data kept in two stores counts twice.
      return db.selectFrom('images').innerJoin('image_locations', 'image_locations.image_id', 'images.id')
        .select(sizeSum.as('n'))
        .where('images.owner', '=', projectId).where('images.size', '>', 0)
        .where('images.status', 'not in', GONE).where('image_locations.status', '!=', 'deleted');
    case 'image_stage_total':
      // Staged data: images uploading (staged) or importing, and images being copied to more stores.
      return db.selectFrom('images')
        .select(sizeSum.as('n'))
        .where('images.owner', '=', projectId).where('images.size', '>', 0)
        .where((eb) => eb.or([
          eb('images.status', 'in', ['uploading', 'importing']),
          eb.and([eb('images.status', 'not in', [...GONE, 'uploading', 'importing']), eb('images.id', 'in', copying)]),
        ]));
    case 'image_count_total':
      return db.selectFrom('images').select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('images.owner', '=', projectId).where('images.status', 'not in', GONE);
    case 'image_count_uploading':
      return db.selectFrom('images').select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('images.owner', '=', projectId)
        .where((eb) => eb.or([
          eb('images.status', 'in', TRANSFERRING),
          eb.and([eb('images.status', 'not in', [...GONE, ...TRANSFERRING]), eb('images.id', 'in', copying)]),
        ]));
  }
}
