// Per-project quotas from Keystone unified limits (use_keystone_limits; decision 0021), enforced
// where Glance enforces them, but exactly: every check is a reservation recorded in the same
// transaction that checks it (ports/quotas.ts), held until what it stands for has committed, so
// concurrent requests on any number of nodes never end above a limit together. Sizes are limited
// in MiB (Keystone's numbers) and reserved in bytes; a transfer whose size is not announced
// reserves in steps as its bytes arrive. Reservations carry this process's transfer-lease owner
// id and a lease renewed here; a dead process's reservations run out and the recovery sweep drops
// them.
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';

import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import {
  QUOTA_RESOURCES, SIZE_RESOURCES, type LimitSource, type OverLimit, type QuotaRepository, type QuotaResource,
} from '../ports/quotas.ts';
import type { CountLimit } from '../ports/repositories.ts';

export const MIB = 1024 * 1024;
/** How much more a transfer of unknown size reserves each time its bytes outgrow its reservation. */
export const RESERVATION_STEP = 16 * MIB;

export interface ProjectQuotasOptions {
  limits: LimitSource;
  repository: QuotaRepository;
  /** This process's id (the owner of its transfer leases). */
  owner: string;
  leaseSeconds: number;
  now?: () => Date;
  log?: { warn(obj: unknown, msg?: string): void };
}

export type Amounts = Partial<Record<QuotaResource, number>>;

/** One reservation; release() it once what it stands for has committed or failed. */
export interface Reservation {
  /** Adds to the reservation; 413 (and nothing added) when it does not fit. */
  grow(amounts: Amounts): Promise<void>;
  release(): Promise<void>;
}

/** GET /v2/info/usage: each resource's limit (as Keystone states it) and usage (MiB for sizes). */
export type UsageReport = Record<string, { limit: number; usage: number }>;

export class ProjectQuotas {
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: ProjectQuotasOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Checks and records `amounts` (usage units: bytes, images) for `projectId`; 413 in Glance's words
   * when some resource would go over its limit. A zero amount only checks (Glance's delta 0).
   */
  async reserve(projectId: string, amounts: Amounts, imageId?: string): Promise<Reservation> {
    const id = await this.record(projectId, amounts, imageId, undefined);
    let released = false;
    return {
      grow: async (more) => {
        await this.record(projectId, more, imageId, id);
      },
      release: async () => {
        if (released) return;
        released = true;
        this.held.delete(id);
        if (this.held.size === 0) this.stopRenewing();
        try {
          await this.options.repository.release(id);
        } catch (error) {
          // Its lease runs out and the sweep drops it: the project is only held back until then.
          this.options.log?.warn({ err: error, reservation: id }, 'could not release a quota reservation');
        }
      },
    };
  }

  /**
   * image_count_total for a new image of `projectId`: `create` gets the check to make in the
   * transaction that inserts the image (no reservation row: one transaction in all); none when the
   * project's image count is unlimited.
   */
  async countedCreate<T>(projectId: string, create: (countLimit: CountLimit | undefined) => Promise<T>): Promise<T> {
    const limits = await this.limitsInUnits(projectId);
    if (limits.image_count_total < 0) return create(undefined);
    return create({ limit: limits.image_count_total, now: this.now(), refuse: (over) => overLimit(projectId, over) });
  }

  /** Reserves, runs `work`, releases after it (whatever its outcome): for what commits within `work`. */
  async within<T>(projectId: string, amounts: Amounts, work: () => Promise<T>): Promise<T> {
    const reservation = await this.reserve(projectId, amounts);
    try {
      return await work();
    } finally {
      await reservation.release();
    }
  }

  /**
   * A byte reservation for a transfer into `resource`: `announced` bytes up front when the size is
   * known, else grown in RESERVATION_STEP steps (or what is left, when less) as bytes arrive.
   */
  async transfer(projectId: string, imageId: string, resource: QuotaResource, announced: number | undefined): Promise<TransferQuota> {
    const reservation = await this.reserve(projectId, { [resource]: announced ?? 0 }, imageId);
    return new TransferQuota(reservation, resource, announced ?? 0, announced !== undefined);
  }

  /** The project's limits in usage units (MiB → bytes for sizes; negative: unlimited). */
  async limitsInUnits(projectId: string): Promise<Record<QuotaResource, number>> {
    const limits = await this.options.limits.limitsFor(projectId);
    const units = {} as Record<QuotaResource, number>;
    for (const resource of QUOTA_RESOURCES) {
      const limit = limits[resource];
      units[resource] = limit >= 0 && SIZE_RESOURCES.has(resource) ? limit * MIB : limit;
    }
    return units;
  }

  /** The project's limits and usage as GET /v2/info/usage reports them (reservations are not usage). */
  async usage(projectId: string): Promise<UsageReport> {
    const [limits, usage] = await Promise.all([this.options.limits.limitsFor(projectId), this.options.repository.usage(projectId)]);
    const report: UsageReport = {};
    for (const resource of QUOTA_RESOURCES) {
      report[resource] = { limit: limits[resource], usage: SIZE_RESOURCES.has(resource) ? Math.floor(usage[resource] / MIB) : usage[resource] };
    }
    return report;
  }

  /** Stops renewing (process shutdown); held reservations then run out with their lease. */
  stop(): void {
    this.stopRenewing();
  }

  private async record(projectId: string, amounts: Amounts, imageId: string | undefined, reservationId: string | undefined): Promise<string> {
    const limits = await this.limitsInUnits(projectId);
    const now = this.now();
    const result = await this.options.repository.reserve({
      projectId, amounts, limits, owner: this.options.owner, imageId, reservationId, now,
      leaseUntil: new Date(now.getTime() + this.options.leaseSeconds * 1000),
    });
    if (!result.ok) throw overLimit(projectId, result.over);
    this.held.add(result.reservationId);
    this.startRenewing();
    return result.reservationId;
  }

  private startRenewing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = this.now();
      this.options.repository.renew(this.options.owner, [...this.held], new Date(now.getTime() + this.options.leaseSeconds * 1000))
        .catch((error: unknown) => this.options.log?.warn({ err: error }, 'could not renew quota reservations'));
    }, Math.max(250, (this.options.leaseSeconds * 1000) / 3));
    this.timer.unref();
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The byte reservation of one upload, stage or import step; see ProjectQuotas.transfer. */
export class TransferQuota {
  private reserved: number;

