// /v2/images routes: parse → service → view.
import type { FastifyRequest } from 'fastify';
import { asDetail, forbidden } from '../../domain/errors.ts';
import { isReserved } from '../../domain/image-rules.ts';
import type { ImageCreate } from '../../services/images.ts';
import { readJson, readJsonObject, rejectBody } from '../body.ts';
import { queryPairs } from '../query.ts';
import { noContent } from '../reply.ts';
import type { RouteTable } from '../routes.ts';
import { linkQuery, parseListQuery } from './list-query.ts';
import { patchDialect, parsePatch } from './patch.ts';
import type { V2Context } from './router.ts';

type Params = { id: string };
type TagParams = { id: string; tag: string };

/** Attributes a create body may not carry (Glance's disallowed and read-only lists). */
const notOnCreate = new Set(['direct_url', 'self', 'file', 'schema', 'stores',
  'status', 'checksum', 'size', 'virtual_size', 'created_at', 'updated_at']);
/** Accepted on create but ignored: the server computes them (Glance quietly shadows them). */
const ignoredOnCreate = new Set(['os_hash_algo', 'os_hash_value']);
const coreCreateKeys = new Set(['id', 'name', 'visibility', 'protected', 'os_hidden', 'owner', 'disk_format',
  'container_format', 'min_ram', 'min_disk', 'tags']);

function toCreate(body: Record<string, unknown>): ImageCreate {
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!coreCreateKeys.has(key) && !ignoredOnCreate.has(key)) properties[key] = value as string;
  }
  return {
    id: body.id as string | undefined,
    name: body.name as string | null | undefined,
    visibility: body.visibility as ImageCreate['visibility'],
    protected: body.protected as boolean | undefined,
    osHidden: body.os_hidden as boolean | undefined,
    owner: body.owner as string | null | undefined,
    diskFormat: body.disk_format as string | null | undefined,
    containerFormat: body.container_format as string | null | undefined,
    minRam: body.min_ram as number | undefined,
    minDisk: body.min_disk as number | undefined,
    tags: body.tags as string[] | undefined,
    properties,
  };
}

export function imageRoutes(routes: RouteTable, v2: V2Context): void {
  const { services, view } = v2;

  routes.add('POST', '/v2/images', async (request, reply) => {
    const body = await readJsonObject(request);
    for (const key of Object.keys(body)) {
      if (key === 'locations') throw forbidden("Attribute '{name}' is reserved.", { name: key }, 'image.reserved');
      if (isReserved(key)) throw asDetail(forbidden("Attribute '{name}' is reserved.", { name: key }, 'image.reserved'));
      if (notOnCreate.has(key)) throw forbidden("Attribute '{name}' is read-only.", { name: key }, 'image.read_only');
    }
    v2.imageValidator.validate(body);
    const image = await services.images.addImage(request.ctx, toCreate(body));
    reply.code(201).header('location', `${v2.baseUrl(request)}/v2/images/${image.id}`);
    if (v2.importMethods.length > 0) reply.header('openstack-image-import-methods', v2.importMethods.join(','));
    if (v2.storeIds.length > 0) reply.header('openstack-image-store-ids', v2.storeIds.join(','));
    return reply.send(view(image));
  });

  routes.add('GET', '/v2/images', async (request, reply) => {
    rejectBody(request);
    const pairs = queryPairs(request);
    const { images, limit } = await services.images.getImages(request.ctx, parseListQuery(pairs));
    const first = linkQuery(pairs);
    const body: Record<string, unknown> = {
      images: images.map(view),
      first: first ? `/v2/images?${first}` : '/v2/images',
      schema: '/v2/schemas/images',
    };
    const last = images.at(-1);
    if (last && images.length >= limit) body.next = `/v2/images?${linkQuery(pairs, last.id)}`;
    return reply.send(body);
  });

  routes.add('GET', '/v2/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    return reply.send(view(await services.images.getImage(request.ctx, request.params.id)));
  });

  routes.add('PATCH', '/v2/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const dialect = patchDialect(request.headers['content-type']);
    const operations = parsePatch(await readJson(request), dialect);
    for (const operation of operations) {
      if (operation.op === 'remove' || operation.path.length !== 1) continue;
      v2.imageValidator.validate({ [operation.path[0]!]: operation.value });
    }
    const image = await services.images.modifyImage(request.ctx, request.params.id, operations, dialect);
    return reply.send(view(image));
  });

  routes.add('DELETE', '/v2/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    await services.images.deleteImage(request.ctx, request.params.id);
    return noContent(reply);
  });

  for (const action of ['deactivate', 'reactivate'] as const) {
    routes.add('POST', `/v2/images/:id/actions/${action}`, async (request: FastifyRequest<{ Params: Params }>, reply) => {
      rejectBody(request);
      await services.images[action](request.ctx, request.params.id);
      return noContent(reply);
    });
  }

  routes.add('PUT', '/v2/images/:id/tags/:tag', async (request: FastifyRequest<{ Params: TagParams }>, reply) => {
    rejectBody(request);
    await services.images.addTag(request.ctx, request.params.id, request.params.tag);
    return noContent(reply);
  });

  routes.add('DELETE', '/v2/images/:id/tags/:tag', async (request: FastifyRequest<{ Params: TagParams }>, reply) => {
    rejectBody(request);
    await services.images.removeTag(request.ctx, request.params.id, request.params.tag);
    return noContent(reply);
  });
}

/**
 * An empty answer. Most Glance handlers leave webob's default type (text/html) on it; a few
 * (download without data, member delete) send none at all.
 */
