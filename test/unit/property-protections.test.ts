import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/errors.ts';
import { PolicyEnforcer } from '../../src/policy/enforcer.ts';
import {
  isInternalProperty, loadPropertyProtections, parsePropertyProtections, propertyOperations, PropertyProtections,
  type PropertyOperation,
} from '../../src/policy/property-protections.ts';
import { translatePythonRegex } from '../../src/policy/python-regex.ts';
import { admin, caller, loadError, member, protectionFile, section, stranger } from './property-protections-helpers.ts';

const rolesFile = protectionFile([
  '# billing codes: admins only',
  ...section('^x_billing_', 'admin', 'admin', 'admin', 'admin'),
  ...section('^x_owner_', 'admin,member', 'admin, member', 'admin,member', 'admin,member'),
  ...section('^x_readonly$', 'admin', '@', '!', 'admin'),
  ...section('^x_open', '@', '@', '@', '@'),
  ...section('^x_locked', '!', '!', '!', '!'),
  ...section('licence', 'Admin', '@', 'ADMIN', 'admin'),
  ...section('^x_Case', 'Member', 'Member', 'Member', 'Member'),
  ...section('^x_', '@', '@', '@', '@'),
]);
const roles = loadPropertyProtections(rolesFile, 'roles');

function allowed(protections: PropertyProtections, name: string, who = member): PropertyOperation[] {
  return propertyOperations.filter((op) => protections.check(name, op, who));
}

test('roles: each operation follows its role list; @ is everyone, ! is nobody', () => {
  assert.deepEqual(allowed(roles, 'x_billing_code', admin), ['create', 'read', 'update', 'delete']);
  assert.deepEqual(allowed(roles, 'x_billing_code', member), []);
  assert.deepEqual(allowed(roles, 'x_owner_foo', member), ['create', 'read', 'update', 'delete']);
  assert.deepEqual(allowed(roles, 'x_owner_foo', stranger), []);
  assert.deepEqual(allowed(roles, 'x_readonly', stranger), ['read']);
  assert.deepEqual(allowed(roles, 'x_readonly', admin), ['create', 'read', 'delete']);
  assert.deepEqual(allowed(roles, 'x_open_anything', caller([])), ['create', 'read', 'update', 'delete']);
  assert.deepEqual(allowed(roles, 'x_locked_in', admin), []);
  assert.deepEqual(roles.warnings, []);
});

test('a section matches when its regex is found anywhere in the name (re.search, not re.match)', () => {
  // [licence] is unanchored: it decides for names that merely contain it.
  for (const name of ['licence', 'os_licence_key', 'x_licence']) {
    assert.equal(roles.ruleFor(name)?.pattern, 'licence', name);
  }
  assert.deepEqual(allowed(roles, 'x_licence', member), ['read']);
  // ^ anchors at the start: "ax_owner_foo" is not an owner property, and matches no section.
  assert.equal(roles.ruleFor('ax_owner_foo'), undefined);
  // Without $, a prefix is enough: x_readonly$ is exact, so x_readonly_2 falls through to ^x_.
  assert.equal(roles.ruleFor('x_readonly_2')?.pattern, '^x_');
});

test('the first matching section decides, in file order', () => {
  const path = (first: string[], second: string[]) => protectionFile([...first, ...second]);
  const specific = section('^x_foo_matcher$', 'admin', 'admin', 'admin', 'admin');
  const broad = section('^x_foo', '@', '@', '@', '@');
  const specificFirst = loadPropertyProtections(path(specific, broad), 'roles');
  const broadFirst = loadPropertyProtections(path(broad, specific), 'roles');
  assert.equal(specificFirst.check('x_foo_matcher', 'update', member), false);
  assert.equal(specificFirst.check('x_foo_bar', 'update', member), true);
  assert.equal(broadFirst.check('x_foo_matcher', 'update', member), true, 'the broad section shadows the later one');
  assert.deepEqual(specificFirst.rules.map((r) => r.pattern), ['^x_foo_matcher$', '^x_foo']);
});

test('a property that matches no section is denied for every operation, even to admins', () => {
  assert.deepEqual(allowed(roles, 'hw_disk_bus', admin), []);
  assert.deepEqual(allowed(roles, 'foo', member), []);
});

