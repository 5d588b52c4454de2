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
// - get: reads the row and its children in one statement (children aggregated as JSON), hence from
//   one snapshot on every dialect, so a concurrent update is seen entirely or not at all.
import { sql, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely';
import { conflict } from '../domain/errors.ts';
import type { Image, ImageMember } from '../domain/image.ts';
import type { CountLimit, ImageRepository, UpdateOptions } from '../ports/repositories.ts';
import { adjustImageCounts, checkNewImage, countsTowardsImages, ensureQuotaProject } from './quota-repository.ts';
import type { Database } from './connect.ts';
import {
  imageColumns, imageFromRows, locationRows, memberFromRow, propertyRows, tagRows,
  type ImageChildren, type ImageRow,
} from './image-mapper.ts';
import type { Schema } from './schema.ts';
import type { Dialect } from './url.ts';
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

type ChildList = 'image_properties' | 'image_tags' | 'image_locations';

/** The columns of a child table that the entity needs, as a JSON array per row. */
const childColumns: Record<ChildList, string[]> = {
  image_properties: ['name', 'value'],
  image_tags: ['value'],
  image_locations: ['position', 'value', 'meta_data', 'status'],
};

/**
 * A correlated subquery aggregating one image's rows of a child table into one JSON array of
 * arrays (`[[name, value], …]`): SQLite json_group_array, PostgreSQL json_agg, MySQL/MariaDB
 * JSON_ARRAYAGG. With no rows SQLite gives `[]`, the others NULL.
 */
function childrenJson(dialect: Dialect, table: ChildList): RawBuilder<unknown> {
  const columns = sql.join(childColumns[table].map((c) => sql.ref(`${table}.${c}`)));
  const aggregate = dialect === 'sqlite' ? sql`json_group_array(json_array(${columns}))`
    : dialect === 'postgres' ? sql`json_agg(json_build_array(${columns}))`
      : sql`JSON_ARRAYAGG(JSON_ARRAY(${columns}))`;
  return sql`(select ${aggregate} from ${sql.table(table)} where ${sql.ref(`${table}.image_id`)} = ${sql.ref('images.id')})`;
}

/** A child list as the driver returns it: JSON text (SQLite, MariaDB), parsed (pg, mysql2) or NULL. */
function jsonRows(value: unknown): unknown[][] {
  if (value === null || value === undefined) return [];
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed as unknown[][] : [];
}

/** The values bound in the compiled shapes of loadQuery; each call puts the image's (and member's) id in their place. */
const ID_SLOT = '\u0000image-id';
const MEMBER_SLOT = '\u0000member-id';

/** One member's row of the image as a JSON array [status, can_share, created_at, updated_at], or NULL. */
function membershipJson(dialect: Dialect): RawBuilder<unknown> {
  const columns = sql.join(['status', 'can_share', 'created_at', 'updated_at'].map((c) => sql.ref(`image_members.${c}`)));
  const array = dialect === 'sqlite' ? sql`json_array(${columns})`
    : dialect === 'postgres' ? sql`json_build_array(${columns})` : sql`JSON_ARRAY(${columns})`;
  return sql`(select ${array} from ${sql.table('image_members')} where ${sql.ref('image_members.image_id')} = ${sql.ref('images.id')} and ${sql.ref('image_members.member')} = ${MEMBER_SLOT})`;
}

function loadQuery(db: Executor, dialect: Dialect, includeDeleted: boolean, withMember: boolean): CompiledQuery<LoadRow> {
  let query = db.selectFrom('images').selectAll('images')
    .select([
      childrenJson(dialect, 'image_properties').as('child_properties'),
      childrenJson(dialect, 'image_tags').as('child_tags'),
      childrenJson(dialect, 'image_locations').as('child_locations'),
      (withMember ? membershipJson(dialect) : sql<null>`null`).as('child_membership'),
    ])
    .where('images.id', '=', ID_SLOT);
  if (!includeDeleted) query = query.where('images.deleted', '=', false);
  return query.compile();
}

type LoadRow = ImageRow & { child_properties: unknown; child_tags: unknown; child_locations: unknown; child_membership: unknown };

/**
 * A timestamp inside JSON: ISO text (SQLite, PostgreSQL with its offset) or MySQL/MariaDB's
 * `YYYY-MM-DD HH:MM:SS.ffffff`, which connect.ts's sessions keep in UTC.
 */
function jsonTimestamp(value: unknown): string {
  const text = String(value);
  return /^\d{4}-\d\d-\d\d \d/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
}

function membershipOf(value: unknown, imageId: string, memberId: string): ImageMember | undefined {
  if (value === null || value === undefined) return undefined;
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) return undefined;
  const [status, canShare, createdAt, updatedAt] = parsed as unknown[];
  return memberFromRow({
    image_id: imageId, member: memberId, status: String(status), can_share: canShare === true || canShare === 1,
    created_at: jsonTimestamp(createdAt), updated_at: jsonTimestamp(updatedAt),
  });
}

