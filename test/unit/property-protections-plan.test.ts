import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../../src/domain/errors.ts';
import { translate } from '../../src/i18n/catalogue.ts';
import {
  parsePropertyProtections, planPropertyChanges, protectedPropertyError, PropertyProtections,
} from '../../src/policy/property-protections.ts';
import { admin, caller, member, section, stranger } from './property-protections-helpers.ts';

const protections = parsePropertyProtections([
  ...section('^x_owner_', 'admin,member', 'admin,member', 'admin,member', 'admin,member'),
  ...section('^x_adm_', 'admin', 'admin', 'admin', 'admin'),
  ...section('^x_secret$', 'admin,member', 'admin', 'admin', 'admin'),
  ...section('^x_no_update$', 'admin,member', 'admin,member', '!', 'admin,member'),
  ...section('^x_no_delete$', 'admin,member', 'admin,member', 'admin,member', '!'),
  ...section('^x_', '@', '@', '@', '@'),
].join('\n'), 'plan.conf', 'roles');

/** The 403 a plan throws, or a failure when it does not. */
function denied(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.kind, 'Forbidden');
    assert.equal(error.code, 'image.property_protected');
    return error;
  }
  assert.fail('expected a 403');
}

const stored = {
  x_owner_a: '1', x_adm_cost: '42', x_secret: 's', x_no_update: 'u', x_no_delete: 'd', x_free: 'f',
  os_glance_import_task: 't1',
};

test('filterReadable keeps what the caller may read (and os_glance*)', () => {
  assert.deepEqual(protections.filterReadable(stored, member),
    { x_owner_a: '1', x_no_update: 'u', x_no_delete: 'd', x_free: 'f', os_glance_import_task: 't1' });
  assert.deepEqual(protections.filterReadable(stored, stranger), { x_free: 'f', os_glance_import_task: 't1' });
  assert.deepEqual(protections.filterReadable(stored, admin), stored);
  assert.deepEqual(protections.filterReadable({ unmatched: 'x' }, admin), {}, 'no section: not even admins read it');
  assert.deepEqual(PropertyProtections.unrestricted().filterReadable(stored, stranger), stored);
});

test('create: every property needs create; the first denied one is the 403', () => {
  const plan = planPropertyChanges({}, { x_owner_a: '1', x_free: '2' }, member, protections);
  assert.deepEqual(plan.created, ['x_owner_a', 'x_free']);
  assert.deepEqual(plan.properties, { x_owner_a: '1', x_free: '2' });

  const error = denied(() => planPropertyChanges({}, { x_free: '2', x_adm_cost: '1', other: '3' }, member, protections));
  assert.deepEqual(error.detail, { id: "Attribute '{name}' is reserved.", params: { name: 'x_adm_cost' } });
  assert.equal(translate(error.detail, undefined), "Attribute 'x_adm_cost' is reserved.");
  assert.equal(translate(error.detail, 'zh_CN'), '属性“x_adm_cost”是保留属性。');
  denied(() => planPropertyChanges({}, { unmatched: '1' }, admin, protections));
});

test('a property the caller may create but not read can be created (write-only)', () => {
  const plan = planPropertyChanges({}, { x_secret: 'k' }, member, protections);
  assert.deepEqual(plan.properties, { x_secret: 'k' });
  assert.deepEqual(protections.filterReadable(plan.properties, member), {}, 'and is not shown back');
});

test('update: a changed value needs update', () => {
  const view = protections.filterReadable(stored, member);
  const plan = planPropertyChanges(stored, { ...view, x_owner_a: '2' }, member, protections);
  assert.deepEqual(plan.updated, ['x_owner_a']);
  assert.equal(plan.properties.x_owner_a, '2');

  const error = denied(() => planPropertyChanges(stored, { ...view, x_no_update: 'v' }, admin, protections));
  assert.deepEqual(error.detail.params, { name: 'x_no_update' });
  denied(() => planPropertyChanges(stored, { ...stored, x_adm_cost: '0' }, member, protections));
});

test('update: an unchanged value needs update only when the request wrote it (v2)', () => {
  const view = protections.filterReadable(stored, member);
  const untouched = planPropertyChanges(stored, view, member, protections);
  assert.deepEqual(untouched.updated, []);
  // v2: replace x_no_update with its own value is still a write Glance checks.
  denied(() => planPropertyChanges(stored, view, member, protections, { written: ['x_no_update'] }));
  const same = planPropertyChanges(stored, view, member, protections, { written: ['x_owner_a'] });
  assert.deepEqual(same.updated, [], 'allowed, and nothing changed');
});

