// Image use cases (named after Glance's policy rules): create, show, list, update, delete,
// deactivate/reactivate, tags. Each reads top to bottom: load → authorize → validate/quota →
// transition → compare-and-set.
import type { ImageCache } from '../ports/image-cache.ts';
import { DomainError, badRequest, conflict, forbidden, notFound, payloadTooLarge } from '../domain/errors.ts';
import type { KeyManager } from '../ports/key-manager.ts';
import type { Image, Visibility } from '../domain/image.ts';
import type { Emit } from '../ports/events.ts';
import { msg } from '../i18n/message.ts';
import { applyPatch, assertPropertyName, type PatchOperation } from '../domain/image-patch.ts';
import { isReserved } from '../domain/image-rules.ts';
import type { RequestContext } from '../ports/context.ts';
import type { Authorizer } from '../ports/policy.ts';
import type { ImageLister, ImageListQuery, ImageRepository, MemberRepository } from '../ports/repositories.ts';
import type { StoreDriver, StoreRegistry } from '../ports/store.ts';
import type { ImageLocation } from '../domain/image.ts';
import type { LocationProbe } from '../domain/locations.ts';
import { digestBytes, type LocationProber } from './location-probe.ts';
import { isInUse, removeLocationData, sortByStoreWeight } from './location-data.ts';
import type { TransferBudget } from './transfer-budget.ts';
import { ImageAccess, imageNotFound, policyTarget } from './image-access.ts';
import { exceeds, type ImageSettings } from './settings.ts';
import { planPropertyChanges, type PropertyProtections } from '../policy/property-protections.ts';
import type { TransferTracker } from './transfer-tracker.ts';
import { imageDraft, imageEmit, type Notifier } from './notifier.ts';
import { deletedFields } from './notification-payloads.ts';
import type { ProjectQuotas } from './project-quotas.ts';

export interface ImageServiceDeps {
  images: ImageRepository & ImageLister;
  members: MemberRepository;
  policy: Authorizer;
  stores: StoreRegistry;
  /** The import staging store: staged data of a deleted image is removed with it. */
  staging?: StoreDriver;
  settings: ImageSettings;
  /** property_protection_file rules; undefined = no protections. */
  propertyProtections?: PropertyProtections;
  /** Reads and hashes the data of locations callers add (locations API, legacy PATCH). */
  prober?: LocationProber;
  /** The image cache (image_cache_dir): downloads go through it; data changes invalidate it. */
  cache?: ImageCache;
  /** Where the certificates of signed images are read (img_signature*); undefined = signatures are not verified. */
  keyManager?: KeyManager;
  /** The process-wide budget for transfer buffers; absent: no limit. */
  bufferBudget?: TransferBudget;
  now?: () => Date;
  newId?: () => string;
  log?: { warn(obj: unknown, msg?: string): void };
  /** Records this process as the owner of each upload and stage (transfer-tracker.ts); none in unit setups. */
  transfers?: TransferTracker;
  /** Makes the notifications of every change (undefined: none). */
  notifier?: Notifier;
  /** Keystone unified limits (use_keystone_limits); absent: the legacy quotas only. */
  quotas?: ProjectQuotas;
}

/** What a create request may set (already schema-validated by the HTTP dialect). */
export interface ImageCreate {
  id?: string;
  name?: string | null;
  visibility?: Visibility;
  protected?: boolean;
  osHidden?: boolean;
  owner?: string | null;
  diskFormat?: string | null;
  containerFormat?: string | null;
  minRam?: number;
  minDisk?: number;
  tags?: string[];
  properties?: Record<string, string>;
  /**
   * The record as the caller states it instead of as a new image starts (queued, no size, now):
   * `active` for an image declared empty, the size, checksum and times the client announced.
   */
  initialState?: {
    status?: 'queued' | 'active';
    size?: number | null;
    virtualSize?: number | null;
    checksum?: string | null;
    createdAt?: Date;
    updatedAt?: Date;
  };
}

export interface ListRequest extends Omit<ImageListQuery, 'viewer' | 'marker' | 'limit'> {
  limit?: number;
  markerId?: string;
}

/** How many times a PATCH or tag change is re-applied on a fresh copy after losing a race. */
const casRetries = 5;

