// The recovery sweep: ends the transfers whose owner is gone, on every node, while running and at
// start-up (decision 0015).
//
// Every `[task] recovery_interval` seconds each process:
//   1. takes over uploads and stages whose lease expired (compare-and-set on the transfer row, so of
//      several sweepers one acts), returns the image to the status a failed transfer leaves (queued,
//      or killed for v1), says why in the image property os_glance_upload_error, and removes the
//      partial data (temp files, Swift segments, S3 multipart uploads, an object stored but never
//      recorded as a location, partially staged data);
//   2. finds images no live owner accounts for: `saving`/`uploading` without a transfer row, and
//      import locks (os_glance_import_task) whose task is gone or ended, and reverts those imports as
//      failed (tasks/image-import.ts abandon: os_glance_failed_import, os_glance_import_error);
//   3. removes from the staging area what belongs to no image that is staged or importing;
//   4. drops quota reservations (decision 0021) whose lease ran out: their process stopped renewing them.
// A transfer whose owner still renews its lease is never touched: only expired rows are taken over,
// and step 2 and 3 skip anything changed within the last lease.
import type { Image } from '../domain/image.ts';
import type { Task } from '../domain/task.ts';
import type { ImageRepository } from '../ports/repositories.ts';
import type { StoreDriver, StoreRegistry } from '../ports/store.ts';
import type { TaskRepository } from '../ports/tasks.ts';
import type { StrandedImage, Transfer, TransferRepository } from '../ports/transfers.ts';
import { UPLOAD_ERROR_PROPERTY } from '../services/transfer-tracker.ts';
import { IMPORT_PROPS } from '../domain/import.ts';
import { stagedLocation } from '../services/staging.ts';
import { removePartialData } from './image-import.ts';
import type { TaskLog } from './worker.ts';

/** The staging store as the sweep lists it (a file store on the shared staging directory). */
export interface StagingArea extends StoreDriver {
  removePartial(imageId: string): Promise<number>;
  entries(): Promise<Array<{ imageId: string; temp: boolean; location: string; mtimeMs: number }>>;
  removeTemp(location: string): Promise<void>;
}

export interface RecoveryOptions {
  transfers: TransferRepository;
  images: ImageRepository;
  tasks: TaskRepository;
  stores: StoreRegistry;
  staging: StagingArea;
  /** Reverts an import whose workers are gone (ImageImportRunner.abandon). */
  abandonImport(imageId: string, lockTaskId: string, task: Task | undefined, message: string): Promise<void>;
  /** This process's id (as its task worker's). */
  owner: string;
  leaseSeconds: number;
  intervalSeconds: number;
  log: TaskLog;
  now?: () => Date;
  /** Keep the process alive while the sweep runs (`glimpse worker`). */
  keepProcessAlive?: boolean;
  /** Drops expired quota reservations (QuotaRepository.sweep); absent without unified limits. */
  sweepReservations?: (now: Date) => Promise<number>;
}

export interface RecoveryReport {
  transfers: number;
  stranded: number;
  stagingRemoved: number;
  reservationsReleased: number;
}

const BATCH = 100;
const CAS_RETRIES = 5;

