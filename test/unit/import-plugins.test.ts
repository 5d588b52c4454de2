// The import plugin registry and runner, inject_image_metadata, and the options that configure them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { IMPORT_PLUGIN_NAMES } from '../../src/config/import-plugins.ts';
import {
  ImportPluginError, createImportPlugins, runImportPlugins, type ImportPlugin, type ImportPluginSettings,
} from '../../src/tasks/plugins/index.ts';
import { injectMetadataPlugin } from '../../src/tasks/plugins/inject-metadata.ts';
import { load, loadError } from './config-helpers.ts';
import { NO_QEMU_IMG, image, pluginInput, qemuImg, quietLog, scratch } from './import-plugins-helpers.ts';

const MiB = 1024 * 1024;
const { dir, cleanup } = scratch();
after(cleanup);

function settings(plugins: ImportPluginSettings['plugins'], overrides: Partial<ImportPluginSettings> = {}): ImportPluginSettings {
  return {
    plugins, conversion: { outputFormat: 'raw', timeoutSeconds: 60 },
    inject: { ignoreUserRoles: ['admin'], properties: { hw_vif_model: 'virtio' } },
    imageSizeCap: 1024 * MiB, inspection: { vmdkAllowedTypes: ['streamOptimized', 'monolithicSparse'] }, ...overrides,
  };
}

function runInput(file: string, overrides: Partial<Parameters<typeof runImportPlugins>[1]> = {}) {
  return {
    image: image(), filePath: file, workDir: join(dir, `run-${Math.random().toString(36).slice(2)}`), roles: ['member'],
    signal: new AbortController().signal, log: quietLog, ...overrides,
  };
}

describe('inject_image_metadata', () => {
  const plugin = injectMetadataPlugin({
    ignoreUserRoles: ['admin', 'Service'],
    properties: { hw_vif_model: 'virtio', provider: 'example', os_glance_import_task: 'x', name: 'evil', deleted: 'true' },
  });

  test('sets the configured properties for users without an ignored role', async () => {
    const result = await plugin.run(pluginInput(dir, '/dev/null', { roles: ['member', 'reader'] }));
    assert.deepEqual(result, { properties: { hw_vif_model: 'virtio', provider: 'example' } });
  });

  test('users with an ignored role (compared without case) are left alone', async () => {
    assert.deepEqual(await plugin.run(pluginInput(dir, '/dev/null', { roles: ['member', 'admin'] })), {});
    assert.deepEqual(await plugin.run(pluginInput(dir, '/dev/null', { roles: ['service'] })), {});
  });

  test('nothing configured: nothing set', async () => {
    const empty = injectMetadataPlugin({ ignoreUserRoles: [], properties: {} });
    assert.deepEqual(await empty.run(pluginInput(dir, '/dev/null')), {});
  });
});

describe('createImportPlugins', () => {
  test('every name Glance knows is built, in the operator\'s order', () => {
    const names = [...IMPORT_PLUGIN_NAMES].reverse();
    assert.deepEqual(createImportPlugins(settings(names)).map((p) => p.name), names);
    assert.deepEqual(createImportPlugins(settings([])), []);
  });
});

