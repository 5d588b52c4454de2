// Location use cases outside PATCH: the 2.17 locations API (add_image_location and its
// location_import task, fetch_image_location) and deleting an image's data from one store (DELETE /v2/stores/{s}/{id}).
// Each reads load → authorize → status → compare-and-set → side effects.
import { DomainError, badRequest, conflict, forbidden, notFound } from '../domain/errors.ts';
import type { Image, ImageProperties } from '../domain/image.ts';
import { assertProbeMatches, checkValidationData, invalidLocation, type ValidationData } from '../domain/locations.ts';
import { IMPORT_PROPS } from '../domain/import.ts';
import type { Task } from '../domain/task.ts';
import { msg } from '../i18n/message.ts';
import type { Logger, RequestContext } from '../ports/context.ts';
import type { TaskRepository } from '../ports/tasks.ts';
import { ImageAccess } from './image-access.ts';
import type { ImageServiceDeps } from './images.ts';
import { isVersionConflict } from './images.ts';
import { removeLocationData, sortByStoreWeight } from './location-data.ts';
import { digestBytes } from './location-probe.ts';

/** os_hash_algo values the 2.17 body schema accepts. */
const apiHashAlgorithms = new Set(['sha1', 'sha256', 'sha512', 'md5']);

/** Where location_import tasks go, and who is told that one was created (the local worker). */
export interface LocationTasks {
  tasks: TaskRepository;
  onTaskCreated?: (taskId: string) => void;
}