export class TransferRecovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly now: () => Date;

  constructor(private readonly options: RecoveryOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Sweeps now, then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async sweepOnce(): Promise<RecoveryReport> {
    const report: RecoveryReport = { transfers: 0, stranded: 0, stagingRemoved: 0, reservationsReleased: 0 };
    const now = this.now();
    for (const transfer of await this.options.transfers.expired(now, BATCH)) {
      const leaseUntil = new Date(now.getTime() + this.options.leaseSeconds * 1000);
      if (!await this.options.transfers.takeOver(transfer, this.options.owner, now, leaseUntil)) continue;
      try {
        await this.recoverTransfer(transfer);
        report.transfers++;
      } finally {
        await this.options.transfers.end(transfer.imageId, this.options.owner);
      }
    }
    const quietSince = new Date(now.getTime() - this.options.leaseSeconds * 1000);
    for (const stranded of await this.options.transfers.stranded(quietSince, now, BATCH)) {
      if (await this.recoverStranded(stranded)) report.stranded++;
    }
    report.stagingRemoved = await this.cleanStaging(quietSince);
    report.reservationsReleased = await this.options.sweepReservations?.(now) ?? 0;
    return report;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sweepOnce().then((report) => {
        if (report.transfers + report.stranded + report.stagingRemoved + report.reservationsReleased > 0) this.options.log.info(report, 'recovery sweep done');
      }, (error: unknown) => {
        this.options.log.error({ err: error }, 'recovery sweep failed; trying again at the next interval');
      }).finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalSeconds * 1000);
      });
    }, delayMs);
    if (!this.options.keepProcessAlive) this.timer.unref();
  }

  /** An upload or stage whose owner is gone: revert the image if it is still in that transfer; remove partial data. */
  private async recoverTransfer(transfer: Transfer): Promise<void> {
    const { imageId, kind } = transfer;
    const reason = `${kind} interrupted: the process receiving the data (${transfer.owner}) stopped `
      + `(no heartbeat since ${new Date(transfer.leaseExpiresAt.getTime() - this.options.leaseSeconds * 1000).toISOString()}); `
      + 'the data was discarded.';
    const image = await this.revert(imageId, (img) => kind === 'upload'
      ? img.status === 'saving'
      // A stage that completed has its size recorded; only one still receiving is reverted.
      : img.status === 'uploading' && img.size === null, transfer.revertStatus, reason);
    const store = kind === 'stage' ? undefined : this.options.stores.get(transfer.store);
    const keep = image ? image.locations.filter((l) => l.status !== 'deleted').map((l) => l.url) : [];
    if (kind === 'stage') {
      await this.options.staging.removePartial(imageId).catch((error: unknown) => this.warn(error, imageId, 'staging'));
      const dead = !image || image.deleted || image.status === 'queued' || image.status === 'killed';
      if (dead) await this.options.staging.delete(stagedLocation(this.options.staging, imageId)).catch(() => undefined);
    } else {
      await removePartialData({ stores: this.options.stores, staging: this.options.staging }, imageId,
        store ? [store.id] : this.options.stores.ids(), this.options.log, keep);
    }
    this.options.log.warn({ image_id: imageId, kind, owner: transfer.owner, status: image?.status }, reason);
  }

  private async recoverStranded(stranded: StrandedImage): Promise<boolean> {
    const { imageId, status, lockTaskId } = stranded;
    if (lockTaskId !== undefined || status === 'importing') {
      const task = lockTaskId ? await this.options.tasks.get(lockTaskId, this.now()) : undefined;
      const message = !lockTaskId ? 'The image was importing without an import task; the import was abandoned.'
        : !task ? 'The import task of this image is gone; the import was abandoned.'
          : `The import task ended (${task.status}) without releasing the image${task.message ? `: ${task.message}` : '.'}`;
      await this.options.abandonImport(imageId, lockTaskId ?? '', task, message);
      this.options.log.warn({ image_id: imageId, task_id: lockTaskId }, message);
      return true;
    }
    const kind = status === 'saving' ? 'upload' : 'stage';
    const reason = `${kind} interrupted: no process owns this ${kind} any more; the data was discarded.`;
    const image = await this.revert(imageId, (img) => img.status === status && (status === 'saving' || img.size === null),
      'queued', reason);
    if (!image || image.status !== 'queued') return false;
    const keep = image.locations.filter((l) => l.status !== 'deleted').map((l) => l.url);
    await removePartialData({ stores: this.options.stores, staging: this.options.staging }, imageId,
      this.options.stores.ids(), this.options.log, keep);
    if (kind === 'stage') await this.options.staging.delete(stagedLocation(this.options.staging, imageId)).catch(() => undefined);
    this.options.log.warn({ image_id: imageId }, reason);
    return true;
  }

  /**
   * Compare-and-set the image back to `status` while `stillInTransfer` holds; returns the image as it
   * is afterwards (undefined when it is gone), or as found when it had moved on.
   */
  private async revert(imageId: string, stillInTransfer: (image: Image) => boolean, status: 'queued' | 'killed',
    reason: string): Promise<Image | undefined> {
    for (let attempt = 0; ; attempt++) {
      const image = await this.options.images.get(imageId, { includeDeleted: true });
      if (!image || image.deleted || !stillInTransfer(image)) return image;
      const properties: Record<string, string> = { ...image.properties, [UPLOAD_ERROR_PROPERTY]: reason.slice(0, 255) };
      delete properties[IMPORT_PROPS.stageHost];
      try {
        return await this.options.images.update({ ...image, status, size: status === 'killed' ? image.size : null,
          virtualSize: null, properties, updatedAt: this.now() }, { expectVersion: image.version, expectStatus: image.status });
      } catch (error) {
        if (!isConflict(error) || attempt >= CAS_RETRIES) throw error;
      }
    }
  }

  /** Staged data and staging temp files of images that are neither staged nor importing. */
  private async cleanStaging(quietSince: Date): Promise<number> {
    const { staging, images } = this.options;
    let removed = 0;
    for (const entry of await staging.entries()) {
      if (entry.mtimeMs >= quietSince.getTime()) continue;
      const image = await images.get(entry.imageId, { includeDeleted: true });
      const inUse = image !== undefined && !image.deleted
        && (image.status === 'uploading' || image.status === 'importing' || image.properties[IMPORT_PROPS.lock] !== undefined);
      if (inUse) continue;
      if (entry.temp) await staging.removeTemp(entry.location);
      else await staging.delete(entry.location);
      removed++;
    }
    return removed;
  }

  private warn(error: unknown, imageId: string, store: string): void {
    this.options.log.warn({ err: error, image_id: imageId, store }, 'could not remove partial image data');
  }
}

function isConflict(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'image.version_conflict';
}