test('roles compare case-insensitively (both sides); regexes are case-sensitive', () => {
  assert.equal(roles.check('x_licence', 'create', admin), true, 'Admin in the file matches admin');
  assert.equal(roles.check('x_licence', 'update', admin), true, 'ADMIN in the file matches admin');
  assert.equal(roles.check('x_Case_1', 'create', caller(['MEMBER'])), true, 'a caller role in upper case still matches');
  assert.equal(roles.check('x_Case_1', 'create', member), true);
  // ^x_Case does not match x_case_1: it falls through to ^x_ (everyone).
  assert.equal(roles.ruleFor('x_case_1')?.pattern, '^x_');
  assert.equal(roles.check('x_Case_1', 'create', stranger), false);
});

test("the caller's service roles count as roles (Glance adds them)", () => {
  const svc = caller(['reader'], ['service']);
  const protections = parsePropertyProtections(section('^x_svc_', 'service', 'service', 'admin', 'admin').join('\n'), 'svc.conf', 'roles');
  assert.equal(protections.check('x_svc_a', 'create', svc), true);
  assert.equal(protections.check('x_svc_a', 'update', svc), false);
  assert.equal(protections.check('x_svc_a', 'create', stranger), false);
});

test('an empty value lets nobody do that operation, with a warning', () => {
  const protections = parsePropertyProtections(section('^x_', 'admin', '', 'admin', ',').join('\n'), 'empty.conf', 'roles');
  assert.equal(protections.check('x_a', 'read', admin), false);
  assert.equal(protections.check('x_a', 'delete', admin), false, 'a value of only commas names no role');
  assert.equal(protections.check('x_a', 'create', admin), true);
  assert.match(protections.warnings.join('\n'), /empty\.conf, line 3: \[\^x_\] read is empty: nobody may read/);
});

test('option names are case-insensitive and [DEFAULT] supplies missing options (configparser rules)', () => {
  const text = [
    '[DEFAULT]', 'delete = !', 'read = @', '',
    '[^x_]', 'Create = member', 'UPDATE = member', '',
    '[^y_]', 'create = admin', 'read = admin', 'update = admin', 'delete = admin', 'craete = oops',
  ].join('\n');
  const protections = parsePropertyProtections(text, 'defaults.conf', 'roles');
  assert.deepEqual(allowed(protections, 'x_a', member), ['create', 'read', 'update']);
  assert.deepEqual(allowed(protections, 'y_a', admin), ['create', 'read', 'update', 'delete']);
  assert.deepEqual(protections.rules.map((r) => r.pattern), ['^x_', '^y_'], 'DEFAULT is not a rule');
  assert.match(protections.warnings.join('\n'), /\[\^y_\] option "craete" is ignored/);
});

test('os_glance* is internal: always allowed, and sections for it are dropped', () => {
  const text = [...section('os_glance_x', '!', '!', '!', '!'), ...section('.*', 'admin', 'admin', 'admin', 'admin')].join('\n');
  const protections = parsePropertyProtections(text, 'internal.conf', 'roles');
  assert.equal(isInternalProperty('os_glance_import_task'), true);
  assert.equal(protections.isInternal('os_glance_failed_import'), true);
  assert.equal(protections.isInternal('x_os_glance'), false, 'only names that start with os_glance');
  assert.deepEqual(allowed(protections, 'os_glance_x', stranger), ['create', 'read', 'update', 'delete']);
  assert.deepEqual(allowed(protections, 'x_os_glance', stranger), []);
  assert.deepEqual(protections.rules.map((r) => r.pattern), ['.*']);
  assert.match(protections.warnings.join('\n'), /\[os_glance_x\] is ignored/);
});

test('a file without sections denies everything (but os_glance*) and says so', () => {
  const protections = parsePropertyProtections('# nothing yet\n', 'none.conf', 'roles');
  assert.deepEqual(allowed(protections, 'anything', admin), []);
  assert.equal(protections.check('os_glance_x', 'read', stranger), true);
  assert.match(protections.warnings.join('\n'), /no rules/);
});

test('unrestricted (no property_protection_file) allows everything', () => {
  const none = PropertyProtections.unrestricted();
  assert.equal(none.enabled, false);
  assert.deepEqual(allowed(none, 'anything', stranger), ['create', 'read', 'update', 'delete']);
});

