import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  catalogueEntry, catalogueIds, catalogueNames, languageOffers, selectLocale, translate,
} from '../../src/i18n/catalogue.ts';
import { msg } from '../../src/i18n/message.ts';
import { messagesInSource, placeholders } from '../../scripts/i18n-messages.ts';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { prng } from '../helpers/prng.ts';

// The languages Glance ships: glance/locale/*/LC_MESSAGES/glance.po on master.
const glanceLanguages = ['de', 'en_GB', 'es', 'fr', 'it', 'ja', 'ko_KR', 'pt_BR', 'ru', 'tr_TR', 'zh_CN', 'zh_TW'];

test('there is a catalogue for every language Glance translates', () => {
  assert.deepEqual([...catalogueNames].sort(), glanceLanguages);
});

test('every message in the code has an entry in every catalogue (npm run i18n:missing lists the gaps)', () => {
  const used = [...messagesInSource()];
  assert.ok(used.length > 200, `only ${used.length} messages found: is the source scan broken?`);
  for (const name of catalogueNames) {
    const held = new Set(catalogueIds(name));
    const missing = used.filter((id) => !held.has(id));
    assert.deepEqual(missing, [], `add these to src/i18n/locales/${name}.json`);
  }
});

test('every catalogue holds the same message ids as zh_CN', () => {
  const reference = [...catalogueIds('zh_CN')].sort();
  for (const name of catalogueNames) assert.deepEqual([...catalogueIds(name)].sort(), reference, name);
});

test('every translation keeps the placeholders of its message, and is not empty', () => {
  for (const name of catalogueNames) {
    for (const id of catalogueIds(name)) {
      const text = catalogueEntry(name, id) ?? '';
      assert.ok(text.trim() !== '', `${name}: empty entry for "${id}"`);
      assert.deepEqual(placeholders(text), placeholders(id), `${name}: placeholders differ for "${id}"`);
    }
  }
});

test('the catalogues other than British English are translations, not copies of the English', () => {
  for (const name of catalogueNames.filter((n) => n !== 'en_GB')) {
    const copies = catalogueIds(name).filter((id) => catalogueEntry(name, id) === id);
    assert.deepEqual(copies, [], `${name} leaves these in English`);
  }
  const british = catalogueIds('en_GB').filter((id) => catalogueEntry('en_GB', id) !== id);
  assert.ok(british.some((id) => catalogueEntry('en_GB', id)!.includes('authorised')));
});

// Expected choices (undefined = English). The third column, where present, is what Glance
// itself answers (Request.best_match_language, checked below against the installed Glance):
// decision 0028 recognises the tags with a region that Glance compares with its underscore names.
const negotiation: [string | undefined, string | undefined, (string | null)?][] = [
  ['de', 'de'],
  ['de-DE', 'de'],
  ['de-AT', 'de'],
  ['fr-CA', 'fr'],
  ['ja-JP', 'ja'],
  ['es-MX', 'es'],
  ['it-CH', 'it'],
  ['ru-RU', 'ru'],
  ['ko', 'ko_KR'],
  ['ko-KR', 'ko_KR'],
  ['tr', 'tr_TR'],
  ['tr-TR', 'tr_TR'],
  ['zh-CN', 'zh_CN', null],
  ['zh-cn,en;q=0.5', 'zh_CN', null],
  ['zh-TW', 'zh_TW', null],
  ['pt-BR', 'pt_BR', null],
  ['en-GB', 'en_GB', null],
  ['zh-Hans-CN', undefined],
  ['zh', undefined],
  ['pt', undefined],
  ['en-US', undefined],
  ['en-US,de;q=0.5', undefined, 'de'],
  ['en,de;q=0.5', undefined, 'de'],
  ['zz-ZZ,zz;q=0.8', undefined],
  ['zh-TW,ja;q=0.3', 'zh_TW', 'ja'],
  ['fr;q=0.5,de', 'de'],
  ['de;q=0,fr', 'fr'],
  ['de;q=0,de-AT', undefined],
  ['*', undefined],
  ['*,ja', 'ja'],
  ['x-klingon,ru', 'ru'],
  ['de_DE', undefined], // not a language range: the header is invalid and counts as absent
  ['de;q=2', undefined],
  ['', undefined],
  [undefined, undefined],
];

describe('Accept-Language, as Glance negotiates it (webob lookup over oslo.i18n available languages)', () => {
  for (const [header, expected] of negotiation) {
    test(`${JSON.stringify(header)} → ${expected ?? 'English'}`, () => {
      assert.equal(selectLocale(header), expected);
    });
  }
});

// The real webob and Glance, when a Python with them is installed (Debian's glance-api, as .ci/run
// installs for the migrate tests); GLIMPSE_TEST_PYTHON names another interpreter.
const python = [process.env.GLIMPSE_TEST_PYTHON, 'python3', '/usr/bin/python3'].find((exe) => exe
  && spawnSync(exe, ['-c', 'import webob'], { stdio: 'ignore' }).status === 0);
const hasGlance = python !== undefined
  && spawnSync(python, ['-c', 'import glance.common.wsgi'], { stdio: 'ignore' }).status === 0;

