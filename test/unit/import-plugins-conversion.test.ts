// image_conversion with the real qemu-img on small images made here: conversions between raw,
// qcow2, vmdk and vhd, Glance's refusals (inspector first, then qemu-img info), the check of the
// converted output, and the resource limits of the qemu-img processes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { imageConversionPlugin, type ConversionSettings } from '../../src/tasks/plugins/image-conversion.ts';
import { ImportPluginError } from '../../src/tasks/plugins/index.ts';
import { runLimited } from '../../src/tasks/plugins/limited-process.ts';
import { iso, qcow2 } from './formats-images.ts';
import { HAVE_QEMU_IMG, NO_QEMU_IMG, image, pluginInput, qemuImg, refusal, scratch } from './import-plugins-helpers.ts';

const MiB = 1024 * 1024;
const { dir, cleanup } = scratch();
after(cleanup);

function settings(overrides: Partial<ConversionSettings> = {}): ConversionSettings {
  return {
    outputFormat: 'raw', timeoutSeconds: 60, imageSizeCap: 1024 * MiB,
    inspection: { vmdkAllowedTypes: ['streamOptimized', 'monolithicSparse'] }, ...overrides,
  };
}

/** A 4 MiB raw disk with recognisable content in its first and last MiB. */
function guestDisk(): Buffer {
  const disk = Buffer.alloc(4 * MiB);
  disk.write('Glimpse guest data', 0x200);
  for (let i = 3 * MiB; i < 4 * MiB; i += 4096) disk.writeUInt32BE(i, i);
  return disk;
}

let counter = 0;
function path(ext: string): string {
  counter += 1;
  return join(dir, `img-${counter}.${ext}`);
}

/** The guest disk converted by qemu-img to `format` (qemu driver name). */
function made(format: string, data = guestDisk(), extra: string[] = []): string {
  const raw = path('raw');
  writeFileSync(raw, data);
  if (format === 'raw') return raw;
  const out = path(format);
  qemuImg('convert', '-f', 'raw', '-O', format, ...extra, raw, out);
  return out;
}

