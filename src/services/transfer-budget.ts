// The process-wide budget for transfer buffers (issue 13; decision 0014). Every request that moves
// image data (upload, stage, import, download) reserves the most its pipeline can hold in memory
// (TRANSFER_WINDOW: stream buffers, the store's write batch or read chunk) for as long as it runs,
// and gives it back when it ends, however it ends. When the budget is used up, a new transfer
// waits (first come, first served) up to `waitMs` for room, then fails with 503 and Retry-After in
// Glance's error shape; a transfer never holds more than its reservation, so the process's transfer
// buffers stay within the budget whatever clients do. Requests that move no image data never ask,
// so they are never starved. A stalled transfer holds its reservation, not memory: its buffers hold
// only what has arrived.
import type { Readable } from 'node:stream';

import { DomainError } from '../domain/errors.ts';
import type { StoreDriver } from '../ports/store.ts';
import { msg } from '../i18n/message.ts';

/**
 * The most one transfer's buffers hold: the request's and the stages' stream buffers (a few 64 KiB
 * socket chunks) and the file store's 1 MiB write batch or read chunk, one in flight and one filling.
 */
export const TRANSFER_WINDOW = 2 * 1024 * 1024;

/**
 * The reservation of one transfer that writes about `sizeHint` bytes into `driver`: the window, plus
 * whatever the driver itself buffers for such a put (S3's multipart part buffers).
 */
export function putReservation(driver: Pick<StoreDriver, 'putBuffers'>, sizeHint?: number): number {
  return TRANSFER_WINDOW + (driver.putBuffers?.(sizeHint) ?? 0);
}

/** The reservation of one download from `driver`: the window, plus the driver's own read buffers beyond it. */
export function getReservation(driver: Pick<StoreDriver, 'getBuffers'>): number {
  return TRANSFER_WINDOW + (driver.getBuffers?.() ?? 0);
}

/** The error code of a refusal when the budget stays used up (503 + Retry-After). */
export const BUDGET_EXHAUSTED = 'transfer.budget_exhausted';

export interface TransferBudgetOptions {
  /** Bytes all transfers together may reserve; 0 or Infinity: no limit. */
  bytes: number;
  /** How long a transfer waits for room before the 503, milliseconds. */
  waitMs: number;
}

/** Gives a reservation back; idempotent. */
export type Release = () => void;

interface Waiter {
  bytes: number;
  grant: (release: Release) => void;
  timer: NodeJS.Timeout;
}

export class TransferBudget {
  private readonly limit: number;
  private readonly waitMs: number;
  private reserved = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: TransferBudgetOptions) {
    this.limit = options.bytes > 0 ? options.bytes : Infinity;
    this.waitMs = Math.max(0, options.waitMs);
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.reserved;
  }

  /** Transfers waiting for room. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Reserves `bytes` (at most the whole budget) for one transfer: at once when there is room and
   * nobody waits, else after the transfers ahead, within waitMs; otherwise rejects with 503.
   * `signal` (the request's) gives up the wait when the client goes away.
   */
  acquire(bytes = TRANSFER_WINDOW, signal?: AbortSignal): Promise<Release> {
    const amount = Math.min(bytes, this.limit);
    if (this.queue.length === 0 && this.reserved + amount <= this.limit) return Promise.resolve(this.take(amount));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Release>((resolve, reject) => {
      const leave = () => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
        this.grantWaiting();
      };
      const waiter: Waiter = {
        bytes: amount,
        grant: (release) => {
          leave();
          resolve(release);
        },
        timer: setTimeout(() => {
          leave();
          reject(this.busy());
          this.grantWaiting();
        }, this.waitMs),
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private take(amount: number): Release {
    this.reserved += amount;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= amount;
      this.grantWaiting();
    };
  }

  /** Grants waiting transfers in order while they fit. */
  private grantWaiting(): void {
    while (this.queue.length > 0 && this.reserved + this.queue[0]!.bytes <= this.limit) {
      const next = this.queue[0]!;
      next.grant(this.take(next.bytes));
    }
  }

  private busy(): DomainError {
    const retryAfter = String(Math.max(1, Math.ceil(this.waitMs / 1000)));
    return new DomainError('ServiceUnavailable', BUDGET_EXHAUSTED,
      msg('The server is moving as much image data as it may at once; try again later.'),
      { headers: { 'retry-after': retryAfter } });
  }
}

/** No limit: every reservation is granted at once. */
export const UNLIMITED_TRANSFERS = new TransferBudget({ bytes: 0, waitMs: 0 });

/** Calls `release` once `stream` has closed (ended, failed or destroyed). */
export function releaseOnClose(stream: Readable, release: Release): void {
  if (stream.closed || stream.destroyed) release();
  else stream.once('close', release);
}
