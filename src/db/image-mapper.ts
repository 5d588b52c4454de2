// Row ⇄ entity mapping for images and members. Reads normalise what the three drivers return
// (see schema.ts): 0/1 → boolean, digit strings → number, ISO text → Date. Writes produce plain
// JS values; connect.ts makes them bindable on every dialect.
import type { Insertable, Selectable } from 'kysely';
import {
  glanceAttributes,
  type Image, type ImageLocation, type ImageProperties, type ImageMember, type ImageStatus, type LocationStatus, type MemberStatus,
  type Visibility,
} from '../domain/image.ts';
import type {
  ImageLocationsTable, ImageMembersTable, ImagePropertiesTable, ImagesTable, ImageTagsTable,
} from './schema.ts';

export type ImageRow = Selectable<ImagesTable>;
export type PropertyRow = Selectable<ImagePropertiesTable>;
export type TagRow = Selectable<ImageTagsTable>;
export type LocationRow = Selectable<ImageLocationsTable>;
export type MemberRow = Selectable<ImageMembersTable>;

export function toBool(value: boolean | number): boolean {
  return value === true || value === 1;
}

/** BIGINT/INT columns; drivers may hand back digit strings (mysql2 beyond 2^53, SUM() results). */
export function toNumber(value: number | string | bigint): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`Not a number in an integer column: ${String(value)}`);
  return n;
}

export function toNullableNumber(value: number | string | bigint | null): number | null {
  return value === null ? null : toNumber(value);
}

export function toDate(value: Date | string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a timestamp: ${String(value)}`);
  return date;
}

export function toNullableDate(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}

function parseMetadata(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** Children of one image, as loaded by image-repository.ts's hydrate(). */
export interface ImageChildren {
  properties: PropertyRow[];
  tags: TagRow[];
  locations: LocationRow[];
}

export function imageFromRows(row: ImageRow, children: ImageChildren): Image {
  const properties: ImageProperties = {};
  // NULL values (kernel_id/ramdisk_id set to null, Glance rows) stay null, as Glance shows them.
  for (const p of children.properties) properties[p.name] = p.value;
  return {
    id: row.id,
    name: row.name,
    status: row.status as ImageStatus,
    visibility: row.visibility as Visibility,
    protected: toBool(row.protected),
    osHidden: toBool(row.os_hidden),
    owner: row.owner,
    size: toNullableNumber(row.size),
    virtualSize: toNullableNumber(row.virtual_size),
    diskFormat: row.disk_format,
    containerFormat: row.container_format,
    checksum: row.checksum,
    osHashAlgo: row.os_hash_algo,
    osHashValue: row.os_hash_value,
    minDisk: toNumber(row.min_disk),
    minRam: toNumber(row.min_ram),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    deletedAt: toNullableDate(row.deleted_at),
    deleted: toBool(row.deleted),
    properties,
    tags: children.tags.map((t) => t.value).sort(),
    locations: [...children.locations].sort((a, b) => a.position - b.position).map((l): ImageLocation => ({
      url: l.value,
      metadata: parseMetadata(l.meta_data),
      status: l.status as LocationStatus,
    })),
    version: toNumber(row.version),
  };
}

/** Every column except id and version, which the repository sets itself. */
export function imageColumns(image: Image): Omit<Insertable<ImagesTable>, 'id' | 'version'> {
  return {
    ...glanceAttributes(image),
    deleted_at: image.deletedAt,
    deleted: image.deleted,
  };
}

export function propertyRows(image: Image): Insertable<ImagePropertiesTable>[] {
  return Object.entries(image.properties).map(([name, value]) => ({ image_id: image.id, name, value }));
}

/** Tags are a set (Glance collapses duplicates); they come back sorted by code unit (the same on every dialect), not in the order given. */
export function tagRows(image: Image): Insertable<ImageTagsTable>[] {
  return [...new Set(image.tags)].map((value) => ({ image_id: image.id, value }));
}

/**
 * Locations keep their order through `position`. The entity has no per-location times, so each
 * write stamps the rows with the image's updatedAt.
 */
export function locationRows(image: Image): Insertable<ImageLocationsTable>[] {
  return image.locations.map((location, position) => ({
    image_id: image.id,
    position,
    value: location.url,
    meta_data: JSON.stringify(location.metadata ?? {}),
    status: location.status,
    created_at: image.updatedAt,
    updated_at: image.updatedAt,
  }));
}

export function memberFromRow(row: MemberRow): ImageMember {
  return {
    imageId: row.image_id,
    memberId: row.member,
    status: row.status as MemberStatus,
    canShare: toBool(row.can_share),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

export function memberToRow(member: ImageMember): Insertable<ImageMembersTable> {
  return {
    image_id: member.imageId,
    member: member.memberId,
    status: member.status,
    can_share: member.canShare,
    created_at: member.createdAt,
    updated_at: member.updatedAt,
  };
}