  constructor(private readonly reservation: Reservation, private readonly resource: QuotaResource, reserved: number,
    private readonly exact: boolean) {
    this.reserved = reserved;
  }

  /** The source, failing with 413 at the first byte that the project's limit cannot take. */
  through(source: Readable): Readable {
    let passed = 0;
    const gate = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        passed += chunk.length;
        if (passed <= this.reserved) return callback(null, chunk);
        this.growTo(passed).then(() => callback(null, chunk), (error: unknown) => callback(error as Error));
      },
    });
    // pipeline: a failure on either side destroys both (the request stops, the writer sees the error).
    return pipeline(source, gate, () => {});
  }

  release(): Promise<void> {
    return this.reservation.release();
  }

  /** Grows the reservation to at least `bytes`: a step more when it fits, else exactly what is needed. */
  private async growTo(bytes: number): Promise<void> {
    const step = this.exact ? bytes - this.reserved : Math.max(bytes - this.reserved, RESERVATION_STEP);
    try {
      await this.reservation.grow({ [this.resource]: step });
      this.reserved += step;
      return;
    } catch (error) {
      if (step === bytes - this.reserved || !(error instanceof DomainError)) throw error;
    }
    const needed = bytes - this.reserved;
    await this.reservation.grow({ [this.resource]: needed });
    this.reserved += needed;
  }
}

/** Glance's LimitExceeded over oslo.limit's ProjectOverLimit, in MiB for the size resources. */
export function overLimit(projectId: string, over: OverLimit[]): DomainError {
  const limits = over.map((o) => {
    const size = SIZE_RESOURCES.has(o.resource);
    const limit = size ? Math.floor(o.limit / MIB) : o.limit;
    const usage = size ? Math.floor(o.usage / MIB) : o.usage;
    const delta = size ? Math.ceil(o.delta / MIB) : o.delta;
    return `Resource ${o.resource} is over limit of ${limit} due to current usage ${usage} and delta ${delta}`;
  }).join(', ');
  return new DomainError('PayloadTooLarge', 'quota.over_limit',
    msg('The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota '
      + 'threshold was breached.\n\nThe response body:\nProject {project} is over a limit for [{limits}]',
    { project: projectId, limits }));
}
