// image_decompression: recognition by magic bytes, each decoder on real data, Glance's zip and
// `compressed` rules, and refusal of decompression bombs (output bound, zstd window bound).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { detectCompression } from '../../src/tasks/plugins/decompressors.ts';
import { imageDecompressionPlugin } from '../../src/tasks/plugins/image-decompression.ts';
import { ImportPluginError } from '../../src/tasks/plugins/index.ts';
import { ZstdFrameError, ZstdFrameGuard } from '../../src/tasks/plugins/zstd-guard.ts';
import { hasTool, image, pluginInput, refusal, scratch, zip, zstdBlock, zstdHeader } from './import-plugins-helpers.ts';

const MiB = 1024 * 1024;
const { dir, cleanup } = scratch();
after(cleanup);

const payload = Buffer.concat([Buffer.from('QFI not really, just data '), Buffer.alloc(300_000, 7), Buffer.from('end')]);
const plugin = imageDecompressionPlugin({ maxBytes: 64 * MiB, timeoutSeconds: 30 });

function write(name: string, data: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** Compresses `data` with a command-line tool (`tool -c`), as a user's machine would. */
function compressWith(tool: string, data: Buffer, args: string[] = ['-c']): Buffer {
  return execFileSync(tool, args, { input: data, maxBuffer: 256 * MiB });
}

const expectRefusal = (promise: Promise<unknown>, code: string) => refusal(promise, code, 'image_decompression');

describe('detectCompression', () => {
  test('magic bytes as Glance reads them, plus bzip2, xz and zstd', () => {
    assert.equal(detectCompression(zip([{ name: 'a', data: payload }])), 'zip');
    assert.equal(detectCompression(gzipSync(payload)), 'gzip');
    assert.equal(detectCompression(Buffer.from('\x00\x00-lh5-xxxx', 'latin1')), 'lha');
    assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4])), 'xz');
    assert.equal(detectCompression(zstdHeader()), 'zstd');
    assert.equal(detectCompression(Buffer.from('BZh91AY&SY', 'latin1')), 'bzip2');
  });

  test('near misses are data, not archives', () => {
    assert.equal(detectCompression(Buffer.from('BZh0xxxxxx', 'latin1')), null);
    assert.equal(detectCompression(Buffer.from('BZh9 not a block', 'latin1')), null);
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 0x07])), null);
    assert.equal(detectCompression(Buffer.alloc(512)), null);
    assert.equal(detectCompression(Buffer.alloc(0)), null);
  });
});

describe('image_decompression', () => {
  test('gzip (also several members) is replaced by its content and the size follows', async () => {
    const src = write('a.gz', Buffer.concat([gzipSync(payload.subarray(0, 1000)), gzipSync(payload.subarray(1000))]));
    const result = await plugin.run(pluginInput(dir, src));
    assert.ok(result.filePath);
    assert.deepEqual(readFileSync(result.filePath), payload);
    assert.deepEqual(result.attributes, { size: payload.length });
    assert.ok(existsSync(src), 'the staged file is left for the caller');
  });

  test('zstd frames (raw and RLE blocks) decode with fzstd', async () => {
    const frame = Buffer.concat([zstdHeader(), zstdBlock(0, 5, false, Buffer.from('hello')), zstdBlock(1, 1000, true, Buffer.from('z'))]);
    const src = write('a.zst', Buffer.concat([frame, frame]));
    const result = await plugin.run(pluginInput(dir, src));
    const expected = Buffer.concat([Buffer.from('hello'), Buffer.alloc(1000, 'z')]);
    assert.deepEqual(readFileSync(result.filePath!), Buffer.concat([expected, expected]));
  });

  for (const [tool, ext] of [['zstd', 'zst'], ['xz', 'xz'], ['bzip2', 'bz2']] as const) {
    const skip = hasTool(tool) ? false : `${tool} is not installed`;
    test(`${tool} data made by the ${tool} tool`, { skip }, async () => {
      const src = write(`b.${ext}`, compressWith(tool, payload));
      const result = await plugin.run(pluginInput(dir, src));
      assert.deepEqual(readFileSync(result.filePath!), payload);
      assert.equal(result.attributes?.size, payload.length);
    });
  }

  test('a zip with exactly one file (stored or deflated) yields that file', async () => {
    for (const deflate of [false, true]) {
      const src = write(`one-${deflate}.zip`, zip([{ name: 'disk.img', data: payload, deflate }]));
      const result = await plugin.run(pluginInput(dir, src));
      assert.deepEqual(readFileSync(result.filePath!), payload);
    }
  });

  test('a zip with several files, or a directory, is refused as Glance does', async () => {
    const two = write('two.zip', zip([{ name: 'a', data: payload }, { name: 'b', data: payload }]));
    await expectRefusal(plugin.run(pluginInput(dir, two)), 'unsupported_archive');
    const folder = write('dir.zip', zip([{ name: 'a/', data: Buffer.alloc(0) }]));
    await expectRefusal(plugin.run(pluginInput(dir, folder)), 'unsupported_archive');
  });

  test('LHA is recognised and refused (no decoder)', async () => {
    const src = write('a.lzh', Buffer.concat([Buffer.from('\x00\x00-lh5-', 'latin1'), payload]));
    await expectRefusal(plugin.run(pluginInput(dir, src)), 'unsupported_archive');
  });

  test('container_format compressed and data without magic pass through untouched', async () => {
    const gz = write('keep.gz', gzipSync(payload));
    assert.deepEqual(await plugin.run(pluginInput(dir, gz, { image: image({ containerFormat: 'compressed' }) })), {});
    const raw = write('plain.raw', payload);
    assert.deepEqual(await plugin.run(pluginInput(dir, raw)), {});
  });

  test('corrupt data fails the import and leaves no output', async () => {
    const gz = gzipSync(payload);
    gz[gz.length - 6] = gz[gz.length - 6]! ^ 0xff; // CRC32 of the member
    const input = pluginInput(dir, write('bad.gz', gz));
    await expectRefusal(plugin.run(input), 'corrupt');
    assert.deepEqual(readdirSync(input.workDir), []);
    const zst = write('bad.zst', Buffer.concat([zstdHeader(), zstdBlock(0, 100, true, Buffer.from('short'))]));
    await expectRefusal(plugin.run(pluginInput(dir, zst)), 'corrupt');
  });
});

