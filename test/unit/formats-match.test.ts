// require_image_format_match as Glance 2025.1+ applies it (glance/location.py set_data):
// formatMatches / virtualSizeFor / judgeUpload over real inspection results.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatMatches, judgeUpload, virtualSizeFor, type InspectionResult } from '../../src/formats/index.ts';
import { KiB, gpt, inspect, iso, qcow2, qed, vhdDynamic, vmdkSparse } from './formats-images.ts';

const rawBytes = Buffer.alloc(3 * KiB, 0x42);
const cleanQcow = qcow2({ size: 1n << 30n });
const strict = { requireFormatMatch: true };
const lax = { requireFormatMatch: false };

test('declared format equal to the detected one matches; virtual size from the format', () => {
  const r = inspect(cleanQcow);
  assert.equal(formatMatches('qcow2', r), true);
  assert.equal(virtualSizeFor('qcow2', r), 1 << 30);
  assert.deepEqual(judgeUpload('qcow2', r, strict), { ok: true, virtualSize: 1 << 30, mismatchIgnored: false, warnings: [] });
  assert.equal(virtualSizeFor('iso', inspect(iso(50))), 50 * 2048);
  assert.equal(virtualSizeFor('vhd', inspect(vhdDynamic(4n << 20n))), 4 << 20);
  assert.equal(virtualSizeFor('vmdk', inspect(vmdkSparse())), 2097152 * 512);
});

test('raw content declared raw: virtual size = bytes; an empty upload leaves it unset', () => {
  const r = inspect(rawBytes);
  assert.equal(formatMatches('raw', r), true);
  assert.equal(virtualSizeFor('raw', r), rawBytes.length);
  const empty = inspect(Buffer.alloc(0));
  assert.equal(formatMatches('raw', empty), true);
  assert.equal(virtualSizeFor('raw', empty), null);
});

test('raw content declared qcow2 (or any other inspectable format) is a mismatch → 415', () => {
  const r = inspect(rawBytes);
  for (const declared of ['qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso', 'gpt', 'luks', 'qed']) {
    assert.equal(formatMatches(declared, r), false, declared);
    assert.deepEqual(judgeUpload(declared, r, strict), { ok: false, reason: 'format_mismatch', failures: [] });
  }
  // With require_image_format_match off, the upload goes through without a virtual size.
  assert.deepEqual(judgeUpload('qcow2', r, lax), { ok: true, virtualSize: null, mismatchIgnored: true, warnings: [] });
});

test('raw content declared as an opaque format (ami, aki, ari, ploop) matches; virtual size stays unset', () => {
  const r = inspect(rawBytes);
  for (const declared of ['ami', 'aki', 'ari', 'ploop']) {
    assert.equal(formatMatches(declared, r), true, declared);
    assert.equal(virtualSizeFor(declared, r), null, declared);
  }
  // …but recognised content under an opaque name is a mismatch.
  assert.equal(formatMatches('ami', inspect(cleanQcow)), false);
});

test('qcow2 content declared raw: a mismatch (Glance accepts it; Glimpse refuses, decision 0008); safety checks still run', () => {
  const clean = inspect(cleanQcow);
  assert.equal(clean.format, 'qcow2');
  assert.equal(formatMatches('raw', clean), false);
  assert.deepEqual(judgeUpload('raw', clean, strict), { ok: false, reason: 'format_mismatch', failures: [] });
  assert.deepEqual(judgeUpload('raw', clean, lax), { ok: true, virtualSize: null, mismatchIgnored: true, warnings: [] });

  const evil = inspect(qcow2({ backingFile: '/etc/passwd' }));
  assert.equal(formatMatches('raw', evil), false);
  assert.deepEqual(judgeUpload('raw', evil, lax), { ok: false, reason: 'unsafe', failures: ['backing_file'] });
});

test('qcow2 content declared as another rich format is a mismatch', () => {
  const r = inspect(cleanQcow);
  assert.equal(formatMatches('vmdk', r), false);
  assert.equal(formatMatches('iso', r), false);
  assert.equal(virtualSizeFor('vmdk', r), null);
});

test('QED declared raw is a mismatch, and banned by its safety check whatever is declared', () => {
  assert.equal(formatMatches('raw', inspect(qed())), false);
  assert.deepEqual(judgeUpload('raw', inspect(qed()), strict), { ok: false, reason: 'unsafe', failures: ['banned'] });
  assert.deepEqual(judgeUpload('raw', inspect(qed()), lax), { ok: false, reason: 'unsafe', failures: ['banned'] });
});

test('an ISO with a GPT in front matches iso, and raw', () => {
  const r = inspect(iso(64, { systemArea: gpt({ length: 32 * KiB }).subarray(0, 32 * KiB) }));
  assert.equal(formatMatches('iso', r), true);
  assert.equal(formatMatches('raw', r), true);
  assert.equal(formatMatches('gpt', r), false);
});

test('ambiguous or failed inspection matches nothing, not even raw', () => {
  const base = { candidates: [], virtualSize: null, totalBytes: 10, safetyFailures: [], safetyWarnings: [], safetyDetails: {} };
  const ambiguous: InspectionResult = { ...base, format: 'ambiguous', candidates: ['qcow2', 'gpt'] };
  const failed: InspectionResult = { ...base, format: 'unknown', inspectionError: 'boom' };
  for (const r of [ambiguous, failed]) {
    assert.equal(formatMatches('raw', r), false);
    assert.equal(formatMatches('qcow2', r), false);
    assert.equal(virtualSizeFor('raw', r), null);
    assert.deepEqual(judgeUpload('raw', r, strict), { ok: false, reason: 'format_mismatch', failures: [] });
    assert.equal(judgeUpload('raw', r, lax).ok, true);
  }
});

test('a zero virtual size from a header is left unset, as Glance does', () => {
  const r = inspect(qcow2({ size: 0n }));
  assert.equal(r.virtualSize, 0);
  assert.equal(virtualSizeFor('qcow2', r), null);
});
