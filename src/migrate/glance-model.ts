// Glance's rows as the migration reads them (normalised by glance-reader.ts), before mapping.

export interface GlanceLocation {
  id: number;
  url: string;
  metadata: Record<string, unknown>;
  status: string;
  deleted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface GlanceMember {
  member: string;
  status: string;
  canShare: boolean;
  deleted: boolean;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
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
  /** Non-deleted properties; a NULL value stays null. */
  properties: Record<string, string | null>;
  /** Non-deleted tags, without duplicates, in Glance's id order. */
  tags: string[];
  /** Every location row (deleted ones too), in Glance's id order: the mapping decides what carries over. */
  locations: GlanceLocation[];
  /** Every member row (deleted ones too): a deleted one removes the membership from Glimpse. */
  members: GlanceMember[];
}

export interface GlanceTask {
  id: string;
  type: string;
  status: string;
  owner: string;
  imageId: string | null;
  requestId: string | null;
  userId: string | null;
  /** task_info JSON text, as Glance stores it. */
  input: string | null;
  result: string | null;
  message: string | null;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deleted: boolean;
  deletedAt: Date | null;
}