test('Python regex spellings carry over', () => {
  const text = [
    ...section('(?i)^x_ci_', 'admin', 'admin', 'admin', 'admin'),
    ...section('^(?P<ns>x_n)_(?P=ns)$', 'admin', 'admin', 'admin', 'admin'),
    ...section('\\Ax_anchored\\Z', 'admin', 'admin', 'admin', 'admin'),
    ...section('^x_[]]$', 'admin', 'admin', 'admin', 'admin'),
    ...section('^y_(?#a comment)z$', 'admin', 'admin', 'admin', 'admin'),
  ].join('\n');
  const protections = parsePropertyProtections(text, 'python.conf', 'roles');
  assert.equal(protections.ruleFor('X_CI_FOO')?.pattern, '(?i)^x_ci_');
  assert.equal(protections.ruleFor('x_n_x_n')?.pattern, '^(?P<ns>x_n)_(?P=ns)$');
  assert.equal(protections.ruleFor('x_anchored')?.pattern, '\\Ax_anchored\\Z');
  assert.equal(protections.ruleFor('x_anchored_not'), undefined);
  assert.equal(protections.ruleFor('x_]')?.pattern, '^x_[]]$');
  assert.equal(protections.ruleFor('y_z')?.pattern, '^y_(?#a comment)z$');
  assert.deepEqual(translatePythonRegex('(?s)(?m)a.b'), { source: 'a.b', flags: 'ms' });
  assert.deepEqual(translatePythonRegex('[\\]x]\\.'), { source: '[\\]x]\\.', flags: '' });
});

// --- invalid files: each refused with the file, the section (and line) and the problem ---

function refused(lines: string[], format: 'roles' | 'policies' = 'roles', enforcer?: PolicyEnforcer): string {
  const path = protectionFile(lines);
  const error = loadError(() => loadPropertyProtections(path, format, enforcer));
  assert.ok(error instanceof ConfigError, 'fatal at startup like every ConfigError');
  assert.ok(error.message.startsWith(path), error.message);
  assert.equal(error.file, path);
  return error.message.slice(path.length);
}

test('an unreadable file is refused', () => {
  const error = loadError(() => loadPropertyProtections('/nonexistent/protections.conf', 'roles'));
  assert.match(error.message, /^\/nonexistent\/protections\.conf: cannot read the property protection file: ENOENT/);
});

test('INI syntax errors are refused with their line', () => {
  assert.match(refused(['[^x_', 'create = @']), /^, line 1: not a valid INI file: invalid section header/);
  assert.match(refused(['[^x_]', 'create = @', ' admin', '', '  read = @']), /^, line 5: not a valid INI file: unexpected continuation line/);
});

