// Store and location routes: /v2/info/stores(/detail), /v2/info/usage, the 2.17 locations API, and
// DELETE /v2/stores/{store}/{image}.
import type { FastifyRequest } from 'fastify';
import { readJsonObject, rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { noContent } from '../reply.ts';
import type { V2Context } from './router.ts';

type Params = { id: string };
type StoreParams = { store: string; id: string };

export function storeRoutes(routes: RouteTable, v2: V2Context): void {
  const { services } = v2;

  routes.add('GET', '/v2/info/stores', async (request, reply) => {
    rejectBody(request);
    return reply.send({ stores: services.discovery.getStores(request.ctx) });
  });

  routes.add('GET', '/v2/info/stores/detail', async (request, reply) => {
    rejectBody(request);
    return reply.send({ stores: services.discovery.getStoresDetail(request.ctx) });
  });

  routes.add('GET', '/v2/info/usage', async (request, reply) => {
    rejectBody(request);
    return reply.send({ usage: await services.discovery.getUsage(request.ctx) });
  });

  routes.add('DELETE', '/v2/stores/:store/:id', async (request: FastifyRequest<{ Params: StoreParams }>, reply) => {
    rejectBody(request);
    await services.locations.deleteFromStore(request.ctx, request.params.store, request.params.id);
    return noContent(reply);
  });

  routes.add('POST', '/v2/images/:id/locations', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const body = await readJsonObject(request);
    await services.locations.addImageLocation(request.ctx, request.params.id, body.url, body.validation_data);
    return reply.code(202).header('content-length', '0').type('text/html; charset=UTF-8').send();
  });

  routes.add('GET', '/v2/images/:id/locations', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    return reply.send(await services.locations.fetchImageLocations(request.ctx, request.params.id));
  });
}
