// ImageRepository over Kysely (SQLite, PostgreSQL, MariaDB/MySQL).
//
// Contracts (test/contract/image-repository.test.ts):
// - create: one transaction; a used id, also of a soft-deleted image, → Conflict `image.duplicate_id`.
//   The stored version starts at 1 whatever the entity says.
// - update: compare-and-set in one transaction: `UPDATE images SET …, version = version + 1
//   WHERE id = ? AND version = ? [AND status = ?]`; zero rows → Conflict `image.version_conflict`,
//   otherwise the image's properties, tags and locations are replaced in the same transaction.
//   Racing updates with the same expected version: the row lock makes the loser re-check the
//   WHERE clause against the winner's committed row (PG read committed re-evaluation, InnoDB's
//   locking read, SQLite's single writer), so exactly one succeeds.
// - get: reads the row and its children from one snapshot (REPEATABLE READ on PG/MySQL; SQLite
//   transactions are serializable), so a concurrent update is seen entirely or not at all.
import type { Kysely } from 'kysely';
import { conflict } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import type { CountLimit, ImageRepository, UpdateOptions } from '../ports/repositories.ts';
import { adjustImageCounts, checkNewImage, countsTowardsImages, ensureQuotaProject } from './quota-repository.ts';
import type { Database } from './connect.ts';
import {
  imageColumns, imageFromRows, locationRows, propertyRows, tagRows,
  type ImageChildren, type ImageRow,
} from './image-mapper.ts';
import type { Schema } from './schema.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { writeOutbox } from './outbox-repository.ts';
import type { Emit } from '../ports/events.ts';

type Executor = Kysely<Schema>;

/** SQLite's parameter limit is 32766; stay well below it for multi-row inserts and IN lists. */
const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Loads properties, tags and locations for a page of image rows with three queries (not 3 × N).
 * Call it inside the transaction that read the rows, so rows and children share one snapshot.
 * The queries run one after another: a transaction is one connection, which runs one query at a time.
 */
export async function hydrate(db: Executor, rows: ImageRow[]): Promise<Image[]> {
  const children = new Map<string, ImageChildren>(rows.map((r) => [r.id, { properties: [], tags: [], locations: [] }]));
  for (const ids of chunks(rows.map((r) => r.id))) {
    const properties = await db.selectFrom('image_properties').selectAll().where('image_id', 'in', ids).execute();
    const tags = await db.selectFrom('image_tags').selectAll().where('image_id', 'in', ids).execute();
    const locations = await db.selectFrom('image_locations').selectAll().where('image_id', 'in', ids).execute();
    for (const p of properties) children.get(p.image_id)?.properties.push(p);
    for (const t of tags) children.get(t.image_id)?.tags.push(t);
    for (const l of locations) children.get(l.image_id)?.locations.push(l);
  }
  return rows.map((row) => imageFromRows(row, children.get(row.id)!));
}

async function load(db: Executor, id: string, includeDeleted: boolean): Promise<Image | undefined> {
  let query = db.selectFrom('images').selectAll().where('id', '=', id);
  if (!includeDeleted) query = query.where('deleted', '=', false);
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  return (await hydrate(db, [row]))[0];
}

async function writeChildren(db: Executor, image: Image): Promise<void> {
  for (const rows of chunks(propertyRows(image))) await db.insertInto('image_properties').values(rows).execute();
  for (const rows of chunks(tagRows(image))) await db.insertInto('image_tags').values(rows).execute();
  for (const rows of chunks(locationRows(image))) await db.insertInto('image_locations').values(rows).execute();
}

async function deleteChildren(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('image_properties').where('image_id', '=', id).execute();
  await db.deleteFrom('image_tags').where('image_id', '=', id).execute();
  await db.deleteFrom('image_locations').where('image_id', '=', id).execute();
}

/** A consistent read-only snapshot for multi-statement reads (SQLite transactions already are). */
export function readTransaction(database: Database) {
  const builder = database.db.transaction();
  return database.dialect === 'sqlite' ? builder : builder.setIsolationLevel('repeatable read').setAccessMode('read only');
}

