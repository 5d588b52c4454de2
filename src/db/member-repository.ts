// MemberRepository over Kysely. Members are hard-deleted (a removed member loses access at once,
// spec/v2.md §6.1); (image_id, member) is the primary key, so a duplicate is refused by the
// database even when two requests race past the service's existence check.
import type { CompiledQuery, Kysely } from 'kysely';
import { conflict, notFound } from '../domain/errors.ts';
import type { ImageMember } from '../domain/image.ts';
import type { MemberRepository } from '../ports/repositories.ts';
import type { Database } from './connect.ts';
import { memberFromRow, memberToRow, type MemberRow } from './image-mapper.ts';
import type { Schema } from './schema.ts';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.ts';
import type { Emit } from '../ports/events.ts';
import { writeOutbox } from './outbox-repository.ts';

function memberNotFound(imageId: string, memberId: string) {
  return notFound('{memberId} not found in the member list of the image {imageId}.', { imageId, memberId }, 'member.not_found');
}

const IMAGE_SLOT = '\u0000image-id';
const MEMBER_SLOT = '\u0000member-id';

export class SqlMemberRepository implements MemberRepository {
  private readonly db: Kysely<Schema>;

  constructor(database: Database) {
    this.db = database.db;
  }

  /** Duplicate (image, member) → Conflict `member.duplicate`; unknown image → NotFound `image.not_found`. */
  async add(member: ImageMember, options: { emit?: Emit<ImageMember> } = {}): Promise<ImageMember> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('image_members').values(memberToRow(member)).execute();
        const stored = (await getMember(trx, member.imageId, member.memberId))!;
        if (options.emit) await writeOutbox(trx, options.emit(stored));
        return stored;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict('Member {memberId} is duplicated for image {imageId}',
          { imageId: member.imageId, memberId: member.memberId }, 'member.duplicate');
      }
      if (isForeignKeyViolation(error)) throw notFound('No image found with ID {id}', { id: member.imageId }, 'image.not_found');
      throw error;
    }
  }

  /** The statement of get(), compiled once (a GET of another project's shared image runs it). */
  private getShape: CompiledQuery<MemberRow> | undefined;

  async get(imageId: string, memberId: string): Promise<ImageMember | undefined> {
    this.getShape ??= this.db.selectFrom('image_members').selectAll()
      .where('image_id', '=', IMAGE_SLOT).where('member', '=', MEMBER_SLOT).compile();
    const shape = this.getShape;
    const parameters = shape.parameters.map((p) => (p === IMAGE_SLOT ? imageId : p === MEMBER_SLOT ? memberId : p));
    const row = (await this.db.executeQuery<MemberRow>({ ...shape, parameters })).rows[0];
    return row ? memberFromRow(row) : undefined;
  }

  /** Oldest first (then by member id), so pages and responses are stable. */
  async list(imageId: string): Promise<ImageMember[]> {
    const rows = await this.db.selectFrom('image_members').selectAll().where('image_id', '=', imageId)
      .orderBy('created_at').orderBy('member').execute();
    return rows.map(memberFromRow);
  }

  async listForMember(memberId: string): Promise<ImageMember[]> {
    const rows = await this.db.selectFrom('image_members').selectAll().where('member', '=', memberId)
      .orderBy('created_at').orderBy('image_id').execute();
    return rows.map(memberFromRow);
  }

  /** Writes status, can_share and updated_at (created_at never changes). Absent member → NotFound `member.not_found`. */
  async update(member: ImageMember, options: { emit?: Emit<ImageMember> } = {}): Promise<ImageMember> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('image_members')
        .set({ status: member.status, can_share: member.canShare, updated_at: member.updatedAt })
        .where('image_id', '=', member.imageId).where('member', '=', member.memberId)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw memberNotFound(member.imageId, member.memberId);
      const stored = (await getMember(trx, member.imageId, member.memberId))!;
      if (options.emit) await writeOutbox(trx, options.emit(stored));
      return stored;
    });
  }

  /** Hard delete. Absent member → NotFound `member.not_found` (a racing second removal is a 404, as in Glance). */
  async remove(imageId: string, memberId: string, options: { emit?: Emit<ImageMember> } = {}): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = options.emit ? await getMember(trx, imageId, memberId) : undefined;
      const result = await trx.deleteFrom('image_members')
        .where('image_id', '=', imageId).where('member', '=', memberId).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw memberNotFound(imageId, memberId);
      if (options.emit && before) await writeOutbox(trx, options.emit(before));
    });
  }
}

async function getMember(db: Kysely<Schema>, imageId: string, memberId: string): Promise<ImageMember | undefined> {
  const row = await db.selectFrom('image_members').selectAll()
    .where('image_id', '=', imageId).where('member', '=', memberId).executeTakeFirst();
  return row ? memberFromRow(row) : undefined;
}
