import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Image, Visibility } from '../../src/domain/image.ts';
import { parseCheckString } from '../../src/policy/check-string.ts';
import { policyDefault, policyDefaults } from '../../src/policy/defaults.ts';
import { PolicyEnforcer, type RequestContextLike } from '../../src/policy/enforcer.ts';
import { imageTarget, proposedImageTarget } from '../../src/policy/image-target.ts';
import { metadefTarget } from '../../src/policy/metadef-target.ts';

function makeImage(overrides: Partial<Image> = {}): Image {
  const at = new Date('2024-05-06T07:08:09Z');
  return {
    id: '11111111-2222-3333-4444-555555555555', name: 'cirros', status: 'active', visibility: 'private',
    protected: false, osHidden: false, owner: 'p-owner', size: 1024, virtualSize: null, diskFormat: 'qcow2',
    containerFormat: 'bare', checksum: null, osHashAlgo: null, osHashValue: null, minDisk: 0, minRam: 0,
    createdAt: at, updatedAt: at, deletedAt: null, deleted: false, properties: {}, tags: [], locations: [],
    version: 1, ...overrides,
  };
}

function persona(projectId: string | null, roles: string[], serviceRoles: string[] = []): RequestContextLike {
  return { userId: `u-${projectId}`, projectId, roles, serviceRoles, userDomainId: 'default', projectDomainId: 'default',
    isAdmin: roles.includes('admin') };
}

const personas = {
  admin: persona('p-admin', ['admin', 'member', 'reader']),
  ownerMember: persona('p-owner', ['member', 'reader']),
  ownerReader: persona('p-owner', ['reader']),
  otherMember: persona('p-other', ['member', 'reader']),
  imageMember: persona('p-shared', ['member', 'reader']),
  service: persona('p-service', ['service']),
};
type PersonaName = keyof typeof personas;
const order = Object.keys(personas) as PersonaName[];

type TargetKind = 'image' | 'proposed' | 'none' | 'namespace' | 'namespaces';

function targetFor(kind: TargetKind, who: PersonaName): Record<string, unknown> {
  const ctx = personas[who];
  switch (kind) {
    case 'image':
      // The image member reaches a shared image through its membership; everyone else sees a private one.
      return who === 'imageMember'
        ? imageTarget(makeImage({ visibility: 'shared' }), { memberId: ctx.projectId })
        : imageTarget(makeImage());
    case 'proposed': return proposedImageTarget(ctx.projectId);
    case 'none': return {};
    case 'namespace': return metadefTarget(ctx.projectId, { owner: 'p-owner', visibility: 'private' });
    case 'namespaces': return metadefTarget(ctx.projectId);
  }
}