export class SqlImageRepository implements ImageRepository {
  constructor(private readonly database: Database) {}

  async create(image: Image, options: { emit?: Emit<Image>; countLimit?: CountLimit } = {}): Promise<Image> {
    const counted = countsTowardsImages(image);
    const countLimit = counted ? options.countLimit : undefined;
    // The owner's quota row exists before the image does, so a count of its images (migration 0014)
    // started by another node either waits for this create or is waited for.
    if (counted) await ensureQuotaProject(this.database.db, this.database.dialect, image.owner!);
    return this.database.db.transaction().execute(async (trx) => {
      if (countLimit) {
        // Locks the owner's quota row and counts the image in (quota_projects.images, migration 0014).
        const over = await checkNewImage(trx, this.database.dialect, image.owner!, countLimit.limit);
        if (over.length > 0) throw countLimit.refuse(over);
      }
      try {
        await trx.insertInto('images').values({ id: image.id, ...imageColumns(image), version: 1 }).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('Image ID {id} already exists!', { id: image.id }, 'image.duplicate_id');
        throw error;
      }
      await writeChildren(trx, image);
      const stored = (await load(trx, image.id, true))!;
      if (options.emit) await writeOutbox(trx, options.emit(stored));
      // Last, so that the owner's quota row is locked only until the commit.
      if (counted && !countLimit) await adjustImageCounts(trx, this.database.dialect, undefined, image, true);
      return stored;
    });
  }

  async get(id: string, options: { includeDeleted?: boolean } = {}): Promise<Image | undefined> {
    return readTransaction(this.database).execute((trx) => load(trx, id, options.includeDeleted === true));
  }

  async update(image: Image, options: UpdateOptions): Promise<Image> {
    return this.database.db.transaction().execute(async (trx) => {
      // The owner and status being replaced, for the owners' image counts (quota_projects.images).
      // Read at the expected version: if the row moves on before the update, the update finds nothing.
      const before = await trx.selectFrom('images').select(['owner', 'status'])
        .where('id', '=', image.id).where('version', '=', options.expectVersion).executeTakeFirst();
      let query = trx.updateTable('images')
        .set({ ...imageColumns(image), version: (eb) => eb('version', '+', 1) })
        .where('id', '=', image.id)
        .where('version', '=', options.expectVersion);
      if (options.expectStatus !== undefined) query = query.where('status', '=', options.expectStatus);
      const result = await query.executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) {
        throw conflict('Image {id} was changed by another request; reload it and try again.',
          { id: image.id, expectVersion: options.expectVersion, expectStatus: options.expectStatus },
          'image.version_conflict');
      }
      if (before && (before.owner !== image.owner || countsTowardsImages(before) !== countsTowardsImages(image))) {
        await adjustImageCounts(trx, this.database.dialect, before, image);
      }
      await deleteChildren(trx, image.id);
      await writeChildren(trx, image);
      const stored = (await load(trx, image.id, true))!;
      if (options.emit) await writeOutbox(trx, options.emit(stored));
      return stored;
    });
  }

  async locationInUse(url: string, exceptImageId: string): Promise<boolean> {
    const row = await this.database.db.selectFrom('image_locations as l')
      .innerJoin('images as i', 'i.id', 'l.image_id')
      .select('l.image_id')
      .where('l.value', '=', url)
      .where('l.image_id', '<>', exceptImageId)
      .where('l.status', 'in', ['active', 'pending_delete'])
      .where('i.status', '<>', 'deleted')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async pendingDeletes(options: { deletedBefore: Date; afterId?: string; limit: number }): Promise<Image[]> {
    return readTransaction(this.database).execute(async (trx) => {
      let query = trx.selectFrom('images').selectAll()
        .where('status', '=', 'pending_delete')
        .where('deleted_at', '<=', options.deletedBefore)
        .orderBy('id')
        .limit(options.limit);
      if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
      return hydrate(trx, await query.execute());
    });
  }
}
