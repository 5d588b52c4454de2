// Images API v1 use cases (Glance's v1 API + registry rules) over the same repositories, access
// rules, policy and upload pipeline as v2: whole-record create and update, reserve-then-upload,
// failed uploads leave the image `killed`, admins see deleted images, `is_public` list scoping,
// external locations and copy-from. Members: legacy-members.ts.
import type { Readable } from 'node:stream';
import { DomainError, badRequest, conflict, forbidden, notFound } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import type { Task } from '../domain/task.ts';
import { msg } from '../i18n/message.ts';
import type { RequestContext } from '../ports/context.ts';
import { ExternalSourceError, type ExternalSource } from '../ports/external-source.ts';
import type { TaskRepository } from '../ports/tasks.ts';
import { copyFromTaskInput, type CopyFrom } from './copy-from-task.ts';
import { planPropertyChanges } from '../policy/property-protections.ts';
import { ImageAccess, imageNotFound, policyTarget } from './image-access.ts';
import type { ImageDataService } from './image-data.ts';
import { checkImageQuotas, type ImageService, type ImageServiceDeps, type ListRequest } from './images.ts';

/** What v1 headers may set; undefined = not sent. */
export interface LegacyFields {
  id?: string;
  name?: string | null;
  status?: string | null;
  isPublic?: boolean;
  protected?: boolean;
  owner?: string | null;
  diskFormat?: string | null;
  containerFormat?: string | null;
  minRam?: number;
  minDisk?: number;
  size?: number | null;
  virtualSize?: number | null;
  checksum?: string | null;
  createdAt?: Date;
  updatedAt?: Date;
  /** x-image-meta-property-* (already normalized keys). */
  properties: Record<string, string>;
}

export type LegacySource =
  /**
   * `refusal`: the dialect refused this body (v1: not application/octet-stream). As in Glance v1 the
   * image is reserved first, then killed, and the refusal is the answer.
   */
  | { kind: 'data'; stream: Readable; contentLength?: number; refusal?: DomainError }
  | { kind: 'location'; url: string }
  | { kind: 'copy'; url: string };

export interface LegacyWrite {
  fields: LegacyFields;
  /** Body, location and copy-from in the request (more than one is refused). */
  sources: LegacySource[];
  /** x-image-meta-store. */
  storeId?: string;
}

export interface LegacyListRequest extends ListRequest {
  /** The is_public parameter, already validated ('true' | 'false' | 'none'). */
  isPublic?: 'true' | 'false' | 'none';
  changesSince?: Date;
}

/** Schemes that name Glimpse's own disk or configuration: never accepted from a client. */
const localSchemes = new Set(['file', 'filesystem', 'swift+config']);

export class LegacyImageService {
  private readonly access: ImageAccess;

