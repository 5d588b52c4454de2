// The `api_image_import` task: what POST /v2/images/{id}/import starts, run by any node's worker.
//
// Steps, each safe to run again after a crash (the task is then taken over from the start):
//   1. check the image still carries this task's import lock (os_glance_import_task);
//   2. get the data into the staging store: glance-direct finds it there already, web-download and
//      glance-download fetch it unless an earlier attempt did (the staging put is all-or-nothing, so
//      an object that exists is complete); copy-image reads the image's active location instead;
//   3. inspect the staged data (format match and safety checks) and run the import plugins;
//   4. copy it into each target store that has no location of this image yet, recording each
//      location at once (a leftover object of an attempt that died before recording it is removed
//      and written again);
//   5. activate the image, drop the lock, remove the staged data.
// A failure reverts: the data this import wrote is removed, a glance-direct / web-download /
// glance-download image goes back to `queued` (copy-image: stays active), the lock is dropped and the
// reason is kept in the task message and in the image property os_glance_import_error, which the
// owner sees (Glance reverts without saying why). An abort (worker stopping, lease lost) reverts
// nothing: the next holder of the task continues.
import type { Readable } from 'node:stream';
import { DomainError } from '../domain/errors.ts';
import type { Image, ImageProperties } from '../domain/image.ts';
import type { Task } from '../domain/task.ts';
import { msg } from '../i18n/message.ts';
import type { Logger } from '../ports/context.ts';
import type { RemoteFetcher, RemoteGlance } from '../ports/fetch.ts';
import type { ImageLister, ImageRepository } from '../ports/repositories.ts';
import type { StoreDriver, StoreRegistry } from '../ports/store.ts';
import { transferQuota, uploadBudget, type UploadBudget } from '../services/image-data.ts';
import type { ProjectQuotas, TransferQuota } from '../services/project-quotas.ts';
import { inspectingTap, judgeInspection } from '../services/inspection.ts';
import type { ImageSettings } from '../services/settings.ts';
import { writeImageData } from '../stores/writer.ts';
import { BUDGET_EXHAUSTED, putReservation, type Release, type TransferBudget } from '../services/transfer-budget.ts';
import { signatureCheck, type SignatureCheck } from '../signature/check.ts';
import { RecordedKeyManager } from '../signature/recorded.ts';
import { IMPORT_PROPS } from '../domain/import.ts';
import { importInput, type ImportInput } from '../services/import-input.ts';
import { stagedExists, stagedLocation } from '../services/staging.ts';
import type { ImportPlugin } from './plugins/index.ts';
import { runOnStaged } from './plugins/staged.ts';
import { errorText, type TaskLog, type TaskOutcome, type TaskRun } from './worker.ts';
import type { Emit } from '../ports/events.ts';
import { imageDraft, uploadFailureDraft, type Notifier } from '../services/notifier.ts';
import { importProgressFields } from '../services/notification-payloads.ts';

export interface ImportDeps {
  images: ImageRepository & ImageLister;
  stores: StoreRegistry;
  staging: StoreDriver;
  settings: ImageSettings;
  multiStore: boolean;
  fetcher?: RemoteFetcher;
  /** Resolves a glance-download source (the remote image's data URL and metadata). */
  remoteGlance?: RemoteGlance;
  plugins: ImportPlugin[];
  /** The process's transfer buffer budget (decision 0014): each store write of a task holds a reservation. */
  bufferBudget?: TransferBudget;
  /** The plugins' logger (they log tool output and decisions with the image id). */
  pluginLog?: Logger;
  /** Keystone unified limits: the bytes an import stages and stores are reserved as they arrive. */
  quotas?: ProjectQuotas;
  now?: () => Date;
  /** image.prepare / image.upload / image.activate per store, as Glance's import flow sends them. */
  notifier?: Notifier;
}

class LockLost extends Error {}
const quietLog: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog };
const CAS_RETRIES = 8;
const MIB = 1024 * 1024;
/** How long a new task waits for its import lock to appear on the image. */
const LOCK_WAIT_MS = 5000;

export class ImageImportRunner {
  private readonly now: () => Date;

