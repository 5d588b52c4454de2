// Repository ports. Implementations live in src/db/ and pass test/contract/*.
import type { Image, ImageMember } from '../domain/image.ts';
import type { Emit } from './events.ts';
import type { OverLimit } from './quotas.ts';

export interface UpdateOptions {
  /** Compare-and-set on the row version: the update applies only if the stored version equals this. */
  expectVersion: number;
  /** Optionally also require the stored status (e.g. queued → saving). */
  expectStatus?: Image['status'];
  /** Notifications of the change, written to the outbox in its transaction (ports/events.ts). */
  emit?: Emit<Image>;
}

/** image_count_total of the new image's owner, checked in the transaction that inserts it (decision 0021). */
export interface CountLimit {
  /** Images the owner may have; negative: unlimited. */
  limit: number;
  now: Date;
  /** The error to throw when the image would go over (the insert is not made). */
  refuse: (over: OverLimit[]) => Error;
}

export interface ImageRepository {
  /**
   * Inserts a new image with its properties, tags and locations. A used id (even of a deleted image) → Conflict.
   * With `countLimit`, serialised per owner with quota reservations, refused when the owner is at the limit.
   */
  create(image: Image, options?: { emit?: Emit<Image>; countLimit?: CountLimit }): Promise<Image>;
  /** Loads an image by id; deleted images only when `includeDeleted`. */
  get(id: string, options?: { includeDeleted?: boolean }): Promise<Image | undefined>;
  /**
   * The image (not deleted) and `memberId`'s membership of it, read together (one statement on
   * SQL); undefined when there is no such image. Optional: without it, get + MemberRepository.get.
   */
  getWithMembership?(id: string, memberId: string): Promise<{ image: Image; membership: ImageMember | undefined } | undefined>;
  /**
   * Writes every field, properties, tags and locations of `image` atomically when the stored row still has
   * `expectVersion` (and `expectStatus`, if given). Returns the stored image with version + 1.
   * Throws a DomainError of kind Conflict (code `image.version_conflict`) when zero rows match.
   */
  update(image: Image, options: UpdateOptions): Promise<Image>;
  /**
   * True when an image other than `exceptImageId` that is not deleted still has `url` as an active
   * (or pending_delete) location: its data must then not be deleted.
   */
  locationInUse(url: string, exceptImageId: string): Promise<boolean>;
  /**
   * `pending_delete` images deleted at or before `deletedBefore`, ordered by id, after `afterId`
   * when given (keyset paging), at most `limit`: what the scrubber removes the data of.
   */
  pendingDeletes(options: { deletedBefore: Date; afterId?: string; limit: number }): Promise<Image[]>;
}

export interface MemberRepository {
  add(member: ImageMember, options?: { emit?: Emit<ImageMember> }): Promise<ImageMember>;
  get(imageId: string, memberId: string): Promise<ImageMember | undefined>;
  list(imageId: string): Promise<ImageMember[]>;
  update(member: ImageMember, options?: { emit?: Emit<ImageMember> }): Promise<ImageMember>;
  /** `emit` gets the member as it was before removal. */
  remove(imageId: string, memberId: string, options?: { emit?: Emit<ImageMember> }): Promise<void>;
  /** Every membership of project `memberId`, oldest first (v1's shared-images). */
  listForMember(memberId: string): Promise<ImageMember[]>;
}

/** Liveness of the metadata database, for /healthcheck. */
export interface DatabaseHealth {
  ping(): Promise<void>;
}

// ---- listing ----

export type SortKey = 'name' | 'status' | 'container_format' | 'disk_format' | 'size' | 'id' | 'created_at' | 'updated_at';
export type SortDir = 'asc' | 'desc';

/** Image columns that list filters may address (Glance wire names = column names). */
export type ImageColumn =
  | 'id' | 'name' | 'status' | 'visibility' | 'protected' | 'os_hidden' | 'owner' | 'size' | 'virtual_size'
  | 'disk_format' | 'container_format' | 'checksum' | 'os_hash_algo' | 'os_hash_value' | 'min_disk' | 'min_ram'
  | 'created_at' | 'updated_at';

export type ListFilter =
  /** Exact match against one of `values` (one value = equality; `in:` lists give several). */
  | { kind: 'in'; column: ImageColumn; values: (string | number | boolean | null)[] }
  /** Range / comparison on a numeric or timestamp column. */
  | { kind: 'compare'; column: ImageColumn; op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte'; value: number | Date }
  /** Custom property `name` equals `value`. */
  | { kind: 'property'; name: string; value: string };

export interface ImageListQuery {
  viewer: { projectId: string | null; isAdmin: boolean };
  /**
   * undefined = Glance's default list: non-admin sees own images (any visibility), public, images with
   * owner NULL, and shared images where the viewer is a member with `memberStatus`; admin sees all images
   * except other projects' community ones. 'all' adds community images (and, for admin, everything).
   * A concrete visibility restricts to it (for non-admins 'shared' = own shared + shared with them per
   * memberStatus, 'private' = own private; community and public are visible to all).
   */
  visibility?: 'public' | 'private' | 'shared' | 'community' | 'all';
  /** Member status the viewer's membership must have for a shared image of another project. */
  memberStatus: 'pending' | 'accepted' | 'rejected' | 'all';
  filters: ListFilter[];
  /** Every tag must be present (AND). */
  tags: string[];
  /** false = hidden images are excluded; true = only hidden images. */
  osHidden: boolean;
  /** Sort keys in order; callers append created_at and id as tie-breakers. */
  sort: { key: SortKey; dir: SortDir }[];
  limit: number;
  /** The image the previous page ended with; rows strictly after it in sort order are returned. */
  marker?: Image;
  /** v1 `changes-since` lists: also deleted, killed and pending_delete images. */
  includeDeleted?: boolean;
}

export interface ImageLister {
  /**
   * One page of images, in order, never including deleted, killed or pending_delete images (unless
   * `includeDeleted`).
   * Visibility, filters, order and the keyset marker are applied in SQL.
   */
  list(query: ImageListQuery): Promise<Image[]>;
  /** Sum of `size` over the owner's non-deleted images (for user_storage_quota). */
  storageUsed(owner: string): Promise<number>;
}
