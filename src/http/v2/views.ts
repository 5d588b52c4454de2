// JSON views of images and members in Glance's wire form and key order.
import type { Image, ImageMember } from '../../domain/image.ts';

/** Glance's timestamp form: seconds precision, UTC, `Z`. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export interface ImageViewOptions {
  multiStore: boolean;
  showImageDirectUrl: boolean;
  showMultipleLocations: boolean;
}

export function imageView(image: Image, options: ImageViewOptions): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(image.properties)) {
    // os_glance_* bookkeeping that Glance hides from clients.
    if (key === 'os_glance_stage_host' || key === 'os_glance_hash_op_host') continue;
    view[key] = value;
  }
  Object.assign(view, {
    name: image.name,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    visibility: image.visibility,
    size: image.size,
    virtual_size: image.virtualSize,
    status: image.status,
    checksum: image.checksum,
    protected: image.protected,
    min_ram: image.minRam,
    min_disk: image.minDisk,
    owner: image.owner,
    os_hidden: image.osHidden,
    os_hash_algo: image.osHashAlgo,
    os_hash_value: image.osHashValue,
    id: image.id,
    created_at: isoSeconds(image.createdAt),
    updated_at: isoSeconds(image.updatedAt),
    tags: [...image.tags].sort(),
  });
  const active = image.locations.filter((l) => l.status === 'active');
  const shown = image.locationsHidden ? [] : active;
  if (options.showMultipleLocations) view.locations = shown.map((l) => ({ url: l.url, metadata: l.metadata }));
  if (options.showImageDirectUrl && shown[0]) view.direct_url = shown[0].url;
  if (options.multiStore && active.length > 0) {
    const stores = active.map((l) => l.metadata.store).filter((s): s is string => typeof s === 'string');
    if (stores.length > 0) view.stores = [...new Set(stores)].join(',');
  }
  view.self = `/v2/images/${image.id}`;
  view.file = `/v2/images/${image.id}/file`;
  view.schema = '/v2/schemas/image';
  return view;
}

export function memberView(member: ImageMember): Record<string, unknown> {
  return {
    created_at: isoSeconds(member.createdAt),
    image_id: member.imageId,
    member_id: member.memberId,
    schema: '/v2/schemas/member',
    status: member.status,
    updated_at: isoSeconds(member.updatedAt),
  };
}
