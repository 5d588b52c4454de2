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
import type { RouteTable } from '../routes.ts';
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
  };
}
