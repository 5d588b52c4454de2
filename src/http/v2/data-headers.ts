// Request headers of the v2 data routes (PUT /file, PUT /stage): the media type and sizes.
import type { FastifyRequest } from 'fastify';
import { DomainError, badRequest } from '../../domain/errors.ts';
import { msg } from '../../i18n/message.ts';

/** A size header (x-openstack-image-size, Content-Length): absent, or a non-negative integer (400 otherwise). */
export function optionalSize(value: string | string[] | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0]! : value;
  if (!/^\d+$/.test(text.trim())) {
    throw badRequest('Invalid value for {name}: {value}', { name, value: text }, 'data.bad_size');
  }
  return Number(text);
}

/** Data routes take application/octet-stream only (415 otherwise). */
export function requireOctetStream(request: FastifyRequest): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw new DomainError('UnsupportedMediaType', 'request.media_type',
      msg('The request media type {contentType} is not supported by this server.',
        { contentType: request.headers['content-type'] ?? 'None' }));
  }
}
