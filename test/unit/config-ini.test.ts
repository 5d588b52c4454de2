import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, IniParseError } from '../../src/config/errors.ts';
import { normalizeSectionName, parseIni } from '../../src/config/ini.ts';

/** section → key → every value, in order (the parser keeps duplicates). */
function values(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const s of parseIni(text, 'x.conf').sections) {
    const section = (out[s.name] ??= {});
    for (const e of s.entries) (section[e.key] ??= []).push(e.value);
  }
  return out;
}

function parseError(text: string): IniParseError {
  try {
    parseIni(text, 'bad.conf');
  } catch (err) {
    assert.ok(err instanceof IniParseError);
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a parse error');
}

test('sections, = and : assignments, comments and blank lines', () => {
  const text = [
    '# leading comment', '; other comment style', '', '[DEFAULT]', 'bind_host = 0.0.0.0', 'bind_port: 9393',
    '   ', '[glance_store]', 'default_backend=fast',
  ].join('\n');
  assert.deepEqual(values(text), {
    DEFAULT: { bind_host: ['0.0.0.0'], bind_port: ['9393'] },
    glance_store: { default_backend: ['fast'] },
  });
});

test('the first of "=" and ":" separates key and value; the rest stays in the value', () => {
  assert.deepEqual(values('[d]\nurl = http://h:1/x\nk: a = b\n'), { d: { url: ['http://h:1/x'], k: ['a = b'] } });
});

test('values are trimmed, keep inner spaces, and lose one pair of matching quotes (as oslo.config does)', () => {
  const v = values([
    '[s]', 'a =   two  words  ', 'b = "quoted value"', "c = 'single'", 'd = "mismatched\'', 'e = "in"side"',
    'f = say "hi"', 'g =', 'h = ""',
  ].join('\n')).s!;
  assert.deepEqual(v, {
    a: ['two  words'], b: ['quoted value'], c: ['single'], d: ['"mismatched\''], e: ['in"side'],
    f: ['say "hi"'], g: [''], h: [''],
  });
});

test('no inline comments: text after # belongs to the value', () => {
  assert.deepEqual(values('[s]\nport = 9292 # the port\n').s, { port: ['9292 # the port'] });
});

test('indented lines continue the value, joined with newlines; a blank line ends it', () => {
  const v = values('[s]\nlist = a,\n    b,\n\tc\n\nnext = 1\n').s!;
  assert.deepEqual(v, { list: ['a,\nb,\nc'], next: ['1'] });
});

test('duplicate keys are all kept in order (the loader takes the last), repeated sections too', () => {
  const doc = parseIni('[s]\na = 1\na = 2\n[t]\nb = 1\n[s]\na = 3\n', 'x.conf');
  assert.deepEqual(doc.sections.map((s) => [s.name, s.line, s.entries.map((e) => `${e.key}=${e.value}@${e.line}`)]), [
    ['s', 1, ['a=1@2', 'a=2@3']], ['t', 4, ['b=1@5']], ['s', 6, ['a=3@7']],
  ]);
});

test('CRLF line ends and a UTF-8 byte-order mark are accepted', () => {
  assert.deepEqual(values('\uFEFF[DEFAULT]\r\nbind_port = 1\r\n'), { DEFAULT: { bind_port: ['1'] } });
});

test('section names are kept verbatim by the parser; the loader normalises them', () => {
  assert.deepEqual(Object.keys(values('[ spaced ]\na = 1\n[Glance_Store]\nb = 2\n')), [' spaced ', 'Glance_Store']);
  assert.equal(normalizeSectionName('DEFAULT'), 'DEFAULT');
  assert.equal(normalizeSectionName('default'), 'default');
  assert.equal(normalizeSectionName('Glance_Store'), 'glance_store');
});

test('errors name the file and the line', () => {
  const cases: [string, number, RegExp][] = [
    ['bind_port = 1\n', 1, /outside of any section/],
    ['[DEFAULT]\n\n[broken\n', 3, /must end with "\]"/],
    ['[DEFAULT]\n[]\n', 2, /empty section name/],
    ['[DEFAULT]\njust words\n', 2, /no "=" or ":"/],
    ['[DEFAULT]\n= value\n', 2, /empty option name/],
    ['[DEFAULT]\n  indented first\n', 2, /unexpected continuation/],
    ['[DEFAULT]\na = 1\n\n  after blank\n', 4, /unexpected continuation/],
    ['[DEFAULT]\na = 1\n# comment\n  after comment\n', 4, /unexpected continuation/],
  ];
  for (const [text, line, reason] of cases) {
    const err = parseError(text);
    assert.equal(err.line, line, text);
    assert.equal(err.file, 'bad.conf');
    assert.match(err.message, new RegExp(`^bad\\.conf, line ${line}: `));
    assert.match(err.message, reason);
  }
});
