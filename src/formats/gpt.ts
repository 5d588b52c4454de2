// Partitioned disks: a legacy MBR, or a GPT behind its protective MBR. Like oslo.utils both are
// reported as 'gpt' (GPT is a superset of the MBR layout; qemu calls either "raw").
//
// MBR (sector 0): four 16-byte partition entries from 446 — boot flag · start CHS (3) · type ·
// end CHS (3) · start LBA (u32 LE) · sector count (u32 LE) — and the signature 0x55 0xAA at 510.
// A FAT volume boot record has the same signature; it is told apart, as in oslo.utils, by two FATs
// (byte 0x10) and the fixed-disk media descriptor 0xF8 (byte 0x15), and is then not a match.
//
// Checks (names are what `gpt_safety_checks_nonfatal` lists):
//   mbr         (oslo.utils) every boot flag is 0x00 or 0x80; at least one partition is defined; a
//               protective entry (type 0xEE) starts at CHS 0/2/0 and LBA 1 and is the only entry,
//               in slot 0.
//   gpt_header  (Glimpse) with a protective entry, the GPT header must be there: 'EFI PART' at
//               LBA 1 (512- or 4096-byte sectors), a header size of 92 bytes up to one sector,
//               and "my LBA" = 1. oslo.utils does not read the header at all; a protective MBR
//               without a GPT is a malformed disk, and operators can make this check non-fatal.
// Virtual size: the byte count, as for raw.

import { hasBytes, u16le, u32le, u64le } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const PTE_START = 446;
const PROTECTIVE = 0xee;

export function detectGpt(data: FinishedData): Finding | null {
  const h = data.head;
  if (h.length < 512 || u16le(h, 510) !== 0xaa55) return null;
  if (h[0x10] === 2 && h[0x15] === 0xf8) return null;
  const failures: Record<string, string> = {};
  const mbr = checkMbr(h);
  if (mbr) failures.mbr = mbr;
  if (hasProtectiveEntry(h)) {
    const header = checkGptHeader(h);
    if (header) failures.gpt_header = header;
  }
  return { format: 'gpt', virtualSize: data.totalBytes, failures };
}

function hasProtectiveEntry(h: Buffer): boolean {
  for (let i = 0; i < 4; i += 1) if (h[PTE_START + 16 * i + 4] === PROTECTIVE) return true;
  return false;
}

function checkMbr(h: Buffer): string | null {
  const defined: number[] = [];
  let protective = false;
  for (let i = 0; i < 4; i += 1) {
    const e = PTE_START + 16 * i;
    const boot = h[e];
    const type = h[e + 4];
    if (boot !== 0x00 && boot !== 0x80) return `MBR partition entry ${i} has an invalid boot flag`;
    if (type !== 0) defined.push(i);
    if (type === PROTECTIVE) {
      protective = true;
      if (h[e + 1] !== 0x00 || h[e + 2] !== 0x02 || h[e + 3] !== 0x00) return 'GPT protective MBR has an invalid start CHS';
      if (u32le(h, e + 8) !== 1) return 'GPT protective MBR has an invalid start LBA';
    }
  }
  if (protective && (defined.length !== 1 || defined[0] !== 0)) return 'GPT protective MBR defines other partitions';
  if (defined.length === 0) return 'MBR has no partitions defined';
  return null;
}

function checkGptHeader(h: Buffer): string | null {
  for (const sector of [512, 4096]) {
    if (!hasBytes(h, sector, 'EFI PART')) continue;
    const size = u32le(h, sector + 12);
    if (size === null || size < 92 || size > sector) return 'GPT header has an invalid size';
    if (u64le(h, sector + 24) !== 1) return 'GPT header does not describe itself at LBA 1';
    return null;
  }
  return 'Protective MBR without a GPT header at LBA 1';
}