export class ImageService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: ImageServiceDeps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => crypto.randomUUID());
  }

  async addImage(ctx: RequestContext, input: ImageCreate): Promise<Image> {
    const { policy, settings } = this.deps;
    const owner = input.owner === undefined ? ctx.projectId : input.owner;
    if (owner !== ctx.projectId && !ctx.isAdmin) {
      throw new DomainError('Forbidden', 'image.owner_not_caller',
        msg("You are not permitted to create images owned by '{owner}'", { owner: String(owner) }),
        { placement: 'detail' });
    }
    for (const [name, value] of [['min_ram', input.minRam], ['min_disk', input.minDisk]] as const) {
      if (value !== undefined && value < 0) {
        throw badRequest("Invalid value '{value}' for parameter '{name}': Cannot be a negative value", { value, name });
      }
    }
    const properties = input.properties ?? {};
    for (const name of Object.keys(properties)) {
      if (isReserved(name)) throw forbidden("Attribute '{name}' is reserved.", { name }, 'image.reserved');
      assertPropertyName(name);
    }
    const now = this.now();
    const initial = input.initialState ?? {};
    const image: Image = {
      id: input.id ?? this.newId(),
      name: input.name ?? null,
      status: initial.status ?? 'queued',
      visibility: input.visibility ?? 'shared',
      protected: input.protected ?? false,
      osHidden: input.osHidden ?? false,
      owner,
      size: initial.size ?? null, virtualSize: initial.virtualSize ?? null,
      diskFormat: input.diskFormat ?? null,
      containerFormat: input.containerFormat ?? null,
      checksum: initial.checksum ?? null, osHashAlgo: null, osHashValue: null,
      minDisk: input.minDisk ?? 0, minRam: input.minRam ?? 0,
      createdAt: initial.createdAt ?? now, updatedAt: initial.updatedAt ?? now, deletedAt: null, deleted: false,
      properties: { ...properties },
      tags: [...new Set(input.tags ?? [])],
      locations: [],
      version: 1,
    };
    const target = policyTarget(image, undefined);
    policy.enforce('add_image', target, ctx);
    this.authorizeVisibility(ctx, image.visibility, target);
    planPropertyChanges({}, image.properties, ctx, this.deps.propertyProtections);
    checkImageQuotas(image, settings);
    const { quotas } = this.deps;
    const emit = imageEmit(this.deps.notifier, 'image.create');
    // image_count_total: checked in the transaction that inserts the image, serialised per project.
    const created = quotas && owner
      ? await quotas.countedCreate(owner, (countLimit) => this.deps.images.create(image, { countLimit, emit }))
      : await this.deps.images.create(image, { emit });
    return this.viewFor(ctx, created);
  }

  async getImage(ctx: RequestContext, id: string): Promise<Image> {
    return this.viewFor(ctx, (await this.access.loadFor(ctx, id, 'get_image', { membership: 'when-shared' })).image);
  }

  /** The image as this caller may see it: without the properties it may not read. */
  viewFor(ctx: RequestContext, image: Image): Image {
    const protections = this.deps.propertyProtections;
    const view = protections ? { ...image, properties: protections.filterReadable(image.properties, ctx) } : image;
    // Locations (and what derives from them: direct_url, stores) only for get_image_location, as Glance.
    // A deactivated image has no locations for non-admins (Glance's database layer drops them), so no stores either.
    const withheld = image.status === 'deactivated' && !ctx.isAdmin;
    const locations = withheld ? []
      : sortByStoreWeight(image.locations.filter((l) => l.status === 'active'), this.deps.settings.storeWeights);
    const hidden = !this.deps.policy.check('get_image_location', policyTarget(image, undefined), ctx);
    return hidden ? { ...view, locations, locationsHidden: true } : { ...view, locations };
  }

  async getImages(ctx: RequestContext, request: ListRequest): Promise<{ images: Image[]; limit: number }> {
    const { policy, settings, images } = this.deps;
    policy.enforce('get_images', { project_id: ctx.projectId, owner: ctx.projectId }, ctx);
    const limit = Math.min(request.limit ?? settings.limitParamDefault, settings.apiLimitMax);
    const marker = request.markerId === undefined ? undefined : await this.access.marker(ctx, request.markerId);
    const { markerId: _markerId, limit: _limit, ...rest } = request;
    const page = limit === 0 ? [] : await images.list({ ...rest, viewer: ctx, limit, marker });
    // Visibility was decided in SQL; get_image is still a policy an operator may tighten.
    const visible = page.filter((image) => policy.check('get_image', policyTarget(image, undefined), ctx));
    return { images: visible.map((image) => this.viewFor(ctx, image)), limit };
  }

  async modifyImage(ctx: RequestContext, id: string, operations: PatchOperation[], dialect: '2.0' | '2.1'): Promise<Image> {
    const loaded = await this.access.load(ctx, id);
    let { image, target } = loaded;
    if (operations.length === 0) return image;
    this.access.authorize(ctx, loaded, 'modify_image');
    const written = operations.filter((o) => o.op !== 'remove').map((o) => o.path[0]!);
    const probes = new Map<string, LocationProbe>();
    for (let attempt = 0; ; attempt++) {
      const locations = await this.locationPatchOptions(ctx, image, operations, probes);
      // The patch applies to the caller's view; properties it may not read are merged back.
      const outcome = applyPatch({ ...this.viewFor(ctx, image), locations: image.locations, locationsHidden: undefined }, operations, { dialect,
        isAdmin: ctx.isAdmin, callerProject: ctx.projectId, locations,
        authorize: (rule) => this.deps.policy.enforce(rule, target, ctx) });
      if (outcome.visibilityChangedTo) this.authorizeVisibility(ctx, outcome.visibilityChangedTo, target);
      const plan = planPropertyChanges(image.properties, outcome.image.properties, ctx, this.deps.propertyProtections,
        { written });
      const changed = { ...outcome.image, properties: plan.properties, updatedAt: this.now() };
      checkImageQuotas(changed, this.deps.settings);
      try {
        const updated = await this.deps.images.update(changed, { expectVersion: image.version,
          emit: imageEmit(this.deps.notifier) });
        await this.removeData(updated, outcome.removedLocations);
        return this.viewFor(ctx, updated);
      } catch (error) {
        if (!isVersionConflict(error) || attempt >= casRetries) throw error;
        ({ image, target } = await this.access.load(ctx, id));
      }
    }
  }

  /**
   * `requireDataRemoval`: when the data cannot be removed, the image gets its previous state back
   * and the store's refusal is the answer, instead of leaving the bytes behind.
   */
  async deleteImage(ctx: RequestContext, id: string, options: { requireDataRemoval?: boolean } = {}): Promise<void> {
    const { image } = await this.access.loadFor(ctx, id, 'delete_image');
    if (image.protected) {
      throw forbidden('Image {id} is protected and cannot be deleted.', { id }, 'image.protected');
    }
    const hasData = image.locations.some((l) => l.status === 'active');
    const delayed = this.deps.settings.delayedDelete && hasData;
    const now = this.now();
    // With delayed_delete the row is deleted for the API at once, but the data stays (status
    // pending_delete) until a scrubber removes it, as in Glance.
    const deleted: Image = delayed
      ? { ...image, status: 'pending_delete', deleted: true, deletedAt: now, updatedAt: now,
          locations: image.locations.map((l) => ({ ...l, status: 'pending_delete' as const })) }
      : { ...image, status: 'deleted', deleted: true, deletedAt: now, updatedAt: now,
          locations: image.locations.map((l) => ({ ...l, status: 'deleted' as const })) };
    const stored = await this.updateOrConflict(deleted, image,
      this.deps.notifier?.emit<Image>((gone) => [imageDraft('image.delete', gone, deletedFields(now))]));
    await this.deps.cache?.invalidate(image.id, ctx.log);
    await this.removeStaged(image);
    if (delayed) return;
    try {
      await removeLocationData(this.deps, image.id, image.locations, { rethrow: options.requireDataRemoval || 'in-use' });
    } catch (error) {
      await this.deps.images.update({ ...image, version: stored.version }, { expectVersion: stored.version });
      if (isInUse(error)) {
        // glance_store's InUseByStore (rbd: clones of the image's snapshot exist): Glance answers 409.
        throw new DomainError('Conflict', 'image.in_use', msg('Image {id} could not be deleted because it is in use: {reason}',
          { id: image.id, reason: error.message }), { cause: error });
      }
      throw new DomainError('Forbidden', 'image.data_not_deleted',
        msg('Unable to delete the image data: {reason}', { reason: (error as Error).message }), { cause: error });
    }
  }

  private async removeStaged(image: Image): Promise<void> {
    const staged = this.deps.staging?.locationFor?.(image.id);
    if (!staged) return;
    try {
      await this.deps.staging!.delete(staged);
    } catch (error) {
      this.deps.log?.warn({ err: error, image_id: image.id }, 'could not delete staged image data');
    }
  }

  async deactivate(ctx: RequestContext, id: string): Promise<void> {
    await this.toggleActive(ctx, id, 'deactivate');
  }

  async reactivate(ctx: RequestContext, id: string): Promise<void> {
    await this.toggleActive(ctx, id, 'reactivate');
  }

  async addTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    if (tag.length > 255) throw badRequest("Provided object does not match schema 'image': '{tag}' is too long", { tag });
    await this.changeTags(ctx, id, (tags) => tags.includes(tag) ? tags : [...tags, tag]);
  }

  async removeTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    await this.changeTags(ctx, id, (tags) => {
      if (!tags.includes(tag)) throw notFound('The resource could not be found.', {}, 'tag.not_found');
      return tags.filter((t) => t !== tag);
    });
  }

  private async changeTags(ctx: RequestContext, id: string, change: (tags: string[]) => string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { image } = await this.access.loadFor(ctx, id, 'modify_image');
      const tags = change(image.tags);
      if (tags === image.tags) return;
      const next = { ...image, tags, updatedAt: this.now() };
      checkImageQuotas(next, this.deps.settings);
      try {
        await this.deps.images.update(next, { expectVersion: image.version, emit: imageEmit(this.deps.notifier) });
        return;
      } catch (error) {
        if (!isVersionConflict(error) || attempt >= casRetries) throw error;
      }
    }
  }

  private async toggleActive(ctx: RequestContext, id: string, action: 'deactivate' | 'reactivate'): Promise<void> {
    const { image } = await this.access.loadFor(ctx, id, action);
    const [from, to] = action === 'deactivate' ? ['active', 'deactivated'] as const : ['deactivated', 'active'] as const;
    if (image.status === to) return;
    if (image.status !== from) {
      throw forbidden("Not allowed to {action} image in status '{status}'", { action, status: image.status },
        'image.bad_status_for_action');
    }
    await this.updateOrConflict({ ...image, status: to, updatedAt: this.now() }, image, imageEmit(this.deps.notifier));
    if (to === 'deactivated') await this.deps.cache?.invalidate(image.id, ctx.log);
  }

  authorizeVisibility(ctx: RequestContext, visibility: Visibility, target: Record<string, unknown>): void {
    if (visibility === 'public') this.deps.policy.enforce('publicize_image', target, ctx);
    if (visibility === 'community') this.deps.policy.enforce('communitize_image', target, ctx);
  }

  /** Compare-and-set; a lost race becomes 409 with the current state named. */
  async updateOrConflict(next: Image, current: Image, emit?: Emit<Image>): Promise<Image> {
    try {
      return await this.deps.images.update(next, { expectVersion: current.version, expectStatus: current.status, emit });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      const fresh = await this.deps.images.get(current.id);
      if (!fresh) throw imageNotFound(current.id);
      throw conflict('Image status transition from {from} to {to} is not allowed',
        { from: fresh.status, to: next.status }, 'image.bad_transition');
    }
  }

  /** Removes the data of locations an image no longer has, unless another image still references it. */
  private async removeData(image: Image, removed: ImageLocation[]): Promise<void> {
    if (removed.length > 0) await this.deps.cache?.invalidate(image.id, this.deps.log ?? { warn: () => undefined });
    await removeLocationData(this.deps, image.id, removed);
  }

  /**
   * Location operations apply only while locations are visible; their new URLs are read and hashed
   * first (once per request, even when the patch is re-applied after a lost race).
   */
  private async locationPatchOptions(ctx: RequestContext, image: Image, operations: PatchOperation[],
    probes: Map<string, LocationProbe>) {
    const { settings, prober } = this.deps;
    if (!settings.showMultipleLocations || !prober) return undefined;
    const present = new Set(image.locations.map((l) => l.url));
    for (const { op, path, value } of operations) {
      if (path[0] !== 'locations' || op === 'remove') continue;
      const values = op === 'replace' && Array.isArray(value) ? value : [value];
      for (const v of values) {
        const url = (v as { url?: unknown } | null)?.url;
        if (typeof url !== 'string' || present.has(url) || probes.has(url)) continue;
        // Policy and status first, so a caller who may not change locations never makes us fetch.
        this.access.authorize(ctx, { image, membership: undefined, target: policyTarget(image, undefined) }, 'set_image_location');
        if (image.status !== 'active' && image.status !== 'queued') break;
        probes.set(url, await prober.probe(ctx, url));
      }
    }
    return {
      probes, hashingAlgorithm: settings.hashingAlgorithm, digestBytes,
      quota: settings.imageLocationQuota ?? 10, recordStore: settings.multiStore ?? false,
    };
  }
}

export function isVersionConflict(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'image.version_conflict';
}

/** image_property_quota and image_tag_quota (413). */
export function checkImageQuotas(image: Image, settings: ImageSettings): void {
  const properties = Object.keys(image.properties).filter((k) => !k.startsWith('os_glance')).length;
  if (exceeds(properties, settings.imagePropertyQuota)) {
    throw payloadTooLarge('The limit has been exceeded on the number of allowed image properties. '
      + 'Attempted: {attempted}, Maximum: {maximum}', { attempted: properties, maximum: settings.imagePropertyQuota },
    'quota.properties');
  }
  if (exceeds(image.tags.length, settings.imageTagQuota)) {
    throw payloadTooLarge('The limit has been exceeded on the number of allowed image tags. '
      + 'Attempted: {attempted}, Maximum: {maximum}', { attempted: image.tags.length, maximum: settings.imageTagQuota },
    'quota.tags');
  }
}
