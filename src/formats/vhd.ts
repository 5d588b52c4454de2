// Microsoft/Connectix VHD ("vpc" to qemu). The 512-byte big-endian footer:
//   0 cookie 'conectix' · 8 features · 12 format version · 16 data offset (u64; all ones when fixed)
//   40 original size (u64) · 48 current size (u64) · 56 geometry · 60 disk type (u32:
//   2 fixed, 3 dynamic, 4 differencing) · 64 checksum (one's complement of the byte sum, itself excluded)
// A dynamic/differencing disk keeps a copy of the footer at offset 0; a fixed disk is the raw
// disk followed by the footer only.
//
// Detection: 'conectix' at offset 0, as oslo.utils and qemu's probe do. A fixed disk (footer only
// at the end) is therefore raw by default — which is what Glance, qemu's probe and Nova's own
// inspector all say, so an image stored as disk_format=vhd is one Nova will accept. With
// `detectFixedVhd` a footer in the last 512 bytes with a valid checksum and disk type "fixed" is
// recognised too; a fixed disk's payload is a raw disk, so a partition table or an ISO found at
// its start belongs to it (`contains`).
//
// Virtual size: the footer's *current* size (offset 48), which is the disk's size today;
// oslo.utils reads the original size (offset 40), which differs only for resized disks.
//
// Safety: disk_type — a differencing disk (type 4) names its parent by host path; refused.

import { hasBytes, u32be, u64be } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const COOKIE = 'conectix';
const FOOTER = 512;
const FIXED = 2;
const DYNAMIC = 3;

export function footerChecksumValid(footer: Buffer): boolean {
  if (footer.length < FOOTER) return false;
  let sum = 0;
  for (let i = 0; i < FOOTER; i += 1) if (i < 64 || i >= 68) sum += footer[i] ?? 0;
  return ((~sum) >>> 0) === footer.readUInt32BE(64);
}

export function detectVhd(data: FinishedData, fixedFromFooter: boolean): Finding | null {
  if (hasBytes(data.head, 0, COOKIE)) return fromFooter(data.head.subarray(0, FOOTER), false);
  if (!fixedFromFooter || data.totalBytes < 2 * FOOTER || data.tail.length < FOOTER) return null;
  const footer = data.tail.subarray(data.tail.length - FOOTER);
  if (!hasBytes(footer, 0, COOKIE) || !footerChecksumValid(footer) || u32be(footer, 60) !== FIXED) return null;
  return fromFooter(footer, true);
}

function fromFooter(footer: Buffer, fixedAtEnd: boolean): Finding {
  const failures: Record<string, string> = {};
  const diskType = u32be(footer, 60);
  if (diskType !== null && diskType !== FIXED && diskType !== DYNAMIC) {
    failures.disk_type = diskType === 4 ? 'Differencing VHD refers to a parent file' : `Unsupported VHD disk type ${diskType}`;
  }
  const finding: Finding = { format: 'vhd', virtualSize: u64be(footer, 48), failures };
  if (fixedAtEnd) finding.contains = ['gpt', 'iso'];
  return finding;
}