// Expected outcome per persona, in the order: admin, ownerMember, ownerReader, otherMember, imageMember, service.
const table: Record<string, [TargetKind, string]> = {
  context_is_admin: ['none', 'YNNNNN'],
  default: ['none', 'YYYYYY'],
  service_api: ['none', 'YNNNNY'],
  add_image: ['proposed', 'YYNYYN'],
  delete_image: ['image', 'YYNNNN'],
  get_image: ['image', 'YYYNYN'],
  get_images: ['proposed', 'YYYYYN'],
  modify_image: ['image', 'YYNNNN'],
  publicize_image: ['image', 'YNNNNN'],
  communitize_image: ['image', 'YYNNNN'],
  download_image: ['image', 'YYNNYN'],
  download_from_store: ['image', 'YYNNYN'],
  upload_image: ['image', 'YYNNNN'],
  delete_image_location: ['image', 'YNNNNN'],
  get_image_location: ['image', 'YYYNNN'],
  set_image_location: ['image', 'YYNNNN'],
  add_image_location: ['image', 'YYNNNY'],
  fetch_image_location: ['image', 'YNNNNY'],
  add_member: ['image', 'YYNNNN'],
  delete_member: ['image', 'YYNNNN'],
  get_member: ['image', 'YYYNYN'],
  get_members: ['image', 'YYYNYN'],
  modify_member: ['image', 'YNNNYN'],
  manage_image_cache: ['none', 'YNNNNN'],
  deactivate: ['image', 'YYNNNN'],
  reactivate: ['image', 'YYNNNN'],
  copy_image: ['image', 'YNNNNN'],
  list_cached_nodes: ['image', 'YNNNNN'],
  get_task: ['none', 'YYYYYY'],
  get_tasks: ['none', 'YYYYYY'],
  add_task: ['none', 'YYYYYY'],
  modify_task: ['none', 'YYYYYY'],
  tasks_api_access: ['none', 'YNNNNN'],
  metadef_default: ['none', 'YYYYYY'],
  metadef_admin: ['none', 'YNNNNN'],
  get_metadef_namespace: ['namespace', 'YYYNNN'],
  get_metadef_namespaces: ['namespaces', 'YYYYYN'],
  modify_metadef_namespace: ['namespace', 'YNNNNN'],
  add_metadef_namespace: ['namespaces', 'YNNNNN'],
  delete_metadef_namespace: ['namespace', 'YNNNNN'],
  get_metadef_object: ['namespace', 'YYYNNN'],
  get_metadef_objects: ['namespace', 'YYYNNN'],
  modify_metadef_object: ['namespace', 'YNNNNN'],
  add_metadef_object: ['namespace', 'YNNNNN'],
  delete_metadef_object: ['namespace', 'YNNNNN'],
  list_metadef_resource_types: ['namespaces', 'YYYYYN'],
  get_metadef_resource_type: ['namespace', 'YYYNNN'],
  add_metadef_resource_type_association: ['namespace', 'YNNNNN'],
  remove_metadef_resource_type_association: ['namespace', 'YNNNNN'],
  get_metadef_property: ['namespace', 'YYYNNN'],
  get_metadef_properties: ['namespace', 'YYYNNN'],
  modify_metadef_property: ['namespace', 'YNNNNN'],
  add_metadef_property: ['namespace', 'YNNNNN'],
  remove_metadef_property: ['namespace', 'YNNNNN'],
  get_metadef_tag: ['namespace', 'YYYNNN'],
  get_metadef_tags: ['namespace', 'YYYNNN'],
  modify_metadef_tag: ['namespace', 'YNNNNN'],
  add_metadef_tag: ['namespace', 'YNNNNN'],
  add_metadef_tags: ['namespace', 'YNNNNN'],
  delete_metadef_tag: ['namespace', 'YNNNNN'],
  delete_metadef_tags: ['namespace', 'YNNNNN'],
  cache_image: ['none', 'YNNNNN'],
  cache_list: ['none', 'YNNNNN'],
  cache_delete: ['none', 'YNNNNN'],
  cache_clean: ['none', 'YNNNNN'],
  cache_prune: ['none', 'YNNNNN'],
  stores_info_detail: ['none', 'YNNNNY'],
};

const enforcer = new PolicyEnforcer();

test('the persona table covers every registered default, and nothing else', () => {
  assert.deepEqual(Object.keys(table).sort(), policyDefaults.map((d) => d.name).sort());
});

test('every default rule against the persona table', () => {
  const failures: string[] = [];
  for (const [rule, [kind, expected]] of Object.entries(table)) {
    const actual = order.map((who) => (enforcer.check(rule, targetFor(kind, who), personas[who]) ? 'Y' : 'N')).join('');
    if (actual !== expected) failures.push(`${rule}: expected ${expected}, got ${actual}`);
  }
  assert.deepEqual(failures, []);
});

test('defaults are unique, parse, have one-line descriptions and only refer to registered rules', () => {
  const names = new Set<string>();
  for (const d of policyDefaults) {
    assert.ok(!names.has(d.name), `duplicate ${d.name}`);
    names.add(d.name);
    parseCheckString(d.checkString, d.name);
    assert.ok(d.description.length > 0 && !d.description.includes('\n'), d.name);
  }
  assert.equal(enforcer.warnings.length, 0);
});

