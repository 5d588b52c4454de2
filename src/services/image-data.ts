// Image data use cases: upload_image (PUT /file) and download_image (GET /file).
// Upload: load → authorize → formats → CAS queued→saving → stream through the writer →
// CAS saving→active; any failure reverts to queued and removes what was written.
import type { Readable } from 'node:stream';
import { DomainError, badRequest, conflict, forbidden, gone, payloadTooLarge } from '../domain/errors.ts';
import type { Image, ImageLocation } from '../domain/image.ts';
import { msg } from '../i18n/message.ts';
import { assertTransition } from '../domain/image-rules.ts';
import type { RequestContext } from '../ports/context.ts';
import type { PolicyTarget } from '../ports/policy.ts';
import type { ByteRange, StoreDriver } from '../ports/store.ts';
import { writeImageData } from '../stores/writer.ts';
import { downloadFailure } from '../stores/errors.ts';
import type { InspectionResult } from '../formats/index.ts';
import { inspectingTap, judgeInspection } from './inspection.ts';
import { ImageAccess, imageNotFound } from './image-access.ts';
import type { ImageServiceDeps } from './images.ts';
import { isVersionConflict } from './images.ts';
import { preferredFirst, sortByStoreWeight } from './location-data.ts';
import { beginTransfer, withoutRecoveryNote } from './transfer-tracker.ts';
import { callerOf, signatureCheck, type SignatureCheck } from '../signature/check.ts';
import { TRANSFER_WINDOW, getReservation, putReservation, releaseOnClose } from './transfer-budget.ts';
import { imageDraft, imageEmit, uploadFailureDraft } from './notifier.ts';
import { imageSendPayload, importProgressFields } from './notification-payloads.ts';
import { countingTap } from './notification-tap.ts';
import type { TransferQuota } from './project-quotas.ts';

export interface UploadOptions {
  /** Size announced by the client (x-openstack-image-size); the stored size must match. */
  expectedSize?: number;
  /** Content-Length, when sent: refused early when it cannot fit. */
  contentLength?: number;
  /** X-Image-Meta-Store (multi-store): the store to write to instead of the default. */
  store?: string;
  /** The MD5 (`checksum`) the data must have; other data fails the upload with 400. */
  expectedMd5?: string;
  /** Status a failed upload leaves the image in (default queued; `killed`: the image is given up). */
  statusAfterFailure?: 'queued' | 'killed';
  /**
   * The upload is work a task worker resumes (ctx.signal = the task's: worker stopping, lease
   * lost): an upload stopped by that signal leaves the image queued for the next attempt, whatever
   * statusAfterFailure says.
   */
  resumable?: boolean;
}

export interface Download {
  image: Image;
  /** undefined: the image has no data (answer 204). */
  data?: { stream: Readable; size: number; range?: ByteRange };
}

/**
 * The virtual size known without inspecting the data: a raw disk is as large as its bytes (Glance
 * reports the same; an empty upload stays null). Other formats need the format inspector.
 */
function virtualSizeOf(image: Image, size: number): number | null {
  return image.diskFormat === 'raw' && size > 0 ? size : null;
}

export interface UploadBudget {
  maxBytes: number;
  error: () => DomainError;
}

/**
 * The byte limit for an upload, stage or import: image_size_cap, and what is left of
 * user_storage_quota (ignored under Keystone unified limits, as in Glance). `announced`: the size
 * the client declared, named in the refusal; unknown, the refusal names the bytes received when
 * the data went over (one more than what was left).
 */
export async function uploadBudget(deps: Pick<ImageServiceDeps, 'settings' | 'images' | 'quotas'>, image: Image,
  announced?: number): Promise<UploadBudget> {
  const { settings, images } = deps;
  const capError = () => payloadTooLarge('Image exceeds the size limit of {limit} bytes.', { limit: settings.imageSizeCap },
    'quota.size_cap');
  if (settings.userStorageQuota <= 0 || image.owner === null || deps.quotas) return { maxBytes: settings.imageSizeCap, error: capError };
  const left = Math.max(0, settings.userStorageQuota - await images.storageUsed(image.owner));
  if (left >= settings.imageSizeCap) return { maxBytes: settings.imageSizeCap, error: capError };
  const size = announced ?? left + 1;
  return {
    maxBytes: left,
    error: () => payloadTooLarge('Denying attempt to upload image because it exceeds the quota: '
      + 'The size of the data {size} will exceed the limit. {left} bytes remaining.', { size, left }, 'quota.storage'),
  };
}

/** The project's byte reservation for moving data into `resource` (none without unified limits or an owner). */
export async function transferQuota(deps: Pick<ImageServiceDeps, 'quotas'>, image: Image, resource: 'image_size_total' | 'image_stage_total',
  announced: number | undefined): Promise<TransferQuota | undefined> {
  if (!deps.quotas || image.owner === null) return undefined;
  return deps.quotas.transfer(image.owner, image.id, resource, announced);
}

