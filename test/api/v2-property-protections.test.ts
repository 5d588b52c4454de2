import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, ownerMember, patchImage, show } from '../helpers/v2.ts';

const rules = `
[^x_admin_]
create = admin
read = admin
update = admin
delete = admin

[^x_readonly_]
create = admin
read = member,admin
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
`;

let t: TestApp;
before(async () => {
  t = await startTestApp({}, {
    'glimpse-api.conf': '[DEFAULT]\nproperty_protection_file = protections.conf\n[paste_deploy]\nflavor = trusted-auth\n',
    'protections.conf': rules,
  });
});
after(async () => { await t.close(); });

test('create needs the create permission for each property', async () => {
  const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
    payload: { x_admin_key: 'v' } });
  assert.equal(res.statusCode, 403);
  assert.equal((await createImage(t, { x_free: 'ok' })).x_free, 'ok');
});

test('unreadable properties are hidden, and survive other callers\' updates', async () => {
  const image = await createImage(t, { owner: 'owner', x_admin_key: 'secret', x_readonly_key: 'shown' }, admin);
  let seen = (await show(t, image.id)).json();
  assert.equal(seen.x_admin_key, undefined);
  assert.equal(seen.x_readonly_key, 'shown');
  const renamed = await patchImage(t, image.id, [{ op: 'replace', path: '/name', value: 'renamed' }]);
  assert.equal(renamed.statusCode, 200);
  assert.equal(renamed.json().x_admin_key, undefined);
  assert.equal((await show(t, image.id, admin)).json().x_admin_key, 'secret', 'kept');
  // replace/remove of an unreadable property: it does not exist for this caller
  assert.equal((await patchImage(t, image.id, [{ op: 'remove', path: '/x_admin_key' }])).statusCode, 409);
  // readable but not updatable / deletable
  assert.equal((await patchImage(t, image.id, [{ op: 'replace', path: '/x_readonly_key', value: 'x' }])).statusCode, 403);
  assert.equal((await patchImage(t, image.id, [{ op: 'remove', path: '/x_readonly_key' }])).statusCode, 403);
  seen = (await show(t, image.id, admin)).json();
  assert.equal(seen.x_readonly_key, 'shown');
  assert.equal((await patchImage(t, image.id, [{ op: 'remove', path: '/x_admin_key' }], admin)).statusCode, 200);
});

test('an invalid protections file stops startup with the file named', async () => {
  await assert.rejects(startTestApp({}, {
    'glimpse-api.conf': '[DEFAULT]\nproperty_protection_file = bad.conf\n',
    'bad.conf': '[^x_]\ncreate = admin\n',
  }), /bad\.conf/);
});
