// Location use cases outside PATCH: the 2.17 locations API (add_image_location,
// fetch_image_location) and deleting an image's data from one store (DELETE /v2/stores/{s}/{id}).
// Each reads load → authorize → status → compare-and-set → side effects.
import { DomainError, badRequest, conflict, forbidden, notFound } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import { assertProbeMatches, checkValidationData, type ValidationData } from '../domain/locations.ts';
import { msg } from '../i18n/message.ts';
import type { RequestContext } from '../ports/context.ts';
import { ImageAccess } from './image-access.ts';
import type { ImageServiceDeps } from './images.ts';
import { isVersionConflict } from './images.ts';
import { removeLocationData, sortByStoreWeight } from './location-data.ts';
import { digestBytes } from './location-probe.ts';

/** os_hash_algo values the 2.17 body schema accepts. */
const apiHashAlgorithms = new Set(['sha1', 'sha256', 'sha512', 'md5']);

export class LocationService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;

  constructor(private readonly deps: ImageServiceDeps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * POST /v2/images/{id}/locations. The data is read and hashed before the image goes active
   * (decision 0007: inline, while the image is `importing`); a mismatch with validation_data
   * sends the image back to `queued` and answers 409.
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
    if (!prober) throw forbidden('Only http(s) locations may be added by this user.', {}, 'location.scheme_forbidden');
    if (validationData.os_hash_algo !== undefined && validationData.os_hash_algo !== settings.hashingAlgorithm) {
      throw conflict('os_hash_algo must be {want}, not {got}', { want: settings.hashingAlgorithm, got: validationData.os_hash_algo },
        'location.conflict');
    }
    checkValidationData(image, [{ url, metadata: {}, validationData }], settings.hashingAlgorithm, digestBytes);
    const importing = await this.transition(image, 'importing');
    try {
      const probe = await prober.probe(ctx, url);
      assertProbeMatches(image, probe, validationData);
      const metadata: Record<string, unknown> = settings.multiStore ? { store: probe.storeId } : {};
      await this.deps.images.update({
        ...importing, status: 'active', size: probe.size, checksum: probe.checksum, osHashAlgo: probe.osHashAlgo,
        osHashValue: probe.osHashValue, virtualSize: importing.diskFormat === 'raw' ? probe.size : importing.virtualSize,
        locations: [{ url, metadata, status: 'active' }], updatedAt: this.now(),
      }, { expectVersion: importing.version, expectStatus: 'importing' });
    } catch (error) {
      await this.backToQueued(ctx, importing);
      if (isVersionConflict(error)) throw conflict('Image {id} was changed while its location was added.', { id }, 'location.raced');
      throw error;
    }
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

  private async transition(image: Image, to: 'importing'): Promise<Image> {
    try {
      return await this.deps.images.update({ ...image, status: to, updatedAt: this.now() },
        { expectVersion: image.version, expectStatus: image.status });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      const fresh = await this.deps.images.get(image.id);
      throw conflict("It's not allowed to add locations if image status is {status}.", { status: fresh?.status ?? 'deleted' },
        'location.bad_status');
    }
  }

  private async backToQueued(ctx: RequestContext, importing: Image): Promise<void> {
    try {
      await this.deps.images.update({ ...importing, status: 'queued', updatedAt: this.now() },
        { expectVersion: importing.version, expectStatus: 'importing' });
    } catch (error) {
      // Deleted (or changed) meanwhile: nothing to put back.
      ctx.log.warn({ err: error, image_id: importing.id }, 'could not return the image to queued after a failed location add');
    }
  }
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
