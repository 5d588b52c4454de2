// v1 JSON views (spec/v1.md §2, §3.1, §3.9): the full record with `is_public`, `deleted` and
// `properties`, the brief list entry, members. The storage location is never shown.
import type { Image, ImageMember } from '../../domain/image.ts';

/** The registry's timestamp form: `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone suffix. */
export function legacyTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

export function legacyImageView(image: Image): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    size: image.size,
    virtual_size: image.virtualSize,
    checksum: image.checksum,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    min_disk: image.minDisk,
    min_ram: image.minRam,
    is_public: image.visibility === 'public',
    protected: image.protected,
    owner: image.owner,
    created_at: legacyTime(image.createdAt),
    updated_at: legacyTime(image.updatedAt),
    deleted_at: image.deletedAt ? legacyTime(image.deletedAt) : null,
    deleted: image.deleted,
    properties: { ...image.properties },
  };
}

/** A list entry. `uri` is the seed documents' extra (clients ignore unknown keys). */
export function legacyBriefView(image: Image, uri: string): Record<string, unknown> {
  return {
    id: image.id, name: image.name, size: image.size, disk_format: image.diskFormat,
    container_format: image.containerFormat, checksum: image.checksum, uri,
  };
}

export function legacyMemberView(member: ImageMember): Record<string, unknown> {
  return { member_id: member.memberId, can_share: member.canShare };
}

export function sharedImageView(member: ImageMember): Record<string, unknown> {
  return { image_id: member.imageId, can_share: member.canShare };
}
