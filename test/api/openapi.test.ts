// The OpenAPI document (decision 0024) against the route table it is generated from: every
// registered route is documented, nothing else is, every documented operation is one fastify
// serves, its schema references resolve, and the schemas are the very documents /v2/schemas serves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { OUTSIDE_TABLE } from '../../src/http/openapi.ts';
import type { Method, RouteTable } from '../../src/http/routes.ts';
import { openApiText } from '../../src/cli/openapi.ts';

type Doc = { openapi: string; info: { version: string }; paths: Record<string, Record<string, { operationId: string;
  parameters?: Array<{ name: string; in: string }> }>>; components: { schemas: Record<string, unknown> } };

const table = (app: FastifyInstance) => (app as unknown as { routeTable: RouteTable }).routeTable;
const toOpenApi = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const operations = (doc: Doc) => Object.entries(doc.paths)
  .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();

async function documentOf(t: TestApp): Promise<Doc> {
  const res = await t.app.inject({ url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json() as Doc;
}

describe('GET /openapi.json (v2 and v1)', () => {
  let t: TestApp;
  let doc: Doc;
  before(async () => {
    t = await startTestApp();
    doc = await documentOf(t);
  });
  after(() => t.close());

  test('documents exactly the registered routes (and the few served outside the table)', () => {
    assert.equal(doc.openapi, '3.1.0');
    const expected = [
      ...table(t.app).entries().map(({ method, url }) => `${method} ${toOpenApi(url)}`),
      ...OUTSIDE_TABLE.map(({ method, url }) => `${method} ${url}`),
    ].sort();
    assert.deepEqual(operations(doc), expected);
    assert.ok(expected.some((op) => op.startsWith('GET /v1/images')), 'v1 is documented when served');
    assert.ok(expected.includes('PUT /v2/images/{id}/file'));
  });

  test('every documented operation is one fastify serves, with its path parameters', async () => {
    for (const { method, url } of OUTSIDE_TABLE) {
      assert.equal((await t.app.inject({ method, url })).statusCode, 200, `${method} ${url}`);
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (OUTSIDE_TABLE.some((r) => r.url === path)) continue;
      for (const [method, op] of Object.entries(ops)) {
        const url = path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
        assert.ok(t.app.hasRoute({ method: method.toUpperCase() as Method, url }), `${method} ${url} is served`);
        const params = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
        assert.deepEqual((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name), params);
      }
    }
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  test('schema references resolve, and the schemas are the documents /v2/schemas serves', async () => {
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(doc.components.schemas[decodeURIComponent(name!)] !== undefined, `schema ${name} exists`);
    }
    for (const name of ['image', 'images', 'member', 'members', 'task', 'tasks']) {
      const served = await t.app.inject({ url: `/v2/schemas/${name}`, headers: { 'x-identity-status': 'Confirmed',
        'x-tenant-id': 'p', 'x-roles': 'reader' } });
      assert.deepEqual(doc.components.schemas[name], served.json(), name);
    }
    const image = doc.paths['/v2/images/{id}']!.get as unknown as { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
    assert.deepEqual(image.responses['200']!.content['application/json']!.schema, { $ref: '#/components/schemas/image' });
  });

  test('`glimpse openapi` prints the document this configuration serves', async () => {
    const printed = JSON.parse(await openApiText(t.config)) as Doc;
    assert.deepEqual(printed, doc);
  });
});

test('with enable_v1_api = false the document has no v1 path', async () => {
  const t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' });
  try {
    const doc = await documentOf(t);
    assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/v1')), []);
    assert.ok(Object.keys(doc.paths).length > 40);
  } finally {
    await t.close();
  }
});