/** Runs `code` with JSON `input` on stdin in the Python found above; returns its JSON output. */
function runPython(code: string, input: unknown, env: Record<string, string> = {}): unknown {
  const res = spawnSync(python!, ['-c', code], { input: JSON.stringify(input), encoding: 'utf8',
    env: { ...process.env, ...env } });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test('selectLocale agrees with webob\'s AcceptLanguage.lookup() over the same offers on random headers',
  { skip: python ? false : 'no python3 with webob (apt-get install python3-webob, or set GLIMPSE_TEST_PYTHON)' }, () => {
    const rnd = prng(21);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
    const ranges = ['de', 'de-DE', 'DE-at', 'en', 'en-US', 'en-GB', 'en-gb-x-foo', 'zh', 'zh-CN', 'zh-Hant-TW', 'zh-TW',
      'pt', 'pt-BR', 'ko', 'ko-KR', 'tr-TR', 'tr', 'x-a', '*', 'fr', 'ja-JP-x-y-z', 'de_DE', 'ru-RU-1901', 'es-419', 'it'];
    const weights = [';q=0', ';q=0.5', ';q=1', ';q=0.000', ';q=0.9', ';q=1.0', ';q=0.25', ';q=2', ' ; Q=0.3', ''];
    const headers = Array.from({ length: 2000 }, () => {
      const items = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(ranges) + (rnd() < 0.4 ? pick(weights) : ''));
      return (rnd() < 0.05 ? ',' : '') + items.join(pick([', ', ',', ' , ']));
    });
    const offers = languageOffers();
    const chosen = runPython(`
import json, sys
from webob.acceptparse import create_accept_language_header
offers, headers = json.load(sys.stdin)
out = []
for h in headers:
    a = create_accept_language_header(h)
    tag = a.lookup(offers, default='-') if a else '-'
    out.append(None if tag == '-' else tag)
print(json.dumps(out))`, [offers.map(([tag]) => tag), headers]) as (string | null)[];
    const catalogueOf = new Map(offers);
    const differ = headers.filter((h, i) => selectLocale(h) !== (chosen[i] === null ? undefined : catalogueOf.get(chosen[i]!)));
    assert.deepEqual(differ, []);
  });

test('the installed Glance\'s best_match_language() gives the table\'s answers (third column where they differ)',
  { skip: hasGlance ? false : 'Glance is not installed (apt-get install glance-api)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-locale-'));
    try {
      // Glance's catalogues, present but empty: only their names matter for the choice.
      for (const name of catalogueNames) {
        mkdirSync(join(dir, name, 'LC_MESSAGES'), { recursive: true });
        writeFileSync(join(dir, name, 'LC_MESSAGES', 'glance.mo'), '');
      }
      const headers = negotiation.map(([header]) => header ?? null);
      const chosen = runPython(`
import gettext, json, sys
from glance.common import wsgi
out = []
for h in json.load(sys.stdin):
    req = wsgi.Request.blank('/', headers={} if h is None else {'Accept-Language': h})
    lang = req.best_match_language()
    found = lang and gettext.find('glance', localedir=${JSON.stringify(dir)}, languages=[lang])
    out.append(found.split('/')[-3] if found else None)
print(json.dumps(out))`, headers, { GLANCE_LOCALEDIR: dir }) as (string | null)[];
      negotiation.forEach(([header, ours, glance], i) => {
        const expected = glance === undefined ? ours ?? null : glance;
        assert.equal(chosen[i], expected, JSON.stringify(header));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('translate interpolates parameters in every language', () => {
  const m = msg('The method {method} is not allowed for this resource.', { method: 'PUT' });
  assert.equal(translate(m, undefined), 'The method PUT is not allowed for this resource.');
  assert.equal(translate(m, 'zh_CN'), '此资源不允许使用方法 PUT。');
  assert.equal(translate(m, 'de'), 'Die Methode PUT ist für diese Ressource nicht zulässig.');
  assert.equal(translate(m, 'nonexistent'), 'The method PUT is not allowed for this resource.');
});

describe('error messages over HTTP follow Accept-Language', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });
  const admin = as('p1', 'admin,member,reader');

  test('a missing image: German, Japanese, Brazilian Portuguese, Korean, English', async () => {
    const id = randomUUID();
    const english = `No image found with ID ${id}`;
    for (const [language, locale] of [['de', 'de'], ['ja-JP', 'ja'], ['pt-BR', 'pt_BR'], ['ko-KR,en;q=0.5', 'ko_KR'],
      ['en-US', undefined]] as const) {
      const res = await t.app.inject({ url: `/v2/images/${id}`,
        headers: { ...admin, accept: 'application/json', 'accept-language': language } });
      assert.equal(res.statusCode, 404);
      const message = (res.json() as { message: string }).message;
      const expected = translate(msg('No image found with ID {id}', { id }), locale);
      assert.ok(message.includes(expected), `${language}: ${message}`);
      assert.equal(message.includes(english), locale === undefined, `${language}: ${message}`);
    }
  });

  test('a bad query parameter in French and Spanish, also in plain text', async () => {
    for (const [language, locale] of [['fr', 'fr'], ['es', 'es']] as const) {
      const res = await t.app.inject({ url: '/v2/images?sort_dir=sideways',
        headers: { ...admin, accept: 'application/json', 'accept-language': language } });
      assert.equal(res.statusCode, 400);
      const expected = translate(msg('Invalid sort direction: {dir}', { dir: 'sideways' }), locale);
      assert.match((res.json() as { message: string }).message, new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const plain = await t.app.inject({ url: '/v2/images?sort_dir=sideways', headers: { ...admin, 'accept-language': language } });
      assert.ok(plain.body.includes(expected), plain.body);
    }
  });
});
