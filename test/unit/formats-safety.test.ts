// Safety checks of the format inspector (src/formats): the attacks from Glance's security history
// (CVE-2022-47951 / OSSA-2023-002, CVE-2024-32498 / OSSA-2024-001, bug 1471912) and the GPT/MBR
// strictness, each fed in several chunkings.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { judgeUpload } from '../../src/formats/index.ts';
import {
  CHUNKINGS, KiB, defaultOptions, gpt, inspect, iso, mbr, qcow2, vhdDynamic, vhdx, vmdkDescriptor, vmdkSparse,
} from './formats-images.ts';
import type { InspectorOptions } from '../../src/formats/index.ts';

function failuresOf(image: Buffer, options: InspectorOptions = defaultOptions): { format: string; failures: string[] } {
  let first: { format: string; failures: string[] } | undefined;
  for (const chunking of CHUNKINGS) {
    const r = inspect(image, chunking, options);
    const seen = { format: r.format, failures: [...r.safetyFailures].sort() };
    if (first) assert.deepEqual(seen, first, `chunking ${JSON.stringify(chunking)}`);
    first ??= seen;
  }
  return first!;
}

test('qcow2 with a backing file pointing at a host path is unsafe', () => {
  assert.deepEqual(failuresOf(qcow2({ backingFile: '/etc/passwd' })), { format: 'qcow2', failures: ['backing_file'] });
  assert.deepEqual(failuresOf(qcow2({ version: 2, backingFile: '/etc/shadow' })), { format: 'qcow2', failures: ['backing_file'] });
});

test('qcow2 with the external data-file feature bit, or a data-file header extension, is unsafe', () => {
  assert.deepEqual(failuresOf(qcow2({ incompatible: 0x04n })), { format: 'qcow2', failures: ['data_file'] });
  assert.deepEqual(failuresOf(qcow2({ dataFileExtension: '/etc/passwd' })), { format: 'qcow2', failures: ['data_file'] });
});

test('qcow2 with unknown incompatible features or an unknown version is unsafe', () => {
  assert.deepEqual(failuresOf(qcow2({ incompatible: 0x10n })), { format: 'qcow2', failures: ['unknown_features'] });
  assert.deepEqual(failuresOf(qcow2({ incompatible: 1n << 40n })), { format: 'qcow2', failures: ['unknown_features'] });
  assert.deepEqual(failuresOf(qcow2({ version: 1 })), { format: 'qcow2', failures: ['unknown_features'] });
});

test('a tiny truncated qcow2 is still qcow2 (and unsafe), so it cannot pass as raw', () => {
  const tiny = qcow2({ backingFile: '/etc/passwd' }).subarray(0, 40);
  assert.deepEqual(failuresOf(tiny), { format: 'qcow2', failures: ['unknown_features'] });
});

test('vmdk: a bare descriptor whose FLAT extent is /etc/passwd is refused (CVE-2022-47951)', () => {
  const text = Buffer.from(vmdkDescriptor('monolithicFlat', ['RW 1 FLAT "/etc/passwd" 0']));
  assert.deepEqual(failuresOf(text), { format: 'vmdk', failures: ['descriptor', 'extents'] });
  // Even if the operator allowed monolithicFlat, the extent names a host file.
  const lax = { vmdkAllowedTypes: ['monolithicFlat'] };
  assert.deepEqual(failuresOf(text, lax), { format: 'vmdk', failures: ['extents'] });
  // Relative names are still files on the host that opens the descriptor.
  const relative = Buffer.from(vmdkDescriptor('monolithicFlat', ['RW 1 FLAT "disk-flat.vmdk" 0']));
  assert.deepEqual(failuresOf(relative, lax), { format: 'vmdk', failures: ['extents'] });
  // A minimal one-liner below 64 bytes is caught too.
  const short = Buffer.from('createType="monolithicFlat"\nRW 1 FLAT "/etc/passwd" 0\n');
  assert.deepEqual(failuresOf(short), { format: 'vmdk', failures: ['descriptor', 'extents'] });
});

test('vmdk: a sparse file whose embedded descriptor names /etc/passwd or several extents is refused', () => {
  assert.deepEqual(failuresOf(vmdkSparse({ extents: ['RW 2048 SPARSE "/etc/passwd"'] })),
    { format: 'vmdk', failures: ['extents'] });
  assert.deepEqual(failuresOf(vmdkSparse({ extents: ['RW 2048 SPARSE "a.vmdk"', 'RW 2048 SPARSE "b.vmdk"'] })),
    { format: 'vmdk', failures: ['extents'] });
  assert.deepEqual(failuresOf(vmdkSparse({ extents: ['RW 2048 SPARSE "..\\..\\etc\\passwd"'] })),
    { format: 'vmdk', failures: ['extents'] });
});

