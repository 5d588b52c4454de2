// user_storage_quota's refusal names the size the client sent (issue 16): the second of two 10 MiB
// uploads under a 15 MiB quota reports 10485760 bytes, and what was left (5242880).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, octet, ownerMember } from '../helpers/v2.ts';

const MIB = 1024 * 1024;
let t: TestApp;
before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__USER_STORAGE_QUOTA: '15MB' }); });
after(async () => { await t.close(); });

test('the second 10 MiB upload under a 15 MiB user_storage_quota names 10485760 bytes and 5242880 remaining', async () => {
  const upload = async () => {
    const { id } = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    return t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet }, payload: Buffer.alloc(10 * MIB) });
  };
  assert.equal((await upload()).statusCode, 204);
  const refused = await upload();
  assert.equal(refused.statusCode, 413);
  // The reason phrase as Glance (webob) sends it: clients print it (openstack image create shows it).
  assert.equal(refused.statusMessage, 'Request Entity Too Large');
  assert.match(refused.body, /The size of the data 10485760 will exceed the limit\. 5242880 bytes remaining\./);
});
