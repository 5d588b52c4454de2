// Repository ports. Implementations live in src/db/ and pass test/contract/*.
import type { Image, ImageMember } from '../domain/image.ts';

export interface UpdateOptions {
  /** Compare-and-set on the row version: the update applies only if the stored version equals this. */
  expectVersion: number;
  /** Optionally also require the stored status (e.g. queued → saving). */
  expectStatus?: Image['status'];
}

export interface ImageRepository {
  /** Inserts a new image with its properties, tags and locations. A used id (even of a deleted image) → Conflict. */
  create(image: Image): Promise<Image>;
  /** Loads an image by id; deleted images only when `includeDeleted`. */
  get(id: string, options?: { includeDeleted?: boolean }): Promise<Image | undefined>;
  /**
   * Writes every field, properties, tags and locations of `image` atomically when the stored row still has
   * `expectVersion` (and `expectStatus`, if given). Returns the stored image with version + 1.
   * Throws a DomainError of kind Conflict (code `image.version_conflict`) when zero rows match.
   */
  update(image: Image, options: UpdateOptions): Promise<Image>;
}

export interface MemberRepository {
  add(member: ImageMember): Promise<ImageMember>;
  get(imageId: string, memberId: string): Promise<ImageMember | undefined>;
  list(imageId: string): Promise<ImageMember[]>;
  update(member: ImageMember): Promise<ImageMember>;
  remove(imageId: string, memberId: string): Promise<void>;
}

/** Liveness of the metadata database, for /healthcheck. */
export interface DatabaseHealth {
  ping(): Promise<void>;
}
