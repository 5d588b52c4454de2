import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeHashName, supportedHashAlgorithms } from '../../src/config/hash-algorithms.ts';
import { loadConfig } from '../../src/config/load.ts';
import { renderConfigDoc, renderSampleConfig } from '../../src/config/sample.ts';
import { OPTIONS, SECTIONS, type OptionDef } from '../../src/config/schema.ts';
import { parseOptionValue } from '../../src/config/values.ts';
import { CONFIG_DOC_PATH, SAMPLE_CONFIG_PATH } from '../../src/config/write-docs.ts';
import { load } from './config-helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test(`${SAMPLE_CONFIG_PATH} and ${CONFIG_DOC_PATH} are what the schema generates`, () => {
  const hint = 'generated config docs are stale: run `npm run gen:config-docs` and commit the result';
  assert.ok(readFileSync(join(root, SAMPLE_CONFIG_PATH), 'utf8') === renderSampleConfig(), `${SAMPLE_CONFIG_PATH}: ${hint}`);
  assert.ok(readFileSync(join(root, CONFIG_DOC_PATH), 'utf8') === renderConfigDoc(), `${CONFIG_DOC_PATH}: ${hint}`);
});

test('the sample file loads as the defaults, without warnings', () => {
  const { config, warnings, dir } = load(renderSampleConfig());
  const defaults = loadConfig({ env: {}, cwd: dir });
  assert.deepEqual(warnings, []);
  const { sourceFile, ...rest } = config;
  assert.equal(sourceFile, join(dir, 'glimpse-api.conf'));
  assert.deepEqual(rest, defaults.config);
});

test('every default is valid for its own option; names are unique; help is 1-3 sentences', () => {
  const seen = new Set<string>();
  for (const def of OPTIONS) {
    const id = `[${def.section}] ${def.name}`;
    assert.ok(!seen.has(id), `${id} defined twice`);
    seen.add(id);
    assert.ok(SECTIONS.some((s) => s.name === def.section), `${id}: section missing from SECTIONS`);
    if (def.default !== undefined) assert.ok('value' in parseOptionValue(def, def.default), `${id}: bad default`);
    const sentences = def.help.split(/[.!?](\s|$)/).filter((s) => s.trim() !== '').length;
    assert.ok(sentences >= 1 && sentences <= 3, `${id}: help has ${sentences} sentences`);
  }
});

test('float values (no option uses them yet) parse and respect bounds', () => {
  const def: OptionDef = { section: 'DEFAULT', name: 'ratio', type: 'float', default: '0.5', min: 0, max: 1, help: 'A ratio.' };
  assert.deepEqual(parseOptionValue(def, ' 0.25 '), { value: 0.25 });
  assert.deepEqual(parseOptionValue(def, '1e-1'), { value: 0.1 });
  assert.deepEqual(parseOptionValue(def, 'half'), { problem: '"half" is not a number' });
  assert.deepEqual(parseOptionValue(def, '1.5'), { problem: '"1.5" is greater than the maximum 1' });
});

test('hashing algorithms: Glance (hashlib) names map to Node names', () => {
  assert.equal(nodeHashName('sha512'), 'sha512');
  assert.equal(nodeHashName('sha3_256'), 'sha3-256');
  assert.equal(nodeHashName('blake2b'), 'blake2b512');
  assert.throws(() => nodeHashName('md4'));
  assert.ok(supportedHashAlgorithms().includes('sha512'));
});
