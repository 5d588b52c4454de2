// Policy targets for images, keyed as Glance's ImageTarget exposes them: the domain
// attributes under their Glance names, the aliases id (image_id), project_id (owner) and
// member_id (member), then the extra properties, which never shadow a core key.
import { glanceAttributes, type Image } from '../domain/image.ts';

export interface ImageTargetOptions {
  /**
   * The caller's project when it is a member of the image; what `project_id:%(member_id)s`
   * compares. As in Glance, it only counts for a shared image the caller does not own.
   */
  memberId?: string | null;
}

export function imageTarget(image: Image, options: ImageTargetOptions = {}): Record<string, unknown> {
  const memberId = options.memberId ?? null;
  const member = image.visibility === 'shared' && memberId !== image.owner ? memberId : null;
  const core: Record<string, unknown> = {
    id: image.id,
    image_id: image.id,
    ...glanceAttributes(image),
    project_id: image.owner,
    member,
    member_id: member,
    tags: [...image.tags],
    extra_properties: { ...image.properties },
  };
  const target: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(image.properties)) {
    if (!Object.hasOwn(core, key)) target[key] = value;
  }
  return Object.assign(target, core);
}

/**
 * The target Glance uses before an image exists (add_image) or without one (get_images):
 * the proposed owner, defaulting to the caller's project, and the proposed visibility.
 */
export function proposedImageTarget(
  callerProjectId: string | null, proposed: { owner?: string | null; visibility?: string } = {},
): Record<string, unknown> {
  const owner = proposed.owner === undefined ? callerProjectId : proposed.owner;
  return { project_id: owner, owner, visibility: proposed.visibility ?? 'private' };
}
