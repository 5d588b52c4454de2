// /v1/images routes (spec/v1.md §3.1–3.8): parse headers and query → v1 use case → JSON view or
// x-image-meta-* headers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../../domain/errors.ts';
import type { Image } from '../../domain/image.ts';
import { drainInto } from '../../lib/file-range-stream.ts';
import type { LegacySource, LegacyWrite } from '../../services/legacy-images.ts';
import { hasBody, rawBody } from '../body.ts';
import { queryPairs } from '../query.ts';
import type { RouteTable } from '../routes.ts';
import { imageMetaHeaders, parseImageMeta } from './headers.ts';
import { parseLegacyListQuery } from './list-query.ts';
import type { V1Options } from './router.ts';
import { legacyBriefView, legacyImageView } from './views.ts';

type Params = { id: string };

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Headers → what to write and where the data comes from. */
function writeOf(request: FastifyRequest, v1: V1Options): LegacyWrite {
  const { fields, location, store } = parseImageMeta(request.headers, v1.formats);
  const sources: LegacySource[] = [];
  if (hasBody(request)) {
    const length = header(request, 'content-length');
    const contentLength = length === undefined ? undefined : Number(length);
    // As Glance v1's deserializer: the size the request declares must fit image_size_cap (before anything is reserved).
    const declared = contentLength ?? fields.size ?? undefined;
    if (declared !== undefined && declared > v1.imageSizeCap) {
      throw badRequest('Denying attempt to upload image larger than {cap} bytes.', { cap: v1.imageSizeCap }, 'v1.size_cap');
    }
    const type = (header(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const refusal = type === 'application/octet-stream' ? undefined
      : badRequest('Content-Type must be application/octet-stream', {}, 'v1.content_type');
    sources.push({ kind: 'data', stream: rawBody(request), contentLength, refusal });
  }
  if (location !== undefined) sources.push({ kind: 'location', url: location });
  const copyFrom = header(request, 'x-glance-api-copy-from');
  if (copyFrom !== undefined) sources.push({ kind: 'copy', url: copyFrom });
  return { fields, sources, storeId: store || undefined };
}

export function imageRoutes(routes: RouteTable, v1: V1Options): void {
  const { images } = v1;
  const uriOf = (request: FastifyRequest, id: string) => `${v1.baseUrl(request)}/v1/images/${id}`;

  const send = (reply: FastifyReply, image: Image, status = 200) => {
    if (image.checksum) reply.header('etag', image.checksum);
    return reply.code(status).type('application/json').send(JSON.stringify({ image: legacyImageView(image) }));
  };

  const list = (detail: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await images.listImages(request.ctx, parseLegacyListQuery(queryPairs(request)));
    const entries = found.map((image) => detail
      ? { ...legacyImageView(image), uri: uriOf(request, image.id) }
      : legacyBriefView(image, uriOf(request, image.id)));
    return reply.type('application/json').send(JSON.stringify({ images: entries }));
  };
  routes.add('GET', '/v1', list(false));
  routes.add('GET', '/v1/', list(false));
  routes.add('GET', '/v1/images', list(false));
  routes.add('GET', '/v1/images/detail', list(true));

  routes.add('POST', '/v1/images', async (request, reply) => {
    const image = await images.addImage(request.ctx, writeOf(request, v1));
    reply.header('location', uriOf(request, image.id));
    return send(reply, image, 201);
  });

  routes.add('HEAD', '/v1/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const image = await images.showImage(request.ctx, request.params.id);
    return reply.headers(imageMetaHeaders(image, uriOf(request, image.id))).type('text/html; charset=UTF-8').send();
  });

  routes.add('GET', '/v1/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const { image, data } = await images.downloadImage(request.ctx, request.params.id);
    reply.headers(imageMetaHeaders(image, uriOf(request, image.id))).type('application/octet-stream');
    if (!data) return reply.header('content-length', '0').send('');
    drainInto(data.stream, reply.raw);
    return reply.header('content-length', String(data.size)).send(data.stream);
  });

  routes.add('PUT', '/v1/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const purge = header(request, 'x-glance-registry-purge-props');
    const image = await images.updateImage(request.ctx, request.params.id, writeOf(request, v1),
      purge === undefined || purge.trim().toLowerCase() === 'true');
    return send(reply, image);
  });

  routes.add('DELETE', '/v1/images/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    await images.deleteImage(request.ctx, request.params.id);
    return reply.code(200).type('text/html; charset=UTF-8').send('');
  });
}
