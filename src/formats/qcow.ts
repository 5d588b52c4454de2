// QEMU formats: qcow2 (and v1 "qcow", which shares the magic) and QED.
//
// qcow2 header, big-endian (qemu docs/interop/qcow2.txt):
//   0 magic 'QFI\xfb' · 4 version · 8 backing_file_offset (u64) · 16 backing_file_size (u32)
//   20 cluster_bits · 24 size (u64, virtual size in bytes) · … · 72 end of the v2 header
//   v3: 72 incompatible_features (u64) · 80 compatible · 88 autoclear · 96 refcount_order
//       100 header_length (u32); header extensions follow the header, up to the end of cluster 0.
// Incompatible feature bits: 0 dirty, 1 corrupt, 2 external data file, 3 compression type,
// 4 extended L2 entries. Like oslo.utils, only bits 0–3 are accepted; anything else is unknown
// to us and refused, because qemu would interpret it in ways we cannot vet.
//
// Safety (CVE-2022-47951 and the 2015 bug 1471912: backing files; CVE-2024-32498: data files):
//   backing_file      a backing file is named (offset or size non-zero) → qemu would open a host path
//   data_file         incompatible bit 2, or an external-data-file header extension (0x44415441)
//   unknown_features  version other than 2/3, a truncated header, or unknown incompatible bits
//
// Differences from oslo.utils (stricter): oslo only recognises qcow2 once 512 bytes arrived, so a
// tiny crafted qcow2 passes there as raw; here the magic plus a header qemu would accept is enough,
// and a truncated one is still qcow2 (and unsafe). The data-file extension is checked too.

import { hasBytes, u32be, u64be, u64beBig, u64le } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const QCOW_MAGIC = 'QFI\xfb';
const V2_HEADER = 72;
const V3_MIN_HEADER = 104;
const DATA_FILE_BIT = 0x04n;
const KNOWN_INCOMPATIBLE = 0x0fn;
const EXT_END = 0;
const EXT_DATA_FILE = 0x44415441;
const MAX_EXTENSIONS = 1024;

export function detectQcow2(data: FinishedData): Finding | null {
  const h = data.head;
  if (!hasBytes(h, 0, QCOW_MAGIC)) return null;
  const failures: Record<string, string> = {};
  const version = u32be(h, 4);
  if (version === null || h.length < V2_HEADER) {
    failures.unknown_features = 'qcow2 header is truncated';
    return { format: 'qcow2', virtualSize: null, failures };
  }
  const backingOffset = u64beBig(h, 8) ?? 0n;
  const backingSize = u32be(h, 16) ?? 0;
  if (backingOffset !== 0n || backingSize !== 0) failures.backing_file = 'Image has a backing file';

  if (version === 3) {
    const incompatible = u64beBig(h, 72);
    const headerLength = u32be(h, 100);
    if (incompatible === null || headerLength === null || headerLength < V3_MIN_HEADER) {
      failures.unknown_features = 'qcow2 v3 header is truncated';
    } else {
      if (incompatible & DATA_FILE_BIT) failures.data_file = 'Image has data_file set';
      if (incompatible & ~KNOWN_INCOMPATIBLE) failures.unknown_features = 'Unknown QCOW2 features found';
    }
    if (!failures.data_file && hasDataFileExtension(h, headerLength ?? V3_MIN_HEADER)) {
      failures.data_file = 'Image has an external data file extension';
    }
  } else if (version === 2) {
    if (hasDataFileExtension(h, V2_HEADER)) failures.data_file = 'Image has an external data file extension';
  } else {
    failures.unknown_features = `Unsupported qcow2 version ${version}`;
  }
  return { format: 'qcow2', virtualSize: u64be(h, 24), failures };
}

/** Walks the header extensions of cluster 0 (as far as the head reaches) looking for a data file name. */
function hasDataFileExtension(h: Buffer, start: number): boolean {
  const clusterBits = u32be(h, 20) ?? 16;
  const clusterEnd = clusterBits >= 9 && clusterBits <= 21 ? 2 ** clusterBits : 65536;
  let offset = start;
  for (let i = 0; i < MAX_EXTENSIONS && offset + 8 <= Math.min(clusterEnd, h.length); i += 1) {
    const type = u32be(h, offset);
    const length = u32be(h, offset + 4);
    if (type === null || length === null || type === EXT_END) return false;
    if (type === EXT_DATA_FILE) return true;
    offset += 8 + Math.ceil(length / 8) * 8;
  }
  return false;
}

// QED ('QED\0', little-endian; image_size u64 at 48) is identified only to be refused: no OpenStack
// consumer supports it and it can name a backing file (oslo.utils marks it "banned").
export function detectQed(data: FinishedData): Finding | null {
  const h = data.head;
  if (!hasBytes(h, 0, 'QED\0')) return null;
  return { format: 'qed', virtualSize: u64le(h, 48), failures: { banned: 'This file format is not allowed' } };
}
