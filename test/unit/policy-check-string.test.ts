import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateCheck, formatCheck, parseCheckString, PolicyParseError, pythonStr, referencedRules, type CheckNode,
} from '../../src/policy/check-string.ts';

const role = (name: string): CheckNode => ({ type: 'role', match: [{ text: name }] });

function evaluate(text: string, target: Record<string, unknown>, creds: Record<string, unknown>,
  rules: Record<string, string> = {}): boolean {
  const parsed = Object.fromEntries(Object.entries(rules).map(([k, v]) => [k, parseCheckString(v, k)]));
  return evaluateCheck(parseCheckString(text), target, creds, (name) => parsed[name]);
}

function parseError(text: string): PolicyParseError {
  try {
    parseCheckString(text, 'my_rule');
  } catch (error) {
    assert.ok(error instanceof PolicyParseError, `expected PolicyParseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} not to parse`);
}

test('special checks: empty string and @ always pass, ! never does', () => {
  assert.deepEqual(parseCheckString(''), { type: 'always' });
  assert.deepEqual(parseCheckString('@'), { type: 'always' });
  assert.deepEqual(parseCheckString('!'), { type: 'never' });
  assert.equal(evaluate('', {}, {}), true);
  assert.equal(evaluate('@', {}, {}), true);
  assert.equal(evaluate('!', {}, {}), false);
  assert.equal(evaluate('not !', {}, {}), true);
});

test('precedence is not > and > or, as in oslo', () => {
  const a = role('a'); const b = role('b'); const c = role('c'); const d = role('d');
  assert.deepEqual(parseCheckString('role:a or role:b and role:c'), { type: 'or', checks: [a, { type: 'and', checks: [b, c] }] });
  assert.deepEqual(parseCheckString('role:a and role:b or role:c and role:d'),
    { type: 'or', checks: [{ type: 'and', checks: [a, b] }, { type: 'and', checks: [c, d] }] });
  assert.deepEqual(parseCheckString('not role:a and role:b'), { type: 'and', checks: [{ type: 'not', check: a }, b] });
  assert.deepEqual(parseCheckString('not role:a or role:b'), { type: 'or', checks: [{ type: 'not', check: a }, b] });
  assert.deepEqual(parseCheckString('role:a and role:b and role:c'), { type: 'and', checks: [a, b, c] });
  assert.deepEqual(parseCheckString('not not role:a'), { type: 'not', check: { type: 'not', check: a } });
  // Glance's get_member default relies on this: admin or (reader and (...)).
  const creds = { roles: ['admin'] };
  assert.equal(evaluate('role:admin or role:reader and role:x', {}, creds), true);
});

test('parentheses group, nest and may hug their contents', () => {
  const a = role('a'); const b = role('b'); const c = role('c');
  assert.deepEqual(parseCheckString('(role:a or role:b) and role:c'), { type: 'and', checks: [{ type: 'or', checks: [a, b] }, c] });
  assert.deepEqual(parseCheckString('((role:a))'), a);
  assert.deepEqual(parseCheckString('not (role:a and role:b)'), { type: 'not', check: { type: 'and', checks: [a, b] } });
  assert.deepEqual(parseCheckString('( role:a or ( role:b ) )'), { type: 'or', checks: [a, b] });
  assert.deepEqual(parseCheckString('rule:x or (project_id:%(project_id)s)'), {
    type: 'or',
    checks: [{ type: 'rule', name: 'x' }, { type: 'generic', left: 'project_id', path: ['project_id'], match: [{ key: 'project_id' }] }],
  });
});

test('operators are case-insensitive; check kinds are not', () => {
  assert.deepEqual(parseCheckString('role:a AND NOT role:b Or role:c'), parseCheckString('role:a and not role:b or role:c'));
  const upper = parseCheckString('Role:admin');
  assert.equal(upper.type, 'generic');
  assert.equal(evaluate('Role:admin', {}, { roles: ['admin'] }), false);
});

test('role checks compare lower-cased against creds.roles and may substitute the target', () => {
  assert.equal(evaluate('role:Admin', {}, { roles: ['admin'] }), true);
  assert.equal(evaluate('role:admin', {}, { roles: ['ADMIN'] }), true);
  assert.equal(evaluate('role:admin', {}, { roles: ['member'] }), false);
  assert.equal(evaluate('role:admin', {}, {}), false);
  assert.equal(evaluate('role:%(wanted)s', { wanted: 'Member' }, { roles: ['member'] }), true);
  assert.equal(evaluate('role:%(wanted)s', {}, { roles: ['member'] }), false);
});

test('generic checks substitute the target and compare with the credential', () => {
  const creds = { project_id: 'p1', user_id: 'u1', roles: ['reader', 'member'], is_admin: true, count: 3 };
  assert.equal(evaluate('project_id:%(project_id)s', { project_id: 'p1' }, creds), true);
  assert.equal(evaluate('project_id:%(project_id)s', { project_id: 'p2' }, creds), false);
  assert.equal(evaluate('user_id:%(user_id)s', { user_id: 'u1' }, creds), true);
  // Missing target key: false, and `not` of it is true.
  assert.equal(evaluate('project_id:%(member_id)s', {}, creds), false);
  assert.equal(evaluate('not project_id:%(member_id)s', {}, creds), true);
  // Missing credential: false.
  assert.equal(evaluate('domain_id:%(domain_id)s', { domain_id: 'd' }, creds), false);
  // Constant right sides compare with the credential's Python str().
  assert.equal(evaluate('is_admin:True', {}, creds), true);
  assert.equal(evaluate('is_admin:False', {}, creds), false);
  assert.equal(evaluate('count:3', {}, creds), true);
  assert.equal(evaluate('project_id:p1', {}, creds), true);
  // List-valued credentials match when they contain the value.
  assert.equal(evaluate('roles:member', {}, creds), true);
  assert.equal(evaluate('roles:admin', {}, creds), false);
  // Text around substitutions, and %% for a literal percent.
  assert.equal(evaluate('user_id:u%(n)s', { n: 1 }, creds), true);
  assert.equal(evaluate('name:100%%', {}, { name: '100%' }), true);
});

test('literal left sides compare with the substituted target, with single or double quotes', () => {
  assert.equal(evaluate("'public':%(visibility)s", { visibility: 'public' }, {}), true);
  assert.equal(evaluate("'public':%(visibility)s", { visibility: 'private' }, {}), false);
  assert.equal(evaluate('"public":%(visibility)s', { visibility: 'public' }, {}), true);
  assert.equal(evaluate("'public':%(visibility)s", {}, {}), false);
  assert.equal(evaluate('True:%(enabled)s', { enabled: true }, {}), true);
  assert.equal(evaluate('True:%(enabled)s', { enabled: false }, {}), false);
  assert.equal(evaluate('False:%(enabled)s', { enabled: false }, {}), true);
  assert.equal(evaluate('42:%(n)s', { n: 42 }, {}), true);
  assert.equal(evaluate('1.5:%(n)s', { n: 1.5 }, {}), true);
  // Quoted literals may hold spaces and colons.
  assert.equal(evaluate("'a b:c':%(x)s", { x: 'a b:c' }, {}), true);
  assert.equal(evaluate("('it\\'s':%(x)s)", { x: "it's" }, {}), true);
});

test('dotted paths: into nested credentials (lists fan out) and into the target', () => {
  const creds = { token: { domain: { id: 'd1' } }, groups: [{ id: 'g1' }, { id: 'g2' }] };
  assert.equal(evaluate('token.domain.id:%(domain_id)s', { domain_id: 'd1' }, creds), true);
  assert.equal(evaluate('groups.id:g2', {}, creds), true);
  assert.equal(evaluate('groups.id:g3', {}, creds), false);
  assert.equal(evaluate('token.nope.id:d1', {}, creds), false);
  assert.equal(evaluate('domain_id:%(target.domain.id)s', { target: { domain: { id: 'd1' } } }, { domain_id: 'd1' }), true);
  // A flattened key (as keystone passes it) is used as-is first.
  assert.equal(evaluate('domain_id:%(target.domain.id)s', { 'target.domain.id': 'd1' }, { domain_id: 'd1' }), true);
  assert.equal(evaluate('domain_id:%(target.domain.id)s', { target: {} }, { domain_id: 'd1' }), false);
});

test('null never matches: no owner-less image for a project-less caller', () => {
  assert.equal(evaluate('project_id:%(project_id)s', { project_id: null }, { project_id: null }), false);
  assert.equal(evaluate('project_id:%(project_id)s', { project_id: 'p' }, { project_id: null }), false);
  assert.equal(evaluate('project_id:%(member_id)s', { member_id: null }, { project_id: 'p' }), false);
});

test('rule: references evaluate the named rule; unknown names fail closed', () => {
  const rules = { admin: 'role:admin', owner: 'project_id:%(project_id)s', admin_or_owner: 'rule:admin or rule:owner' };
  assert.equal(evaluate('rule:admin_or_owner', { project_id: 'p' }, { roles: [], project_id: 'p' }, rules), true);
  assert.equal(evaluate('rule:admin_or_owner', { project_id: 'q' }, { roles: ['admin'], project_id: 'p' }, rules), true);
  assert.equal(evaluate('rule:admin_or_owner', { project_id: 'q' }, { roles: [], project_id: 'p' }, rules), false);
  assert.equal(evaluate('rule:nope', {}, {}, rules), false);
  assert.equal(evaluate('not rule:nope', {}, {}, rules), true);
  assert.equal(evaluate('rule:loop', {}, {}, { loop: 'rule:loop' }), false);
  assert.deepEqual(referencedRules(parseCheckString('rule:a or (not rule:b and role:c)')), ['a', 'b']);
});

test('values are compared as Python would print them', () => {
  assert.equal(pythonStr(true), 'True');
  assert.equal(pythonStr(null), 'None');
  assert.equal(pythonStr(3), '3');
  assert.equal(pythonStr(2.5), '2.5');
  assert.equal(pythonStr(['a', "b'c"]), `['a', "b'c"]`);
  assert.equal(pythonStr({ k: 1 }), "{'k': 1}");
  assert.equal(pythonStr(new Date('2024-01-02T03:04:05Z')), '2024-01-02 03:04:05');
  assert.equal(pythonStr(new Date('2024-01-02T03:04:05.120Z')), '2024-01-02 03:04:05.120000');
});

test('parse errors name the rule and the position', () => {
  const cases: [string, number, RegExp][] = [
    ['role:a and', 10, /expected a check/],
    ['role:a or or role:b', 10, /expected a check/],
    ['(role:a or role:b', 17, /expected '\)' to close the '\(' at position 0/],
    ['role:a)', 6, /unbalanced '\)'/],
    ['role:a role:b', 7, /expected 'and', 'or' or end of string/],
    ['role:a and admin', 11, /kind:match/],
    ['()', 1, /expected a check/],
    ["'public:%(x)s", 0, /unterminated quoted string/],
    ["'public' and role:a", 8, /quoted literal must be followed by ':'/],
    ['not(role:a)', 0, /unexpected '\('/],
    ['project_id:%(project_id', 11, /unterminated %\(name\)s/],
    ['project_id:%(project_id)d', 24, /only %\(name\)s/],
    ['size:50%', 7, /must start a %\(name\)s substitution/],
    ['rule:', 5, /needs a rule name/],
    ['http://example.com/check', 0, /remote http/],
    ['   ', 0, /blank/],
  ];
  for (const [text, position, reason] of cases) {
    const error = parseError(text);
    assert.equal(error.ruleName, 'my_rule');
    assert.equal(error.position, position, `position for ${JSON.stringify(text)}: ${error.message}`);
    assert.match(error.reason, reason);
    assert.match(error.message, /my_rule/);
  }
});

test('formatCheck gives a string that parses back to the same tree', () => {
  const samples = [
    'role:a or role:b and role:c', '(role:a or role:b) and not (role:c or role:d)', 'not (role:a and role:b)',
    "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))",
    'name:100%% and @ and !', "'a b':%(x)s",
  ];
  for (const text of samples) {
    const node = parseCheckString(text);
    assert.deepEqual(parseCheckString(formatCheck(node)), node, text);
  }
  assert.equal(formatCheck(parseCheckString('(role:a or role:b) and role:c')), '(role:a or role:b) and role:c');
});
