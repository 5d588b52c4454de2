// The tasks API: admin-only by default, DELETE 405, create validation, list filters, sort and
// paging with first/next links, show, GET /v2/images/{id}/tasks, and views that match the served schemas.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import type { Task } from '../../src/domain/task.ts';
import { SchemaValidator } from '../../src/http/v2/validator.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, ownerMember, otherMember } from '../helpers/v2.ts';

let t: TestApp;
const made: Task[] = [];
let imageId: string;
const T0 = Date.now() - 3600_000;

before(async () => {
  t = await startTestApp({ GLIMPSE_TASK__RUN_WORKER_IN_API: 'false' });
  imageId = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id;
  const repo = new SqlTaskRepository(t.database);
  for (let i = 0; i < 6; i++) {
    const at = new Date(T0 + i * 1000);
    made.push(await repo.create({
      id: randomUUID(), type: i < 2 ? 'import' : 'api_image_import', status: (['pending', 'processing', 'success', 'failure'] as const)[i % 4]!,
      owner: i === 5 ? 'other' : 'owner', imageId: i >= 4 ? imageId : null, requestId: `req-${i}`, userId: 'u',
      input: { n: i }, result: i === 2 ? { image_id: 'x' } : null, message: i === 3 ? 'it broke' : '',
      expiresAt: i >= 2 ? new Date(Date.now() + 3600_000) : null, createdAt: at, updatedAt: at,
      deleted: false, deletedAt: null,
    }));
  }
});
after(async () => { await t.close(); });

const get = (url: string, headers = admin) => t.app.inject({ url, headers: { ...headers, ...json } });