describe('runImportPlugins', () => {
  const recorder = (name: string, seen: string[]): ImportPlugin => ({
    name, run: async (input) => { seen.push(`${name}:${input.image.diskFormat}:${input.image.properties.tag ?? ''}`); return {}; },
  });

  test('no plugins: the staged file, unchanged', async () => {
    const file = join(dir, 'staged-none');
    writeFileSync(file, 'data');
    const outcome = await runImportPlugins([], runInput(file));
    assert.deepEqual(outcome, { filePath: file, dataChanged: false, attributes: {}, properties: {} });
  });

  test('each plugin sees the changes of those before it; changes are merged', async () => {
    const seen: string[] = [];
    const setter: ImportPlugin = { name: 'set', run: async () => ({ attributes: { diskFormat: 'qcow2' }, properties: { tag: 'a' } }) };
    const outcome = await runImportPlugins([recorder('first', seen), setter, recorder('last', seen)], runInput('/dev/null',
      { image: image({ diskFormat: 'raw' }) }));
    assert.deepEqual(seen, ['first:raw:', 'last:qcow2:a']);
    assert.deepEqual(outcome.attributes, { diskFormat: 'qcow2' });
    assert.deepEqual(outcome.properties, { tag: 'a' });
  });

  test('gzip then conversion: intermediate files go, the staged file stays, size follows the data', { skip: NO_QEMU_IMG }, async () => {
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, Buffer.concat([Buffer.from('guest'), Buffer.alloc(2 * MiB - 5)]));
    const q = join(dir, 'disk.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, q);
    const staged = join(dir, 'staged.gz');
    writeFileSync(staged, gzipSync(readFileSync(q)));
    const plugins = createImportPlugins(settings(['image_decompression', 'image_conversion', 'inject_image_metadata']));
    const input = runInput(staged, { image: image({ diskFormat: 'qcow2' }) });
    const outcome = await runImportPlugins(plugins, input);
    assert.equal(outcome.dataChanged, true);
    assert.deepEqual(readFileSync(outcome.filePath), readFileSync(raw));
    assert.deepEqual(outcome.attributes, { size: 2 * MiB, diskFormat: 'raw', containerFormat: 'bare', virtualSize: 2 * MiB });
    assert.deepEqual(outcome.properties, { hw_vif_model: 'virtio' });
    assert.ok(existsSync(staged));
    const left = readdirSync(input.workDir, { recursive: true }).map(String).filter((f) => !['0-image_decompression',
      '1-image_conversion', '2-inject_image_metadata'].includes(f));
    assert.deepEqual(left, ['1-image_conversion/converted.raw'], 'the decompressed intermediate is removed');
  });

  test('a failing plugin: its error is thrown and the work directory is gone', async () => {
    const writer: ImportPlugin = {
      name: 'writer', run: async (input) => {
        const out = join(input.workDir, 'out');
        writeFileSync(out, 'x');
        return { filePath: out };
      },
    };
    const failing: ImportPlugin = {
      name: 'failing', run: async () => { throw new ImportPluginError('failing', 'test', { id: 'Image conversion failed.', params: {} }); },
    };
    const input = runInput('/dev/null');
    await assert.rejects(runImportPlugins([writer, failing], input), ImportPluginError);
    assert.equal(existsSync(input.workDir), false);
  });

  test('a retried run starts from a clean work directory', async () => {
    const input = runInput('/dev/null');
    await runImportPlugins([], input);
    writeFileSync(join(input.workDir, 'leftover'), 'x');
    await runImportPlugins([], input);
    assert.deepEqual(readdirSync(input.workDir), []);
  });
});

describe('configuration', () => {
  test('defaults: no plugins, raw output, admin ignored, nothing injected', () => {
    const { config } = load('');
    assert.deepEqual(config.importPlugins, {
      plugins: [], conversion: { outputFormat: 'raw', timeoutSeconds: 1800 },
      inject: { ignoreUserRoles: ['admin'], properties: {} },
    });
  });

  test('Glance\'s bracketed, quoted list and the plain list both work', () => {
    const text = (list: string) => `[image_import_opts]\nimage_import_plugins = ${list}\n`;
    for (const list of ["['image_decompression', 'image_conversion']", '[image_decompression,image_conversion]',
      'image_decompression, image_conversion', '["image_decompression" , "image_conversion"]']) {
      assert.deepEqual(load(text(list)).config.importPlugins.plugins, ['image_decompression', 'image_conversion'], list);
    }
    assert.deepEqual(load(text('[]')).config.importPlugins.plugins, []);
  });

  test('plugin options are read from their sections', () => {
    const { config, warnings } = load(['[image_conversion]', 'output_format = qcow2', 'conversion_timeout = 60',
      '[inject_metadata_properties]', 'ignore_user_roles = admin, service', 'inject = a:1, b:two words'].join('\n'));
    assert.deepEqual(config.importPlugins.conversion, { outputFormat: 'qcow2', timeoutSeconds: 60 });
    assert.deepEqual(config.importPlugins.inject, { ignoreUserRoles: ['admin', 'service'], properties: { a: '1', b: 'two words' } });
    assert.deepEqual(warnings, []);
  });

  test('unknown or repeated plugin names, bad output formats and long keys are refused at startup', () => {
    assert.match(loadError('[image_import_opts]\nimage_import_plugins = [image_convertion]\n').message, /unknown plugins "image_convertion"/);
    assert.match(loadError('[image_import_opts]\nimage_import_plugins = no_op,no_op\n').message, /twice/);
    assert.match(loadError('[image_conversion]\noutput_format = vhd\n').message, /not one of/);
    assert.match(loadError(`[inject_metadata_properties]\ninject = ${'k'.repeat(256)}:v\n`).message, /longer than 255/);
  });
});