const refused = (promise: Promise<unknown>, code: string) => refusal(promise, code, 'image_conversion');

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('image_conversion with qemu-img', { skip: NO_QEMU_IMG }, () => {
  test('qcow2 → raw: the guest disk comes out, with its formats, size and virtual size', async () => {
    const input = pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'qcow2' }) });
    const result = await imageConversionPlugin(settings()).run(input);
    assert.ok(result.filePath?.startsWith(input.workDir));
    assert.equal(sha(readFileSync(result.filePath!)), sha(guestDisk()));
    assert.deepEqual(result.attributes, { diskFormat: 'raw', containerFormat: 'bare', size: 4 * MiB, virtualSize: 4 * MiB });
  });

  test('raw → qcow2 and vmdk: the output is that format, and converts back to the same disk', async () => {
    for (const [target, driver] of [['qcow2', 'qcow2'], ['vmdk', 'vmdk']] as const) {
      const input = pluginInput(dir, made('raw'), { image: image({ diskFormat: 'raw', containerFormat: 'ovf' }) });
      const result = await imageConversionPlugin(settings({ outputFormat: target })).run(input);
      assert.equal(result.attributes?.diskFormat, target);
      assert.equal(result.attributes?.containerFormat, 'bare');
      assert.equal(result.attributes?.size, statSync(result.filePath!).size);
      assert.equal(result.attributes?.virtualSize, 4 * MiB);
      const back = path('raw');
      qemuImg('convert', '-f', driver, '-O', 'raw', result.filePath!, back);
      assert.equal(sha(readFileSync(back)), sha(guestDisk()));
    }
  });

  test('vhd (qemu\'s vpc driver) converts too', async () => {
    const input = pluginInput(dir, made('vpc'), { image: image({ diskFormat: 'vhd' }) });
    const result = await imageConversionPlugin(settings()).run(input);
    assert.equal(result.attributes?.diskFormat, 'raw');
    assert.ok((result.attributes?.virtualSize ?? 0) >= 4 * MiB);
  });

  test('data already in the output format is left alone; its virtual size is recorded', async () => {
    const input = pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'qcow2' }) });
    const result = await imageConversionPlugin(settings({ outputFormat: 'qcow2' })).run(input);
    assert.deepEqual(result, { attributes: { virtualSize: 4 * MiB } });
    assert.deepEqual(readdirSync(input.workDir), []);
  });

  test('declared format and data must agree (before qemu-img sees the data)', async () => {
    const plugin = imageConversionPlugin(settings({ outputFormat: 'qcow2' }));
    await refused(plugin.run(pluginInput(dir, made('raw'), { image: image({ diskFormat: 'qcow2' }) })), 'format_mismatch');
    await refused(plugin.run(pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'raw' }) })), 'format_mismatch');
    await refused(plugin.run(pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'vmdk' }) })), 'format_mismatch');
    // Not disk formats qemu-img reads: refused as in Glance (the inspector finds raw data).
    await refused(plugin.run(pluginInput(dir, made('raw'), { image: image({ diskFormat: 'ami' }) })), 'format_mismatch');
  });

  test('qcow2 with a backing file or an external data file is refused by the inspector', async () => {
    const base = made('qcow2');
    const overlay = path('qcow2');
    qemuImg('create', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay);
    const plugin = imageConversionPlugin(settings());
    const err = await refused(plugin.run(pluginInput(dir, overlay, { image: image({ diskFormat: 'qcow2' }) })), 'disallowed');
    assert.match(err.logDetail ?? '', /backing_file/);
    const withData = path('qcow2');
    qemuImg('create', '-f', 'qcow2', '-o', `data_file=${path('data')}`, withData, '4M');
    await refused(plugin.run(pluginInput(dir, withData, { image: image({ diskFormat: 'qcow2' }) })), 'disallowed');
    // A hand-made header naming a backing file: refused without running qemu-img at all.
    const crafted = path('qcow2');
    writeFileSync(crafted, qcow2({ backingFile: '/etc/passwd' }));
    await refused(plugin.run(pluginInput(dir, crafted, { image: image({ diskFormat: 'qcow2' }) })), 'disallowed');
  });

  test('a VMDK whose create-type is not allowed is refused', async () => {
    const vmdk = made('vmdk');
    const plugin = imageConversionPlugin(settings({ inspection: { vmdkAllowedTypes: ['streamOptimized'] } }));
    await refused(plugin.run(pluginInput(dir, vmdk, { image: image({ diskFormat: 'vmdk' }) })), 'disallowed');
  });

  test('ISO: kept when declared iso, refused when declared anything else', async () => {
    const data = iso(64);
    const file = path('iso');
    writeFileSync(file, data);
    const plugin = imageConversionPlugin(settings());
    assert.deepEqual(await plugin.run(pluginInput(dir, file, { image: image({ diskFormat: 'iso' }) })), {});
    await refused(plugin.run(pluginInput(dir, file, { image: image({ diskFormat: 'raw' }) })), 'disallowed');
  });

  test('a format hidden inside the guest disk is caught when the output is inspected', async () => {
    // The guest disk itself starts with a qcow2 header: converted to raw it would become a qcow2.
    const nested = Buffer.alloc(4 * MiB);
    qcow2({ backingFile: '/etc/shadow' }).copy(nested);
    const outer = made('qcow2', nested);
    const input = pluginInput(dir, outer, { image: image({ diskFormat: 'qcow2' }) });
    const err = await refused(imageConversionPlugin(settings()).run(input), 'disallowed');
    assert.match(err.logDetail ?? '', /^output/);
    assert.deepEqual(readdirSync(input.workDir), [], 'the refused output is removed');
  });

  test('a virtual size above image_size_cap is refused before converting', async () => {
    const sparse = path('qcow2');
    qemuImg('create', '-f', 'qcow2', sparse, '2G');
    const input = pluginInput(dir, sparse, { image: image({ diskFormat: 'qcow2' }) });
    const err = await refused(imageConversionPlugin(settings({ imageSizeCap: 1024 * MiB })).run(input), 'too_large');
    assert.equal(err.kind, 'PayloadTooLarge');
    assert.deepEqual(readdirSync(input.workDir), []);
  });

  test('garbage that claims qcow2 fails cleanly', async () => {
    const file = path('qcow2');
    const header = qcow2({ size: 4n * BigInt(MiB) });
    header.writeUInt32BE(0xffff, 20); // cluster_bits out of range: qemu-img info refuses it
    writeFileSync(file, header);
    await assert.rejects(imageConversionPlugin(settings()).run(pluginInput(dir, file, { image: image({ diskFormat: 'qcow2' }) })),
      ImportPluginError);
  });

  test('without qemu-img on the PATH the import fails as a server problem', async () => {
    const bin = join(dir, 'bin-without-qemu');
    mkdirSync(bin);
    symlinkSync(execFileSync('sh', ['-c', 'command -v prlimit'], { encoding: 'utf8' }).trim(), join(bin, 'prlimit'));
    const input = pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'qcow2' }) });
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      const err = await refused(imageConversionPlugin(settings()).run(input), 'unavailable');
      assert.equal(err.kind, 'ServiceUnavailable');
    } finally {
      process.env.PATH = saved;
    }
  });

  test('an aborted import stops qemu-img', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client gone'));
    const input = pluginInput(dir, made('qcow2'), { image: image({ diskFormat: 'qcow2' }), signal: controller.signal });
    await assert.rejects(imageConversionPlugin(settings()).run(input));
  });
});

describe('runLimited (the resource limits qemu-img runs under)', { skip: HAVE_QEMU_IMG ? false : NO_QEMU_IMG }, () => {
  const never = new AbortController().signal;
  const loose = { addressSpace: 1024 * MiB, cpuSeconds: 30, timeoutMs: 10_000 };

  test('CPU seconds: a busy loop is killed by the kernel', async () => {
    const outcome = await runLimited('sh', ['-c', 'while :; do :; done'], { ...loose, cpuSeconds: 1 }, never);
    assert.ok(outcome.signal === 'SIGXCPU' || outcome.signal === 'SIGKILL', `ended by ${String(outcome.signal)}`);
    assert.equal(outcome.timedOut, false);
  });

  test('wall clock: a sleeping process is killed at the timeout', async () => {
    const outcome = await runLimited('sleep', ['10'], { ...loose, timeoutMs: 200 }, never);
    assert.equal(outcome.timedOut, true);
  });

  test('address space and file size limits are those given', async () => {
    const outcome = await runLimited('sh', ['-c', 'ulimit -v; ulimit -f'], { ...loose, fileSize: 512 * 1024 }, never);
    assert.deepEqual(outcome.stdout.trim().split('\n'), [String(1024 * 1024), '1024']);
  });

  test('the environment is reduced to PATH and LC_ALL', async () => {
    const outcome = await runLimited('env', [], loose, never);
    assert.deepEqual(outcome.stdout.trim().split('\n').map((l) => l.split('=')[0]).sort(), ['LC_ALL', 'PATH']);
  });

  test('an abort kills the process and rejects', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await assert.rejects(runLimited('sleep', ['10'], loose, controller.signal), /stop/);
  });
});
