// The v2 dialect: schemas and every /v2 route, registered on the shared route table.
import type { FastifyRequest } from 'fastify';
import type { Image } from '../../domain/image.ts';
import type { ImageDataService } from '../../services/image-data.ts';
import type { ImageService } from '../../services/images.ts';
import type { MemberService } from '../../services/members.ts';
import type { MetadefItemService } from '../../services/metadef-items.ts';
import type { MetadefNamespaceService } from '../../services/metadef-namespaces.ts';
import type { ImageImportService } from '../../services/image-import.ts';
import type { TaskService } from '../../services/tasks.ts';
import { importRoutes } from './import.ts';
import { taskRoutes } from './tasks.ts';
import type { DiscoveryService } from '../../services/discovery.ts';
import type { LocationService } from '../../services/locations.ts';
import { rejectBody } from '../body.ts';
import type { Method, RouteDoc, RouteTable } from '../routes.ts';
import { imageDataRoutes } from './image-data.ts';
import { imageRoutes } from './images.ts';
import { memberRoutes } from './members.ts';
import { metadefItemRoutes } from './metadef-items.ts';
import { metadefNamespaceRoutes } from './metadef-namespaces.ts';
import { storeRoutes } from './locations.ts';
import { cacheRoutes } from './cache.ts';
import type { CacheService } from '../../services/image-cache.ts';
import { imagesSchema, memberSchema, membersSchema, taskSchema, tasksSchema } from './schema-documents.ts';
import { SchemaValidator } from './validator.ts';
import { imageView, type ImageViewOptions } from './views.ts';

export interface V2Services {
  images: ImageService;
  data: ImageDataService;
  members: MemberService;
  metadefNamespaces?: MetadefNamespaceService;
  metadefItems?: MetadefItemService;
  /** Interoperable import and the tasks API (absent: routes not served). */
  imports?: ImageImportService;
  tasks?: TaskService;
  locations: LocationService;
  discovery: DiscoveryService;
  /** The cache API; `legacy` adds the cachemanage routes (`+cachemanagement` flavor). */
  cache?: { service: CacheService; legacy: boolean };
}

export interface V2Options extends ImageViewOptions {
  services: V2Services;
  imageSchema: Record<string, unknown>;
  importMethods: string[];
  /** Store ids announced on image create (multi-store only). */
  storeIds: string[];
  baseUrl: (request: FastifyRequest) => string;
}

export interface V2Context extends V2Options {
  imageValidator: SchemaValidator;
  view: (image: Image) => Record<string, unknown>;
}

/** The v2 routes whose bodies the served schemas describe (the OpenAPI document, http/openapi.ts). */
const V2_DOCS: Array<[Method, string, RouteDoc]> = [
  ['POST', '/v2/images', { summary: 'Create an image', request: 'image', response: 'image', status: 201 }],
  ['GET', '/v2/images', { summary: 'List images', response: 'images' }],
  ['GET', '/v2/images/:id', { summary: 'Show an image', response: 'image' }],
  ['PATCH', '/v2/images/:id', { summary: 'Update an image', requestType: 'application/openstack-images-v2.1-json-patch', response: 'image' }],
  ['DELETE', '/v2/images/:id', { summary: 'Delete an image', status: 204 }],
  ['PUT', '/v2/images/:id/file', { summary: 'Upload image data', requestType: 'application/octet-stream', status: 204 }],
  ['GET', '/v2/images/:id/file', { summary: 'Download image data', responseType: 'application/octet-stream' }],
  ['PUT', '/v2/images/:id/stage', { summary: 'Stage image data for import', requestType: 'application/octet-stream', status: 204 }],
  ['POST', '/v2/images/:id/import', { summary: 'Import staged or remote data', status: 202 }],
  ['GET', '/v2/images/:id/members', { summary: 'List the members of an image', response: 'members' }],
  ['POST', '/v2/images/:id/members', { summary: 'Share an image with a project', request: 'member', response: 'member' }],
  ['GET', '/v2/images/:id/members/:member', { summary: 'Show a member', response: 'member' }],
  ['PUT', '/v2/images/:id/members/:member', { summary: 'Accept or reject a shared image', request: 'member', response: 'member' }],
  ['DELETE', '/v2/images/:id/members/:member', { summary: 'Stop sharing an image with a project', status: 204 }],
  ['PUT', '/v2/images/:id/tags/:tag', { summary: 'Add a tag', status: 204 }],
  ['DELETE', '/v2/images/:id/tags/:tag', { summary: 'Remove a tag', status: 204 }],
  ['POST', '/v2/tasks', { summary: 'Create a task', request: 'task', response: 'task', status: 201 }],
  ['GET', '/v2/tasks', { summary: 'List tasks', response: 'tasks' }],
  ['GET', '/v2/tasks/:id', { summary: 'Show a task', response: 'task' }],
];

export function v2Router(options: V2Options): (routes: RouteTable) => void {
  const context: V2Context = {
    ...options,
    imageValidator: new SchemaValidator('image', options.imageSchema),
    view: (image) => imageView(image, options),
  };
  const schemas: Record<string, Record<string, unknown>> = {
    image: options.imageSchema,
    images: imagesSchema(options.imageSchema),
    member: memberSchema,
    members: membersSchema,
    task: taskSchema,
    tasks: tasksSchema,
  };
  return (routes) => {
    for (const [name, document] of Object.entries(schemas)) {
      const body = JSON.stringify(document);
      routes.add('GET', `/v2/schemas/${name}`, async (request, reply) => {
        rejectBody(request);
        return reply.type('application/json').send(body);
      });
      routes.schema(name, document).describe('GET', `/v2/schemas/${name}`, { summary: `The ${name} schema`, response: name });
    }
    imageRoutes(routes, context);
    imageDataRoutes(routes, context);
    memberRoutes(routes, context);
    const { metadefNamespaces, metadefItems } = options.services;
    if (metadefNamespaces) metadefNamespaceRoutes(routes, metadefNamespaces, options.baseUrl);
    if (metadefItems) metadefItemRoutes(routes, metadefItems);
    if (options.services.imports) importRoutes(routes, options.services.imports);
    if (options.services.tasks) taskRoutes(routes, context, options.services.tasks);
    storeRoutes(routes, context);
    if (options.services.cache) cacheRoutes(routes, options.services.cache.service, { legacy: options.services.cache.legacy });
    for (const [method, url, doc] of V2_DOCS) if (routes.has(method, url)) routes.describe(method, url, doc);
  };
}
