// Image member use cases (add_member, get_members, get_member, modify_member, delete_member).
import { badRequest, forbidden, notFound, payloadTooLarge } from '../domain/errors.ts';
import type { ImageMember, MemberStatus } from '../domain/image.ts';
import type { RequestContext } from '../ports/context.ts';
import { ImageAccess, type Loaded } from './image-access.ts';
import type { ImageServiceDeps } from './images.ts';
import { exceeds } from './settings.ts';

const statuses: readonly MemberStatus[] = ['pending', 'accepted', 'rejected'];

function memberNotFound(memberId: string, imageId: string) {
  return notFound('{memberId} not found in the member list of the image {imageId}.', { memberId, imageId },
    'member.not_found');
}

export class MemberService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;

  constructor(private readonly deps: Pick<ImageServiceDeps, 'images' | 'members' | 'policy' | 'settings' | 'now'>) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
  }

  /** Owners (and admins) see every member; a member sees only its own row. */
  async getMembers(ctx: RequestContext, imageId: string): Promise<ImageMember[]> {
    const loaded = await this.access.load(ctx, imageId);
    if (loaded.image.visibility !== 'shared') {
      throw forbidden('Not allowed to list members for image {id}: Only shared images have members.', { id: imageId },
        'member.not_shared');
    }
    this.access.authorize(ctx, loaded, 'get_members');
    if (this.isOwnerSide(ctx, loaded)) return this.deps.members.list(imageId);
    return loaded.membership ? [loaded.membership] : [];
  }

  async getMember(ctx: RequestContext, imageId: string, memberId: string): Promise<ImageMember> {
    const loaded = await this.access.load(ctx, imageId);
    if (loaded.image.visibility !== 'shared') throw notFound('Only shared images have members.', {}, 'member.not_shared');
    const member = await this.deps.members.get(imageId, memberId);
    if (!member || (!this.isOwnerSide(ctx, loaded) && memberId !== ctx.projectId)) throw memberNotFound(memberId, imageId);
    if (!this.deps.policy.check('get_member', { ...loaded.target, member_id: member.memberId }, ctx)) {
      throw memberNotFound(memberId, imageId);
    }
    return member;
  }

  async addMember(ctx: RequestContext, imageId: string, memberId: string): Promise<ImageMember> {
    const loaded = await this.access.load(ctx, imageId);
    if (loaded.image.visibility !== 'shared') {
      throw forbidden('Not allowed to create members for image {id}.', { id: imageId }, 'member.not_shared');
    }
    this.access.authorize(ctx, loaded, 'get_image');
    this.access.authorize(ctx, loaded, 'add_member');
    const existing = await this.deps.members.list(imageId);
    if (exceeds(existing.length + 1, this.deps.settings.imageMemberQuota)) {
      throw payloadTooLarge('The limit has been exceeded on the number of allowed image members for this image. '
        + 'Attempted: {attempted}, Maximum: {maximum}',
      { attempted: existing.length + 1, maximum: this.deps.settings.imageMemberQuota }, 'quota.members');
    }
    const now = this.now();
    return this.deps.members.add({ imageId, memberId, status: 'pending', canShare: false, createdAt: now, updatedAt: now });
  }

  async modifyMember(ctx: RequestContext, imageId: string, memberId: string, status: string): Promise<ImageMember> {
    if (!statuses.includes(status as MemberStatus)) {
      throw badRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".');
    }
    const loaded = await this.access.load(ctx, imageId);
    if (loaded.image.visibility !== 'shared') {
      throw forbidden('Not allowed to update members for image {id}.', { id: imageId }, 'member.not_shared');
    }
    const member = await this.deps.members.get(imageId, memberId);
    if (!member || (!this.isOwnerSide(ctx, loaded) && memberId !== ctx.projectId)) throw memberNotFound(memberId, imageId);
    this.access.authorize(ctx, { ...loaded, target: { ...loaded.target, member_id: member.memberId } }, 'modify_member');
    return this.deps.members.update({ ...member, status: status as MemberStatus, updatedAt: this.now() });
  }

  async deleteMember(ctx: RequestContext, imageId: string, memberId: string): Promise<void> {
    const loaded = await this.access.load(ctx, imageId);
    if (loaded.image.visibility !== 'shared') {
      throw forbidden('Not allowed to delete members for image {id}.', { id: imageId }, 'member.not_shared');
    }
    // The member row is looked up in the caller's view first (a member sees only its own row),
    // so a member deleting another member gets 404 before any permission check, as in Glance.
    const member = await this.deps.members.get(imageId, memberId);
    if (!member || (!this.isOwnerSide(ctx, loaded) && memberId !== ctx.projectId)) throw memberNotFound(memberId, imageId);
    this.access.authorize(ctx, loaded, 'get_image');
    this.access.authorize(ctx, loaded, 'delete_member');
    await this.deps.members.remove(imageId, memberId);
  }

  private isOwnerSide(ctx: RequestContext, loaded: Loaded): boolean {
    return ctx.isAdmin || (ctx.projectId !== null && loaded.image.owner === ctx.projectId);
  }
}

