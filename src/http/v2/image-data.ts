// PUT/GET /v2/images/{id}/file: the body streams straight into the store writer, and
// downloads stream from the store, with Glance's Range handling.
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.ts';
import { drainInto } from '../../lib/file-range-stream.ts';
import { parseRange } from '../../lib/range.ts';
import type { ByteRange } from '../../ports/store.ts';
import { rawBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { noContent } from '../reply.ts';
import { optionalSize, requireOctetStream } from './data-headers.ts';
import type { V2Context } from './router.ts';

type Params = { id: string };

/** `?prefer=a, b` (Glance master): the store ids, trimmed, empty entries dropped; a repeated parameter counts once (the last). */
function preferredStores(value: unknown): string[] {
  const raw = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
}

export function imageDataRoutes(routes: RouteTable, v2: V2Context): void {
  routes.add('PUT', '/v2/images/:id/file', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    requireOctetStream(request);
    await v2.services.data.uploadImage(request.ctx, request.params.id, rawBody(request), {
      expectedSize: optionalSize(request.headers['x-openstack-image-size'], 'x-openstack-image-size'),
      contentLength: optionalSize(request.headers['content-length'], 'Content-Length'),
      store: request.headers['x-image-meta-store'] as string | undefined,
    });
    return noContent(reply);
  });

  routes.add('GET', '/v2/images/:id/file', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const pick = (size: number): ByteRange | undefined => {
      const range = parseRange(request.headers.range, request.headers['content-range'] as string | undefined, size);
      if (range.kind === 'full') return undefined;
      if (range.kind === 'partial') return { start: range.start, end: range.end };
      if (range.kind === 'invalid-multi') throw new DomainError('BadRequest', 'data.multi_range', range.message);
      throw new DomainError('RangeNotSatisfiable', 'data.range', range.message, { placement: 'detail' });
    };
    const { image, data } = await v2.services.data.downloadImage(request.ctx, request.params.id, pick,
      preferredStores((request.query as Record<string, unknown>).prefer));
    if (!data) return noContent(reply, false);
    reply.type('application/octet-stream');
    if (image.checksum) reply.header('content-md5', image.checksum);
    if (data.range) {
      reply.code(206)
        .header('content-range', `bytes ${data.range.start}-${data.range.end}/${image.size}`)
        .header('content-length', String(data.range.end - data.range.start + 1));
    } else {
      reply.header('content-length', String(data.size));
    }
    // The response is where the chunks go: a store stream that can reuse its buffers learns when it may.
    drainInto(data.stream, reply.raw);
    return reply.send(data.stream);
  });
}
