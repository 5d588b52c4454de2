// Images API v1 membership use cases over the same member rows v2 uses: `can_share` instead of a
// member status (new v1 memberships are `pending` in v2), any visibility may have members, and who
// may share is the admin, the owner or a member holding can_share (others see 404).
import { DomainError, badRequest, notFound, payloadTooLarge } from '../domain/errors.ts';
import type { Image, ImageMember } from '../domain/image.ts';
import { msg } from '../i18n/message.ts';
import type { RequestContext } from '../ports/context.ts';
import { ImageAccess, type Loaded } from './image-access.ts';
import type { ImageServiceDeps } from './images.ts';
import { exceeds } from './settings.ts';

export interface LegacyMembership {
  memberId: string;
  /** undefined: keep an existing member's flag (new members get false). */
  canShare?: boolean;
}

type Deps = Pick<ImageServiceDeps, 'images' | 'members' | 'policy' | 'settings' | 'now'>;

export class LegacyMemberService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;

  constructor(private readonly deps: Deps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
  }

  /** Owners and admins see every row; anyone else only its own membership. */
  async getMembers(ctx: RequestContext, imageId: string): Promise<ImageMember[]> {
    const loaded = await this.load(ctx, imageId);
    if (this.isOwnerSide(ctx, loaded.image)) return this.deps.members.list(imageId);
    return loaded.membership ? [loaded.membership] : [];
  }

  async addMember(ctx: RequestContext, imageId: string, memberId: string, canShare: boolean | undefined): Promise<void> {
    const { image } = await this.loadForSharing(ctx, imageId);
    const existing = await this.deps.members.list(imageId);
    this.checkQuota(existing.length + 1);
    const current = existing.find((m) => m.memberId === memberId);
    const now = this.now();
    if (current) {
      if (canShare !== undefined && canShare !== current.canShare) {
        await this.deps.members.update({ ...current, canShare, updatedAt: now });
      }
      return;
    }
    await this.deps.members.add({ imageId: image.id, memberId, status: 'pending', canShare: canShare ?? false,
      createdAt: now, updatedAt: now });
  }

  /** Replaces the member list: listed members are added or updated, the others removed. */
  async replaceMembers(ctx: RequestContext, imageId: string, wanted: LegacyMembership[]): Promise<void> {
    await this.loadForSharing(ctx, imageId);
    this.checkQuota(wanted.length);
    const existing = await this.deps.members.list(imageId);
    const now = this.now();
    const keep = new Set(wanted.map((w) => w.memberId));
    for (const member of existing) if (!keep.has(member.memberId)) await this.deps.members.remove(imageId, member.memberId);
    for (const w of wanted) {
      const current = existing.find((m) => m.memberId === w.memberId);
      if (!current) {
        await this.deps.members.add({ imageId, memberId: w.memberId, status: 'pending', canShare: w.canShare ?? false,
          createdAt: now, updatedAt: now });
      } else if (w.canShare !== undefined && w.canShare !== current.canShare) {
        await this.deps.members.update({ ...current, canShare: w.canShare, updatedAt: now });
      }
    }
  }

  async deleteMember(ctx: RequestContext, imageId: string, memberId: string): Promise<void> {
    await this.loadForSharing(ctx, imageId);
    if (!await this.deps.members.get(imageId, memberId)) {
      throw notFound('Membership could not be found.', {}, 'member.not_found');
    }
    await this.deps.members.remove(imageId, memberId);
  }

  /** Images shared with `memberId`; a non-admin asking about another project sees only images it owns. */
  async sharedImages(ctx: RequestContext, memberId: string): Promise<ImageMember[]> {
    const out: ImageMember[] = [];
    for (const membership of await this.deps.members.listForMember(memberId)) {
      const image = await this.deps.images.get(membership.imageId);
      if (!image) continue;
      if (ctx.isAdmin || memberId === ctx.projectId || (ctx.projectId !== null && image.owner === ctx.projectId)) {
        out.push(membership);
      }
    }
    return out;
  }

  /** The image in the caller's scope; a deleted one (seen by admins) is named as such. */
  private async load(ctx: RequestContext, imageId: string): Promise<Loaded> {
    if (ctx.isAdmin) {
      const image = await this.deps.images.get(imageId, { includeDeleted: true });
      if (image && (image.deleted || image.status === 'deleted')) {
        throw notFound('Image with identifier {id} has been deleted.', { id: imageId }, 'v1.image_deleted');
      }
    }
    return this.access.load(ctx, imageId);
  }

  /** Sharing needs a project, and admin, ownership or a can_share membership (else 404, as v1 answered). */
  private async loadForSharing(ctx: RequestContext, imageId: string): Promise<Loaded> {
    if (ctx.projectId === null && !ctx.isAdmin) {
      throw new DomainError('Unauthorized', 'v1.no_tenant', msg('No authenticated user'));
    }
    const loaded = await this.load(ctx, imageId);
    if (!this.isOwnerSide(ctx, loaded.image) && loaded.membership?.canShare !== true) {
      throw notFound('No image found with ID {id}', { id: imageId }, 'image.not_found');
    }
    return loaded;
  }

  private checkQuota(count: number): void {
    const quota = this.deps.settings.imageMemberQuota;
    if (exceeds(count, quota)) {
      throw payloadTooLarge('The limit has been exceeded on the number of allowed image members for this image. '
        + 'Attempted: {attempted}, Maximum: {maximum}', { attempted: count, maximum: quota }, 'quota.members');
    }
  }

  private isOwnerSide(ctx: RequestContext, image: Image): boolean {
    return ctx.isAdmin || (ctx.projectId !== null && image.owner === ctx.projectId);
  }

  /** For the v1 replace body: entries must name a member. */
  static checkEntries(entries: unknown[]): LegacyMembership[] {
    return entries.map((entry) => {
      const e = entry as Record<string, unknown> | null;
      if (!e || typeof e !== 'object' || typeof e.member_id !== 'string') {
        throw badRequest('Invalid membership association: {entry}', { entry: JSON.stringify(entry) }, 'v1.bad_membership');
      }
      return { memberId: e.member_id, canShare: e.can_share === undefined ? undefined : Boolean(e.can_share) };
    });
  }
}
