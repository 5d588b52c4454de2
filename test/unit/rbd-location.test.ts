// glance_store's rbd location forms, parsed and written as Glance does (no cluster needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatRbdLocation, parseRbdLocation } from '../../src/stores/rbd/rbd-location.ts';

const fsid = '38e720fd-cc4b-47a7-8213-0076866249c5';

test('the four-part form names fsid, pool, image and snapshot; the one-part form only the image', () => {
  assert.deepEqual(parseRbdLocation(`rbd://${fsid}/images/0f1e/snap`), { fsid, pool: 'images', image: '0f1e', snapshot: 'snap' });
  assert.deepEqual(parseRbdLocation('rbd://0f1e'), { image: '0f1e' });
  assert.deepEqual(parseRbdLocation(`rbd://${fsid}/my%20pool/img/snap`), { fsid, pool: 'my pool', image: 'img', snapshot: 'snap' });
});

test('what glance_store refuses is refused, with its reason', () => {
  assert.equal(parseRbdLocation('file:///x'), 'URI must start with rbd://');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images/img`), 'URI must have exactly 1 or 4 components');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images/img/snap/x`), 'URI must have exactly 1 or 4 components');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images//snap`), 'URI cannot contain empty components');
  assert.equal(parseRbdLocation('rbd://'), 'URI cannot contain empty components');
  assert.equal(parseRbdLocation('rbd://imäge'), 'URI contains non-ascii characters');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images/a%2Fb/snap`), 'URI has an invalid component', 'no / smuggled into a name');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images/a%40b/snap`), 'URI has an invalid component', 'no @snap syntax in a name');
  assert.equal(parseRbdLocation(`rbd://${fsid}/images/%zz/snap`), 'URI has an invalid escape');
});

test('locations are written as urllib.parse.quote(part, \'\') writes them, and read back', () => {
  const written = formatRbdLocation({ fsid, pool: "po ol!'()*", image: 'a/b', snapshot: 'snap' });
  assert.equal(written, `rbd://${fsid}/po%20ol%21%27%28%29%2A/a%2Fb/snap`);
  const plain = formatRbdLocation({ fsid, pool: 'images', image: '6b3c0d58-5c1c-4a3f-9e2c-1d2b3c4d5e6f', snapshot: 'snap' });
  assert.equal(plain, `rbd://${fsid}/images/6b3c0d58-5c1c-4a3f-9e2c-1d2b3c4d5e6f/snap`);
  assert.deepEqual(parseRbdLocation(plain), { fsid, pool: 'images', image: '6b3c0d58-5c1c-4a3f-9e2c-1d2b3c4d5e6f', snapshot: 'snap' });
});
