import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Image } from '../../src/domain/image.ts';
import { parseCheckString } from '../../src/policy/check-string.ts';
import { policyDefaults } from '../../src/policy/defaults.ts';
import { PolicyEnforcer } from '../../src/policy/enforcer.ts';
import { imageTarget, proposedImageTarget } from '../../src/policy/image-target.ts';
import { metadefTarget } from '../../src/policy/metadef-target.ts';
import { renderPolicySample } from '../../src/policy/sample.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-policy-sample-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the sample has one commented block per default, in order, that re-parses to the default', () => {
  const sample = renderPolicySample();
  assert.ok(sample.endsWith('\n\n'));
  const blocks = sample.trimEnd().split('\n\n');
  assert.equal(blocks.length, policyDefaults.length);
  blocks.forEach((block, i) => {
    const d = policyDefaults[i]!;
    const [description, ruleLine, ...rest] = block.split('\n');
    assert.deepEqual(rest, []);
    assert.equal(description, `# ${d.description}`);
    assert.ok(ruleLine!.startsWith('#"'), String(ruleLine));
    const parsed = parseYaml(ruleLine!.slice(1)) as Record<string, string>;
    assert.deepEqual(parsed, { [d.name]: d.checkString });
    assert.deepEqual(parseCheckString(parsed[d.name]!, d.name), parseCheckString(d.checkString, d.name));
  });
});

test('the sample uncommented is a policy file equal to the defaults', () => {
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, renderPolicySample().replace(/^#"/gm, '"'));
  const enforcer = PolicyEnforcer.fromFile(path);
  assert.equal(enforcer.warnings.length, policyDefaults.length);
  assert.ok(enforcer.warnings.every((w) => w.includes('is the same as the default')));
  for (const d of policyDefaults) assert.equal(enforcer.checkStringOf(d.name), d.checkString);
});

function makeImage(overrides: Partial<Image> = {}): Image {
  const at = new Date('2024-05-06T07:08:09Z');
  return {
    id: 'img-1', name: 'cirros', status: 'active', visibility: 'shared', protected: true, osHidden: false,
    owner: 'p-owner', size: 1024, virtualSize: 2048, diskFormat: 'qcow2', containerFormat: 'bare', checksum: 'c',
    osHashAlgo: 'sha512', osHashValue: 'h', minDisk: 1, minRam: 2, createdAt: at, updatedAt: at, deletedAt: null,
    deleted: false, properties: { hw_disk_bus: 'scsi', owner: 'spoofed', id: 'spoofed' }, tags: ['a'],
    locations: [{ url: 'file:///x', metadata: {}, status: 'active' }], version: 3, ...overrides,
  };
}

test('imageTarget exposes the keys of Glance\'s ImageTarget, with extra properties that cannot shadow them', () => {
  const target = imageTarget(makeImage(), { memberId: 'p-shared' });
  assert.equal(target.id, 'img-1');
  assert.equal(target.image_id, 'img-1');
  assert.equal(target.project_id, 'p-owner');
  assert.equal(target.owner, 'p-owner');
  assert.equal(target.member_id, 'p-shared');
  assert.equal(target.member, 'p-shared');
  assert.equal(target.visibility, 'shared');
  assert.equal(target.protected, true);
  assert.equal(target.min_ram, 2);
  assert.equal(target.virtual_size, 2048);
  assert.equal(target.hw_disk_bus, 'scsi');
  assert.deepEqual(target.extra_properties, { hw_disk_bus: 'scsi', owner: 'spoofed', id: 'spoofed' });
  assert.deepEqual(target.tags, ['a']);
  assert.ok(!('locations' in target));
  assert.equal(imageTarget(makeImage()).member_id, null);
  // Only a shared image the caller does not own has a member, as in Glance.
  assert.equal(imageTarget(makeImage({ visibility: 'private' }), { memberId: 'p-shared' }).member_id, null);
  assert.equal(imageTarget(makeImage(), { memberId: 'p-owner' }).member_id, null);

  const enforcer = new PolicyEnforcer({ overrides: {
    download_image: "'scsi':%(hw_disk_bus)s and True:%(protected)s and '2024-05-06 07:08:09':%(created_at)s",
  } });
  const anyone = { userId: 'u', projectId: 'p', roles: [], serviceRoles: [], isAdmin: false };
  assert.equal(enforcer.check('download_image', target, anyone), true);
  assert.equal(enforcer.check('download_image', imageTarget(makeImage({ properties: {} })), anyone), false);
});

test('proposed image and metadef targets are built as Glance builds them', () => {
  assert.deepEqual(proposedImageTarget('p1'), { project_id: 'p1', owner: 'p1', visibility: 'private' });
  assert.deepEqual(proposedImageTarget('p1', { owner: null, visibility: 'public' }), { project_id: null, owner: null, visibility: 'public' });
  assert.deepEqual(metadefTarget('p1'), { project_id: 'p1' });
  assert.deepEqual(metadefTarget('p1', { owner: 'p2', visibility: 'public' }), { project_id: 'p2', visibility: 'public' });
});
