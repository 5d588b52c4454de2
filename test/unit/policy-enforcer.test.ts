import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError } from '../../src/domain/errors.ts';
import { translate } from '../../src/i18n/catalogue.ts';
import {
  credentialsOf, enforceOrHide, isAdminByPolicy, PolicyEnforcer, PolicyLoadError, type RequestContextLike,
} from '../../src/policy/enforcer.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(content: string, ext = 'yaml'): string {
  const path = join(dir, `policy-${++counter}.${ext}`);
  writeFileSync(path, content);
  return path;
}

const ctx = (projectId: string | null, roles: string[]): RequestContextLike => ({
  userId: 'u1', projectId, roles, serviceRoles: [], userDomainId: 'default', projectDomainId: 'default',
  isAdmin: roles.includes('admin'),
});
const member = ctx('p1', ['member', 'reader']);
const admin = ctx('p9', ['admin']);
const ownImage = { project_id: 'p1', owner: 'p1', visibility: 'private' };

function loadError(fn: () => unknown): PolicyLoadError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PolicyLoadError, `expected PolicyLoadError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PolicyLoadError');
}

test('credentials are named as oslo.context names them', () => {
  const creds = credentialsOf({ ...member, serviceRoles: ['service'] });
  assert.deepEqual(creds, {
    user_id: 'u1', user_domain_id: 'default', project_id: 'p1', tenant: 'p1', project_domain_id: 'default',
    domain_id: null, system_scope: null, roles: ['member', 'reader'], service_roles: ['service'], is_admin: false,
    is_admin_project: true,
  });
});

test('inline overrides replace defaults; operator helper rules can be referenced', () => {
  const enforcer = new PolicyEnforcer({ overrides: { owner_only: 'project_id:%(project_id)s', delete_image: 'rule:owner_only and role:admin' } });
  assert.equal(enforcer.check('delete_image', ownImage, member), false);
  assert.equal(enforcer.check('delete_image', ownImage, ctx('p1', ['admin'])), true);
  assert.equal(enforcer.check('modify_image', ownImage, member), true);
  assert.deepEqual(enforcer.warnings, []);
  assert.equal(enforcer.checkStringOf('delete_image'), 'rule:owner_only and role:admin');
  assert.equal(enforcer.effectiveRules().find((r) => r.name === 'owner_only')?.source, 'policy overrides');
});

test('checking a rule Glance does not register is a programming error', () => {
  const enforcer = new PolicyEnforcer({ overrides: { helper: 'role:admin' } });
  assert.throws(() => enforcer.check('get_imagez', {}, member), /not a registered policy rule/);
  assert.throws(() => enforcer.check('helper', {}, member), /not a registered policy rule/);
});

test('enforce throws the Forbidden domain error with Glance\'s message', () => {
  const enforcer = new PolicyEnforcer();
  enforcer.enforce('modify_image', ownImage, member);
  try {
    enforcer.enforce('publicize_image', ownImage, member);
    assert.fail('expected Forbidden');
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.equal(error.kind, 'Forbidden');
    assert.equal(error.code, 'policy.forbidden');
    assert.equal(translate(error.detail, undefined), 'You are not authorized to complete publicize_image action.');
    assert.equal(translate(error.detail, 'zh_CN'), '您无权完成 publicize_image 操作。');
  }
});

test('isAdminByPolicy follows context_is_admin, including overrides', () => {
  assert.equal(isAdminByPolicy(new PolicyEnforcer(), admin), true);
  assert.equal(isAdminByPolicy(new PolicyEnforcer(), member), false);
  const custom = new PolicyEnforcer({ overrides: { context_is_admin: 'role:admin or role:cloud_admin' } });
  assert.equal(isAdminByPolicy(custom, ctx('p', ['cloud_admin'])), true);
});

test('enforceOrHide: 404 for what the caller cannot see, 403 for what it can see but not change', () => {
  const enforcer = new PolicyEnforcer();
  const other = ctx('p2', ['member', 'reader']);
  const kind = (fn: () => void) => { try { fn(); return 'ok'; } catch (e) { return (e as DomainError).kind; } };
  assert.equal(kind(() => enforceOrHide(enforcer, 'modify_image', ownImage, member)), 'ok');
  assert.equal(kind(() => enforceOrHide(enforcer, 'modify_image', ownImage, other)), 'NotFound');
  assert.equal(kind(() => enforceOrHide(enforcer, 'get_image', ownImage, other)), 'NotFound');
  assert.equal(kind(() => enforceOrHide(enforcer, 'modify_image', { ...ownImage, visibility: 'public' }, other)), 'Forbidden');
  const ns = { project_id: 'p1', visibility: 'public' };
  assert.equal(kind(() => enforceOrHide(enforcer, 'add_metadef_object', ns, other, { visibilityRule: 'get_metadef_namespace' })), 'Forbidden');
});

test('a YAML policy file overrides defaults; JSON files load too', () => {
  const yaml = file(`# operator overrides
