import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueIds, selectLocale, translate } from '../../src/i18n/catalogue.ts';
import { msg } from '../../src/i18n/message.ts';
import { stockExplanations } from '../../src/http/errors.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

// Every user-facing message is written as msg('…') or one of the error factories with a
// literal first argument (string literals, possibly joined with +); this collects them.
const callStart = /\b(?:msg|badRequest|forbidden|notFound|conflict|gone|payloadTooLarge|unavailable)\(\s*(?=['"])/g;

/** Reads `'a' + "b"` starting at `index`; returns the joined text. */
function readLiterals(text: string, index: number): string {
  let out = '';
  let i = index;
  for (;;) {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') return out;
    i++;
    while (text[i] !== quote) {
      if (text[i] === '\\') { const c = text[i + 1]!; out += c === 'n' ? '\n' : c === 't' ? '\t' : c; i += 2; } else { out += text[i]; i++; }
    }
    i++;
    const rest = /^\s*\+\s*/.exec(text.slice(i));
    if (!rest) return out;
    i += rest[0].length;
  }
}

function messagesInSource(): Set<string> {
  const found = new Set<string>(stockExplanations());
  for (const file of sourceFiles('src')) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(callStart)) found.add(readLiterals(text, match.index + match[0].length));
  }
  return found;
}

test('every message in the code has a zh_CN translation', () => {
  const ids = new Set(catalogueIds('zh_CN'));
  const missing = [...messagesInSource()].filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], 'add these to src/i18n/locales/zh_CN.json');
});

test('every translation keeps the placeholders of its message', () => {
  for (const id of catalogueIds('zh_CN')) {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const translated = translate(msg(id), 'zh_CN');
    assert.deepEqual(placeholders(translated), placeholders(id), `placeholders differ for "${id}"`);
  }
});

test('Accept-Language picks the Chinese catalogue for zh, zh-CN and zh_CN-like tags, English otherwise', () => {
  assert.equal(selectLocale('zh'), 'zh_CN');
  assert.equal(selectLocale('zh-CN'), 'zh_CN');
  assert.equal(selectLocale('zh-cn,en;q=0.5'), 'zh_CN');
  assert.equal(selectLocale('en-US,zh;q=0.1'), undefined);
  assert.equal(selectLocale('fr'), undefined);
  assert.equal(selectLocale(undefined), undefined);
});

test('translate interpolates parameters in both languages', () => {
  const m = msg('The method {method} is not allowed for this resource.', { method: 'PUT' });
  assert.equal(translate(m, undefined), 'The method PUT is not allowed for this resource.');
  assert.equal(translate(m, 'zh_CN'), '此资源不允许使用方法 PUT。');
});
