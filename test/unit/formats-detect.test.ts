// Format recognition and virtual size (src/formats), each image fed in 1-byte, 7-byte, 64 KiB and
// mixed chunks to prove the inspector does not depend on chunk boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createInspector, MAX_RETAINED_BYTES } from '../../src/formats/index.ts';
import { HEAD_BYTES, StreamCapture, TAIL_BYTES } from '../../src/formats/capture.ts';
import {
  CHUNKINGS, KiB, MiB, defaultOptions, gpt, inspect, iso, luks, mbr, qcow2, qed, vdi, vhdDynamic, vhdFixed, vhdx, vmdkSparse,
} from './formats-images.ts';

function expectEverywhere(image: Buffer, format: string, virtualSize: number | null, failures: string[] = []): void {
  for (const chunking of CHUNKINGS) {
    const r = inspect(image, chunking);
    const label = `${format} in chunks of ${JSON.stringify(chunking)}`;
    assert.equal(r.format, format, label);
    assert.equal(r.virtualSize, virtualSize, label);
    assert.deepEqual(r.safetyFailures, failures, `${label}: ${JSON.stringify(r.safetyDetails)}`);
    assert.equal(r.totalBytes, image.length, label);
  }
}

test('raw: anything unrecognised is raw with its byte count as virtual size', () => {
  expectEverywhere(Buffer.alloc(10 * KiB, 0x41), 'raw', 10 * KiB);
  expectEverywhere(Buffer.from('hello'), 'raw', 5);
  const empty = createInspector({ vmdkAllowedTypes: [] }).finish(0);
  assert.equal(empty.format, 'raw');
  assert.equal(empty.virtualSize, 0);
});

test('qcow2 v2 and v3: size field from the header', () => {
  expectEverywhere(qcow2({ version: 3, size: 1n << 30n }), 'qcow2', 1 << 30);
  expectEverywhere(qcow2({ version: 2, size: 123456789n * 512n }), 'qcow2', 123456789 * 512);
  // Dirty (bit 0), corrupt (bit 1) and compression-type (bit 3) are known bits: still safe.
  expectEverywhere(qcow2({ incompatible: 0b1011n }), 'qcow2', 1 << 30);
});

test('qcow2: a virtual size beyond 2^53 is reported unknown rather than rounded', () => {
  expectEverywhere(qcow2({ size: (1n << 60n) + 1n }), 'qcow2', null);
});

test('vhd: dynamic disk (footer copy at the start), current size', () => {
  expectEverywhere(vhdDynamic(20n * BigInt(MiB)), 'vhd', 20 * MiB);
});

test('vhd: a fixed disk (footer only at the end) is raw by default, as in Glance, qemu and Nova', () => {
  expectEverywhere(vhdFixed(Buffer.alloc(64 * KiB, 0x11)), 'raw', 64 * KiB + 512);
  const partitioned = vhdFixed(mbr([{ type: 0x83, startLba: 2048, sectors: 100 }], 64 * KiB));
  assert.equal(inspect(partitioned).format, 'gpt');
});

test('vhd: with detectFixedVhd the end footer is recognised, even when the disk holds a partition table', () => {
  const options = { ...defaultOptions, detectFixedVhd: true };
  for (const chunking of CHUNKINGS) {
    const r = inspect(vhdFixed(Buffer.alloc(64 * KiB, 0x11)), chunking, options);
    assert.equal(r.format, 'vhd');
    assert.equal(r.virtualSize, 64 * KiB);
  }
  const partitioned = vhdFixed(mbr([{ type: 0x83, startLba: 2048, sectors: 100 }], 64 * KiB));
  const r = inspect(partitioned, 65536, options);
  assert.equal(r.format, 'vhd');
  assert.deepEqual([...r.candidates].sort(), ['gpt', 'vhd']);
  // A broken checksum means no VHD.
  const img = vhdFixed(Buffer.alloc(8 * KiB));
  img.writeUInt8(img.readUInt8(img.length - 412) ^ 0xff, img.length - 412);
  assert.equal(inspect(img, 7, options).format, 'raw');
});

test('vhdx: metadata region after the head; size item found through two dynamic regions', () => {
  expectEverywhere(vhdx({ size: 7n << 30n }), 'vhdx', 7 * 2 ** 30);
});

test('vhdx: metadata region inside the head, and a size item inside the metadata table', () => {
  expectEverywhere(vhdx({ metadataOffset: 256 * KiB, size: 3n << 30n }), 'vhdx', 3 * 2 ** 30);
  expectEverywhere(vhdx({ metadataOffset: 2 * MiB, sizeItemOffset: 4 * KiB, size: 1n << 40n }), 'vhdx', 2 ** 40);
});