"get_images": "role:admin"
publicize_image: rule:context_is_admin or role:publisher
"tasks_api_access": ""
`);
  const fromYaml = PolicyEnforcer.fromFile(yaml);
  assert.equal(fromYaml.path, yaml);
  assert.equal(fromYaml.check('get_images', ownImage, member), false);
  assert.equal(fromYaml.check('publicize_image', ownImage, ctx('p1', ['publisher'])), true);
  assert.equal(fromYaml.check('tasks_api_access', {}, member), true);

  const json = file(JSON.stringify({ get_images: 'role:admin', modify_image: "'shared':%(visibility)s" }), 'json');
  const fromJson = PolicyEnforcer.fromFile(json);
  assert.equal(fromJson.check('get_images', ownImage, admin), true);
  assert.equal(fromJson.check('modify_image', ownImage, member), false);
  assert.equal(fromJson.check('modify_image', { ...ownImage, visibility: 'shared' }, member), true);
});

test('null values mean always and the old list syntax is understood, as in oslo', () => {
  const path = file('get_images:\nmodify_image: [["role:admin"], ["role:member", "project_id:%(project_id)s"]]\nadd_image: []\n');
  const enforcer = PolicyEnforcer.fromFile(path);
  assert.equal(enforcer.checkStringOf('get_images'), '');
  assert.equal(enforcer.checkStringOf('modify_image'), 'role:admin or (role:member and project_id:%(project_id)s)');
  assert.equal(enforcer.checkStringOf('add_image'), '');
  assert.equal(enforcer.check('modify_image', ownImage, member), true);
  assert.equal(enforcer.check('modify_image', { ...ownImage, project_id: 'p2' }, member), false);
});

test('warnings: unknown, unreferenced rule names and overrides equal to the defaults', () => {
  const path = file('"get_imagez": "role:admin"\n"helper": "role:x"\n"get_images": "rule:helper"\n'
    + '"publicize_image": "rule:context_is_admin"\n');
  const enforcer = PolicyEnforcer.fromFile(path);
  assert.equal(enforcer.warnings.length, 2, enforcer.warnings.join('\n'));
  assert.match(enforcer.warnings.join('\n'), /"get_imagez" is not a rule Glimpse enforces/);
  assert.match(enforcer.warnings.join('\n'), /"publicize_image" is the same as the default/);
});

test('a rule named __proto__ is only an unknown rule name', () => {
  const enforcer = PolicyEnforcer.fromFile(file('"__proto__": "role:admin"\n"get_images": "!"\n'));
  assert.match(enforcer.warnings.join('\n'), /"__proto__" is not a rule Glimpse enforces/);
  assert.equal(enforcer.check('get_images', ownImage, admin), false);
  assert.equal(({} as Record<string, unknown>).get_images, undefined);
});

test('load errors name the file and the rule', () => {
  const broken = file('"get_images": "role:admin or"\n');
  const parse = loadError(() => PolicyEnforcer.fromFile(broken));
  assert.equal(parse.ruleName, 'get_images');
  assert.equal(parse.source, broken);
  assert.match(parse.message, new RegExp(`^${broken.replace(/[.]/g, '\\.')}: rule "get_images" has an invalid check string`));
  assert.match(parse.message, /position 13/);

  const dangling = file('"get_images": "rule:no_such_rule or role:admin"\n');
  const ref = loadError(() => PolicyEnforcer.fromFile(dangling));
  assert.equal(ref.ruleName, 'get_images');
  assert.match(ref.message, /refers to undefined rule "no_such_rule"/);

  const cycle = file('"a": "rule:b"\n"b": "rule:a"\n"get_images": "rule:a"\n');
  assert.match(loadError(() => PolicyEnforcer.fromFile(cycle)).message, /cycle: (a -> b -> a|b -> a -> b)/);

  assert.match(loadError(() => PolicyEnforcer.fromFile(file('- role:admin\n'))).message, /must be a mapping/);
  assert.match(loadError(() => PolicyEnforcer.fromFile(file('get_images: 42\n'))).message, /must be a check string/);
  assert.match(loadError(() => PolicyEnforcer.fromFile(file('get_images: "a\n'))).message, /not valid YAML or JSON/);
  assert.match(loadError(() => PolicyEnforcer.fromFile(join(dir, 'absent.yaml'))).message, /does not exist/);
  assert.throws(() => new PolicyEnforcer({ overrides: { get_images: 'rule:missing' } }), /policy overrides: rule "get_images"/);
  // Redefining a rule that defaults refer to is fine.
  assert.doesNotThrow(() => new PolicyEnforcer({ overrides: { context_is_admin: '!' } }));
});

test('an empty file means the defaults', () => {
  const enforcer = PolicyEnforcer.fromFile(file(''));
  assert.equal(enforcer.check('modify_image', ownImage, member), true);
});

test('reloadIfChanged picks up edits and keeps the old rules when the new file is broken', () => {
  const path = file('"get_images": "role:admin"\n');
  const enforcer = PolicyEnforcer.fromFile(path);
  assert.deepEqual(enforcer.reloadIfChanged(), { changed: false, reloaded: false, warnings: [] });

  writeFileSync(path, '"get_images": "role:reader"\n');
  const ok = enforcer.reloadIfChanged();
  assert.equal(ok.changed, true);
  assert.equal(ok.reloaded, true);
  assert.equal(enforcer.check('get_images', ownImage, member), true);

  writeFileSync(path, '"get_images": "role:nobody and"\n');
  const bad = enforcer.reloadIfChanged();
  assert.equal(bad.changed, true);
  assert.equal(bad.reloaded, false);
  assert.ok(bad.error instanceof PolicyLoadError);
  assert.match(bad.error.message, /get_images/);
  assert.equal(enforcer.lastReloadError, bad.error);
  assert.equal(enforcer.check('get_images', ownImage, member), true, 'old rules stay in force');
  // Not re-read until it changes again, but the error keeps being reported.
  assert.equal(enforcer.reloadIfChanged().changed, false);
  assert.equal(enforcer.reloadIfChanged().error, bad.error);

  // Replaced atomically (new inode) with a good version: loaded, error cleared.
  const next = join(dir, 'next.yaml');
  writeFileSync(next, '"get_images": "role:admin"\n');
  renameSync(next, path);
  assert.equal(enforcer.reloadIfChanged().reloaded, true);
  assert.equal(enforcer.lastReloadError, null);
  assert.equal(enforcer.check('get_images', ownImage, member), false);

  rmSync(path);
  const gone = enforcer.reloadIfChanged();
  assert.equal(gone.reloaded, false);
  assert.match(String(gone.error?.message), /disappeared/);
  assert.equal(enforcer.check('get_images', ownImage, member), false, 'rules from before stay in force');
});

test('missingOk starts with the defaults and loads the file once it appears', () => {
  const path = join(dir, 'later.yaml');
  const enforcer = PolicyEnforcer.fromFile(path, { missingOk: true });
  assert.equal(enforcer.check('get_images', ownImage, member), true);
  assert.equal(enforcer.reloadIfChanged().changed, false);
  writeFileSync(path, '"get_images": "!"\n');
  assert.equal(enforcer.reloadIfChanged().reloaded, true);
  assert.equal(enforcer.check('get_images', ownImage, member), false);
});

test('an enforcer without a file has nothing to reload', () => {
  assert.deepEqual(new PolicyEnforcer().reloadIfChanged(), { changed: false, reloaded: false, warnings: [] });
});

test('autoReload polls on an unref\'d timer and reports changes', async () => {
  const path = file('"get_images": "role:admin"\n');
  const enforcer = PolicyEnforcer.fromFile(path);
  const seen: boolean[] = [];
  const stop = enforcer.autoReload(5, (result) => seen.push(result.reloaded));
  try {
    writeFileSync(path, '"get_images": "role:reader"\n');
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [true]);
    assert.equal(enforcer.check('get_images', ownImage, member), true);
  } finally {
    stop();
  }
});
