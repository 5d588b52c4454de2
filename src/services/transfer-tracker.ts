// Ownership of uploads and stages: each one is recorded with this process as its owner and a lease
// (ports/transfers.ts) before the image leaves `queued`, kept alive by one heartbeat for all of this
// process's transfers (every third of the lease), and dropped when the transfer ends, whatever its
// outcome. If the process dies, the lease runs out and the recovery sweep (tasks/recovery.ts) on any
// node reverts the image. A transfer whose row another process took over (this one stalled past its
// lease, e.g. the database was unreachable) is aborted here, so two processes never act on it.
import type { Transfer, TransferKind, TransferRepository } from '../ports/transfers.ts';

export interface TransferTrackerLog {
  warn(obj: unknown, msg?: string): void;
}

export interface TransferTrackerOptions {
  transfers: TransferRepository;
  /** This process's id (shared with its task worker). */
  owner: string;
  leaseSeconds: number;
  log?: TransferTrackerLog;
  now?: () => Date;
}

/** One transfer this process runs. */
export interface TransferHandle {
  /** Aborted when another process took the transfer over: stop writing. */
  readonly signal: AbortSignal;
  end(): Promise<void>;
}

export class TransferTracker {
  private readonly active = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: TransferTrackerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Records the transfer; call right after the image's status compare-and-set, end() it in a finally. */
  async begin(imageId: string, kind: TransferKind, store: string, revertStatus: Transfer['revertStatus'] = 'queued'): Promise<TransferHandle> {
    const now = this.now();
    await this.options.transfers.begin({ imageId, kind, store, revertStatus, owner: this.options.owner, startedAt: now,
      leaseExpiresAt: this.leaseFrom(now) });
    const controller = new AbortController();
    this.active.set(imageId, controller);
    this.startHeartbeat();
    let ended = false;
    return {
      signal: controller.signal,
      end: async () => {
        if (ended) return;
        ended = true;
        if (this.active.get(imageId) === controller) this.active.delete(imageId);
        if (this.active.size === 0) this.stopHeartbeat();
        try {
          await this.options.transfers.end(imageId, this.options.owner);
        } catch (error) {
          // The row expires and the sweep finds the image no longer in transfer: nothing is lost.
          this.options.log?.warn({ err: error, image_id: imageId }, 'could not drop the record of an ended transfer');
        }
      },
    };
  }

  /** Renews this process's leases now; aborts transfers another process took over. */
  async heartbeat(): Promise<void> {
    if (this.active.size === 0) return;
    const asked = [...this.active];
    const held = new Set(await this.options.transfers.renew(this.options.owner, asked.map(([id]) => id),
      this.leaseFrom(this.now())));
    for (const [imageId, controller] of asked) {
      // A transfer that ended (or began again) meanwhile is not the one asked about.
      if (held.has(imageId) || this.active.get(imageId) !== controller) continue;
      this.active.delete(imageId);
      controller.abort(new Error(`the transfer of image ${imageId} was taken over by another process`));
    }
  }

  /** Stops the heartbeat (process shutdown); running transfers keep their rows until they end. */
  stop(): void {
    this.stopHeartbeat();
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.options.leaseSeconds * 1000);
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.heartbeat().catch((error: unknown) => this.options.log?.warn({ err: error }, 'could not renew transfer leases'));
    }, Math.max(250, (this.options.leaseSeconds * 1000) / 3));
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Image property (reserved os_glance_ namespace: users cannot set it) saying why the recovery sweep
 * ended an upload or stage whose owner was gone; removed when the next upload or stage starts.
 */
export const UPLOAD_ERROR_PROPERTY = 'os_glance_upload_error';

export function withoutRecoveryNote<T extends Record<string, unknown>>(properties: T): T {
  if (!(UPLOAD_ERROR_PROPERTY in properties)) return properties;
  const rest = { ...properties };
  delete rest[UPLOAD_ERROR_PROPERTY];
  return rest;
}

/** tracker.begin for a transfer whose image already left queued: on failure, `revert` puts it back first. */
export async function beginTransfer(tracker: TransferTracker | undefined, image: { id: string }, kind: TransferKind,
  store: string, revertStatus: Transfer['revertStatus'], revert: (error: unknown) => Promise<void>): Promise<TransferHandle | undefined> {
  if (!tracker) return undefined;
  try {
    return await tracker.begin(image.id, kind, store, revertStatus);
  } catch (error) {
    await revert(error);
    throw error;
  }
}