export class LocationService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: ImageServiceDeps, private readonly locationTasks?: LocationTasks) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => crypto.randomUUID());
  }

  /**
   * POST /v2/images/{id}/locations, as Glance 2.17 with `do_secure_hash` on (decision 0026): the
   * request checks the URL and the validation_data, moves the image `queued → importing` with the
   * import lock and answers 202; a `location_import` task reads and hashes the data
   * (completeLocationImport). The image goes active only with the data's own size and hashes, and
   * only when they equal validation_data; otherwise it goes back to `queued` and the task fails.
   */
  async addImageLocation(ctx: RequestContext, id: string, url: unknown, validation: unknown): Promise<void> {
    const validationData = parseApiValidationData(validation);
    const { image } = await this.access.loadFor(ctx, id, 'add_image_location');
    if (image.status !== 'queued') {
      throw conflict("It's not allowed to add locations if image status is {status}.", { status: image.status },
        'location.bad_status');
    }
    if (typeof url !== 'string') throw badRequest('Invalid location', {}, 'location.invalid');
    const { prober, settings } = this.deps;
    const tasks = this.locationTasks;
    if (!prober || !tasks) throw forbidden('Only http(s) locations may be added by this user.', {}, 'location.scheme_forbidden');
    // As Glance 2.17: validation_data may name another algorithm than hashing_algorithm (sha1, sha256,
    // sha512, md5); the task then computes os_hash_value with it.
    checkValidationData(image, [{ url, metadata: {}, validationData }], validationData.os_hash_algo ?? settings.hashingAlgorithm,
      digestBytes);
    prober.check(ctx, url);
    const now = this.now();
    const task: Task = {
      id: this.newId(), type: 'location_import', status: 'pending', owner: ctx.projectId ?? image.owner ?? '',
      imageId: id, requestId: ctx.requestId, userId: ctx.userId,
      input: { image_id: id, loc_url: url, validation_data: validation === undefined ? {} : validationData },
      result: null, message: '', expiresAt: null, createdAt: now, updatedAt: now, deleted: false, deletedAt: null,
    };
    const importing = await this.transition(image, task.id);
    try {
      await tasks.tasks.create(task);
    } catch (error) {
      await this.backToQueued(ctx.log, importing, task.id);
      throw error;
    }
    tasks.onTaskCreated?.(task.id);
  }

  /**
   * The work of a `location_import` task (tasks/location-import.ts), on any node: reads the data,
   * then `importing → active` with the data's size and hashes, or back to `queued` on any failure
   * (the error is rethrown for the task's message). Safe to run again after a worker died: an image
   * the task already activated is done; one still importing under this task is read again.
   */
  async completeLocationImport(task: Task, signal: AbortSignal, log: Logger): Promise<void> {
    const { imageId, url, validationData } = locationTaskInput(task);
    const image = await this.deps.images.get(imageId);
    if (!image) throw notFound('Image {id} not found.', { id: imageId }, 'image.not_found');
    if (image.status === 'active' && image.locations.some((l) => l.url === url)) return;
    if (image.status !== 'importing' || image.properties[IMPORT_PROPS.lock] !== task.id) {
      throw conflict("It's not allowed to add locations if image status is {status}.", { status: image.status },
        'location.bad_status');
    }
    try {
      if (!this.deps.prober) throw invalidLocation();
      const probe = await this.deps.prober.probeChecked(url, signal, log, validationData.os_hash_algo);
      assertProbeMatches({ ...image, status: 'queued' }, probe, validationData);
      const metadata: Record<string, unknown> = this.deps.settings.multiStore ? { store: probe.storeId } : {};
      await this.deps.images.update({
        ...image, status: 'active', size: probe.size, checksum: probe.checksum, osHashAlgo: probe.osHashAlgo,
        osHashValue: probe.osHashValue, virtualSize: image.diskFormat === 'raw' ? probe.size : image.virtualSize,
        locations: [{ url, metadata, status: 'active' }], properties: withoutLock(image.properties), updatedAt: this.now(),
      }, { expectVersion: image.version, expectStatus: 'importing' });
    } catch (error) {
      if (signal.aborted) throw error; // the next holder of the task reads again
      await this.backToQueued(log, image, task.id);
      if (isVersionConflict(error)) {
        throw conflict('Image {id} was changed while its location was added.', { id: imageId }, 'location.raced');
      }
      throw error;
    }
  }

  /** A location_import task every worker died on: the image goes back to queued. */
  async abandonLocationImport(task: Task, log: Logger): Promise<void> {
    const image = task.imageId ? await this.deps.images.get(task.imageId) : undefined;
    if (image?.status === 'importing') await this.backToQueued(log, image, task.id);
  }

  /** GET /v2/images/{id}/locations (service only by default). */
  async fetchImageLocations(ctx: RequestContext, id: string): Promise<{ url: string; metadata: Record<string, unknown> }[]> {
    const { image } = await this.access.loadFor(ctx, id, 'fetch_image_location');
    return sortByStoreWeight(image.locations.filter((l) => l.status === 'active'), this.deps.settings.storeWeights)
      .map((l) => ({ url: l.url, metadata: l.metadata }));
  }

  /** DELETE /v2/stores/{store}/{id}: drops the image's location in one store and deletes that data. */
  async deleteFromStore(ctx: RequestContext, storeId: string, id: string): Promise<void> {
    const { settings, stores } = this.deps;
    if (!settings.multiStore) throw notFound('The resource could not be found.', {}, 'store.multi_store_off');
    if (!stores.ids().includes(storeId)) {
      throw conflict('The selected store {store} is not available on this node.', { store: storeId }, 'store.unknown');
    }
    let loaded;
    try {
      loaded = await this.access.load(ctx, id);
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'NotFound') {
        throw notFound('Failed to find image {id}', { id }, 'image.not_found');
      }
      throw error;
    }
    this.deps.policy.enforce('get_image_location', loaded.target, ctx);
    this.deps.policy.enforce('delete_image_location', loaded.target, ctx);
    const { image } = loaded;
    if (image.status !== 'active') {
      throw conflict("It's not allowed to remove image data from store if image status is not 'active'", {},
        'location.bad_status');
    }
    const active = image.locations.filter((l) => l.status === 'active');
    if (active.length <= 1) {
      throw forbidden('Cannot delete image data from the only store containing it. Consider deleting the image instead.',
        {}, 'location.last');
    }
    const victim = active.find((l) => l.metadata.store === storeId);
    if (!victim) {
      throw notFound('Image {id} is not stored in store {store}.', { id, store: storeId }, 'location.not_in_store');
    }
    const next: Image = { ...image, locations: image.locations.filter((l) => l !== victim), updatedAt: this.now() };
    try {
      await this.deps.images.update(next, { expectVersion: image.version, expectStatus: 'active' });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      throw conflict('Image {id} was changed by another request; reload it and try again.', { id }, 'image.version_conflict');
    }
    try {
      await removeLocationData(this.deps, id, [victim], { rethrow: 'in-use' });
    } catch (error) {
      // rbd clones of this copy exist: the location comes back, as Glance never removed it (409).
      const current = await this.deps.images.get(id);
      if (current) await this.deps.images.update({ ...current, locations: image.locations }, { expectVersion: current.version });
      throw new DomainError('Conflict', 'image.in_use', msg('The data for Image {id} could not be deleted because it is in use: {reason}',
        { id, reason: (error as Error).message }), { cause: error });
    }
  }

  /** `queued → importing` with the import lock of `taskId` (compare-and-set: a racing request gets 409). */
  private async transition(image: Image, taskId: string): Promise<Image> {
    try {
      return await this.deps.images.update({ ...image, status: 'importing',
        properties: { ...image.properties, [IMPORT_PROPS.lock]: taskId }, updatedAt: this.now() },
      { expectVersion: image.version, expectStatus: image.status });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      const fresh = await this.deps.images.get(image.id);
      throw conflict("It's not allowed to add locations if image status is {status}.", { status: fresh?.status ?? 'deleted' },
        'location.bad_status');
    }
  }

  /** `importing → queued`, dropping the lock of `taskId`, unless the image changed meanwhile (deleted, taken over). */
  private async backToQueued(log: Logger, importing: Image, taskId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = attempt === 0 ? importing : await this.deps.images.get(importing.id);
      if (!current || current.status !== 'importing' || current.properties[IMPORT_PROPS.lock] !== taskId) return;
      try {
        await this.deps.images.update({ ...current, status: 'queued', properties: withoutLock(current.properties),
          updatedAt: this.now() }, { expectVersion: current.version, expectStatus: 'importing' });
        return;
      } catch (error) {
        if (!isVersionConflict(error)) {
          log.warn({ err: error, image_id: importing.id }, 'could not return the image to queued after a failed location add');
          return;
        }
      }
    }
  }
}

