// `npm run gen:config-docs`: rewrites etc/glimpse-api.conf.sample and docs/configuration.md
// from the option schema. The config unit tests fail while the committed files differ.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { renderConfigDoc, renderSampleConfig } from './sample.ts';

export const SAMPLE_CONFIG_PATH = 'etc/glimpse-api.conf.sample';
export const CONFIG_DOC_PATH = 'docs/configuration.md';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function write(relative: string, text: string): void {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${relative}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  write(SAMPLE_CONFIG_PATH, renderSampleConfig());
  write(CONFIG_DOC_PATH, renderConfigDoc());
}
