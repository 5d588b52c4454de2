// The Image entity as Glimpse holds it internally (camelCase; wire names live in views).

export const imageStatuses = [
  'queued', 'saving', 'active', 'killed', 'deleted', 'pending_delete', 'deactivated', 'uploading', 'importing',
] as const;
export type ImageStatus = (typeof imageStatuses)[number];

export const visibilities = ['public', 'private', 'shared', 'community'] as const;
export type Visibility = (typeof visibilities)[number];

export type LocationStatus = 'active' | 'pending_delete' | 'deleted';

export interface ImageLocation {
  url: string;
  metadata: Record<string, unknown>;
  status: LocationStatus;
}

/** An image's custom properties (values: strings; null only where the image schema allows null). */
export type ImageProperties = Record<string, string | null>;

export interface Image {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  osHidden: boolean;
  owner: string | null;
  size: number | null;
  virtualSize: number | null;
  diskFormat: string | null;
  containerFormat: string | null;
  checksum: string | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  minDisk: number;
  minRam: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  deleted: boolean;
  /**
   * Custom (extra) properties, as in Glance's image_properties table: strings, or null where the
   * schema allows it (kernel_id, ramdisk_id; NULL rows carried over from Glance), shown as null.
   */
  properties: ImageProperties;
  tags: string[];
  locations: ImageLocation[];
  /** Row version for compare-and-set updates; starts at 1 and grows by one per committed change. */
  version: number;
  /**
   * Set on a caller's view when get_image_location denies them the locations: views then omit
   * `locations` URLs and `direct_url` but still name the stores (as Glance shows `stores` to all).
   */
  locationsHidden?: boolean;
}

export type MemberStatus = 'pending' | 'accepted' | 'rejected';

export interface ImageMember {
  imageId: string;
  memberId: string;
  status: MemberStatus;
  /** v1's can_share flag; v2 ignores it. */
  canShare: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** The image's core attributes under Glance's names (its wire names and column names). */
export function glanceAttributes(image: Image) {
  return {
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.osHidden,
    owner: image.owner,
    size: image.size,
    virtual_size: image.virtualSize,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    checksum: image.checksum,
    os_hash_algo: image.osHashAlgo,
    os_hash_value: image.osHashValue,
    min_disk: image.minDisk,
    min_ram: image.minRam,
    created_at: image.createdAt,
    updated_at: image.updatedAt,
  };
}
