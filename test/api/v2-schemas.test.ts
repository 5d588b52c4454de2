import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp } from '../helpers/app.ts';
import { json, ownerMember } from '../helpers/v2.ts';

test('schemas are served with the configured formats and validated against', async () => {
  const t = await startTestApp({ GLIMPSE_IMAGE_FORMAT__DISK_FORMATS: 'raw,qcow2' });
  try {
    const schema = (await t.app.inject({ url: '/v2/schemas/image', headers: ownerMember })).json();
    assert.deepEqual(schema.properties.disk_format.enum, [null, 'raw', 'qcow2']);
    assert.equal(schema.properties.kernel_id.is_base, false);
    const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { disk_format: 'vmdk' } });
    assert.equal(res.statusCode, 400);
    const kernel = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { kernel_id: 'not-a-uuid' } });
    assert.equal(kernel.statusCode, 400);
    for (const name of ['images', 'member', 'members', 'task', 'tasks']) {
      assert.equal((await t.app.inject({ url: `/v2/schemas/${name}`, headers: ownerMember })).statusCode, 200);
    }
    assert.equal((await t.app.inject({ method: 'POST', url: '/v2/schemas/image', headers: ownerMember })).headers.allow, 'GET');
    assert.equal((await t.app.inject({ url: '/v2/schemas/image', headers: { 'x-roles': '', 'x-identity-status': 'Confirmed',
      'x-tenant-id': 'p' } })).statusCode, 200, 'schemas need authentication but no role');
  } finally { await t.close(); }
});

test('schema-image.json beside the config file replaces the custom properties and is enforced', async () => {
  const t = await startTestApp({}, {
    'glimpse-api.conf': '[paste_deploy]\nflavor = trusted-auth\n',
    'schema-image.json': JSON.stringify({ os_type: { type: 'string', enum: ['linux', 'windows'] } }),
  });
  try {
    const schema = (await t.app.inject({ url: '/v2/schemas/image', headers: ownerMember })).json();
    assert.deepEqual(schema.properties.os_type, { type: 'string', enum: ['linux', 'windows'], is_base: false });
    assert.equal(schema.properties.kernel_id, undefined);
    const bad = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { os_type: 'beos' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /'beos' is not one of \['linux', 'windows'\]/);
    const good = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { os_type: 'linux' } });
    assert.equal(good.statusCode, 201);
  } finally { await t.close(); }
});

test('allow_anonymous_access: no credentials act as an anonymous caller the policy may refuse; bad ones are still 401', async () => {
  const t = await startTestApp({ GLIMPSE_DEFAULT__ALLOW_ANONYMOUS_ACCESS: 'true' });
  try {
    assert.equal((await t.app.inject({ url: '/v2/schemas/image' })).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/v2/images' })).statusCode, 403, 'get_images needs the reader role');
    assert.equal((await t.app.inject({ method: 'POST', url: '/v2/images', payload: {} })).statusCode, 403);
    const strict = await startTestApp();
    try {
      assert.equal((await strict.app.inject({ url: '/v2/schemas/image' })).statusCode, 401);
    } finally { await strict.close(); }
  } finally { await t.close(); }
});