function withoutLock(properties: ImageProperties): ImageProperties {
  const { [IMPORT_PROPS.lock]: _lock, ...rest } = properties;
  return rest;
}

/** What a location_import task stores (Glance's shape: image_id, loc_url, validation_data). */
function locationTaskInput(task: Task): { imageId: string; url: string; validationData: ValidationData } {
  const input = task.input ?? {};
  const validation = (typeof input.validation_data === 'object' && input.validation_data !== null
    ? input.validation_data : {}) as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' ? v : undefined;
  return {
    imageId: text(input.image_id) ?? task.imageId ?? '', url: String(input.loc_url),
    validationData: { os_hash_algo: text(validation.os_hash_algo), os_hash_value: text(validation.os_hash_value) },
  };
}

/** The 2.17 body's validation_data: both os_hash_algo and os_hash_value or neither, no other keys. */
function parseApiValidationData(value: unknown): ValidationData {
  if (value === undefined) return {};
  const bad = (detail: string) => new DomainError('BadRequest', 'location.validation_data',
    msg('Invalid validation_data: {detail}', { detail }));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not an object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'os_hash_algo' && key !== 'os_hash_value') throw bad(key);
  if ((v.os_hash_algo === undefined) !== (v.os_hash_value === undefined)) throw bad('os_hash_algo and os_hash_value');
  if (v.os_hash_algo === undefined) return {};
  if (typeof v.os_hash_algo !== 'string' || !apiHashAlgorithms.has(v.os_hash_algo)) throw bad('os_hash_algo');
  if (typeof v.os_hash_value !== 'string') throw bad('os_hash_value');
  const want = digestBytes(v.os_hash_algo)!;
  if (!/^[0-9a-fA-F]*$/.test(v.os_hash_value) || v.os_hash_value.length !== want * 2) throw bad('os_hash_value');
  return { os_hash_algo: v.os_hash_algo, os_hash_value: v.os_hash_value };
}
