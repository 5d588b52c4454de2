// The cache API (Images API 2.14/2.16): GET/DELETE /v2/cache, PUT/DELETE /v2/cache/{image_id}; Glance
// master's 2.18 calls POST /v2/cache/clean, POST /v2/cache/prune, GET /v2/cache/nodes/{image_id}; and,
// with `+cachemanagement` in the flavor, the legacy cachemanage routes /v2/cached_images and
// /v2/queued_images. Times are epoch seconds (floats), as Glance reports them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CacheEntry } from '../../ports/image-cache.ts';
import type { CacheService } from '../../services/image-cache.ts';
import { rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { noContent } from '../reply.ts';

type Params = { id: string };

const epoch = (date: Date) => date.getTime() / 1000;

export function cacheEntryView(entry: CacheEntry): Record<string, unknown> {
  return {
    image_id: entry.imageId, hits: entry.hits, last_accessed: epoch(entry.lastAccessed),
    last_modified: epoch(entry.lastModified), size: entry.size,
  };
}

const json = (reply: FastifyReply, body: unknown, code = 200) => reply.code(code).type('application/json').send(JSON.stringify(body));

export function cacheRoutes(routes: RouteTable, cache: CacheService, options: { legacy: boolean }): void {
  routes.add('GET', '/v2/cache', async (request, reply) => {
    rejectBody(request);
    const state = await cache.listCache(request.ctx);
    return json(reply, { cached_images: state.cachedImages.map(cacheEntryView), queued_images: state.queuedImages });
  });
  routes.add('DELETE', '/v2/cache', async (request, reply) => {
    rejectBody(request);
    const target = request.headers['x-image-cache-clear-target'];
    await cache.clearCache(request.ctx, (Array.isArray(target) ? target[0] : target) ?? '');
    return noContent(reply);
  });
  routes.add('DELETE', '/v2/cache/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    await cache.deleteCacheEntry(request.ctx, request.params.id);
    return noContent(reply);
  });
  routes.add('PUT', '/v2/cache/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    await cache.cacheImage(request.ctx, request.params.id);
    return reply.code(202).header('content-length', '0').type('text/html; charset=UTF-8').send();
  });
  // Glance's cache router lists DELETE before PUT.
  routes.allowAs('/v2/cache/:id', 'DELETE, PUT');
  // 2.18 (Glance master): clean answers 200 with an empty body, prune the counts it removed.
  routes.add('POST', '/v2/cache/clean', async (request, reply) => {
    await cache.cleanCache(request.ctx);
    return reply.code(200).header('content-length', '0').type('text/html; charset=UTF-8').send();
  });
  routes.add('POST', '/v2/cache/prune', async (request, reply) => {
    const pruned = await cache.pruneCache(request.ctx);
    return json(reply, { total_files_pruned: pruned.files, total_bytes_pruned: pruned.bytes });
  });
  routes.add('GET', '/v2/cache/nodes/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    return json(reply, await cache.cachedNodes(request.ctx, request.params.id));
  });
  if (options.legacy) legacyRoutes(routes, cache);
}

/** glance.api.middleware.cache_manage: every answer is JSON, `null` for the calls that return nothing. */
function legacyRoutes(routes: RouteTable, cache: CacheService): void {
  routes.add('GET', '/v2/cached_images', async (request, reply) =>
    json(reply, { cached_images: (await cache.legacyCached(request.ctx)).map(cacheEntryView) }));
  routes.add('DELETE', '/v2/cached_images', async (request, reply) =>
    json(reply, { num_deleted: await cache.legacyDeleteAllCached(request.ctx) }));
  routes.add('DELETE', '/v2/cached_images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    await cache.legacyDeleteCached(request.ctx, request.params.id);
    return json(reply, null);
  });
  routes.add('GET', '/v2/queued_images', async (request, reply) =>
    json(reply, { queued_images: await cache.legacyQueued(request.ctx) }));
  routes.add('DELETE', '/v2/queued_images', async (request, reply) =>
    json(reply, { num_deleted: await cache.legacyClearQueue(request.ctx) }));
  routes.add('PUT', '/v2/queued_images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    await cache.legacyQueue(request.ctx, request.params.id);
    return json(reply, null);
  });
  routes.add('DELETE', '/v2/queued_images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    await cache.legacyDequeue(request.ctx, request.params.id);
    return json(reply, null);
  });
}
