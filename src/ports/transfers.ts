// Transfer ownership port: who runs each upload (image `saving`) and stage (image `uploading`), held
// as a lease like a task's. The implementation is src/db/transfer-repository.ts; the contract suite
// is test/contract/transfer-repository.test.ts (all three SQL dialects).
import type { ImageStatus } from '../domain/image.ts';

export type TransferKind = 'upload' | 'stage';

export interface Transfer {
  imageId: string;
  kind: TransferKind;
  /** Id of the store written to (the staging store for a stage). */
  store: string;
  /** What a failed transfer leaves: queued (v2 upload, stage) or killed (v1 upload). */
  revertStatus: Extract<ImageStatus, 'queued' | 'killed'>;
  /** The process running it (`<host>:<pid>:<random>`, the same id as its task worker). */
  owner: string;
  startedAt: Date;
  leaseExpiresAt: Date;
}

/** An image left in a transfer status (or holding an import lock) that no live owner accounts for. */
export interface StrandedImage {
  imageId: string;
  status: ImageStatus;
  /** The import lock (os_glance_import_task) it still carries, if any. */
  lockTaskId?: string;
}

export interface TransferRepository {
  /**
   * Records a transfer of `imageId`, replacing a leftover row of an earlier transfer of the image. Call it
   * after the status compare-and-set that made the transfer exclusive (queued → saving/uploading).
   */
  begin(transfer: Transfer): Promise<void>;
  /** Drops the row, if `owner` still holds it. */
  end(imageId: string, owner: string): Promise<void>;
  /** Extends the leases `owner` holds on these images; returns the ones it still holds. */
  renew(owner: string, imageIds: string[], leaseUntil: Date): Promise<string[]>;
  get(imageId: string): Promise<Transfer | undefined>;
  /** Transfers whose lease ran out before `now` (their owner is gone), oldest first. */
  expired(now: Date, limit: number): Promise<Transfer[]>;
  /**
   * Takes an expired transfer over for `owner` (compare-and-set on the old owner and an expired lease):
   * true for exactly one of several sweepers, false when it was renewed or taken meanwhile.
   */
  takeOver(transfer: Transfer, owner: string, now: Date, leaseUntil: Date): Promise<boolean>;
  /**
   * Images no live owner accounts for, changed before `updatedBefore`: `saving`/`uploading` without a
   * transfer row, and images whose import lock names a task that is missing, finished or expired, or
   * that are `importing` without a lock.
   */
  stranded(updatedBefore: Date, now: Date, limit: number): Promise<StrandedImage[]>;
}
