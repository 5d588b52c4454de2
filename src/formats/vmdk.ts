// VMware VMDK. Two shapes reach an upload:
//   - a hosted sparse extent ('KDMV', little-endian): 0 magic · 4 version (1–3) · 8 flags
//     · 12 capacity in sectors (u64) · 20 grain · 28 descriptor offset in sectors (u64; must be 1,
//     i.e. 0x200, as qemu and oslo.utils require) · 36 descriptor size in sectors (u64)
//     · 44 GTEs per GT · 48 redundant GD · 56 GD offset (u64; all ones = "see the footer", the
//     streamOptimized layout). The text descriptor (≤ 1 MiB - 1, NUL-padded) follows at 0x200.
//   - a bare text descriptor (monolithicFlat, twoGbMaxExtent*, vmfs…): every extent is another file.
// qemu opens whatever the descriptor names (CVE-2022-47951: `RW 1 FLAT "/etc/passwd" 0`), and
// takes `parentFileNameHint` as a backing file for any sparse VMDK.
//
// Checks:
//   descriptor   (oslo.utils) a descriptor exists, is ASCII, has a createType that is in
//                `vmdk_allowed_types`, every line is a comment, `ddb…`, `key=value` or an extent
//                (`RW|RDONLY|NOACCESS …`), and at least one extent is declared. oslo.utils also
//                hard-codes monolithicSparse/streamOptimized; here the operator's list decides, and
//                the extent rules below keep any other type from naming files.
//   extents      (oslo.utils: no '/' in an extent line) plus, in Glimpse: no '\\'; a sparse file
//                declares exactly one extent (itself); a bare descriptor is refused outright, since
//                its extents can only be files on the host that opens it.
//   backing_file (Glimpse) a `parentFileNameHint` is present — qemu follows it; oslo.utils does not look.
//   footer       (oslo.utils) for GD-at-end files: the last 1536 bytes hold a footer marker, a copy
//                of the header that agrees with the first one (signature, version, descriptor) and
//                does not defer again, and an end-of-stream marker.
// VMDK3 ('COWD') is recognised so it cannot pass as raw, and refused (descriptor check).
// Virtual size: capacity × 512 for monolithicSparse/streamOptimized (the footer's copy when the
// header defers to it); unknown otherwise.

import { hasBytes, u32le, u64le, u64leBig } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const DESC_OFFSET = 0x200;
const DESC_MAX = (1 << 20) - 1;
const SPARSE_HEADER = 64;
const GD_AT_END = 0xffffffffffffffffn;
const SELF_CONTAINED = new Set(['monolithicsparse', 'streamoptimized']);
const EXTENT_ACCESS = new Set(['rw', 'rdonly', 'noaccess']);

type Failures = Record<string, string>;

export function detectVmdk(data: FinishedData, allowedTypes: string[]): Finding | null {
  const h = data.head;
  if (hasBytes(h, 0, 'COWD')) {
    return { format: 'vmdk', virtualSize: null, failures: { descriptor: 'VMDK3 (COWD) images are not supported' } };
  }
  if (hasBytes(h, 0, 'KDMV')) return detectSparse(data, allowedTypes);
  return detectDescriptorOnly(h, allowedTypes);
}

function detectSparse(data: FinishedData, allowedTypes: string[]): Finding {
  const h = data.head;
  const failures: Failures = {};
  const unsafe = (reason: string): Finding => ({ format: 'vmdk', virtualSize: null, failures: { descriptor: reason } });
  if (h.length < SPARSE_HEADER) return unsafe('VMDK sparse header is truncated');
  const version = u32le(h, 4) ?? 0;
  if (version < 1 || version > 3) return unsafe(`Unsupported VMDK version ${version}`);
  if (u64leBig(h, 28) !== 1n) return unsafe('Wrong descriptor location');
  const sectors = u64leBig(h, 36) ?? 0n;
  const length = sectors * 512n > BigInt(DESC_MAX) ? DESC_MAX : Number(sectors) * 512;
  if (h.length < DESC_OFFSET + length) return unsafe('VMDK descriptor is truncated');
  const descriptor = cutAtNul(h.subarray(DESC_OFFSET, DESC_OFFSET + length));
  const { createType } = checkDescriptor(descriptor, true, allowedTypes, failures);

  let capacity = u64le(h, 12);
  if (u64leBig(h, 56) === GD_AT_END) {
    const footer = checkFooter(h, data);
    if (typeof footer === 'string') failures.footer = footer;
    else capacity = footer.capacity;
  }
  const virtualSize = createType !== null && SELF_CONTAINED.has(createType) && capacity !== null
    && capacity <= Number.MAX_SAFE_INTEGER / 512 ? capacity * 512 : null;
  return { format: 'vmdk', virtualSize, failures };
}