/**
 * `claim` (the compare-and-set into saving / uploading) under an image_count_uploading reservation of
 * one, released once the claimed image counts itself.
 */
export async function countedClaim<T>(deps: Pick<ImageServiceDeps, 'quotas'>, image: Image, claim: () => Promise<T>): Promise<T> {
  if (!deps.quotas || image.owner === null) return claim();
  return deps.quotas.within(image.owner, { image_count_uploading: 1 }, claim);
}

export class ImageDataService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;

  constructor(private readonly deps: ImageServiceDeps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
  }

  async uploadImage(ctx: RequestContext, id: string, source: Readable, options: UploadOptions = {}): Promise<Image> {
    const driver = this.targetStore(options.store);
    const { image } = await this.access.loadFor(ctx, id, 'upload_image');
    if (!image.diskFormat || !image.containerFormat) {
      throw badRequest('Properties disk_format, container_format must be set prior to saving data.', {},
        'image.formats_unset');
    }
    assertTransition(image.status, 'saving');
    const announced = options.expectedSize ?? options.contentLength;
    const budget = await uploadBudget(this.deps, image, announced);
    if (announced !== undefined && announced > budget.maxBytes) throw budget.error();

    // The quota and room in the transfer budget first: a refused upload leaves the image as it was (queued).
    const quota = await transferQuota(this.deps, image, 'image_size_total', announced);
    try {
      const release = await this.deps.bufferBudget?.acquire(putReservation(driver, announced), ctx.signal);
      try {
        return await this.receive(ctx, image, driver, quota ? quota.through(source) : source, budget, options);
      } finally {
        release?.();
      }
    } finally {
      // After the saving → active commit: the stored image now counts in image_size_total itself.
      await quota?.release();
    }
  }

  private async receive(ctx: RequestContext, image: Image, driver: StoreDriver, source: Readable, budget: UploadBudget,
    options: UploadOptions): Promise<Image> {
    const saving = await countedClaim(this.deps, image, () => this.claim(image, this.deps.settings.multiStore ? driver.id : undefined));
    const failedStatus = options.statusAfterFailure ?? 'queued';
    const transfer = await beginTransfer(this.deps.transfers, saving, 'upload', driver.id, failedStatus,
      (error) => this.revert(ctx, saving, error, failedStatus));
    try {
      return await this.store(ctx, saving, driver, source, budget, transfer?.signal, options);
    } finally {
      await transfer?.end();
    }
  }

  /** The write and the saving → active compare-and-set of uploadImage. */
  private async store(ctx: RequestContext, saving: Image, driver: StoreDriver, source: Readable, budget: UploadBudget,
    takenOver: AbortSignal | undefined, options: UploadOptions): Promise<Image> {
    const id = saving.id;
    const image = saving;
    // Glance inspects bare images only: other containers wrap the disk in their own format.
    const inspection = image.containerFormat === 'bare' ? inspectingTap(this.deps.settings.inspection) : undefined;
    let written: Awaited<ReturnType<typeof writeImageData>>;
    let virtualSize: number | null;
    let signature: SignatureCheck | undefined;
    try {
      signature = await this.signatureCheck(ctx, saving);
      const consumers = [...inspection ? [inspection.consumer] : [], ...signature ? [signature.consumer] : []];
      written = await writeImageData({
        driver, imageId: id, source, consumers, limit: budget,
        expectedSize: options.expectedSize, sizeHint: options.expectedSize ?? options.contentLength, hashingAlgorithm: this.deps.settings.hashingAlgorithm,
        signal: takenOver ? AbortSignal.any([ctx.signal, takenOver]) : ctx.signal,
      });
      if (signature) await this.verifyOrDiscard(signature, driver, written.location, ctx);
      if (options.expectedMd5 !== undefined && options.expectedMd5 !== written.checksum) {
        await this.discard(driver, written.location, ctx);
        throw badRequest('Checksum verification failed. Aborted caching of image \'{id}\'.', { id }, 'upload.checksum_mismatch');
      }
      virtualSize = inspection
        ? await this.judge(ctx, saving, inspection.finish(written.size), driver, written.location)
        : virtualSizeOf(saving, written.size);
    } catch (error) {
      signature?.close();
      const status = options.resumable && ctx.signal.aborted ? 'queued' : options.statusAfterFailure ?? 'queued';
      await this.revert(ctx, saving, error, status);
      throw error;
    }
    const active: Image = {
      ...saving, status: 'active', size: written.size, virtualSize,
      checksum: written.checksum,
      osHashAlgo: written.osHashAlgo, osHashValue: written.osHashValue, updatedAt: this.now(),
      locations: [{ url: written.location, metadata: { store: driver.id }, status: 'active' }],
    };
    try {
      return await this.deps.images.update(active, { expectVersion: saving.version, expectStatus: 'saving',
        emit: this.deps.notifier?.emit<Image>((stored) => [imageDraft('image.upload', stored, importProgressFields(stored)),
          imageDraft('image.activate', stored), imageDraft('image.update', stored)]) });
    } catch (error) {
      await this.discard(driver, written.location, ctx);
      if (isVersionConflict(error)) throw this.uploadGone(id);
      throw error;
    }
  }

  /**
   * GET /v2/images/{id}/file. `prefer` (`?prefer=a,b`, Glance master 2026.1): store ids to try
   * first, in that order; the image's other locations follow (by store weight) as a fallback. As in
   * master it applies only to reads from the stores: a cache hit is served without looking at it;
   * otherwise it needs the `download_from_store` rule, multi-store, and configured store ids (400).
   */
  async downloadImage(ctx: RequestContext, id: string, pickRange: (size: number) => ByteRange | undefined,
    prefer: readonly string[] = []): Promise<Download> {
    const loaded = await this.access.loadFor(ctx, id, 'download_image');
    const { image } = loaded;
    if (image.status === 'deactivated' && !ctx.isAdmin) {
      throw forbidden('The requested image has been deactivated. Image data download is forbidden.', {},
        'image.deactivated');
    }
    const active = sortByStoreWeight(image.locations.filter((l) => l.status === 'active'), this.deps.settings.storeWeights);
    if (active.length === 0 || image.size === null) {
      if (prefer.length > 0) this.checkPreference(ctx, loaded.target, prefer);
      return { image };
    }
    const range = pickRange(image.size);
    const { cache } = this.deps;
    // The largest read buffers any candidate store's driver holds (rbd: its ring), known before the pick.
    const reservation = Math.max(...active.map((l) => {
      const candidate = this.deps.stores.forLocation(l.url);
      return candidate ? getReservation(candidate) : TRANSFER_WINDOW;
    }));
    const release = await this.deps.bufferBudget?.acquire(reservation, ctx.signal);
    try {
      const hit = await cache?.read(image, range, ctx.log, ctx.signal);
      if (hit) {
        if (release) releaseOnClose(hit.stream, release);
        return { image, data: { ...hit, stream: this.sendTap(ctx, image, hit.stream, range), range } };
      }
      if (prefer.length > 0) this.checkPreference(ctx, loaded.target, prefer);
      const read = await this.readFirstAvailable(ctx, image, preferredFirst(active, prefer), range);
      if (!read) {
        release?.();
        return { image };
      }
      // A full download of an uncached image also fills the cache (src/cache/).
      const data = cache && !range ? await cache.fill(image, read.stream, ctx.log) : read.stream;
      if (release) releaseOnClose(data, release);
      return { image, data: { stream: this.sendTap(ctx, image, data, range), size: read.size, range } };
    } catch (error) {
      release?.();
      throw error;
    }
  }

  /** master's download_from_store rule and store check for `?prefer=` (400 for what cannot be chosen). */
  private checkPreference(ctx: RequestContext, target: PolicyTarget, prefer: readonly string[]): void {
    this.deps.policy.enforce('download_from_store', target, ctx);
    if (!this.deps.settings.multiStore) {
      throw badRequest('Store selection for download is not available when multiple backends are not enabled.', {},
        'store.prefer_single_store');
    }
    for (const store of prefer) {
      if (store.startsWith('os_glance_') || !this.deps.stores.get(store)) {
        throw badRequest("Store '{store}' is not configured.", { store }, 'store.prefer_unknown');
      }
    }
  }

  /**
   * The data from the first location whose store has it, in the given order (Glance tries every
   * location); undefined when none has it (the image then answers 204, as before). A location in
   * a store this server does not know is skipped; if that was every location: 503.
   */
  private async readFirstAvailable(ctx: RequestContext, image: Image, locations: ImageLocation[],
    range: ByteRange | undefined): Promise<{ stream: Readable; size: number } | undefined> {
    let known = false;
    for (const location of locations) {
      const driver = this.deps.stores.forLocation(location.url);
      if (!driver) continue;
      known = true;
      try {
        return await driver.get(location.url, { range, signal: ctx.signal });
      } catch (error) {
        const failure = downloadFailure(error);
        if (failure !== undefined) throw failure;
        ctx.log.warn({ image_id: image.id, store: driver.id }, 'image data is missing from its store');
      }
    }
    if (!known) {
      throw new DomainError('ServiceUnavailable', 'store.unknown_location',
        msg('The image data is in a store this server does not know.'));
    }
    return undefined;
  }

  /**
   * image.send once the whole response body went through: INFO when as many bytes as expected were
   * sent (the range's length, or the image size), ERROR otherwise, as Glance.
   */
  private sendTap(ctx: RequestContext, image: Image, stream: Readable, range: ByteRange | undefined): Readable {
    const notifier = this.deps.notifier;
    if (!notifier?.isEnabled('image.send')) return stream;
    const expected = range ? range.end - range.start + 1 : image.size;
    return countingTap(stream, (sent) => {
      void notifier.send([{ eventType: 'image.send', subject: image.id, priority: sent === expected ? 'INFO' : 'ERROR',
        payload: imageSendPayload(image, sent, ctx) }]);
    });
  }

  /**
   * Glance's signature check for an image with img_signature* properties. When it cannot be made
   * the source is left alone: destroying a request's body stream destroys its socket, so the client
   * would get a reset instead of the 400; the HTTP layer drops the unread body after the answer.
   */
  private async signatureCheck(ctx: RequestContext, image: Image): Promise<SignatureCheck | undefined> {
    if (!this.deps.keyManager) return undefined;
    return signatureCheck(this.deps.keyManager, callerOf(ctx), image.id, image.properties);
  }

  private async verifyOrDiscard(signature: SignatureCheck, driver: StoreDriver, location: string, ctx: RequestContext): Promise<void> {
    try {
      await signature.verify();
    } catch (error) {
      await this.discard(driver, location, ctx);
      throw error;
    }
  }

  /** The store an upload goes to: X-Image-Meta-Store when multi-store is on, else the default (400 for an unknown id). */
  private targetStore(store: string | undefined): StoreDriver {
    if (store === undefined || !this.deps.settings.multiStore) return this.deps.stores.default();
    const driver = store.startsWith('os_glance_') ? undefined : this.deps.stores.get(store);
    if (!driver) throw badRequest('Store for identifier {store} not found', { store }, 'store.unknown');
    return driver;
  }

  /**
   * Applies require_image_format_match and the detected format's safety checks; the virtual size on
   * success. A refused upload's stored data is removed before the 415.
   */
  private async judge(ctx: RequestContext, image: Image, result: InspectionResult, driver: StoreDriver,
    location: string): Promise<number | null> {
    const verdict = judgeInspection(image.diskFormat!, result, this.deps.settings.inspection);
    if (verdict.ok) {
      if (verdict.mismatchIgnored) {
        ctx.log.warn({ image_id: image.id, declared: image.diskFormat, detected: result.format }, 'disk format mismatch ignored');
      }
      return verdict.virtualSize;
    }
    await this.discard(driver, location, ctx);
    ctx.log.warn({ image_id: image.id, reason: verdict.reason, failures: verdict.failures, details: result.safetyDetails },
      'upload refused by format inspection');
    throw verdict.error;
  }

  /** queued → saving by compare-and-set: of two racing uploads exactly one wins, the other gets 409. */
  private async claim(image: Image, backend: string | undefined): Promise<Image> {
    try {
      return await this.deps.images.update({ ...image, status: 'saving', properties: withoutRecoveryNote(image.properties),
        updatedAt: this.now() },
        { expectVersion: image.version, expectStatus: 'queued',
          emit: this.deps.notifier?.emit<Image>((saving) => [imageDraft('image.update', saving),
            imageDraft('image.prepare', saving, importProgressFields(saving, backend))]) });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      const fresh = await this.deps.images.get(image.id);
      if (!fresh || fresh.status === 'deleted') throw imageNotFound(image.id);
      throw conflict('Image status transition from {from} to {to} is not allowed',
        { from: fresh.status, to: 'saving' }, 'image.bad_transition');
    }
  }

  /** After a failed write: back to queued (size cleared) or killed, or 410 if the image was deleted meanwhile. */
  private async revert(ctx: RequestContext, saving: Image, cause: unknown, status: 'queued' | 'killed'): Promise<void> {
    ctx.log.warn({ err: cause, image_id: saving.id, status }, 'upload failed');
    // Glance's failed-upload notification: ERROR priority, the reason as the whole payload.
    await this.deps.notifier?.send([uploadFailureDraft(saving.id, cause)]);
    try {
      const size = status === 'killed' ? saving.size : null;
      await this.deps.images.update({ ...saving, status, size, virtualSize: null, updatedAt: this.now() },
        { expectVersion: saving.version, expectStatus: 'saving', emit: imageEmit(this.deps.notifier) });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      throw this.uploadGone(saving.id);
    }
  }

  private async discard(driver: StoreDriver, location: string, ctx: RequestContext): Promise<void> {
    try {
      await driver.delete(location);
    } catch (error) {
      // The store id, not the location: a location may carry store credentials.
      ctx.log.error({ err: error, store: driver.id }, 'could not remove data of an upload that lost its image');
    }
  }

  private uploadGone(id: string): DomainError {
    return gone('Image {id} could not be found after upload. The image may have been deleted during the upload.',
      { id }, 'image.deleted_during_upload');
  }
}