/**
 * One image with its properties, tags and locations in ONE statement (the children aggregated as
 * JSON by correlated subqueries): a single statement reads one snapshot on every dialect, so no
 * transaction is needed, and a GET costs one round trip instead of six (BEGIN, four SELECTs,
 * COMMIT). The statement is built and compiled once per dialect and flag (`shapes`); a call binds
 * the id (building it was ~6 % of a GET's CPU).
 */
async function loadRow(db: Executor, shapes: Map<string, CompiledQuery<LoadRow>>, dialect: Dialect, id: string,
  includeDeleted: boolean, memberId?: string): Promise<LoadRow | undefined> {
  const key = `${dialect}:${includeDeleted}:${memberId !== undefined}`;
  let shape = shapes.get(key);
  if (shape === undefined) {
    shape = loadQuery(db, dialect, includeDeleted, memberId !== undefined);
    shapes.set(key, shape);
  }
  const compiled: CompiledQuery<LoadRow> = {
    ...shape, parameters: shape.parameters.map((p) => (p === ID_SLOT ? id : p === MEMBER_SLOT ? memberId : p)),
  };
  return (await db.executeQuery(compiled)).rows[0];
}

async function load(db: Executor, shapes: Map<string, CompiledQuery<LoadRow>>, dialect: Dialect, id: string,
  includeDeleted: boolean): Promise<Image | undefined> {
  const found = await loadRow(db, shapes, dialect, id, includeDeleted);
  return found && imageOf(found, id);
}

function imageOf(found: LoadRow, id: string): Image {
  // imageFromRows reads the image's own columns by name; the child_* ones are simply not read.
  const row: ImageRow = found;
  const children: ImageChildren = {
    properties: jsonRows(found.child_properties).map(([name, value]) => ({ image_id: id, name: String(name), value: value === null ? null : String(value) })),
    tags: jsonRows(found.child_tags).map(([value]) => ({ image_id: id, value: String(value) })),
    locations: jsonRows(found.child_locations).map(([position, value, metaData, status]) => ({
      image_id: id, position: Number(position), value: String(value), meta_data: String(metaData), status: String(status),
      created_at: row.updated_at, updated_at: row.updated_at,
    })),
  };
  return imageFromRows(row, children);
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
  /** load()'s compiled statements. */
  private readonly shapes = new Map<string, CompiledQuery<LoadRow>>();

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
      const stored = (await load(trx, this.shapes, this.database.dialect, image.id, true))!;
      if (options.emit) await writeOutbox(trx, options.emit(stored));
      // Last, so that the owner's quota row is locked only until the commit.
      if (counted && !countLimit) await adjustImageCounts(trx, this.database.dialect, undefined, image, true);
      return stored;
    });
  }

  async get(id: string, options: { includeDeleted?: boolean } = {}): Promise<Image | undefined> {
    return load(this.database.db, this.shapes, this.database.dialect, id, options.includeDeleted === true);
  }

  async getWithMembership(id: string, memberId: string): Promise<{ image: Image; membership: ImageMember | undefined } | undefined> {
    const found = await loadRow(this.database.db, this.shapes, this.database.dialect, id, false, memberId);
    if (!found) return undefined;
    return { image: imageOf(found, id), membership: membershipOf(found.child_membership, id, memberId) };
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
      const stored = (await load(trx, this.shapes, this.database.dialect, image.id, true))!;
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