  constructor(
    private readonly deps: ImageServiceDeps,
    private readonly images: ImageService,
    private readonly data: ImageDataService,
    private readonly external?: ExternalSource,
    /** Where copy-from work goes: the task repository, and who to tell about a new task. */
    private readonly copyTasks?: { tasks: TaskRepository; onTaskCreated?: (taskId: string) => void },
  ) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
  }

  /** An image as v1 shows it: admins also see deleted and pending_delete images. */
  async showImage(ctx: RequestContext, id: string): Promise<Image> {
    if (ctx.isAdmin) {
      const image = await this.deps.images.get(id, { includeDeleted: true });
      if (!image) throw imageNotFound(id);
      this.deps.policy.enforce('get_image', policyTarget(image, undefined), ctx);
      return this.images.viewFor(ctx, image);
    }
    return this.images.getImage(ctx, id);
  }

  async listImages(ctx: RequestContext, request: LegacyListRequest): Promise<Image[]> {
    const { isPublic, changesSince, ...rest } = request;
    const filters = [...rest.filters];
    if (changesSince) filters.push({ kind: 'compare', column: 'updated_at', op: 'gt', value: changesSince });
    let viewer = ctx;
    let visibility: ListRequest['visibility'];
    if (ctx.isAdmin && isPublic === 'false') {
      visibility = 'all';
      filters.push({ kind: 'in', column: 'visibility', values: ['private', 'shared', 'community'] });
    } else if (ctx.isAdmin && isPublic === 'none') {
      visibility = 'all';
    } else {
      // Everybody else, admins included: public + owned + shared with the caller, in any member status.
      viewer = { ...ctx, isAdmin: false };
    }
    try {
      const { images } = await this.images.getImages(viewer, {
        ...rest, filters, visibility, memberStatus: 'all', includeDeleted: changesSince !== undefined,
      });
      return images;
    } catch (error) {
      if (error instanceof DomainError && (error.code === 'image.bad_marker' || error.code === 'image.marker_not_visible')) {
        throw badRequest('Invalid marker. Image could not be found.', {}, 'image.bad_marker');
      }
      throw error;
    }
  }

  async addImage(ctx: RequestContext, write: LegacyWrite): Promise<Image> {
    const { fields, sources } = write;
    this.checkStore(write.storeId);
    let probed: number | undefined;
    const url = sources.length === 1 && sources[0]!.kind !== 'data' ? sources[0]!.url : undefined;
    if (url !== undefined) {
      this.checkSourceUrl(url);
      probed = await this.probe(url, ctx.signal);
    }
    const empty = sources.length === 0 && fields.size === 0;
    const image = await this.images.addImage(ctx, {
      id: fields.id, name: fields.name, protected: fields.protected,
      visibility: fields.isPublic === true ? 'public' : 'shared',
      owner: ctx.isAdmin && fields.owner !== undefined ? fields.owner : undefined,
      diskFormat: fields.diskFormat, containerFormat: fields.containerFormat,
      minRam: fields.minRam, minDisk: fields.minDisk, properties: fields.properties,
      initialState: {
        status: empty ? 'active' : 'queued',
        size: fields.size ?? (sources[0]?.kind === 'copy' ? probed : undefined) ?? 0,
        virtualSize: fields.virtualSize, checksum: fields.checksum,
        createdAt: fields.createdAt, updatedAt: fields.updatedAt,
      },
    });
    return this.handleSource(ctx, image, write, probed);
  }

  async updateImage(ctx: RequestContext, id: string, write: LegacyWrite, purgeProps: boolean): Promise<Image> {
    const { fields, sources } = write;
    const shown = await this.showImage(ctx, id);
    if (shown.deleted || shown.status === 'deleted') {
      throw forbidden('Forbidden to update deleted image.', {}, 'v1.update_deleted');
    }
    const loaded = await this.access.load(ctx, id);
    // The stored image, with the properties this caller may not read: they are kept as they are.
    const { image } = loaded;
    this.access.authorize(ctx, loaded, 'modify_image');
    if (fields.isPublic === true) this.images.authorizeVisibility(ctx, 'public', loaded.target);
    if (!ctx.isAdmin && (image.status === 'active' || image.status === 'deactivated')) {
      for (const [key, value, current] of [['size', fields.size, image.size], ['checksum', fields.checksum, image.checksum]] as const) {
        if (value !== undefined && value !== current) {
          throw forbidden("Forbidden to modify '{key}' of {status} image.", { key, status: image.status }, 'v1.immutable');
        }
      }
    }
    for (const [key, value, current] of [['status', fields.status, image.status], ['id', fields.id, image.id]] as const) {
      if (value !== undefined && value !== current) {
        throw forbidden("Forbidden to modify '{key}' of image.", { key }, 'v1.immutable');
      }
    }
    if (sources.some((s) => s.kind === 'data') && image.status !== 'queued') {
      throw conflict('Cannot upload to an unqueued image', {}, 'v1.unqueued');
    }
    if (sources.some((s) => s.kind !== 'data') && image.status !== 'queued') {
      throw badRequest('Attempted to update Location field for an image not in queued status.', {}, 'v1.location_not_queued');
    }
    this.checkStore(write.storeId);
    if (sources.length > 1) throw multipleSources();
    let probed: number | undefined;
    const url = sources.length === 1 && sources[0]!.kind !== 'data' ? sources[0]!.url : undefined;
    if (url !== undefined) {
      this.checkSourceUrl(url);
      probed = await this.probe(url, ctx.signal);
    }
    // Properties not named are purged only on request and never when data arrives.
    const readable = this.images.viewFor(ctx, image).properties;
    const wanted = purgeProps && sources.length === 0 ? { ...fields.properties } : { ...readable, ...fields.properties };
    const written = Object.keys(fields.properties);
    const plan = planPropertyChanges(image.properties, wanted, ctx, this.deps.propertyProtections, { written });
    const changed: Image = {
      ...image,
      name: fields.name === undefined ? image.name : fields.name,
      visibility: fields.isPublic === undefined ? image.visibility : fields.isPublic ? 'public' : 'shared',
      protected: fields.protected ?? image.protected,
      owner: ctx.isAdmin && fields.owner !== undefined ? fields.owner : image.owner,
      diskFormat: fields.diskFormat === undefined ? image.diskFormat : fields.diskFormat,
      containerFormat: fields.containerFormat === undefined ? image.containerFormat : fields.containerFormat,
      minRam: fields.minRam ?? image.minRam,
      minDisk: fields.minDisk ?? image.minDisk,
      size: fields.size === undefined ? image.size : fields.size,
      virtualSize: fields.virtualSize === undefined ? image.virtualSize : fields.virtualSize,
      checksum: fields.checksum === undefined ? image.checksum : fields.checksum,
      properties: plan.properties,
      updatedAt: new Date(),
    };
    checkImageQuotas(changed, this.deps.settings);
    const stored = await this.deps.images.update(changed, { expectVersion: image.version });
    return this.handleSource(ctx, this.images.viewFor(ctx, stored), write, probed);
  }

  async deleteImage(ctx: RequestContext, id: string): Promise<void> {
    const image = await this.showImage(ctx, id);
    if (image.status === 'pending_delete') {
      throw forbidden('Forbidden to delete a pending_delete image.', {}, 'v1.delete_pending');
    }
    if (image.deleted || image.status === 'deleted') throw notFound('Image {id} not found.', { id }, 'image.not_found');
    await this.images.deleteImage(ctx, id, { requireDataRemoval: true });
  }

  /** The image and, unless it is empty, its data (from a store or an external location). */
  async downloadImage(ctx: RequestContext, id: string): Promise<{ image: Image; data?: { stream: Readable; size: number } }> {
    const image = await this.showImage(ctx, id);
    if (image.status === 'deactivated') {
      throw forbidden('The requested image has been deactivated. Image data download is forbidden.', {},
        'image.deactivated');
    }
    if (image.status !== 'active') throw notFound('Image {id} is not active', { id }, 'v1.not_active');
    if (image.size === 0) return { image };
    const location = image.locations.find((l) => l.status === 'active');
    if (location && !this.deps.stores.forLocation(location.url) && this.external?.schemes.includes(schemeOf(location.url))) {
      await this.access.loadFor(ctx, id, 'download_image');
      const { stream, size } = await this.readExternal(() => this.external!.open(location.url,
        { maxBytes: Number.MAX_SAFE_INTEGER, signal: ctx.signal }));
      return { image, data: { stream, size: size ?? image.size ?? 0 } };
    }
    const { data } = await this.data.downloadImage(ctx, id, () => undefined);
    return { image, data: data && { stream: data.stream, size: data.size } };
  }

  // ---- sources ----

  private async handleSource(ctx: RequestContext, image: Image, write: LegacyWrite, probed: number | undefined): Promise<Image> {
    const { sources, fields } = write;
    if (sources.length > 1) throw multipleSources();
    const source = sources[0];
    if (!source) return image;
    if (source.kind === 'data' && source.refusal) {
      source.stream.resume();
      await this.kill(image);
      throw source.refusal;
    }
    if (!image.diskFormat) throw badRequest('Disk format is not specified.', {}, 'v1.no_disk_format');
    if (!image.containerFormat) throw badRequest('Container format is not specified.', {}, 'v1.no_container_format');
    // The size and checksum to verify: this request's, else those announced at reserve (size 0 = unknown).
    const expectedSize = fields.size ?? (image.size !== null && image.size > 0 ? image.size : undefined);
    const expectedMd5 = fields.checksum ?? image.checksum ?? undefined;
    if (source.kind === 'data') {
      return this.upload(ctx, image.id, source.stream, {
        expectedSize, expectedMd5, storeId: write.storeId, contentLength: source.contentLength,
      });
    }
    if (source.kind === 'location') {
      if (fields.size !== undefined && fields.size !== null && probed !== undefined && probed !== 0 && probed !== fields.size) {
        throw conflict('Provided image size must match the stored image size. (provided size: {provided}, stored size: {stored})',
          { provided: fields.size, stored: probed }, 'v1.location_size');
      }
      const loaded = await this.access.loadFor(ctx, image.id, 'set_image_location');
      const active: Image = {
        ...loaded.image, status: 'active', size: fields.size ?? probed ?? loaded.image.size, updatedAt: new Date(),
        locations: [{ url: source.url, metadata: {}, status: 'active' }],
      };
      return this.images.viewFor(ctx, await this.images.updateOrConflict(active, loaded.image));
    }
    await this.queueCopy(ctx, image, { url: source.url, expectedSize, expectedMd5, storeId: write.storeId });
    return image;
  }

  private async upload(ctx: RequestContext, id: string, stream: Readable,
    options: { expectedSize?: number; expectedMd5?: string; storeId?: string; contentLength?: number }): Promise<Image> {
    try {
      const active = await this.data.uploadImage(ctx, id, stream, { ...options, store: options.storeId, statusAfterFailure: 'killed' });
      return this.images.viewFor(ctx, active);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'image.deleted_during_upload') {
        throw new DomainError('PreconditionFailed', error.code, error.detail);
      }
      throw error;
    }
  }

  /**
   * Copy-from: a `v1_copy_from` task, run by any node's task worker (tasks/v1-copy-from.ts), copies
   * the data; the image becomes active, or killed on any failure. The caller's identity goes with
   * the task: the copy is authorized as the request was.
   */
  private async queueCopy(ctx: RequestContext, image: Image, copy: CopyFrom): Promise<void> {
    if (!this.copyTasks) {
      throw new DomainError('ServiceUnavailable', 'v1.copy_unavailable', msg('Copy-from is not available at this site.'));
    }
    const now = new Date();
    const task: Task = {
      id: crypto.randomUUID(), type: 'v1_copy_from', status: 'pending', owner: image.owner ?? ctx.projectId ?? '',
      imageId: image.id, requestId: ctx.requestId, userId: ctx.userId, input: copyFromTaskInput(ctx, copy),
      result: null, message: '', expiresAt: null, createdAt: now, updatedAt: now, deleted: false, deletedAt: null,
    };
    await this.copyTasks.tasks.create(task);
    this.copyTasks.onTaskCreated?.(task.id);
  }

  /**
   * Runs one copy-from (the v1_copy_from task's work) as the caller `ctx` whose signal is the task's.
   * Safe to run again after a worker died: an image left `saving` by an earlier attempt (attempt > 1)
   * is put back to queued, without the object that attempt may have stored, and copied again.
   */
  async copyFromSource(ctx: RequestContext, id: string, copy: CopyFrom, attempt: number): Promise<Image> {
    let image = await this.deps.images.get(id);
    if (!image) throw imageNotFound(id);
    if (image.status === 'active') return image; // an earlier attempt finished before its worker died
    if (image.status === 'saving' && attempt > 1) image = await this.requeue(image, copy.storeId);
    if (image.status !== 'queued') {
      throw conflict('Image status transition from {from} to {to} is not allowed', { from: image.status, to: 'saving' },
        'image.bad_transition');
    }
    try {
      const { stream } = await this.readExternal(() => this.external!.open(copy.url,
        { maxBytes: this.deps.settings.imageSizeCap, signal: ctx.signal }));
      return await this.data.uploadImage(ctx, id, stream, {
        expectedSize: copy.expectedSize, expectedMd5: copy.expectedMd5, store: copy.storeId,
        statusAfterFailure: 'killed', resumable: true,
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      ctx.log.warn({ err: error, image_id: id }, 'copy-from failed; image killed');
      const current = await this.deps.images.get(id);
      if (current?.status === 'queued') await this.kill(current).catch(() => undefined);
      throw error;
    }
  }

  /** saving → queued after a dead attempt, removing what it may have stored under the image's name. */
  private async requeue(image: Image, storeId: string | undefined): Promise<Image> {
    const driver = storeId !== undefined && this.deps.settings.multiStore ? this.deps.stores.get(storeId) : this.deps.stores.default();
    const leftover = driver?.locationFor?.(image.id);
    if (leftover !== undefined) await driver!.delete(leftover).catch(() => undefined);
    return this.deps.images.update({ ...image, status: 'queued', size: null, virtualSize: null, updatedAt: new Date() },
      { expectVersion: image.version, expectStatus: 'saving' });
  }

  private async kill(image: Image): Promise<void> {
    await this.deps.images.update({ ...image, status: 'killed', updatedAt: new Date() },
      { expectVersion: image.version, expectStatus: image.status });
  }

  private checkStore(storeId: string | undefined): void {
    if (storeId !== undefined && !this.deps.stores.get(storeId)) {
      throw badRequest('Required store {store} is invalid', { store: storeId }, 'store.unknown');
    }
  }

  /** Location and copy-from URLs: a scheme the external source reads, never a local one. */
  private checkSourceUrl(url: string): void {
    if (url.trim() === '') throw badRequest('External source should not be empty', {}, 'v1.source_empty');
    if (!URL.canParse(url)) throw badRequest('Invalid location', {}, 'v1.source_invalid');
    const scheme = schemeOf(url);
    if (localSchemes.has(scheme) || !this.external?.schemes.includes(scheme)) {
      throw badRequest("External sources are not supported: '{url}'", { url }, 'v1.source_unsupported');
    }
  }

  private async probe(url: string, signal: AbortSignal): Promise<number | undefined> {
    return this.readExternal(() => this.external!.size(url, signal));
  }

  private async readExternal<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof ExternalSourceError)) throw error;
      if (error.failure === 'not_found') {
        throw new DomainError('NotFound', 'v1.source_not_found', msg('Image data not found at {url}', { url: error.url }));
      }
      if (error.failure === 'refused') {
        throw new DomainError('BadRequest', 'v1.source_refused',
          msg('The URL {url} is not allowed: {reason}', { url: error.url, reason: error.message }));
      }
      throw new DomainError('BadRequest', 'v1.source_failed',
        msg('Could not read image data from {url}: {reason}', { url: error.url, reason: error.message }), { cause: error });
    }
  }
}

function schemeOf(url: string): string {
  return url.slice(0, Math.max(0, url.indexOf(':'))).toLowerCase();
}

function multipleSources(): DomainError {
  return badRequest("It's invalid to provide multiple image sources.", {}, 'v1.multiple_sources');
}
