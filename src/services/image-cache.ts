// Cache management use cases (GET/DELETE /v2/cache, PUT/DELETE /v2/cache/{id}, master's 2.18
// POST /v2/cache/clean|prune and GET /v2/cache/nodes/{id}, and the legacy cachemanage routes). Like Glance, the policy rule is checked first and only then whether this
// site has a cache at all (404 "Caching via API is not supported at this site.").
// Each API node manages its own cache: the manager is this node's.
import { badRequest, notFound } from '../domain/errors.ts';
import type { RequestContext } from '../ports/context.ts';
import type { CacheEntry, CleanResult, ImageCacheManager, PruneResult } from '../ports/image-cache.ts';
import type { Authorizer } from '../ports/policy.ts';
import type { ImageRepository, MemberRepository } from '../ports/repositories.ts';
import { ImageAccess, type Loaded } from './image-access.ts';

export interface CacheServiceDeps {
  images: ImageRepository;
  members: MemberRepository;
  policy: Authorizer;
  /** undefined: no image_cache_dir on this site. */
  cache?: ImageCacheManager;
  /** An image was queued on this node: let its prefetcher run soon. */
  onQueued?: (imageId: string) => void;
}

export type ClearTarget = 'cache' | 'queue' | '';

export interface CacheState {
  cachedImages: CacheEntry[];
  queuedImages: string[];
}

export class CacheService {
  private readonly access: ImageAccess;

  constructor(private readonly deps: CacheServiceDeps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
  }

  /** The rule first (403), then whether there is a cache (404). */
  private enforce(ctx: RequestContext, rule: string, loaded?: Loaded): ImageCacheManager {
    this.deps.policy.enforce(rule, loaded?.target ?? {}, ctx);
    if (!this.deps.cache) throw notFound('Caching via API is not supported at this site.', {}, 'cache.disabled');
    return this.deps.cache;
  }

  private async tryLoad(ctx: RequestContext, id: string): Promise<Loaded | undefined> {
    try {
      return await this.access.load(ctx, id);
    } catch (error) {
      if ((error as { code?: string }).code === 'image.not_found') return undefined;
      throw error;
    }
  }

  async listCache(ctx: RequestContext): Promise<CacheState> {
    const cache = this.enforce(ctx, 'cache_list');
    return { cachedImages: await cache.cachedImages(), queuedImages: await cache.queuedImages() };
  }

  /** PUT /v2/cache/{id}: a visible, active image is queued for this node's prefetcher. */
  async cacheImage(ctx: RequestContext, id: string): Promise<void> {
    const loaded = await this.tryLoad(ctx, id);
    if (!loaded) throw notFound('Image {id} not found.', { id }, 'image.not_found');
    const cache = this.enforce(ctx, 'cache_image', loaded);
    if (loaded.image.status !== 'active') {
      throw badRequest('Only images with status active can be targeted for queueing', {}, 'cache.not_active');
    }
    await cache.queue(id);
    this.deps.onQueued?.(id);
  }

  /** DELETE /v2/cache/{id}: out of this node's cache and queue; 404 only when neither the image nor an entry exists. */
  async deleteCacheEntry(ctx: RequestContext, id: string): Promise<void> {
    const loaded = await this.tryLoad(ctx, id);
    if (!loaded && this.deps.cache && !(await this.present(this.deps.cache, id))) {
      throw notFound('Image {id} not found.', { id }, 'image.not_found');
    }
    const cache = this.enforce(ctx, 'cache_delete', loaded);
    await cache.removeCached(id);
    await cache.dequeue(id);
  }

  private async present(cache: ImageCacheManager, id: string): Promise<boolean> {
    return await cache.isCached(id) || (await cache.queuedImages()).includes(id);
  }

  /** DELETE /v2/cache with x-image-cache-clear-target. */
  async clearCache(ctx: RequestContext, target: string): Promise<{ cacheDeleted?: number; queueDeleted?: number }> {
    const cache = this.enforce(ctx, 'cache_delete');
    const which = target.toLowerCase();
    if (which !== '' && which !== 'cache' && which !== 'queue') {
      throw badRequest("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.", {},
        'cache.clear_target');
    }
    const out: { cacheDeleted?: number; queueDeleted?: number } = {};
    if (which !== 'queue') out.cacheDeleted = await cache.removeAllCached();
    if (which !== 'cache') out.queueDeleted = await cache.clearQueue();
    return out;
  }

  /** POST /v2/cache/clean (2.18): stalled unfinished files and invalid entries of this node go. */
  async cleanCache(ctx: RequestContext): Promise<CleanResult> {
    return this.enforce(ctx, 'cache_clean').clean();
  }

  /** POST /v2/cache/prune (2.18): least recently used entries of this node go until it fits image_cache_max_size. */
  async pruneCache(ctx: RequestContext): Promise<PruneResult> {
    return this.enforce(ctx, 'cache_prune').prune();
  }

  /**
   * GET /v2/cache/nodes/{id} (2.18): the nodes (worker_self_reference_url) holding the image in their
   * cache. The rule and the cache first, then the image must exist for the caller (404). Glance
   * answers 409 unless image_cache_driver is centralized_db; Glimpse's metadata is always central.
   */
  async cachedNodes(ctx: RequestContext, id: string): Promise<string[]> {
    const cache = this.enforce(ctx, 'list_cached_nodes');
    if (!(await this.tryLoad(ctx, id))) throw notFound('Image {id} not found.', { id }, 'image.not_found');
    return cache.nodesCaching(id);
  }

  // ---- legacy cachemanage routes: every call is `manage_image_cache` ---------------------------

  async legacyCached(ctx: RequestContext): Promise<CacheEntry[]> {
    return this.enforce(ctx, 'manage_image_cache').cachedImages();
  }

  async legacyQueued(ctx: RequestContext): Promise<string[]> {
    return this.enforce(ctx, 'manage_image_cache').queuedImages();
  }

  async legacyDeleteCached(ctx: RequestContext, id: string): Promise<void> {
    await this.enforce(ctx, 'manage_image_cache').removeCached(id);
  }

  async legacyDeleteAllCached(ctx: RequestContext): Promise<number> {
    return this.enforce(ctx, 'manage_image_cache').removeAllCached();
  }

  /**
   * The legacy queue call does not look the image up (the prefetcher drops what it cannot fetch) and,
   * as in Glance, leaves the image to the periodic prefetcher.
   */
  async legacyQueue(ctx: RequestContext, id: string): Promise<void> {
    await this.enforce(ctx, 'manage_image_cache').queue(id);
  }

  async legacyDequeue(ctx: RequestContext, id: string): Promise<void> {
    await this.enforce(ctx, 'manage_image_cache').dequeue(id);
  }

  async legacyClearQueue(ctx: RequestContext): Promise<number> {
    return this.enforce(ctx, 'manage_image_cache').clearQueue();
  }
}