  constructor(private readonly deps: ImportDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The `api_image_import` task handler. */
  async run(run: TaskRun): Promise<TaskOutcome> {
    return this.runImport(run, importInput(run.task));
  }

  /** Runs one import described by `input` on an image that carries the task's lock. */
  async runImport(run: TaskRun, input: ImportInput): Promise<TaskOutcome> {
    const image = await this.lockedImage(input.imageId, run);
    if (!image || !this.holdsLock(image, run.task)) {
      return { status: 'failure', result: null,
        message: image ? 'The image is locked by another import; this import was abandoned.' : 'The image was deleted.' };
    }
    try {
      // A taken-over task: the worker that ran it before is gone (its lease expired), and with it
      // whatever it was writing; its partial data goes before this attempt writes anew.
      if (run.attempt > 1) await removePartialData(this.deps, input.imageId, input.stores, run.log);
      await this.importData(run, input, image);
      // Glance's import reports its progress in the task message; a finished one says how much it copied.
      const size = (await this.deps.images.get(input.imageId))?.size ?? 0;
      return { status: 'success', result: { image_id: input.imageId }, message: `Copied ${Math.floor(size / MIB)} MiB` };
    } catch (error) {
      if (run.signal.aborted) throw error;
      const message = error instanceof LockLost ? 'The image is no longer locked by this import.' : errorText(error);
      run.log.warn({ err: error, method: input.method }, 'image import failed; reverting');
      await this.revert(run.task, input, message, error instanceof LockLost);
      return { status: 'failure', result: null, message };
    }
  }

  /**
   * The image, once it carries the task's lock: POST /import creates the task a moment before it
   * takes the lock, and a worker polling at that moment may claim the task in between.
   */
  private async lockedImage(imageId: string, run: TaskRun): Promise<Image | undefined> {
    const until = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      const image = await this.deps.images.get(imageId);
      if (!image || this.holdsLock(image, run.task) || Date.now() > until || run.signal.aborted) return image;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async importData(run: TaskRun, input: ImportInput, first: Image): Promise<void> {
    let image = first;
    let virtualSize: number | null = image.virtualSize;
    const copying = input.method === 'copy-image';
    // Staged bytes count in image_stage_total from their first byte until the import ends.
    let staged: TransferQuota | undefined;
    try {
      if (!copying) {
        ({ image, staged } = await this.stage(run, input, image));
        ({ image, virtualSize } = await this.inspectAndTransform(run, input, image));
      }
      await this.storeAll(run, input, image, virtualSize);
    } finally {
      await staged?.release();
    }
  }

  /** Step 4: the data into every target store, then the image active and the staged data removed. */
  private async storeAll(run: TaskRun, input: ImportInput, first: Image, virtualSize: number | null): Promise<void> {
    const { staging, stores } = this.deps;
    let image = first;
    const copying = input.method === 'copy-image';
    const source = async (): Promise<Readable> => {
      if (!copying) return (await staging.get(stagedLocation(staging, image.id), { signal: run.signal })).stream;
      const location = image.locations.find((l) => l.status === 'active');
      const driver = location && stores.forLocation(location.url);
      if (!location || !driver) throw new DomainError('Conflict', 'import.no_source', msg('The image has no data to copy.'));
      return (await driver.get(location.url, { signal: run.signal })).stream;
    };
    let succeeded = 0;
    for (const storeId of input.stores) {
      if (image.locations.some((l) => l.status === 'active' && l.metadata.store === storeId)) {
        succeeded++;
        continue;
      }
      try {
        // As Glance: the last store's write activates the image (with all_stores_must_succeed, every
        // earlier one succeeded); without it, the first that succeeds does.
        const activate = !copying && (!input.allStoresMustSucceed || storeId === input.stores.at(-1)) ? { virtualSize } : undefined;
        image = await this.copyTo(run, input, image, storeId, source, activate);
        succeeded++;
      } catch (error) {
        if (run.signal.aborted || error instanceof LockLost || input.allStoresMustSucceed) throw error;
        run.log.warn({ err: error, store: storeId }, 'import to one store failed; continuing with the others');
        image = await this.update(run.task, image.id, (img) => ({
          ...img, properties: this.progress(input, img, storeId, true),
        }));
      }
    }
    if (succeeded === 0) throw new DomainError('ServiceUnavailable', 'import.no_store', msg('The image could not be imported to any store.'));
    await this.update(run.task, image.id, (img) => {
      const properties = { ...img.properties };
      delete properties[IMPORT_PROPS.lock];
      delete properties[IMPORT_PROPS.stageHost];
      if (this.deps.multiStore && !input.legacyTask) properties[IMPORT_PROPS.importing] = '';
      return { ...img, status: copying ? img.status : 'active', virtualSize: copying ? img.virtualSize : virtualSize, properties };
    });
    if (!copying) await this.removeStaged(image.id, run);
  }

  /** Step 2: the data in the staging store (and, when this step downloaded it, its image_stage_total reservation). */
  private async stage(run: TaskRun, input: ImportInput, first: Image): Promise<{ image: Image; staged?: TransferQuota }> {
    const { staging } = this.deps;
    let image = first;
    if (await stagedExists(staging, image.id)) return { image };
    if (input.method === 'glance-direct') {
      throw new DomainError('Conflict', 'import.not_staged', msg('The staged data of the image is gone.'));
    }
    let data: Readable;
    if (input.method === 'web-download') {
      if (!this.deps.fetcher) throw new DomainError('ServiceUnavailable', 'import.no_fetcher', msg('web-download is not available.'));
      const budget = await uploadBudget(this.deps, image);
      data = (await this.deps.fetcher.open(input.uri!, { signal: run.signal, maxBytes: budget.maxBytes })).stream;
    } else {
      if (!this.deps.remoteGlance) {
        throw new DomainError('ServiceUnavailable', 'import.no_remote', msg('glance-download is not available.'));
      }
      const remote = input.remote;
      if (!remote) throw new DomainError('ServiceUnavailable', 'import.no_remote', msg('glance-download is not available.'));
      // The remote image's formats and extra properties win over what the local image had (as Glance).
      image = await this.update(run.task, image.id, (img) => ({
        ...img, diskFormat: remote.diskFormat ?? img.diskFormat, containerFormat: remote.containerFormat ?? img.containerFormat,
        properties: { ...img.properties, ...remote.properties },
      }));
      data = await this.deps.remoteGlance.openData(remote.endpoint, input.glanceImageId!, run.signal);
    }
    const budget = await uploadBudget(this.deps, image);
    let staged: TransferQuota | undefined;
    const release = await this.reserveBuffers(run.signal, putReservation(staging));
    try {
      staged = await transferQuota(this.deps, image, 'image_stage_total', undefined);
      await writeImageData({ driver: staging, imageId: image.id, source: staged ? staged.through(data) : data, limit: budget,
        hashingAlgorithm: this.deps.settings.hashingAlgorithm, signal: run.signal });
    } catch (error) {
      data.destroy();
      await staged?.release();
      throw error;
    } finally {
      release?.();
    }
    return { image, staged };
  }

  /**
   * A reservation in the process's transfer buffer budget for one store write. A task has no client
   * to answer 503, so it waits for room as long as its run lasts (its signal: worker stopping, lease lost).
   */
  private async reserveBuffers(signal: AbortSignal, bytes: number): Promise<Release | undefined> {
    const budget = this.deps.bufferBudget;
    if (!budget) return undefined;
    for (;;) {
      try {
        return await budget.acquire(bytes, signal);
      } catch (error) {
        if (signal.aborted || !(error instanceof DomainError && error.code === BUDGET_EXHAUSTED)) throw error;
      }
    }
  }

  /**
   * Step 3: format inspection of the staged data, then the plugins (inspecting again what they
   * rewrite). Plugins may change what the data is (a gzip'ed qcow2 becomes a qcow2, a qcow2 a raw
   * disk), so before them only the safety checks apply, and the declared format is checked on what
   * they leave — the order Glance has (its plugins run before the store write inspects the data).
   */
  private async inspectAndTransform(run: TaskRun, input: ImportInput, image: Image): Promise<{ image: Image; virtualSize: number | null }> {
    let virtualSize = await this.inspectStaged(run, image, this.deps.plugins.length === 0);
    for (const plugin of this.deps.plugins) {
      const changes = await runOnStaged(plugin, { image, staging: this.deps.staging,
        stagedLocation: stagedLocation(this.deps.staging, image.id), roles: input.roles, signal: run.signal },
      this.deps.pluginLog ?? quietLog);
      if (changes.diskFormat || changes.containerFormat || changes.properties) {
        image = await this.update(run.task, image.id, (img) => ({
          ...img, diskFormat: changes.diskFormat ?? img.diskFormat, containerFormat: changes.containerFormat ?? img.containerFormat,
          properties: { ...img.properties, ...changes.properties },
        }));
      }
      if (changes.replacedData) await this.inspectStaged(run, image, false);
    }
    if (this.deps.plugins.length > 0) virtualSize = await this.inspectStaged(run, image, true);
    return { image, virtualSize };
  }

  private async inspectStaged(run: TaskRun, image: Image, matchFormat: boolean): Promise<number | null> {
    const { staging, settings } = this.deps;
    const { stream, size } = await staging.get(stagedLocation(staging, image.id), { signal: run.signal });
    const tap = inspectingTap(settings.inspection);
    for await (const chunk of stream) await tap.consumer.update(chunk as Buffer);
    const result = tap.finish(size);
    // Glance inspects bare images only: other containers wrap the disk in their own format.
    const declared = matchFormat && image.containerFormat === 'bare' ? image.diskFormat : null;
    const verdict = judgeInspection(declared, result, settings.inspection);
    if (!verdict.ok) {
      run.log.warn({ reason: verdict.reason, failures: verdict.failures, details: result.safetyDetails },
        'import refused by format inspection');
      throw verdict.error;
    }
    if (declared === null) return image.diskFormat === 'raw' && size > 0 ? size : null;
    return verdict.virtualSize;
  }

  /** Step 4 for one store: write, then record the location (and the data's size and hashes). */
  private async copyTo(run: TaskRun, input: ImportInput, image: Image, storeId: string,
    source: () => Promise<Readable>, activate?: { virtualSize: number | null }): Promise<Image> {
    const driver = this.deps.stores.get(storeId);
    if (!driver) {
      throw new DomainError('Conflict', 'store.unknown', msg('Store for identifier {id} not found', { id: storeId }));
    }
    // An attempt that died after storing but before recording leaves an object no location names.
    const leftover = driver.locationFor?.(image.id);
    if (leftover !== undefined && !image.locations.some((l) => l.url === leftover)) await driver.delete(leftover);
    const budget = input.method === 'copy-image' ? { maxBytes: Infinity, error: () => new Error('unreachable') as DomainError }
      : await uploadBudget(this.deps, image);
    // As Glance: a signed image is verified as it is written into each store (not when staged).
    const signature = await signatureCheck(new RecordedKeyManager(input.signatureCertificate), { projectId: image.owner, log: run.log },
      image.id, image.properties);
    // Each store's copy counts in image_size_total (Glance counts an image once per location).
    const quota = await transferQuota(this.deps, image, 'image_size_total', image.size ?? undefined);
    try {
      return await this.write(run, input, image, driver, storeId, source, budget, signature, quota, activate);
    } finally {
      await quota?.release();
    }
  }

  private async write(run: TaskRun, input: ImportInput, image: Image, driver: StoreDriver, storeId: string,
    source: () => Promise<Readable>, budget: UploadBudget, signature: SignatureCheck | undefined,
    quota: TransferQuota | undefined, activate?: { virtualSize: number | null }): Promise<Image> {
    let written: Awaited<ReturnType<typeof writeImageData>>;
    await this.deps.notifier?.send([imageDraft('image.prepare', image, importProgressFields(image, input.legacyTask ? undefined : storeId))]);
    const release = await this.reserveBuffers(run.signal, putReservation(driver, image.size ?? undefined));
    try {
      const read = await source();
      const data = quota ? quota.through(read) : read;
      written = await writeImageData({ driver, imageId: image.id, source: data, consumers: signature ? [signature.consumer] : undefined, limit: budget,
        hashingAlgorithm: this.deps.settings.hashingAlgorithm, signal: run.signal });
    } catch (error) {
      signature?.close();
      // As Glance's ImageProxy.set_data: a failed write into a store sends ERROR image.upload (not
      // when this worker was stopped or lost the task: that is no failure of the write).
      if (!run.signal.aborted) await this.deps.notifier?.send([uploadFailureDraft(image.id, error)]);
      throw error;
    } finally {
      release?.();
    }
    try {
      try {
        await signature?.verify();
      } catch (error) {
        await this.deps.notifier?.send([uploadFailureDraft(image.id, error)]);
        throw error;
      }
      let before: Image | undefined;
      // As Glance, image.upload and image.activate show the image before the store lists were updated.
      const emit = this.deps.notifier?.emit<Image>((stored) => {
        const shown = { ...stored, properties: before!.properties };
        return [imageDraft('image.upload', shown, importProgressFields(before!)),
          ...(before!.status !== 'active' && stored.status === 'active' ? [imageDraft('image.activate', shown)] : []),
          imageDraft('image.update', stored)];
      });
      return await this.update(run.task, image.id, (img) => {
        before = img;
        if (img.checksum !== null && img.checksum !== written.checksum) {
          throw new DomainError('Conflict', 'import.checksum', msg('The data copied to store {id} differs from the image data.', { id: storeId }));
        }
        const active = activate !== undefined && img.status === 'importing';
        return {
          ...img,
          status: active ? 'active' : img.status,
          virtualSize: active ? activate.virtualSize : img.virtualSize,
          size: written.size, checksum: written.checksum, osHashAlgo: written.osHashAlgo, osHashValue: written.osHashValue,
          locations: [...img.locations, { url: written.location, metadata: { store: driver.id }, status: 'active' as const }],
          properties: this.progress(input, img, storeId, false),
        };
      }, { emit });
    } catch (error) {
      await driver.delete(written.location).catch(() => {});
      throw error;
    }
  }

  /** os_glance_importing_to_stores / os_glance_failed_import after one store finished. */
  private progress(input: ImportInput, image: Image, storeId: string, failed: boolean): ImageProperties {
    const properties = { ...image.properties };
    if (!this.deps.multiStore || input.legacyTask) return properties;
    const list = (name: string) => (properties[name] ?? '').split(',').filter((s) => s !== '');
    properties[IMPORT_PROPS.importing] = list(IMPORT_PROPS.importing).filter((s) => s !== storeId).join(',');
    if (failed) properties[IMPORT_PROPS.failed] = [...new Set([...list(IMPORT_PROPS.failed), storeId])].join(',');
    return properties;
  }

  /**
   * An import whose workers are gone for good (every attempt died, or its task ended without
   * releasing the image): reverts it as a failed import and removes its partial data. The staged
   * data of a glance-direct import is kept and the image left `uploading`, so that the user can
   * import it again without staging anew (decision 0015).
   */
  async abandon(imageId: string, lockTaskId: string, task: Task | undefined, message: string): Promise<void> {
    const input: ImportInput = task?.type === 'api_image_import' ? importInput(task)
      : { imageId, method: 'web-download', glanceServiceInterface: 'public', stores: [], heldBefore: [],
          allStoresMustSucceed: true, roles: [] };
    const lock = task ?? { id: lockTaskId } as Task;
    if (!await this.revert(lock, input, message, false, { keepStaged: true, abandoning: true })) return;
    const image = await this.deps.images.get(imageId, { includeDeleted: true });
    await removePartialData(this.deps, imageId, this.deps.stores.ids(), undefined,
      image ? image.locations.filter((l) => l.status !== 'deleted').map((l) => l.url) : []);
  }

  /** Puts the image back in a clear state and says why; removes what this import wrote. */
  private async revert(task: Task, input: ImportInput, message: string, lockLost: boolean,
    options: { keepStaged?: boolean; abandoning?: boolean } = {}): Promise<boolean> {
    const copying = input.method === 'copy-image';
    const removed: string[] = [];
    let skipped = false;
    const stagedSize = options.keepStaged && input.method === 'glance-direct'
      ? await this.deps.staging.size(stagedLocation(this.deps.staging, input.imageId)).catch(() => undefined) : undefined;
    try {
      await this.update(task, input.imageId, (img) => {
        removed.length = 0;
        // Sweepers on several nodes may abandon the same import: only the first finds it still locked.
        skipped = options.abandoning === true && (img.properties[IMPORT_PROPS.lock] !== (task.id || undefined)
          || (task.id === '' && img.status !== 'importing'));
        if (skipped) return img;
        const properties = { ...img.properties };
        delete properties[IMPORT_PROPS.lock];
        delete properties[IMPORT_PROPS.stageHost];
        properties[IMPORT_PROPS.error] = `${input.method}: ${message}`.slice(0, 255);
        if (this.deps.multiStore && !input.legacyTask) {
          const failed = new Set([...(properties[IMPORT_PROPS.failed] ?? '').split(',').filter(Boolean),
            ...(properties[IMPORT_PROPS.importing] ?? '').split(',').filter(Boolean)]);
          properties[IMPORT_PROPS.failed] = [...failed].join(',');
          properties[IMPORT_PROPS.importing] = '';
        }
        const keep = img.locations.filter((l) => {
          const ours = input.stores.includes(String(l.metadata.store)) && (!copying || !input.heldBefore.includes(String(l.metadata.store)));
          if (ours && input.allStoresMustSucceed) removed.push(l.url);
          return !ours || !input.allStoresMustSucceed;
        });
        if (copying || (!input.allStoresMustSucceed && keep.length > 0)) return { ...img, locations: keep, properties };
        if (stagedSize !== undefined && img.status === 'importing') {
          return { ...img, status: 'uploading', size: stagedSize, virtualSize: null, checksum: null, osHashAlgo: null,
            osHashValue: null, locations: keep, properties };
        }
        return { ...img, status: 'queued', size: null, virtualSize: null, checksum: null, osHashAlgo: null, osHashValue: null,
          locations: keep, properties };
      }, { ignoreLock: true });
    } catch (error) {
      if (!(error instanceof DomainError && error.kind === 'NotFound')) throw error;
    }
    if (skipped) return false;
    for (const url of removed) await this.deps.stores.forLocation(url)?.delete(url).catch(() => {});
    if (!copying && !lockLost && stagedSize === undefined) await this.removeStaged(input.imageId);
    return true;
  }

  private async removeStaged(imageId: string, run?: TaskRun): Promise<void> {
    try {
      await this.deps.staging.delete(stagedLocation(this.deps.staging, imageId));
    } catch (error) {
      run?.log.warn({ err: error }, 'could not remove staged data');
    }
  }

  private holdsLock(image: Image, task: Task): boolean {
    return image.properties[IMPORT_PROPS.lock] === task.id;
  }

  /** Compare-and-set with re-reads: users may PATCH the image while it imports. */
  private async update(task: Task, id: string, change: (image: Image) => Image,
    options: { ignoreLock?: boolean; emit?: Emit<Image> } = {}): Promise<Image> {
    for (let attempt = 0; ; attempt++) {
      const image = await this.deps.images.get(id);
      if (!image) throw new DomainError('NotFound', 'image.not_found', msg('No image found with ID {id}', { id }));
      if (!options.ignoreLock && !this.holdsLock(image, task)) throw new LockLost();
      if (options.ignoreLock && image.properties[IMPORT_PROPS.lock] !== undefined && !this.holdsLock(image, task)) {
        return image; // a newer import owns the image now; leave it alone
      }
      try {
        return await this.deps.images.update({ ...change(image), updatedAt: this.now() },
          { expectVersion: image.version, emit: options.emit });
      } catch (error) {
        if (!(error instanceof DomainError && error.code === 'image.version_conflict') || attempt >= CAS_RETRIES) throw error;
      }
    }
  }
}

/**
 * Removes what dead writers left for `imageId`: partial data in the staging store and in each of
 * `storeIds` (temp files, segments, multipart uploads) and, when `keep` is given, each store's
 * complete object of the image unless `keep` names it (stored, but never recorded as a location).
 */
export async function removePartialData(deps: Pick<ImportDeps, 'stores' | 'staging'>, imageId: string, storeIds: string[],
  log?: TaskLog, keep?: string[]): Promise<number> {
  let removed = 0;
  const drivers = [deps.staging, ...storeIds.map((id) => deps.stores.get(id)).filter((d): d is StoreDriver => d !== undefined)];
  for (const driver of drivers) {
    try {
      removed += await driver.removePartial?.(imageId) ?? 0;
      const stored = driver === deps.staging ? undefined : driver.locationFor?.(imageId);
      if (keep !== undefined && stored !== undefined && !keep.includes(stored)) await driver.delete(stored);
    } catch (error) {
      log?.warn({ err: error, store: driver.id, image_id: imageId }, 'could not remove partial image data');
    }
  }
  return removed;
}