describe('decompression bombs', () => {
  const small = imageDecompressionPlugin({ maxBytes: 1 * MiB, timeoutSeconds: 30 });

  test('gzip: 64 MiB of zeros in 64 KiB stops at the limit', async () => {
    const input = pluginInput(dir, write('bomb.gz', gzipSync(Buffer.alloc(64 * MiB))));
    const err = await expectRefusal(small.run(input), 'too_large');
    assert.equal(err.kind, 'PayloadTooLarge');
    assert.deepEqual(readdirSync(input.workDir), []);
  });

  test('zstd: RLE blocks expanding far past the limit stop at it', async () => {
    const blocks = Array.from({ length: 200 }, (_, i) => zstdBlock(1, 128 * 1024, i === 199, Buffer.from([0])));
    const input = pluginInput(dir, write('bomb.zst', Buffer.concat([zstdHeader(17), ...blocks])));
    await expectRefusal(small.run(input), 'too_large');
  });

  test('zstd: a frame asking for a 2 GiB window is refused before any allocation', async () => {
    const src = write('window.zst', Buffer.concat([zstdHeader(31), zstdBlock(0, 1, true, Buffer.from('x'))]));
    await expectRefusal(plugin.run(pluginInput(dir, src)), 'zstd_window');
  });

  test('zip: an entry declaring a large size is refused early; one lying about it is caught', async () => {
    const big = write('big.zip', zip([{ name: 'a', data: Buffer.alloc(2 * MiB), deflate: true }]));
    await expectRefusal(small.run(pluginInput(dir, big)), 'too_large');
    const liar = write('liar.zip', zip([{ name: 'a', data: Buffer.alloc(2 * MiB), deflate: true, declaredSize: 10 }]));
    await assert.rejects(small.run(pluginInput(dir, liar)), ImportPluginError);
  });

  for (const tool of ['xz', 'bzip2'] as const) {
    const skip = hasTool(tool) ? false : `${tool} is not installed`;
    test(`${tool}: 64 MiB of zeros stops at the limit`, { skip }, async () => {
      const input = pluginInput(dir, write(`bomb-${tool}`, compressWith(tool, Buffer.alloc(64 * MiB))));
      await expectRefusal(small.run(input), 'too_large');
      assert.deepEqual(readdirSync(input.workDir), []);
    });
  }
});

describe('ZstdFrameGuard', () => {
  const frame = Buffer.concat([zstdHeader(), zstdBlock(0, 3, false, Buffer.from('abc')), zstdBlock(1, 9, true, Buffer.from('q'))]);

  test('walks frames and skippable frames in any chunking', () => {
    const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('xyz')]);
    const stream = Buffer.concat([frame, skippable, frame]);
    for (const size of [1, 2, 5, stream.length]) {
      const guard = new ZstdFrameGuard();
      for (let i = 0; i < stream.length; i += size) guard.update(stream.subarray(i, i + size));
      guard.finish();
    }
  });

  test('single-segment frames are judged by their content size', () => {
    const guard = new ZstdFrameGuard(1000);
    // descriptor: single segment, 2-byte content size (flag 1) = 2000 - 256
    guard.update(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x60]));
    assert.throws(() => guard.update(Buffer.from([(2000 - 256) & 0xff, (2000 - 256) >> 8])), /window/);
  });

  test('random and mutated input: only ZstdFrameError, never a crash or a hang', () => {
    let seed = 12345;
    const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const started = Date.now();
    for (let round = 0; round < 2000; round += 1) {
      const input = Buffer.from(frame);
      for (let flips = rand() % 4; flips >= 0; flips -= 1) input[rand() % input.length] = rand() & 0xff;
      const guard = new ZstdFrameGuard();
      try {
        guard.update(round % 2 === 0 ? input : Buffer.from(Array.from({ length: rand() % 64 }, () => rand() & 0xff)));
        guard.finish();
      } catch (err) {
        assert.ok(err instanceof ZstdFrameError, String(err));
      }
    }
    assert.ok(Date.now() - started < 5000);
  });

  test('truncation, junk and reserved bits are refused', () => {
    const cut = new ZstdFrameGuard();
    cut.update(frame.subarray(0, frame.length - 1));
    assert.throws(() => cut.finish(), /truncated/);
    assert.throws(() => new ZstdFrameGuard().update(Buffer.from('not zstd')), /not a zstd frame/);
    assert.throws(() => new ZstdFrameGuard().update(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08])), /reserved/);
    assert.throws(() => new ZstdFrameGuard().finish(), /truncated/);
  });
});
