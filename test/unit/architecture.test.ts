// The map stays true to the tree: every top-level folder of src/ is described in
// docs/architecture.md (its Folders table) and declared in the dependency rules
// (.dependency-cruiser.mjs LAYERS), and neither names a folder that no longer exists.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const folders = readdirSync(new URL('src/', root), { withFileTypes: true })
  .filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();

/** The folders of the Folders table: rows starting with | `name/` |. */
function documented(): string[] {
  const doc = readFileSync(new URL('docs/architecture.md', root), 'utf8');
  const section = doc.slice(doc.indexOf('## Folders'), doc.indexOf('\n## ', doc.indexOf('## Folders') + 1));
  return [...section.matchAll(/^\| `([a-z0-9-]+)\/` \|/gm)].map((m) => m[1]!).sort();
}

/** The keys of LAYERS in the dependency rules. */
function declared(): string[] {
  const rules = readFileSync(new URL('.dependency-cruiser.mjs', root), 'utf8');
  const body = rules.slice(rules.indexOf('const LAYERS = {'), rules.indexOf('\n};', rules.indexOf('const LAYERS = {')));
  return [...body.matchAll(/^ {2}([a-z0-9-]+|'[a-z0-9-]+'): \{ may:/gm)].map((m) => m[1]!.replace(/'/g, '')).sort();
}

test('the tree has top-level folders to check', () => {
  assert.ok(folders.includes('domain') && folders.includes('services'), folders.join(', '));
});

test('every top-level folder of src/ is in the Folders table of docs/architecture.md, and only those', () => {
  assert.deepEqual(documented(), folders,
    'add a row "| `<folder>/` | what it is | may import |" to docs/architecture.md ## Folders (or remove a stale one)');
});

test('every top-level folder of src/ is declared in .dependency-cruiser.mjs LAYERS, and only those', () => {
  assert.deepEqual(declared(), folders,
    'add "<folder>: { may: [...], why: \'...\' }" to LAYERS in .dependency-cruiser.mjs (or remove a stale one)');
});
