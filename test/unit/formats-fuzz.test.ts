// Fuzzing the format inspector: random bytes, random lengths, random chunkings, and mutated valid
// images. It must never throw, always give a well-formed result, and never hold more memory than
// MAX_RETAINED_BYTES. Each test runs under a timeout, so an input that made the inspector loop
// forever fails the run instead of hanging it (the inspector's work is linear in the bytes it is given).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createInspector, MAX_RETAINED_BYTES, type InspectionResult } from '../../src/formats/index.ts';
import {
  KiB, MiB, gpt, iso, luks, mbr, qcow2, qed, vdi, vhdDynamic, vhdFixed, vhdx, vmdkDescriptor, vmdkSparse,
} from './formats-images.ts';
import { prng } from '../helpers/prng.ts';

/** A hang guard, not a timing assertion: generous on a loaded machine. */
const FUZZ_LIMIT = { timeout: 120_000 };


const FORMATS = new Set(['raw', 'qcow2', 'qed', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso', 'gpt', 'luks', 'ambiguous']);

function feedRandomly(image: Buffer, random: () => number, allowedTypes: string[] = ['monolithicSparse']): InspectionResult {
  const inspector = createInspector({ vmdkAllowedTypes: allowedTypes, detectFixedVhd: random() < 0.5 });
  let offset = 0;
  while (offset < image.length) {
    const pick = random();
    const n = pick < 0.2 ? 1 : pick < 0.5 ? 1 + Math.floor(random() * 16) : 1 + Math.floor(random() * 128 * KiB);
    inspector.update(image.subarray(offset, offset + n));
    offset += n;
    assert.ok(inspector.retainedBytes <= MAX_RETAINED_BYTES, `retained ${inspector.retainedBytes}`);
  }
  const r = inspector.finish(image.length);
  assert.ok(FORMATS.has(r.format), `unexpected format ${r.format} (${r.inspectionError ?? ''})`);
  assert.equal(r.inspectionError, undefined);
  assert.equal(r.totalBytes, image.length);
  assert.ok(r.virtualSize === null || (Number.isSafeInteger(r.virtualSize) && r.virtualSize >= 0));
  assert.ok(Array.isArray(r.safetyFailures));
  return r;
}

function randomBytes(random: () => number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) b[i] = Math.floor(random() * 256);
  return b;
}

test('random bytes of varying lengths never throw and stay within the memory bound', FUZZ_LIMIT, () => {
  const random = prng(20250101);
  const lengths = [0, 1, 3, 4, 7, 63, 64, 511, 512, 513, 1535, 1536, 4096, 34 * KiB, 70 * KiB, 300 * KiB];
  for (let i = 0; i < 60; i += 1) lengths.push(Math.floor(random() * 80 * KiB));
  for (const length of lengths) feedRandomly(randomBytes(random, length), random);
});

test('random bytes behind every known magic never throw', FUZZ_LIMIT, () => {
  const random = prng(7);
  const magics: Array<[number, Buffer]> = [
    [0, Buffer.from('QFI\xfb', 'latin1')], [0, Buffer.from('QED\0', 'latin1')], [0, Buffer.from('KDMV')],
    [0, Buffer.from('COWD')], [0, Buffer.from('conectix')], [0, Buffer.from('vhdxfile')],
    [0x40, Buffer.from([0x7f, 0x10, 0xda, 0xbe])], [0, Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe])],
    [0x8001, Buffer.from('CD001')], [0x8001, Buffer.from('NSR02')], [510, Buffer.from([0x55, 0xaa])],
    [0, Buffer.from('createType="monolithicSparse"\n')],
  ];
  for (const [at, magic] of magics) {
    for (const length of [at + magic.length, at + 64, at + 600, at + 3000, 40 * KiB]) {
      for (let round = 0; round < 4; round += 1) {
        const img = randomBytes(random, Math.max(length, at + magic.length));
        magic.copy(img, at);
        feedRandomly(img, random);
      }
    }
  }
});

test('mutated valid images (header bytes flipped, truncated) never throw', FUZZ_LIMIT, () => {
  const random = prng(42);
  const seeds = [
    qcow2(), qcow2({ version: 2, backingFile: '/etc/passwd' }), qed(), vhdDynamic(1n << 30n), vhdFixed(Buffer.alloc(4 * KiB)),
    vhdx({ metadataOffset: 256 * KiB }), vdi(1n << 30n), luks(1, 8, 16 * KiB), iso(40), gpt(),
    mbr([{ type: 0x83, startLba: 1, sectors: 9 }]), vmdkSparse(), vmdkSparse({ footer: 'valid' }),
    Buffer.from(vmdkDescriptor('monolithicFlat', ['RW 1 FLAT "/etc/passwd" 0'])),
  ];
  for (const seed of seeds) {
    for (let round = 0; round < 12; round += 1) {
      const img = Buffer.from(seed);
      const flips = 1 + Math.floor(random() * 24);
      for (let f = 0; f < flips; f += 1) {
        // Mostly in the first KiB and the last 2 KiB, where the structures are.
        const zone = random();
        const at = zone < 0.6 ? Math.floor(random() * Math.min(1024, img.length))
          : zone < 0.8 ? img.length - 1 - Math.floor(random() * Math.min(2048, img.length))
            : Math.floor(random() * img.length);
        img[at] = Math.floor(random() * 256);
      }
      const cut = random() < 0.3 ? Math.floor(random() * img.length) : img.length;
      feedRandomly(img.subarray(0, cut), random);
    }
  }
});

test('the full VHDX walk under mutation never throws', FUZZ_LIMIT, () => {
  const random = prng(99);
  const seed = vhdx();
  const table = MiB;
  for (let round = 0; round < 8; round += 1) {
    const img = Buffer.from(seed);
    for (let f = 0; f < 8; f += 1) {
      const area = random() < 0.5 ? 192 * KiB + Math.floor(random() * 96) : table + Math.floor(random() * 128);
      img[area] = Math.floor(random() * 256);
    }
    feedRandomly(img, random);
  }
});
