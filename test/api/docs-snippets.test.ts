// Docs that run: every fenced block in README.md and docs/ preceded by `<!-- runnable -->` is
// checked. `ini` blocks are configuration files and must pass `glimpse config check` without an
// error or an "unknown section/option" warning; `sh` blocks are commands safe to run in a clone
// (they only read) and must exit 0. A block without the marker is an example, not checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'glimpse.js');
const MARKER = '<!-- runnable -->';

interface Snippet {
  where: string;
  language: string;
  body: string;
}

/** The marked blocks of one Markdown file. */
export function runnableSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== MARKER) continue;
    const fence = /^(`{3,})(\w*)\s*$/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`${file}:${i + 1}: ${MARKER} must stand right above a fenced block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith(fence[1]!));
    if (end < 0) throw new Error(`${file}:${i + 2}: unclosed fence`);
    found.push({ where: `${file}:${i + 2}`, language: fence[2]!, body: lines.slice(i + 2, end).join('\n') });
  }
  return found;
}

function markdownFiles(): string[] {
  return ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
}

const snippets = markdownFiles().flatMap((file) => runnableSnippets(file, readFileSync(join(root, file), 'utf8')));

test('the marker finds blocks, and README.md and docs/operations.md have runnable ones', () => {
  assert.deepEqual(runnableSnippets('x.md', `text\n${MARKER}\n\`\`\`ini\n[DEFAULT]\ndebug = true\n\`\`\`\n\`\`\`sh\nnot marked\n\`\`\`\n`),
    [{ where: 'x.md:3', language: 'ini', body: '[DEFAULT]\ndebug = true' }]);
  assert.throws(() => runnableSnippets('x.md', `${MARKER}\n\ntext\n`), /must stand right above a fenced block/);
  assert.ok(snippets.some((s) => s.where.startsWith('README.md') && s.language === 'sh'));
  assert.ok(snippets.filter((s) => s.where.startsWith('docs/operations.md') && s.language === 'ini').length >= 5);
  for (const s of snippets) assert.ok(['ini', 'sh'].includes(s.language), `${s.where}: runnable blocks are ini or sh`);
});

for (const snippet of snippets) {
  test(`${snippet.where} (${snippet.language}) runs`, () => {
    if (snippet.language === 'ini') {
      // The parser, like oslo.config, keeps an end-of-line comment in the value (`uri = http://x # note`).
      assert.doesNotMatch(snippet.body, /^[ \t]*[A-Za-z0-9_]+[ \t]*[=:].*[ \t][#;]/m, `${snippet.where}: end-of-line comment`);
      const dir = mkdtempSync(join(tmpdir(), 'glimpse-snippet-'));
      writeFileSync(join(dir, 'glimpse-api.conf'), `${snippet.body}\n`);
      const result = spawnSync(process.execPath, [bin, 'config', 'check', '--config-file', 'glimpse-api.conf', '--changed'],
        { cwd: dir, encoding: 'utf8', env: cleanEnv() });
      assert.equal(result.status, 0, `${snippet.where}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /warning: .*(unknown|did you mean|comments must be)/, snippet.where);
      // Every option of the snippet shows up as set from the file: none was lost or misread.
      const options = snippet.body.split('\n').filter((l) => /^[A-Za-z0-9_]+\s*[=:]/.test(l)).length;
      assert.equal(result.stdout.trim().split('\n').filter((l) => /glimpse-api\.conf:\d+$/.test(l)).length, options, result.stdout);
    } else {
      const result = spawnSync('bash', ['-euo', 'pipefail', '-c', snippet.body],
        { cwd: root, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
      assert.equal(result.status, 0, `${snippet.where}:\n${result.stdout}\n${result.stderr}`);
    }
  });
}