test("Glance's secure-RBAC check strings, character for character", () => {
  const expected: Record<string, string> = {
    context_is_admin: 'role:admin',
    default: '',
    service_api: 'role:service or role:admin',
    add_image: 'rule:context_is_admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)',
    get_images: 'rule:context_is_admin or (role:reader and project_id:%(project_id)s)',
    get_image: "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s "
      + "or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
    download_image: "rule:context_is_admin or (role:member and (project_id:%(project_id)s or project_id:%(member_id)s "
      + "or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
    modify_image: 'rule:context_is_admin or (role:member and project_id:%(project_id)s)',
    publicize_image: 'rule:context_is_admin',
    get_member: 'rule:context_is_admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)',
    modify_member: 'rule:context_is_admin or (role:member and project_id:%(member_id)s)',
    add_image_location: 'rule:service_api or (role:member and project_id:%(project_id)s and project_id:%(owner)s)',
    fetch_image_location: 'rule:service_api',
    stores_info_detail: 'rule:context_is_admin or rule:service_api',
    get_metadef_namespace: "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))",
    add_metadef_tags: 'rule:metadef_admin',
    metadef_admin: 'rule:context_is_admin',
    get_task: 'rule:default',
  };
  for (const [name, checkString] of Object.entries(expected)) assert.equal(policyDefault(name)?.checkString, checkString, name);
});

test('images of other projects: public, community and shared pass get/download at policy level', () => {
  const other = personas.otherMember;
  for (const visibility of ['public', 'community', 'shared'] as Visibility[]) {
    const target = imageTarget(makeImage({ visibility }));
    assert.equal(enforcer.check('get_image', target, other), true, visibility);
    assert.equal(enforcer.check('download_image', target, other), true, visibility);
    assert.equal(enforcer.check('modify_image', target, other), false, visibility);
    // Reading is not downloading: a reader-only token cannot download even a public image.
    assert.equal(enforcer.check('download_image', target, persona('p-other', ['reader'])), false, visibility);
  }
});

test('no role implication: member without reader can download but not read', () => {
  const memberOnly = persona('p-owner', ['member']);
  const target = imageTarget(makeImage());
  assert.equal(enforcer.check('get_image', target, memberOnly), false);
  assert.equal(enforcer.check('get_images', proposedImageTarget('p-owner'), memberOnly), false);
  assert.equal(enforcer.check('download_image', target, memberOnly), true);
  assert.equal(enforcer.check('modify_image', target, memberOnly), true);
});

test('add_image: a member may only create images for their own project', () => {
  const target = proposedImageTarget('p-owner', { owner: 'p-else' });
  assert.deepEqual(target, { project_id: 'p-else', owner: 'p-else', visibility: 'private' });
  assert.equal(enforcer.check('add_image', target, personas.ownerMember), false);
  assert.equal(enforcer.check('add_image', target, personas.admin), true);
});

test('public metadef namespaces are readable by any reader', () => {
  const target = metadefTarget('p-other', { owner: 'p-owner', visibility: 'public' });
  assert.equal(enforcer.check('get_metadef_namespace', target, personas.otherMember), true);
  assert.equal(enforcer.check('get_metadef_objects', target, personas.otherMember), true);
  assert.equal(enforcer.check('modify_metadef_namespace', target, personas.otherMember), false);
  assert.equal(enforcer.check('get_metadef_namespace', target, personas.service), false);
});

test('an admin-only token passes every admin rule; service_api reads roles, not service-token roles', () => {
  const adminOnly = persona('p-admin', ['admin']);
  for (const [rule, [kind, expected]] of Object.entries(table)) {
    if (expected[0] === 'Y') assert.equal(enforcer.check(rule, targetFor(kind, 'admin'), adminOnly), true, rule);
  }
  const viaServiceToken = persona('p-other', ['member', 'reader'], ['service']);
  assert.equal(enforcer.check('service_api', {}, viaServiceToken), false);
});
