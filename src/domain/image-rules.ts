// Image invariants: the status state machine, which attributes callers may touch, and who can
// see an image. Pure functions over entities; services apply them.
import type { DomainError} from './errors.ts';
import { conflict, forbidden } from './errors.ts';
import type { Image, ImageMember, ImageStatus } from './image.ts';

const transitions: Record<ImageStatus, readonly ImageStatus[]> = {
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'queued', 'killed', 'deleted'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'queued', 'deleted'],
  active: ['deactivated', 'pending_delete', 'deleted'],
  deactivated: ['active', 'deleted'],
  pending_delete: ['deleted', 'active'],
  killed: ['deleted'],
  deleted: [],
};

export function canTransition(from: ImageStatus, to: ImageStatus): boolean {
  return transitions[from].includes(to);
}

/** Throws 409 unless `from → to` is a legal status change. */
export function assertTransition(from: ImageStatus, to: ImageStatus): void {
  if (!canTransition(from, to)) {
    throw conflict('Image status transition from {from} to {to} is not allowed', { from, to }, 'image.bad_transition');
  }
}

/** Core attributes: always rendered, never stored as custom properties. */
export const coreAttributes = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value',
  'owner', 'size', 'virtual_size', 'container_format', 'disk_format', 'created_at', 'updated_at', 'tags',
  'direct_url', 'min_ram', 'min_disk', 'self', 'file', 'schema', 'locations', 'stores',
]);

/** Attributes no caller may set (403 "Attribute 'x' is read-only."). */
export const readOnlyAttributes = new Set([
  'id', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at',
  'direct_url', 'self', 'file', 'schema', 'stores',
]);

/** Names reserved for Glimpse itself (403 "Attribute 'x' is reserved."). */
export function isReserved(name: string): boolean {
  return name === 'location' || name === 'deleted' || name === 'deleted_at' || name.startsWith('os_glance');
}

/** Writable core attributes that PATCH may replace but never remove. */
export const writableCoreAttributes = new Set([
  'name', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk', 'disk_format', 'container_format',
  'tags', 'owner',
]);

export function readOnlyError(name: string): DomainError {
  return forbidden("Attribute '{name}' is read-only.", { name }, 'image.read_only');
}

export function reservedError(name: string): DomainError {
  return forbidden("Attribute '{name}' is reserved.", { name }, 'image.reserved');
}

/** disk_format and container_format may only change while no data is attached. */
export function formatsMutable(status: ImageStatus): boolean {
  return status === 'queued' || status === 'importing';
}

export interface Viewer {
  projectId: string | null;
  isAdmin: boolean;
}

/**
 * Glance's database visibility rule for one image: admins see everything; others see their own
 * images, images without owner, public and community images, and shared images they are a member
 * of (in any member status). Deleted images are never visible.
 */
export function isVisible(image: Image, viewer: Viewer, membership: ImageMember | undefined): boolean {
  if (image.deleted || image.status === 'deleted') return false;
  if (viewer.isAdmin) return true;
  if (image.owner === null || (viewer.projectId !== null && image.owner === viewer.projectId)) return true;
  if (image.visibility === 'public' || image.visibility === 'community') return true;
  return image.visibility === 'shared' && membership !== undefined;
}
