// Loading an image in the caller's scope: what every image use case starts with.
import { badRequest, forbidden, notFound } from '../domain/errors.ts';
import type { Image, ImageMember } from '../domain/image.ts';
import { isVisible } from '../domain/image-rules.ts';
import type { RequestContext } from '../ports/context.ts';
import type { Authorizer, PolicyTarget } from '../ports/policy.ts';
import type { ImageRepository, MemberRepository } from '../ports/repositories.ts';
import { imageTarget } from '../policy/image-target.ts';
import { enforceOrHide } from '../policy/enforcer.ts';

export interface Loaded {
  image: Image;
  /** The caller's own membership of the image, if any. */
  membership: ImageMember | undefined;
  target: PolicyTarget;
}

export interface LoadOptions {
  /**
   * `when-shared`: look the caller's membership up only where visibility and the policy target
   * depend on it (a shared image of another project; imageTarget sets member_id for shared images
   * only), saving a query on every other read. Loaded.membership is then undefined otherwise.
   * Ignored when the repository reads image and membership together (getWithMembership).
   */
  membership?: 'always' | 'when-shared';
}

export function imageNotFound(id: string) {
  return notFound('No image found with ID {id}', { id }, 'image.not_found');
}

/** Glance's policy target for an image (owner as project_id, member_id for a shared image's member). */
export function policyTarget(image: Image, membership: ImageMember | undefined): PolicyTarget {
  return imageTarget(image, { memberId: membership?.memberId });
}

export class ImageAccess {
  constructor(
    private readonly images: ImageRepository,
    private readonly members: MemberRepository,
    private readonly policy: Authorizer,
  ) {}

  /**
   * The image if the database visibility rule lets the caller see it (owner, member, public,
   * community, admin); 404 when it does not exist, is deleted or is invisible.
   */
  async load(ctx: RequestContext, id: string, options: LoadOptions = {}): Promise<Loaded> {
    const { image, membership } = await this.read(ctx, id, options);
    if (!isVisible(image, ctx, membership)) throw imageNotFound(id);
    return { image, membership, target: policyTarget(image, membership) };
  }

  /** The image and the caller's membership: in one read where the repository offers it. */
  private async read(ctx: RequestContext, id: string, options: LoadOptions): Promise<Omit<Loaded, 'target'>> {
    if (ctx.projectId && this.images.getWithMembership) {
      const found = await this.images.getWithMembership(id, ctx.projectId);
      if (!found) throw imageNotFound(id);
      return found;
    }
    const image = await this.images.get(id);
    if (!image) throw imageNotFound(id);
    const wanted = Boolean(ctx.projectId)
      && (options.membership !== 'when-shared' || (image.visibility === 'shared' && image.owner !== ctx.projectId));
    const membership = wanted ? await this.members.get(id, ctx.projectId!) : undefined;
    return { image, membership };
  }

  /**
   * Enforces the use case's own rule. A denial is 404 when get_image would deny the caller too
   * (Glance hides what you may not read) and 403 otherwise. Note that a token with `member` but
   * not `reader` fails get_image yet may still modify, upload or download: each route checks its
   * own rule first, as Glance does.
   */
  authorize(ctx: RequestContext, loaded: Loaded, rule: string): void {
    enforceOrHide(this.policy, rule, loaded.target, ctx, { notFound: () => imageNotFound(loaded.image.id) });
  }

  /**
   * A list's marker, checked as Glance's database layer does (visibility only, no get_image rule):
   * an unknown image is 400, one the caller cannot see 403 "Forbidding request, image … not visible".
   */
  async marker(ctx: RequestContext, id: string): Promise<Image> {
    const image = await this.images.get(id);
    if (!image) throw badRequest('No image found with ID {id}', { id }, 'image.bad_marker');
    const membership = ctx.projectId ? await this.members.get(id, ctx.projectId) : undefined;
    if (!isVisible(image, ctx, membership)) {
      throw forbidden('Forbidding request, image {id} not visible', { id }, 'image.marker_not_visible');
    }
    return image;
  }

  /** load + authorize. */
  async loadFor(ctx: RequestContext, id: string, rule: string, options: LoadOptions = {}): Promise<Loaded> {
    const loaded = await this.load(ctx, id, options);
    this.authorize(ctx, loaded, rule);
    return loaded;
  }
}
