// /v2/metadefs/namespaces, /v2/metadefs/resource_types and the metadef schema documents.
import type { FastifyRequest } from 'fastify';
import { namespaceSortKeys, type MetadefVisibility, type PropertyDefinition } from '../../domain/metadef.ts';
import { badRequest } from '../../domain/errors.ts';
import type { MetadefNamespaceService, NamespaceCreateInput } from '../../services/metadef-namespaces.ts';
import { rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { queryPairs } from '../query.ts';
import { noContent } from '../reply.ts';
import { linkQuery } from './list-query.ts';
import {
  checkSortDir, checkSortKey, optionalString, parseLimit, queryOf, readBody, validators,
} from './metadef-requests.ts';
import { metadefSchemas, pythonJson } from './metadef-schemas.ts';
import {
  associationView, createdNamespaceView, namespaceDetailView, namespaceHref, namespaceView, resourceTypeView,
} from './metadef-views.ts';

type Json = Record<string, unknown>;
type Ns = { ns: string };

function namespaceInput(body: Json) {
  return {
    namespace: body.namespace as string,
    displayName: optionalString(body.display_name),
    description: optionalString(body.description),
    visibility: (optionalString(body.visibility) as MetadefVisibility | null),
    protected: typeof body.protected === 'boolean' ? body.protected : null,
    owner: optionalString(body.owner),
  };
}

function createInput(body: Json): NamespaceCreateInput {
  const list = (key: string) => (Array.isArray(body[key]) ? body[key] as Json[] : []);
  return {
    ...namespaceInput(body),
    associations: list('resource_type_associations').map((a) => ({ name: String(a.name ?? ''),
      prefix: optionalString(a.prefix), propertiesTarget: optionalString(a.properties_target) })),
    properties: (body.properties ?? {}) as Record<string, PropertyDefinition>,
    objects: list('objects').map((o) => ({ name: String(o.name ?? ''), description: optionalString(o.description),
      required: Array.isArray(o.required) ? o.required as string[] : null,
      properties: (o.properties ?? null) as Record<string, PropertyDefinition> | null })),
    tags: list('tags').map((t) => ({ name: String(t.name ?? '') })),
  };
}

export function metadefNamespaceRoutes(routes: RouteTable, service: MetadefNamespaceService,
  baseUrl: (request: FastifyRequest) => string): void {
  for (const [name, document] of Object.entries(metadefSchemas)) {
    const text = pythonJson(document);
    routes.add('GET', `/v2/schemas/metadefs/${name}`, async (request, reply) => {
      rejectBody(request);
      return reply.type('application/json').send(text);
    });
    routes.schema(`metadefs-${name}`, document)
      .describe('GET', `/v2/schemas/metadefs/${name}`, { summary: `The metadefs ${name} schema`, response: `metadefs-${name}` });
  }

  routes.add('GET', '/v2/metadefs/namespaces', async (request, reply) => {
    rejectBody(request);
    const q = queryOf(request);
    const visibility = q.get('visibility');
    if (visibility && visibility !== 'public' && visibility !== 'private') {
      throw badRequest('Invalid visibility value: {value}', { value: visibility }, 'list.bad_visibility');
    }
    const resourceTypes = q.get('resource_types');
    const marker = q.get('marker');
    const { namespaces, next } = await service.getMetadefNamespaces(request.ctx, {
      limit: parseLimit(q.get('limit')), marker: marker || undefined,
      sortKey: checkSortKey(q.get('sort_key'), namespaceSortKeys), sortDir: checkSortDir(q.get('sort_dir')),
      visibility: (visibility || undefined) as MetadefVisibility | undefined,
      resourceTypes: resourceTypes === undefined ? undefined : resourceTypes.split(','),
    });
    const pairs = queryPairs(request);
    const first = linkQuery(pairs);
    const body: Json = {
      namespaces: namespaces.map((ns) => namespaceView(ns,
        { resource_type_associations: ns.associations.length ? ns.associations.map(associationView) : undefined })),
      schema: '/v2/schemas/metadefs/namespaces',
      first: first ? `/v2/metadefs/namespaces?${first}` : '/v2/metadefs/namespaces',
    };
    if (next !== undefined) body.next = `/v2/metadefs/namespaces?${linkQuery(pairs, next)}`;
    return reply.send(body);
  });

  routes.add('POST', '/v2/metadefs/namespaces', async (request, reply) => {
    const body = await readBody(request, validators.namespace, true);
    const content = await service.addMetadefNamespace(request.ctx, createInput(body));
    reply.code(201).header('location', `${baseUrl(request)}${namespaceHref(content.namespace.namespace)}`);
    return reply.send(createdNamespaceView(content, body));
  });

  routes.add('GET', '/v2/metadefs/namespaces/:ns', async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    const resourceType = queryOf(request).get('resource_type') || undefined;
    return reply.send(namespaceDetailView(await service.getMetadefNamespace(request.ctx, request.params.ns, resourceType)));
  });

  routes.add('PUT', '/v2/metadefs/namespaces/:ns', async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    const body = await readBody(request, validators.namespace, true);
    return reply.send(namespaceView(await service.modifyMetadefNamespace(request.ctx, request.params.ns,
      namespaceInput(body))));
  });

  routes.add('DELETE', '/v2/metadefs/namespaces/:ns', async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    await service.deleteMetadefNamespace(request.ctx, request.params.ns);
    return noContent(reply);
  });

  for (const what of ['objects', 'properties', 'tags'] as const) {
    routes.add('DELETE', `/v2/metadefs/namespaces/:ns/${what}`, async (request: FastifyRequest<{ Params: Ns }>, reply) => {
      rejectBody(request);
      await service.deleteNamespaceContent(request.ctx, request.params.ns, what);
      return noContent(reply);
    });
  }

  routes.add('GET', '/v2/metadefs/resource_types', async (request, reply) => {
    rejectBody(request);
    return reply.send({ resource_types: (await service.listMetadefResourceTypes(request.ctx)).map(resourceTypeView) });
  });

  routes.add('GET', '/v2/metadefs/namespaces/:ns/resource_types', async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    rejectBody(request);
    const list = await service.getMetadefResourceTypeAssociations(request.ctx, request.params.ns);
    return reply.send({ resource_type_associations: list.map(associationView) });
  });

  routes.add('POST', '/v2/metadefs/namespaces/:ns/resource_types', async (request: FastifyRequest<{ Params: Ns }>, reply) => {
    const body = await readBody(request, validators.association);
    const association = await service.addMetadefResourceTypeAssociation(request.ctx, request.params.ns, {
      name: body.name as string, prefix: optionalString(body.prefix), propertiesTarget: optionalString(body.properties_target),
    });
    return reply.code(201).send(associationView(association));
  });

  routes.add('DELETE', '/v2/metadefs/namespaces/:ns/resource_types/:rt',
    async (request: FastifyRequest<{ Params: Ns & { rt: string } }>, reply) => {
      rejectBody(request);
      await service.removeMetadefResourceTypeAssociation(request.ctx, request.params.ns, request.params.rt);
      return noContent(reply);
    });
}