test('vhdx: truncated before the metadata → vhdx with unknown size', () => {
  expectEverywhere(vhdx().subarray(0, 300 * KiB), 'vhdx', null);
});

test('vdi: signature at 0x40, size at 0x170', () => {
  expectEverywhere(vdi(8n * BigInt(MiB)), 'vdi', 8 * MiB);
  expectEverywhere(vdi(8n * BigInt(MiB)).subarray(0, 400), 'raw', 400);
});

test('iso: primary volume descriptor gives blocks × block size; boot record first is fine', () => {
  expectEverywhere(iso(40), 'iso', 40 * 2048);
  expectEverywhere(iso(64, { bootRecordFirst: true }), 'iso', 64 * 2048);
});

test('iso + MBR/GPT in the system area (hybrid ISO) is an ISO, as Glance decides', () => {
  const hybrid = iso(80, { systemArea: gpt({ length: 32 * KiB }).subarray(0, 32 * KiB) });
  const r = inspect(hybrid);
  assert.equal(r.format, 'iso');
  assert.deepEqual(r.candidates.sort(), ['gpt', 'iso']);
  assert.deepEqual(r.safetyFailures, []);
});

test('gpt: protective MBR and header; plain MBR disks are gpt too; virtual size = bytes', () => {
  expectEverywhere(gpt(), 'gpt', 128 * KiB);
  expectEverywhere(gpt({ sector: 4096, length: 256 * KiB }), 'gpt', 256 * KiB);
  expectEverywhere(mbr([{ boot: 0x80, type: 0x83, startLba: 2048, sectors: 4096 }]), 'gpt', 64 * KiB);
});

test('a FAT boot sector is not mistaken for an MBR', () => {
  const fat = mbr([], 16 * KiB);
  fat[0x10] = 2;
  fat[0x15] = 0xf8;
  expectEverywhere(fat, 'raw', 16 * KiB);
});

test('vmdk monolithicSparse: capacity from the sparse header', () => {
  expectEverywhere(vmdkSparse(), 'vmdk', 2097152 * 512);
});

test('vmdk streamOptimized with the grain directory at the end: footer validated', () => {
  expectEverywhere(vmdkSparse({ footer: 'valid', capacitySectors: 4096n }), 'vmdk', 4096 * 512);
});

test('luks v1: payload after the header', () => {
  const img = luks();
  expectEverywhere(img, 'luks', img.length - 4096 * 512);
});

test('qed is recognised (and banned)', () => {
  expectEverywhere(qed(), 'qed', 10 * MiB, ['banned']);
});

test('memory stays bounded on a large stream', () => {
  const inspector = createInspector({ vmdkAllowedTypes: [] });
  const chunk = Buffer.alloc(256 * KiB, 0x5a);
  for (let i = 0; i < 40; i += 1) {
    inspector.update(chunk);
    assert.ok(inspector.retainedBytes <= MAX_RETAINED_BYTES);
  }
  assert.ok(inspector.retainedBytes <= MiB + 64 * KiB, `retained ${inspector.retainedBytes}`);
  assert.equal(inspector.finish(40 * 256 * KiB).format, 'raw');
});

test('contract: finish() checks the byte count; no use after finish', () => {
  const inspector = createInspector({ vmdkAllowedTypes: [] });
  inspector.update(Buffer.alloc(10));
  assert.throws(() => inspector.finish(11), /saw 10 bytes/);
  assert.throws(() => inspector.update(Buffer.alloc(1)), /after finish/);
});

test('capture: the tail ring and late regions behave at chunk boundaries', () => {
  const cap = new StreamCapture();
  const data = Buffer.alloc(HEAD_BYTES + 8000);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 31) & 0xff;
  let offset = 0;
  for (const n of [1, 1535, 1537, 7, HEAD_BYTES, 3000]) {
    cap.push(data.subarray(offset, offset + n));
    offset += n;
    const keep = Math.min(offset, TAIL_BYTES);
    assert.ok(cap.tailBytes().equals(data.subarray(offset - keep, offset)), `tail after ${offset}`);
  }
  assert.ok(cap.headBytes().equals(data.subarray(0, HEAD_BYTES)));
  // Bytes still in the head can be asked for late; bytes past the head and gone cannot.
  const early = cap.addRegion(100, 16);
  assert.ok(early?.complete && early.data.equals(data.subarray(100, 116)));
  const gone = cap.addRegion(HEAD_BYTES + 10, 16);
  assert.equal(gone?.lost, true);
  assert.equal(cap.addRegion(0, 1 << 20), null, 'over the region budget');
});
