// ISO 9660 / UDF optical images. The first 16 sectors of 2048 bytes are a system area (free for a
// boot loader: hybrid ISOs put an MBR/GPT there); the volume descriptor set starts at 32 KiB.
// Each descriptor: type (1 byte) · standard identifier (5 bytes at +1) · version · data.
//   ISO 9660: identifier 'CD001'; type 1 is the Primary Volume Descriptor, type 255 ends the set.
//     PVD: volume space size in blocks (u32 LE at +80, both-endian field), logical block size
//     (u16 LE at +128, both-endian field). Virtual size = blocks × block size.
//   UDF: 'BEA01' opens an extended area, then 'NSR02'/'NSR03', then 'TEA01'.
// oslo.utils looks at sector 16 only (and sizes it only when it holds the PVD); here the whole
// descriptor set within the head is searched — boot records or a UDF bridge may come first.
// A UDF-only image has no PVD, so its virtual size is unknown (null), as in oslo.utils.
// An ISO may legitimately carry a partition table in its system area: `contains: ['gpt']` — the
// same choice Glance makes ("ISO+GPT, allowing as ISO").

import { hasBytes, u16le, u32le, KiB } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const SECTOR = 2 * KiB;
const FIRST = 16;
/** Descriptor sets are short; do not walk further than this many sectors. */
const LAST = FIRST + 64;

export function detectIso(data: FinishedData): Finding | null {
  const h = data.head;
  let recognised = false;
  let virtualSize: number | null = null;
  for (let sector = FIRST; sector < LAST; sector += 1) {
    const at = sector * SECTOR;
    if (at + SECTOR > h.length) break;
    const type = h[at];
    if (hasBytes(h, at + 1, 'CD001')) {
      recognised = true;
      if (type === 1 && virtualSize === null) {
        const blocks = u32le(h, at + 80);
        const blockSize = u16le(h, at + 128);
        if (blocks !== null && blockSize !== null) virtualSize = blocks * blockSize;
      }
      if (type === 255) break;
    } else if (hasBytes(h, at + 1, 'NSR02') || hasBytes(h, at + 1, 'NSR03')) {
      recognised = true;
    } else if (!hasBytes(h, at + 1, 'BEA01') && !hasBytes(h, at + 1, 'TEA01') && !hasBytes(h, at + 1, 'BOOT2')
      && !hasBytes(h, at + 1, 'CDW02')) {
      // Not a volume descriptor: the set is over.
      break;
    }
  }
  if (!recognised) return null;
  return { format: 'iso', virtualSize, failures: {}, contains: ['gpt'] };
}
