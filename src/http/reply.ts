// Reply helpers shared by the v1 and v2 dialects (and anything else under http/).
import type { FastifyReply } from 'fastify';

/** 204 with Glance's headers: Content-Length 0 and, by default, webob's text/html content type. */
export function noContent(reply: FastifyReply, withType = true): FastifyReply {
  reply.code(204).header('content-length', '0');
  if (withType) reply.type('text/html; charset=UTF-8');
  return reply.send();
}