test('vmdk: a createType outside vmdk_allowed_types is refused', () => {
  assert.deepEqual(failuresOf(vmdkSparse({ createType: 'monolithicFlat' })), { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse(), { vmdkAllowedTypes: ['streamOptimized'] }), { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse(), { vmdkAllowedTypes: [] }), { format: 'vmdk', failures: ['descriptor'] });
  // Case does not matter, as in Glance.
  assert.deepEqual(failuresOf(vmdkSparse(), { vmdkAllowedTypes: ['MONOLITHICSPARSE'] }), { format: 'vmdk', failures: [] });
});

test('vmdk: a descriptor with CRLF line endings and comments is fine', () => {
  const text = vmdkDescriptor('monolithicSparse', ['RW 2097152 SPARSE "disk.vmdk"']).replace(/\n/g, '\r\n');
  assert.deepEqual(failuresOf(vmdkSparse({ descriptorText: text })), { format: 'vmdk', failures: [] });
});

test('vmdk: parentFileNameHint (qemu follows it as a backing file) is refused', () => {
  const img = vmdkSparse({ extra: ['parentFileNameHint="/etc/passwd"'] });
  assert.deepEqual(failuresOf(img), { format: 'vmdk', failures: ['backing_file'] });
});

test('vmdk: unparseable descriptors, bad headers and broken stream footers are refused', () => {
  assert.deepEqual(failuresOf(vmdkSparse({ descriptorText: 'createType="monolithicSparse"\nwhat is this\nRW 1 SPARSE "x"\n' })),
    { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse({ descriptorText: '' })), { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse({ descriptorSector: 7n })), { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse({ version: 9 })), { format: 'vmdk', failures: ['descriptor'] });
  assert.deepEqual(failuresOf(vmdkSparse({ footer: 'missing' })), { format: 'vmdk', failures: ['footer'] });
  assert.deepEqual(failuresOf(vmdkSparse({ footer: 'mismatched' })), { format: 'vmdk', failures: ['footer'] });
  assert.deepEqual(failuresOf(Buffer.concat([Buffer.from('COWD'), Buffer.alloc(2048)])), { format: 'vmdk', failures: ['descriptor'] });
});

test('vhd differencing disks and vhdx disks with a parent locator are refused', () => {
  assert.deepEqual(failuresOf(vhdDynamic(1n << 30n, 4)), { format: 'vhd', failures: ['disk_type'] });
  assert.deepEqual(failuresOf(vhdx({ parent: true })), { format: 'vhdx', failures: ['parent'] });
});

test('GPT with an invalid protective MBR is refused unless the check is made non-fatal', () => {
  const extra = gpt({ extra: [{ type: 0x83, startLba: 100, sectors: 10 }] });
  assert.deepEqual(failuresOf(extra), { format: 'gpt', failures: ['mbr'] });
  const r = inspect(extra, 65536, { ...defaultOptions, gptSafetyChecksNonfatal: ['mbr'] });
  assert.deepEqual(r.safetyFailures, []);
  assert.deepEqual(r.safetyWarnings, ['mbr']);
  assert.equal(judgeUpload('raw', r, { requireFormatMatch: true }).ok, true);

  const badBoot = mbr([{ boot: 0x81, type: 0x83, startLba: 2048, sectors: 10 }]);
  assert.deepEqual(failuresOf(badBoot), { format: 'gpt', failures: ['mbr'] });
  assert.deepEqual(failuresOf(mbr([])), { format: 'gpt', failures: ['mbr'] });
  const badStart = mbr([{ type: 0xee, startLba: 2, sectors: 100 }]);
  assert.deepEqual(failuresOf(badStart), { format: 'gpt', failures: ['gpt_header', 'mbr'] });
  assert.deepEqual(failuresOf(gpt({ header: false })), { format: 'gpt', failures: ['gpt_header'] });
});

test('one header hidden behind another is ambiguous, and each candidate is still safety-checked', () => {
  const img = qcow2({ backingFile: '/etc/passwd', length: 64 * KiB });
  img[510] = 0x55;
  img[511] = 0xaa;
  const r = inspect(img);
  assert.equal(r.format, 'ambiguous');
  assert.deepEqual([...r.candidates].sort(), ['gpt', 'qcow2']);
  assert.ok(r.safetyFailures.includes('qcow2.backing_file'));
  assert.equal(r.virtualSize, null);
  // Refused even where Glance would let it through (require_image_format_match off).
  assert.deepEqual(judgeUpload('raw', r, { requireFormatMatch: false }), { ok: false, reason: 'unsafe', failures: r.safetyFailures });
});

test('an ISO hiding a bad MBR is judged as an ISO (Glance does not check the MBR then)', () => {
  const system = mbr([{ boot: 0x81, type: 0x83, startLba: 1, sectors: 1 }], 32 * KiB);
  const r = inspect(iso(64, { systemArea: system }));
  assert.equal(r.format, 'iso');
  assert.deepEqual(r.safetyFailures, []);
});