function detectDescriptorOnly(h: Buffer, allowedTypes: string[]): Finding | null {
  const start = h.subarray(0, Math.min(512, h.length));
  if (start.length === 0 || !start.every((b) => (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d))) return null;
  const descriptor = cutAtNul(h.subarray(0, Math.min(h.length, DESC_MAX)));
  if (!descriptor.toString('latin1').toLowerCase().includes('createtype="')) return null;
  const failures: Failures = {};
  checkDescriptor(descriptor, false, allowedTypes, failures);
  return { format: 'vmdk', virtualSize: null, failures };
}

function cutAtNul(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** Applies the descriptor, extents and backing_file checks; returns the createType (lower case). */
function checkDescriptor(raw: Buffer, embedded: boolean, allowedTypes: string[], failures: Failures): { createType: string | null } {
  if (raw.length === 0) {
    failures.descriptor = 'No descriptor found';
    return { createType: null };
  }
  if (raw.some((b) => b > 0x7f)) {
    failures.descriptor = 'VMDK descriptor is not ASCII text';
    return { createType: null };
  }
  const text = raw.toString('latin1').toLowerCase();
  const createType = findCreateType(text);
  const allowed = new Set(allowedTypes.map((t) => t.toLowerCase()));
  if (createType === null) failures.descriptor = 'VMDK descriptor has no createType';
  else if (!allowed.has(createType)) failures.descriptor = `VMDK createType ${createType} is not allowed`;

  const extents: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#') || line.startsWith('ddb')) continue;
    const eq = line.indexOf('=');
    if (eq >= 0 && !line.slice(0, eq).includes(' ')) continue;
    if (EXTENT_ACCESS.has(line.split(' ')[0] ?? '')) extents.push(line);
    else failures.descriptor ??= 'Invalid VMDK descriptor data';
  }
  if (extents.length === 0) failures.descriptor ??= 'No extents found';
  if (extents.some((e) => e.includes('/') || e.includes('\\'))) failures.extents = 'Invalid extent filenames found';
  else if (!embedded && extents.length > 0) failures.extents = 'Descriptor-only VMDK refers to external extent files';
  else if (embedded && extents.length > 1) failures.extents = 'Sparse VMDK declares more than one extent';
  if (text.includes('parentfilenamehint')) failures.backing_file = 'VMDK names a parent file';
  return { createType };
}

function findCreateType(text: string): string | null {
  const key = 'createtype="';
  const at = text.indexOf(key);
  if (at < 0) return null;
  const end = text.indexOf('"', at + key.length);
  if (end < 0 || end - (at + key.length) >= 64) return null;
  return text.slice(at + key.length, end);
}

/** Validates the streamOptimized footer; returns its capacity or the reason it is invalid. */
function checkFooter(h: Buffer, data: FinishedData): { capacity: number | null } | string {
  if (data.totalBytes < 1536 || data.tail.length < 1536) return 'Footer is missing';
  const tail = data.tail.subarray(data.tail.length - 1536);
  const footer = tail.subarray(512, 1024);
  if (!hasBytes(footer, 0, 'KDMV')) return 'Header and footer signature do not match';
  if (u32le(footer, 4) !== u32le(h, 4)) return 'Header and footer versions do not match';
  if (u64leBig(footer, 28) !== u64leBig(h, 28) || u64leBig(footer, 36) !== u64leBig(h, 36)) {
    return 'Footer specifies a different descriptor than header';
  }
  if (u64leBig(footer, 56) === GD_AT_END) return 'Footer indicates another footer';
  const zeroPad = (b: Buffer): boolean => b.subarray(16, 512).every((x) => x === 0);
  const marker = tail.subarray(0, 512);
  if (u32le(marker, 8) !== 0 || u32le(marker, 12) !== 3 || !zeroPad(marker)) return 'Footer marker is invalid';
  const eos = tail.subarray(1024, 1536);
  if (u64leBig(eos, 0) !== 0n || u32le(eos, 8) !== 0 || u32le(eos, 12) !== 0 || !zeroPad(eos)) {
    return 'End-of-stream marker is invalid';
  }
  return { capacity: u64le(footer, 12) };
}