test('every tasks route is admin-only by default (403), DELETE is 405 Allow: GET after that check', async () => {
  const id = made[0]!.id;
  assert.equal((await get('/v2/tasks', ownerMember)).statusCode, 403);
  assert.equal((await get(`/v2/tasks/${id}`, ownerMember)).statusCode, 403);
  const post = await t.app.inject({ method: 'POST', url: '/v2/tasks', headers: { ...ownerMember, ...json }, payload: { type: 'import', input: {} } });
  assert.equal(post.statusCode, 403);
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/tasks/${id}`, headers: ownerMember })).statusCode, 403);
  const del = await t.app.inject({ method: 'DELETE', url: `/v2/tasks/${id}`, headers: admin });
  assert.equal(del.statusCode, 405);
  assert.equal(del.headers.allow, 'GET');
});

test('show: the full task in Glance form, valid against /v2/schemas/task; unknown id 404', async () => {
  const schema = (await get('/v2/schemas/task')).json();
  const res = await get(`/v2/tasks/${made[3]!.id}`);
  assert.equal(res.statusCode, 200);
  const view = res.json();
  new SchemaValidator('task', schema).validate(view);
  assert.equal(view.message, 'it broke');
  assert.equal(view.status, 'failure');
  assert.deepEqual(view.input, { n: 3 });
  assert.equal(view.self, `/v2/tasks/${made[3]!.id}`);
  assert.equal(view.schema, '/v2/schemas/task');
  assert.match(view.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal((await get(`/v2/tasks/${randomUUID()}`)).statusCode, 404);
});

test('list: stubs without input/result/message, valid against /v2/schemas/tasks; newest first', async () => {
  const schema = (await get('/v2/schemas/tasks')).json();
  const res = await get('/v2/tasks');
  assert.equal(res.statusCode, 200);
  const body = res.json();
  new SchemaValidator('tasks', schema).validate(body);
  assert.equal(body.first, '/v2/tasks');
  assert.equal(body.schema, '/v2/schemas/tasks');
  assert.deepEqual(body.tasks.map((x: { id: string }) => x.id), [...made].reverse().map((x) => x.id));
  for (const stub of body.tasks) for (const key of ['input', 'result', 'message']) assert.ok(!(key in stub));
});

test('list filters: status, type=import; bad values are 400', async () => {
  const ids = async (q: string) => (await get(`/v2/tasks?${q}`)).json().tasks.map((x: { id: string }) => x.id).sort();
  assert.deepEqual(await ids('status=success'), [made[2]!.id].sort());
  assert.deepEqual(await ids('status=pending'), [made[0]!.id, made[4]!.id].sort());
  assert.deepEqual(await ids('type=import'), [made[0]!.id, made[1]!.id].sort());
  for (const q of ['status=done', 'type=api_image_import', 'sort_key=input', 'sort_dir=up', 'marker=not-a-uuid',
    `marker=${randomUUID()}`, 'limit=x']) {
    assert.equal((await get(`/v2/tasks?${q}`)).statusCode, 400, q);
  }
});

test('sort_dir=asc and limit/marker paging follow the next links to the end', async () => {
  const seen: string[] = [];
  let url: string | undefined = '/v2/tasks?sort_dir=asc&limit=4';
  while (url) {
    const body: { tasks: { id: string }[]; next?: string } = (await get(url)).json();
    seen.push(...body.tasks.map((x) => x.id));
    url = body.next;
  }
  assert.deepEqual(seen, made.map((x) => x.id));
  const sorted = (await get('/v2/tasks?sort_key=status&sort_dir=asc')).json().tasks.map((x: { status: string }) => x.status);
  assert.deepEqual(sorted, [...sorted].sort());
});

test('GET /v2/images/{id}/tasks: database rows with microsecond timestamps; a member sees its own project only', async () => {
  const res = await get(`/v2/images/${imageId}/tasks`);
  assert.equal(res.statusCode, 200);
  const rows = res.json().tasks;
  assert.deepEqual(rows.map((r: { id: string }) => r.id), [made[5]!.id, made[4]!.id]);
  assert.deepEqual(Object.keys(rows[0]), ['id', 'type', 'status', 'owner', 'expires_at', 'created_at', 'updated_at',
    'deleted_at', 'deleted', 'image_id', 'request_id', 'user_id', 'input', 'result', 'message']);
  assert.match(rows[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  const own = (await get(`/v2/images/${imageId}/tasks`, ownerMember)).json().tasks;
  assert.deepEqual(own.map((r: { id: string }) => r.id), [made[4]!.id]);
  assert.equal((await get(`/v2/images/${imageId}/tasks`, otherMember)).statusCode, 404, 'image not visible');
});

test('create: type and input are required, type must be import, and import_from must pass the import filters', async () => {
  const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/v2/tasks', headers: { ...admin, ...json }, payload: payload as object });
  const cases: [unknown, RegExp][] = [
    [{ input: {} }, /'type' is required/],
    [{ type: 'import' }, /'input' is required/],
    [{ type: 'bogus', input: {} }, /Invalid type value/],
    [{ type: 'import', input: { import_from: 'http://x/y' } }, /import_from_format/],
    [{ type: 'import', input: { import_from: 'http://127.0.0.1/x', import_from_format: 'raw', image_properties: {} } },
      /legacy import task does not pass filtering/],
    [{ type: 'import', input: { import_from: 'file:///etc/passwd', import_from_format: 'raw', image_properties: {} } },
      /does not pass filtering/],
  ];
  for (const [payload, message] of cases) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
    assert.match(res.body, message);
  }
});

test('list entries are Glance\'s task stubs (no input, result, message, image_id, request_id, user_id); show has them', async () => {
  const withImage = made[4]!;
  const res = await get('/v2/tasks?limit=20');
  assert.equal(res.statusCode, 200, res.body);
  const list = res.json().tasks as Record<string, unknown>[];
  const entry = list.find((x) => x.id === withImage.id)!;
  assert.deepEqual(Object.keys(entry).sort(),
    ['created_at', 'expires_at', 'id', 'owner', 'schema', 'self', 'status', 'type', 'updated_at']);
  const shown = (await get(`/v2/tasks/${withImage.id}`)).json() as Record<string, unknown>;
  assert.equal(shown.image_id, imageId);
  assert.equal(shown.request_id, 'req-4');
  assert.equal(shown.user_id, 'u');
});

test('an import task\'s input shows Glance\'s keys only (never held_stores, roles or the recorded remote image)', async () => {
  const repo = new SqlTaskRepository(t.database);
  const at = new Date();
  const input = { image_id: imageId, import_req: { method: { name: 'glance-direct' } }, backend: ['default'],
    held_stores: ['x'], roles: ['member'], remote_image: { endpoint: 'http://e' }, signature_certificate: 'c' };
  const task = await repo.create({ id: randomUUID(), type: 'api_image_import', status: 'success', owner: 'owner', imageId,
    requestId: 'req-x', userId: 'u', input, result: null, message: '', expiresAt: null, createdAt: at, updatedAt: at,
    deleted: false, deletedAt: null });
  const glanceKeys = ['backend', 'image_id', 'import_req'];
  assert.deepEqual(Object.keys((await get(`/v2/tasks/${task.id}`)).json().input).sort(), glanceKeys);
  const perImage = (await get(`/v2/images/${imageId}/tasks`)).json().tasks as { id: string; input: Record<string, unknown> }[];
  assert.deepEqual(Object.keys(perImage.find((x) => x.id === task.id)!.input).sort(), glanceKeys);
  // A legacy import task's input is the caller's own and is shown as given.
  assert.deepEqual((await get(`/v2/tasks/${made[0]!.id}`)).json().input, { n: 0 });
});
