// The query string as ordered [key, value] pairs (keys may repeat), for every API dialect.
import type { FastifyRequest } from 'fastify';

export function queryPairs(request: FastifyRequest): [string, string][] {
  const q = request.url.indexOf('?');
  return q === -1 ? [] : [...new URLSearchParams(request.url.slice(q + 1))];
}
