// /v2/metadefs/namespaces/{ns}/objects, /properties and /tags.
import type { FastifyRequest } from 'fastify';
import { tagSortKeys, type PropertyDefinition } from '../../domain/metadef.ts';
import type { MetadefItemService, ObjectInput } from '../../services/metadef-items.ts';
import { rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { noContent } from '../reply.ts';
import {
  checkSortDir, checkSortKey, isTrue, optionalString, parseLimit, queryOf, readBody, validators,
} from './metadef-requests.ts';
import {
  createdObjectView, objectView, propertiesView, propertyView, tagView,
} from './metadef-views.ts';

type Json = Record<string, unknown>;
type Ns = { ns: string };
type Item = { ns: string; name: string };
const base = '/v2/metadefs/namespaces/:ns';

function objectInput(body: Json): ObjectInput {
  return {
    name: body.name as string, description: optionalString(body.description),
    required: Array.isArray(body.required) ? body.required as string[] : null,
    properties: (body.properties ?? null) as Record<string, PropertyDefinition> | null,
  };
}

/** As Glance stores it: a property written through this API keeps its name inside the definition too. */
function definitionOf(body: Json): PropertyDefinition {
  return { ...body };
}

export function metadefItemRoutes(routes: RouteTable, service: MetadefItemService): void {
  // ---- objects ----
  routes.add('GET', `${base}/objects`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    const q = queryOf(request);
    checkSortDir(q.get('sort_dir'));
    parseLimit(q.get('limit'), false);
    const list = await service.getMetadefObjects(request.ctx, request.params.ns);
    // Glance's answer lacks the leading slash of the schema link (spec/v2.md §8.2).
    return reply.send({ objects: list.map((o) => objectView(request.params.ns, o)), schema: 'v2/schemas/metadefs/objects' });
  });

  routes.add('POST', `${base}/objects`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    const body = await readBody(request, validators.object, true);
    for (const definition of Object.values((body.properties ?? {}) as Json)) validators.unnamedProperty.validate(definition);
    const object = await service.addMetadefObject(request.ctx, request.params.ns, objectInput(body));
    return reply.code(201).send(createdObjectView(request.params.ns, object, body));
  });

  routes.add('GET', `${base}/objects/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    const { ns, name } = request.params;
    return reply.send(objectView(ns, await service.getMetadefObject(request.ctx, ns, name)));
  });

  routes.add('PUT', `${base}/objects/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    const body = await readBody(request, validators.object, true);
    const { ns, name } = request.params;
    return reply.send(createdObjectView(ns, await service.modifyMetadefObject(request.ctx, ns, name, objectInput(body)), body));
  });

  routes.add('DELETE', `${base}/objects/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    await service.deleteMetadefObject(request.ctx, request.params.ns, request.params.name);
    return noContent(reply);
  });

  // ---- properties ----
  routes.add('GET', `${base}/properties`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    return reply.send({ properties: propertiesView(await service.getMetadefProperties(request.ctx, request.params.ns)) });
  });

  routes.add('POST', `${base}/properties`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    const body = await readBody(request, validators.property);
    const property = await service.addMetadefProperty(request.ctx, request.params.ns, body.name as string, definitionOf(body));
    return reply.code(201).send(propertyView(property));
  });

  routes.add('GET', `${base}/properties/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    const { ns, name } = request.params;
    const resourceType = queryOf(request).get('resource_type') || undefined;
    return reply.send(propertyView(await service.getMetadefProperty(request.ctx, ns, name, resourceType)));
  });

  routes.add('PUT', `${base}/properties/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    const body = await readBody(request, validators.property);
    const { ns, name } = request.params;
    const property = await service.modifyMetadefProperty(request.ctx, ns, name, body.name as string, definitionOf(body));
    return reply.send(propertyView(property));
  });

  routes.add('DELETE', `${base}/properties/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    await service.removeMetadefProperty(request.ctx, request.params.ns, request.params.name);
    return noContent(reply);
  });

  // ---- tags ----
  routes.add('GET', `${base}/tags`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    const q = queryOf(request);
    const tags = await service.getMetadefTags(request.ctx, request.params.ns, {
      sortKey: checkSortKey(q.get('sort_key'), tagSortKeys), sortDir: checkSortDir(q.get('sort_dir')),
      limit: q.get('limit') ? parseLimit(q.get('limit')) : undefined, marker: q.get('marker') || undefined,
    });
    return reply.send({ tags: tags.map((t) => ({ name: t.name })) });
  });

  routes.add('POST', `${base}/tags`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    const body = await readBody(request, validators.tags);
    const names = ((body.tags ?? []) as Json[]).map((t) => t.name as string);
    const tags = await service.addMetadefTags(request.ctx, request.params.ns, names,
      isTrue(request.headers['x-openstack-append']));
    return reply.code(201).send({ tags: tags.map((t) => ({ name: t.name })) });
  });

  routes.add('GET', `${base}/tags/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    return reply.send(tagView(await service.getMetadefTag(request.ctx, request.params.ns, request.params.name)));
  });

  routes.add('POST', `${base}/tags/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    validators.tag.validate({ name: request.params.name });
    const tag = await service.addMetadefTag(request.ctx, request.params.ns, request.params.name);
    return reply.code(201).send(tagView(tag));
  });

  routes.add('PUT', `${base}/tags/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    const body = await readBody(request, validators.tag);
    const { ns, name } = request.params;
    return reply.send(tagView(await service.modifyMetadefTag(request.ctx, ns, name, body.name as string)));
  });

  routes.add('DELETE', `${base}/tags/:name`, async (request: FastifyRequest<{ Params: Item }>, reply) => {
    rejectBody(request);
    await service.deleteMetadefTag(request.ctx, request.params.ns, request.params.name);
    return noContent(reply);
  });
}
