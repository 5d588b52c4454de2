// The OpenAPI 3.1 document of the served API, generated from the route table (routes.ts) and the
// schema documents the routers register there (the same objects /v2/schemas/* serves): every
// registered route is one operation, nothing else is (decision 0024). Served at GET /openapi.json
// and printed by `glimpse openapi`; test/api/openapi.test.ts compares it with the table.
import type { Method, RouteTable } from './routes.ts';

type Json = Record<string, unknown>;

/** Routes fastify serves outside the route table (app.ts), documented alike. */
export const OUTSIDE_TABLE: ReadonlyArray<{ method: Method; url: string; summary: string; type: string }> = [
  { method: 'GET', url: '/versions', summary: 'The API versions this server offers', type: 'application/json' },
  { method: 'GET', url: '/healthcheck', summary: 'Health of this node (200 OK, 503 when disabled)', type: 'text/plain' },
  { method: 'GET', url: '/openapi.json', summary: 'This document', type: 'application/json' },
];

const ERROR_BODY: Json = {
  type: 'object',
  description: "Glance's error body (webob): JSON when the client accepts it, otherwise HTML or plain text.",
  properties: { message: { type: 'string' }, code: { type: 'string' }, title: { type: 'string' } },
};

/** `/v2/images/:id/members/:member` → `/v2/images/{id}/members/{member}` and the parameter names. */
function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => { params.push(name); return `{${name}}`; });
  return { path, params };
}

function operationId(method: Method, url: string): string {
  const words = url.split('/').filter(Boolean).map((part) => (part.startsWith(':') ? `by_${part.slice(1)}` : part))
    .join('_').replace(/[^A-Za-z0-9_]/g, '_');
  return `${method.toLowerCase()}_${words || 'root'}`;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${encodeURIComponent(name)}` });
const jsonContent = (schema: Json) => ({ 'application/json': { schema } });

export function openApiDocument(routes: RouteTable, info: { title?: string; version: string; publicPaths?: string[] }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const ids = new Set<string>();
  const add = (method: Method, url: string, operation: Json) => {
    const { path, params } = openApiPath(url);
    // `/v1` and `/v1/` are both routes: the second gets a numbered id.
    let id = operationId(method, url);
    for (let n = 2; ids.has(id); n++) id = `${operationId(method, url)}_${n}`;
    ids.add(id);
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = {
      operationId: id,
      tags: [url.split('/')[1] ?? 'root'],
      ...(params.length > 0
        ? { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) } : {}),
      ...operation,
    };
  };
  for (const { method, url } of routes.entries()) {
    const doc = routes.docOf(method, url) ?? {};
    const status = String(doc.status ?? 200);
    const body = doc.response !== undefined ? { content: jsonContent(ref(doc.response)) }
      : doc.responseType !== undefined ? { content: { [doc.responseType]: { schema: { type: 'string', contentMediaType: doc.responseType } } } }
        : {};
    const request = doc.request !== undefined ? { content: jsonContent(ref(doc.request)) }
      : doc.requestType !== undefined ? { content: { [doc.requestType]: { schema: {} } } } : undefined;
    add(method, url, {
      summary: doc.summary ?? `${method} ${url}`,
      ...(request ? { requestBody: { required: true, ...request } } : {}),
      responses: { [status]: { description: 'Success', ...body }, default: { $ref: '#/components/responses/Error' } },
    });
  }
  for (const { method, url, summary, type } of OUTSIDE_TABLE) {
    add(method, url, { summary, security: [], responses: { 200: { description: 'Success', content: { [type]: { schema: {} } } } } });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Glimpse Images API',
      version: info.version,
      description: 'The OpenStack Images API (v2, and v1 when enabled) as this Glimpse server serves it. Generated from its route table.',
    },
    paths,
    components: {
      schemas: { Error: ERROR_BODY, ...Object.fromEntries(routes.schemas()) },
      responses: { Error: { description: 'An error, in Glance\'s shape', content: jsonContent(ref('Error')) } },
      securitySchemes: { keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A Keystone token (flavor keystone).' } },
    },
    security: [{ keystone: [] }],
  };
}