test('a section that is not a valid regular expression is refused', () => {
  assert.match(refused([...section('^x_(', '@', '@', '@', '@')]), /^, line 1: \[\^x_\(\] is not a valid regular expression: .+/);
  assert.match(refused([...section('x_[a', '@', '@', '@', '@')]), /\[x_\[a\] is not a valid regular expression: unterminated character set/);
  assert.match(refused([...section('(?x)^x_ a', '@', '@', '@', '@')]), /verbose flag \(\?x\) is not supported/);
});

test('a section missing one of the four operations is refused', () => {
  for (const op of ['create', 'read', 'update', 'delete']) {
    const lines = section('^x_', '@', '@', '@', '@').filter((line) => !line.startsWith(op));
    assert.match(refused(lines), new RegExp(`^, line 1: \\[\\^x_\\] has no "${op}" option`), op);
  }
  // A misspelt option does not count.
  assert.match(refused(['[^x_]', 'create = @', 'raed = @', 'update = @', 'delete = @']), /has no "read" option/);
});

test('@ and ! together, or either mixed with role names, are refused', () => {
  assert.match(refused(section('^x_', '@,!', '@', '@', '@')), /^, line 2: \[\^x_\] create = @,!: "@" \(everyone\) and "!" \(nobody\) are mutually exclusive/);
  assert.match(refused(section('^x_', '@', 'admin, @', '@', '@')), /^, line 3: \[\^x_\] read = admin, @: "@" \(everyone\) cannot be combined with role names/);
  assert.match(refused(section('^x_', '@', '@', '!,admin', '@')), /^, line 4: \[\^x_\] update = !,admin: "!" \(nobody\) cannot be combined with role names/);
});

test('repeated sections and repeated options are refused', () => {
  assert.match(refused([...section('^x_', '@', '@', '@', '@'), ...section('^x_', '!', '!', '!', '!')]),
    /^, line 7: \[\^x_\] the section appears twice \(first at line 1\)/);
  assert.match(refused(['[^x_]', 'create = @', 'read = @', 'update = @', 'delete = @', 'Create = !']),
    /^, line 6: \[\^x_\] sets "create" twice \(first at line 2\)/);
});

// --- policies format ---

const policyEnforcer = () => new PolicyEnforcer({
  overrides: { glance_creator: 'role:admin or role:spl_role', context_is_admin: 'role:admin or role:cloud_admin' },
});
const policiesFile = protectionFile([
  ...section('^spl_creator_policy$', 'glance_creator', 'glance_creator', 'context_is_admin', '!'),
  ...section('^x_', '@', 'default', 'default', 'default'),
  ...section('.*', 'context_is_admin', 'context_is_admin', 'context_is_admin', 'context_is_admin'),
]);

test('policies: each value is a policy rule, evaluated with the enforcer (operator rules included)', () => {
  const protections = loadPropertyProtections(policiesFile, 'policies', policyEnforcer());
  const spl = caller(['spl_role']);
  const cloudAdmin = caller(['cloud_admin']);
  assert.deepEqual(allowed(protections, 'spl_creator_policy', spl), ['create', 'read']);
  assert.deepEqual(allowed(protections, 'spl_creator_policy', cloudAdmin), ['update'], 'the overridden context_is_admin');
  assert.deepEqual(allowed(protections, 'spl_creator_policy', admin), ['create', 'read', 'update'], '! is nobody');
  assert.deepEqual(allowed(protections, 'x_anything', stranger), ['create', 'read', 'update', 'delete'], '@ and the empty default rule');
  assert.deepEqual(allowed(protections, 'foo', member), []);
  assert.deepEqual(allowed(protections, 'foo', cloudAdmin), ['create', 'read', 'update', 'delete']);
});

test('policies: rules follow the policy file as it is reloaded; a vanished rule denies', () => {
  const policyPath = protectionFile(['glance_creator: "role:spl_role"'], 'yaml');
  const enforcer = PolicyEnforcer.fromFile(policyPath);
  const protections = loadPropertyProtections(policiesFile, 'policies', enforcer);
  const spl = caller(['spl_role']);
  const other = caller(['other_role']);
  assert.equal(protections.check('spl_creator_policy', 'create', spl), true);
  assert.equal(protections.check('spl_creator_policy', 'create', other), false);

  writeFileSync(policyPath, 'glance_creator: "role:other_role"\n# changed\n');
  assert.equal(enforcer.reloadIfChanged().reloaded, true);
  assert.equal(protections.check('spl_creator_policy', 'create', spl), false);
  assert.equal(protections.check('spl_creator_policy', 'create', other), true);

  writeFileSync(policyPath, '{}\n# glance_creator removed\n');
  assert.equal(enforcer.reloadIfChanged().reloaded, true);
  assert.equal(protections.check('spl_creator_policy', 'create', other), false);
});

test('policies: several rules, an undefined rule, or no enforcer are refused', () => {
  const enforcer = policyEnforcer();
  assert.match(refused(section('^x_', 'glance_creator,default', '@', '@', '@'), 'policies', enforcer),
    /^, line 2: \[\^x_\] create = glance_creator,default: name one policy rule per operation/);
  assert.match(refused(section('^x_', '@', 'glance_reader', '@', '@'), 'policies', enforcer),
    /^, line 3: \[\^x_\] read = glance_reader: the policy defines no rule named "glance_reader"/);
  assert.match(refused(section('^x_', '@', '@', '@', '@'), 'policies'), /policies needs the policy enforcer/);
});

test('policies: a role list is not a rule name', () => {
  // In policies mode the value is one rule name; "admin" is not defined as a rule.
  assert.match(refused(section('^x_', 'admin', '@', '@', '@'), 'policies', policyEnforcer()), /no rule named "admin"/);
});
