// Interoperable import routes: PUT /v2/images/{id}/stage, POST /v2/images/{id}/import,
// GET /v2/info/import.
import type { FastifyRequest } from 'fastify';
import type { ImageImportService } from '../../services/image-import.ts';
import { rawBody, readJson, rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { optionalSize, requireOctetStream } from './data-headers.ts';
import { noContent } from '../reply.ts';

type Params = { id: string };

export function importRoutes(routes: RouteTable, imports: ImageImportService): void {
  routes.add('PUT', '/v2/images/:id/stage', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    requireOctetStream(request);
    await imports.stageImage(request.ctx, request.params.id, rawBody(request), {
      contentLength: optionalSize(request.headers['content-length'], 'Content-Length'),
    });
    return noContent(reply);
  });

  routes.add('POST', '/v2/images/:id/import', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const body = await readJson(request);
    const first = (value: string | string[] | undefined) => Array.isArray(value) ? value[0] : value;
    await imports.importImage(request.ctx, request.params.id, {
      body, storeHeader: first(request.headers['x-image-meta-store']), userToken: first(request.headers['x-auth-token']),
    });
    return reply.code(202).send();
  });

  routes.add('GET', '/v2/info/import', async (request, reply) => {
    rejectBody(request);
    return reply.send({
      'import-methods': { description: 'Import methods available.', type: 'array', value: imports.importMethods() },
    });
  });
}
