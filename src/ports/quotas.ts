// Per-project quotas (Keystone unified limits, decision 0021): where the limits come from
// (LimitSource: identity/keystone-limits.ts) and where usage is counted and reserved
// (QuotaRepository: db/quota-repository.ts; contract test/contract/quota-repository.test.ts).

/** Glance's four resources. Sizes are limited in MiB; Glimpse counts and reserves them in bytes. */
export const QUOTA_RESOURCES = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const;
export type QuotaResource = typeof QUOTA_RESOURCES[number];

/** The size resources: limits in MiB, usage and reservations in bytes. */
export const SIZE_RESOURCES: ReadonlySet<QuotaResource> = new Set(['image_size_total', 'image_stage_total']);

/** The limit of each resource for one project, as Keystone states it (a negative limit: unlimited). */
export type ProjectLimits = Record<QuotaResource, number>;

export interface LimitSource {
  /**
   * The project's limit for every resource: its project limit, else the registered default, else 0
   * (oslo.limit: an unregistered resource may not be used). Rejects with a DomainError when Keystone
   * cannot be asked.
   */
  limitsFor(projectId: string): Promise<ProjectLimits>;
}

/** Usage of one project: bytes for the size resources, numbers of images for the counts. */
export type ProjectUsage = Record<QuotaResource, number>;

export interface ReserveRequest {
  projectId: string;
  /** Amount to add per resource, in usage units (bytes / images). */
  amounts: Partial<Record<QuotaResource, number>>;
  /** The limits in usage units (bytes / images); negative: unlimited. Only the resources in `amounts` are checked. */
  limits: Partial<Record<QuotaResource, number>>;
  /** The process holding it (the transfer-lease owner id). */
  owner: string;
  imageId?: string;
  /** Grow this reservation instead of creating one. */
  reservationId?: string;
  /** Reservations whose lease ran out before this no longer count. */
  now: Date;
  leaseUntil: Date;
}

/** Why a reservation was refused: one entry per resource that would go over its limit. */
export interface OverLimit {
  resource: QuotaResource;
  limit: number;
  /** Usage plus the other live reservations, in usage units. */
  usage: number;
  delta: number;
}

export type ReserveResult = { ok: true; reservationId: string } | { ok: false; over: OverLimit[] };

export interface QuotaRepository {
  /** What the project uses now, counted as Glance counts it (no reservations). */
  usage(projectId: string): Promise<ProjectUsage>;
  /**
   * In one transaction serialised per project: usage + every live reservation of the project (but
   * the one being grown) + the amounts, against the limits; records the amounts only when every
   * resource fits. Of concurrent callers on any number of nodes, none can together go over a limit.
   */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /** Drops a reservation (idempotent). */
  release(reservationId: string): Promise<void>;
  /** Extends the leases of `owner`'s reservations among `reservationIds`. */
  renew(owner: string, reservationIds: string[], leaseUntil: Date): Promise<void>;
  /** Drops reservations whose lease ran out before `now` (their owner is gone); returns how many. */
  sweep(now: Date): Promise<number>;
}
