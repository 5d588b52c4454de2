// Request metrics: every answered request is counted by method, route pattern (`/v2/images/:id`,
// never the raw URL, so the label set stays bounded; `(unmatched)` for unknown paths) and status,
// with its duration. With `serve`, GET /metrics on the API port answers the exposition (public,
// like /healthcheck: protect it as docs/operations.md says, or use [metrics] bind_port).
import type { FastifyInstance } from 'fastify';

import type { RequestMetrics } from '../ports/metrics.ts';

export function installRequestMetrics(app: FastifyInstance, metrics: RequestMetrics, serve: boolean): void {
  app.addHook('onResponse', (request, reply, done) => {
    try {
      metrics.requestDone({ method: request.method, route: request.routeOptions.url ?? '(unmatched)', status: reply.statusCode },
        reply.elapsedTime / 1000);
    } finally {
      done();
    }
  });
  if (!serve) return;
  app.route({
    method: ['GET', 'HEAD'], url: '/metrics', config: { public: true },
    handler: async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  });
}
