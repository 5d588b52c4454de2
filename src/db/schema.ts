// Kysely table types: what each column holds as the three drivers hand it back.
// Reads are loose on purpose (MySQL and SQLite return 0/1 for booleans, SQLite returns ISO-8601
// text for timestamps, mysql2 returns digit strings for integers beyond 2^53); image-mapper.ts
// narrows them. Writes take the JS types: the SQLite adapter in connect.ts binds Date as ISO-8601
// text and boolean as 0/1, the other drivers bind them natively.
import type { ColumnType, Generated } from 'kysely';

export type Timestamp = ColumnType<Date | string, Date, Date>;
export type NullableTimestamp = ColumnType<Date | string | null, Date | null, Date | null>;
export type Bool = ColumnType<boolean | number, boolean, boolean>;
export type BigIntColumn = ColumnType<number | string | null, number | null, number | null>;

export interface ImagesTable {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: Bool;
  os_hidden: Bool;
  owner: string | null;
  size: BigIntColumn;
  virtual_size: BigIntColumn;
  disk_format: string | null;
  container_format: string | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  deleted: Bool;
  version: Generated<number>;
}

export interface ImagePropertiesTable {
  image_id: string;
  name: string;
  /** NULL where the image schema allows null (kernel_id, ramdisk_id) and in rows carried over from Glance; shown as null, as Glance does. */
  value: string | null;
}

export interface ImageTagsTable {
  image_id: string;
  value: string;
}

export interface ImageMembersTable {
  image_id: string;
  member: string;
  status: string;
  can_share: Bool;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ImageLocationsTable {
  image_id: string;
  /** 0-based order of the location in the image's list (Glance keeps locations ordered). */
  position: number;
  value: string;
  /** JSON object. */
  meta_data: string;
  status: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TasksTable {
  id: string;
  type: string;
  status: string;
  owner: string;
  image_id: string | null;
  request_id: string | null;
  user_id: string | null;
  /** JSON documents. */
  input: string | null;
  result: string | null;
  message: string | null;
  expires_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted: Bool;
  deleted_at: NullableTimestamp;
  /** Worker that holds the task (see tasks/): a lease, so a crashed worker's task is taken over after expiry. */
  lease_owner: string | null;
  lease_expires_at: NullableTimestamp;
  /** Claims so far (0005). */
  attempts: ColumnType<number | string, number | undefined, number>;
}

export interface MetadefNamespacesTable {
  id: Generated<number>;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: Bool;
  owner: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MetadefResourceTypesTable {
  id: Generated<number>;
  name: string;
  protected: Bool;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MetadefObjectsTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  description: string | null;
  /** JSON array of property names, or NULL. */
  required: string | null;
  /** JSON object: property name → definition. */
  json_schema: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MetadefPropertiesTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  /** JSON object: the property definition without its name. */
  json_schema: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MetadefTagsTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MetadefNamespaceResourceTypesTable {
  resource_type_id: number;
  namespace_id: number;
  properties_target: string | null;
  prefix: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One upload or stage in progress and the lease of the process running it (migration 0007). */
export interface ImageTransfersTable {
  image_id: string;
  kind: string;
  store: string;
  revert_status: string;
  owner: string;
  started_at: Timestamp;
  lease_expires_at: Timestamp;
}

/** 0010: one complete, verified file of the image cache on one node. */
export interface ImageCacheEntriesTable {
  node: string;
  image_id: string;
  size: number | string;
  hits: ColumnType<number | string, number, number>;
  last_accessed: Timestamp;
  last_modified: Timestamp;
  checksum: string;
}

/** 0010: an image queued for one node's cache prefetcher. */
export interface ImageCacheQueueTable {
  node: string;
  image_id: string;
  queued_at: Timestamp;
}

/** 0011: the row whose lock serialises check-and-reserve of one project. */
export interface QuotaProjectsTable {
  project_id: string;
  serial: ColumnType<number | string, number, number>;
  /** 0014: the project's images that count towards image_count_total; NULL: not known yet. */
  images: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** 0011: what one reservation holds of one resource (bytes or images) until its lease runs out. */
export interface QuotaReservationsTable {
  id: string;
  resource: string;
  project_id: string;
  image_id: string | null;
  owner: string;
  amount: ColumnType<number | string, number, number>;
  lease_expires_at: Timestamp;
}

export interface Schema {
  quota_projects: QuotaProjectsTable;
  quota_reservations: QuotaReservationsTable;
  images: ImagesTable;
  image_properties: ImagePropertiesTable;
  image_tags: ImageTagsTable;
  image_members: ImageMembersTable;
  image_locations: ImageLocationsTable;
  tasks: TasksTable;
  image_transfers: ImageTransfersTable;
  metadef_namespaces: MetadefNamespacesTable;
  metadef_resource_types: MetadefResourceTypesTable;
  metadef_objects: MetadefObjectsTable;
  metadef_properties: MetadefPropertiesTable;
  metadef_tags: MetadefTagsTable;
  metadef_namespace_resource_types: MetadefNamespaceResourceTypesTable;
  image_cache_entries: ImageCacheEntriesTable;
  image_cache_queue: ImageCacheQueueTable;
  notification_outbox: NotificationOutboxTable;
  notification_relay: NotificationRelayTable;
}

/** 0012: a notification waiting to be published. */
export interface NotificationOutboxTable {
  seq: Generated<number | string>;
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: string;
  subject: string;
  payload: string;
  created_at: Timestamp;
}

/** 0012: the relay lease (one row, name 'relay'). */
export interface NotificationRelayTable {
  name: string;
  holder: string;
  lease_until: Timestamp;
}
