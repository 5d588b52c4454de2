// TransferRepository over Kysely (SQLite, PostgreSQL, MariaDB/MySQL): the image_transfers table of
// migration 0007. Contract: test/contract/transfer-repository.test.ts.
//
// Leases work as the task worker's do (task-repository.ts): the owner renews all its rows with one
// UPDATE … WHERE owner = me; a sweeper takes an expired row over with one compare-and-set UPDATE on
// (image_id, owner, lease_expires_at < now), so of several sweepers on several nodes exactly one wins.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ImageStatus } from '../domain/image.ts';
import type { StrandedImage, Transfer, TransferKind, TransferRepository } from '../ports/transfers.ts';
import type { Database } from './connect.ts';
import { toDate } from './image-mapper.ts';
import type { ImageTransfersTable, Schema } from './schema.ts';

/** The image property holding the import lock (tasks/import-input.ts IMPORT_PROPS.lock). */
const LOCK_PROPERTY = 'os_glance_import_task';
/** Image ids per renewing statement (well below every dialect's bound-parameter limit). */
const RENEW_BATCH = 500;

function fromRow(row: Selectable<ImageTransfersTable>): Transfer {
  return {
    imageId: row.image_id, kind: row.kind as TransferKind, store: row.store,
    revertStatus: row.revert_status as Transfer['revertStatus'], owner: row.owner,
    startedAt: toDate(row.started_at), leaseExpiresAt: toDate(row.lease_expires_at),
  };
}

export class SqlTransferRepository implements TransferRepository {
  private readonly db: Kysely<Schema>;

  constructor(database: Database) {
    this.db = database.db;
  }

  async begin(transfer: Transfer): Promise<void> {
    // The image's status compare-and-set (queued → saving/uploading) before this made the transfer
    // exclusive; a row still here belongs to a transfer that ended without removing it.
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('image_transfers').where('image_id', '=', transfer.imageId).execute();
      await trx.insertInto('image_transfers').values({
        image_id: transfer.imageId, kind: transfer.kind, store: transfer.store, revert_status: transfer.revertStatus,
        owner: transfer.owner, started_at: transfer.startedAt, lease_expires_at: transfer.leaseExpiresAt,
      }).execute();
    });
  }

  async end(imageId: string, owner: string): Promise<void> {
    await this.db.deleteFrom('image_transfers').where('image_id', '=', imageId).where('owner', '=', owner).execute();
  }

  async renew(owner: string, imageIds: string[], leaseUntil: Date): Promise<string[]> {
    const held: string[] = [];
    for (let i = 0; i < imageIds.length; i += RENEW_BATCH) {
      const batch = imageIds.slice(i, i + RENEW_BATCH);
      await this.db.updateTable('image_transfers').set({ lease_expires_at: leaseUntil })
        .where('owner', '=', owner).where('image_id', 'in', batch).execute();
      const rows = await this.db.selectFrom('image_transfers').select('image_id')
        .where('owner', '=', owner).where('image_id', 'in', batch).execute();
      held.push(...rows.map((r) => r.image_id));
    }
    return held;
  }

  async get(imageId: string): Promise<Transfer | undefined> {
    const row = await this.db.selectFrom('image_transfers').selectAll().where('image_id', '=', imageId).executeTakeFirst();
    return row && fromRow(row);
  }

  async expired(now: Date, limit: number): Promise<Transfer[]> {
    const rows = await this.db.selectFrom('image_transfers').selectAll().where('lease_expires_at', '<', now)
      .orderBy('lease_expires_at', 'asc').limit(limit).execute();
    return rows.map(fromRow);
  }

  async takeOver(transfer: Transfer, owner: string, now: Date, leaseUntil: Date): Promise<boolean> {
    const result = await this.db.updateTable('image_transfers').set({ owner, lease_expires_at: leaseUntil })
      .where('image_id', '=', transfer.imageId).where('owner', '=', transfer.owner).where('lease_expires_at', '<', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async stranded(updatedBefore: Date, now: Date, limit: number): Promise<StrandedImage[]> {
    const unowned = await this.db.selectFrom('images').select(['id', 'status'])
      .where('deleted', '=', false).where('status', 'in', ['saving', 'uploading']).where('updated_at', '<', updatedBefore)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('image_transfers').select(sql`1`.as('one'))
        .whereRef('image_transfers.image_id', '=', 'images.id'))))
      .limit(limit).execute();
    const locked = await this.db.selectFrom('image_properties').innerJoin('images', 'images.id', 'image_properties.image_id')
      .select(['images.id as id', 'images.status as status', 'image_properties.value as lock'])
      .where('image_properties.name', '=', LOCK_PROPERTY).where('images.deleted', '=', false)
      .where('images.updated_at', '<', updatedBefore)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('tasks').select(sql`1`.as('one'))
        .whereRef('tasks.id', '=', 'image_properties.value').where('tasks.deleted', '=', false)
        .where('tasks.status', 'in', ['pending', 'processing'])
        .where((t) => t.or([t('tasks.expires_at', 'is', null), t('tasks.expires_at', '>', now)])))))
      .limit(limit).execute();
    const lockless = await this.db.selectFrom('images').select(['id', 'status'])
      .where('deleted', '=', false).where('status', '=', 'importing').where('updated_at', '<', updatedBefore)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('image_properties').select(sql`1`.as('one'))
        .whereRef('image_properties.image_id', '=', 'images.id').where('image_properties.name', '=', LOCK_PROPERTY))))
      .limit(limit).execute();
    return [
      ...unowned.map((r) => ({ imageId: r.id, status: r.status as ImageStatus })),
      ...locked.map((r) => ({ imageId: r.id, status: r.status as ImageStatus, lockTaskId: r.lock ?? '' })),
      ...lockless.map((r) => ({ imageId: r.id, status: r.status as ImageStatus })),
    ];
  }
}
