// Shared by the config*.test.ts files: load a config text from a throw-away directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type LoadResult } from '../../src/config/load.ts';

/**
 * Loads `text` as glimpse-api.conf in a fresh directory, which is also the working directory
 * (returned as `dir`; it is removed again before this returns). `extraFiles` are written beside it.
 */
export function load(text: string, env: Record<string, string> = {}, extraFiles: Record<string, string> = {}): LoadResult & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-config-'));
  try {
    writeFileSync(join(dir, 'glimpse-api.conf'), text);
    for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(dir, name), content);
    return { ...loadConfig({ file: 'glimpse-api.conf', env, cwd: dir }), dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ConfigError that loading `text` throws. */
export function loadError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    load(text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}