test('delete: removing a readable property needs delete', () => {
  const view = protections.filterReadable(stored, member);
  const { x_owner_a: _gone, ...withoutOwner } = view;
  const plan = planPropertyChanges(stored, withoutOwner, member, protections);
  assert.deepEqual(plan.deleted, ['x_owner_a']);
  assert.equal(Object.hasOwn(plan.properties, 'x_owner_a'), false);

  const { x_no_delete: _kept, ...withoutNoDelete } = view;
  const error = denied(() => planPropertyChanges(stored, withoutNoDelete, admin, protections));
  assert.deepEqual(error.detail.params, { name: 'x_no_delete' });
});

test('unreadable properties survive an update that leaves them out', () => {
  const view = protections.filterReadable(stored, member);
  const plan = planPropertyChanges(stored, { ...view, x_free: 'changed' }, member, protections);
  assert.deepEqual(plan.preserved, ['x_adm_cost', 'x_secret']);
  assert.deepEqual(plan.properties, { ...stored, x_free: 'changed' });
  assert.deepEqual(plan.deleted, []);

  // A caller without roles sees only x_free (and os_glance*); sending nothing removes just x_free.
  const { x_free: _free, ...rest } = stored;
  const blind = planPropertyChanges(stored, {}, caller([]), protections);
  assert.deepEqual(blind.deleted, ['x_free']);
  assert.deepEqual(blind.properties, rest);
});

test('sending a property that exists but is unreadable is refused, changed or not (no probing, no overwrite)', () => {
  const view = protections.filterReadable(stored, member);
  // x_secret: member may create it, but it exists and member cannot read it.
  denied(() => planPropertyChanges(stored, { ...view, x_secret: 'guess' }, member, protections));
  denied(() => planPropertyChanges(stored, { ...view, x_secret: 's' }, member, protections));
  denied(() => planPropertyChanges(stored, { ...view, x_adm_cost: '42' }, member, protections));
});

test('os_glance* is carried over unchecked', () => {
  const view = protections.filterReadable(stored, stranger);
  const { os_glance_import_task: _t, ...withoutInternal } = view;
  const plan = planPropertyChanges(stored, withoutInternal, stranger, protections);
  assert.equal(plan.properties.os_glance_import_task, 't1', 'not deleted by omission');
  assert.deepEqual(plan.deleted, []);
  assert.deepEqual(plan.preserved.includes('os_glance_import_task'), false);
  const created = planPropertyChanges({}, { os_glance_stage: 'x' }, stranger, protections);
  assert.deepEqual(created.properties, { os_glance_stage: 'x' });
  assert.deepEqual(created.created, []);
});

test('v1 wording: "Property \'x\' is protected"', () => {
  const error = denied(() => planPropertyChanges({}, { x_adm_cost: '1' }, member, protections, { dialect: 'v1' }));
  assert.equal(translate(error.detail, undefined), "Property 'x_adm_cost' is protected");
  assert.equal(translate(error.detail, 'zh_CN'), '属性“x_adm_cost”受保护');
  assert.equal(protectedPropertyError('a').detail.id, "Attribute '{name}' is reserved.");
});

test('without protections every change goes through', () => {
  for (const none of [null, undefined, PropertyProtections.unrestricted()]) {
    const plan = planPropertyChanges({ a: '1', b: '2' }, { a: '3', c: '4' }, stranger, none);
    assert.deepEqual(plan, { properties: { a: '3', c: '4' }, created: ['c'], updated: ['a'], deleted: ['b'], preserved: [] });
  }
});

test('a property named __proto__ is an ordinary property', () => {
  const after = JSON.parse('{"__proto__": "x", "x_free": "1"}') as Record<string, string>;
  const plan = planPropertyChanges({}, after, member, PropertyProtections.unrestricted());
  assert.equal(Object.hasOwn(plan.properties, '__proto__'), true);
  assert.equal(Object.getPrototypeOf(plan.properties), Object.prototype);
  const filtered = protections.filterReadable(JSON.parse('{"__proto__": "x", "x_free": "1"}') as Record<string, string>, member);
  assert.deepEqual(Object.keys(filtered), ['x_free'], '__proto__ matches no section');
});
