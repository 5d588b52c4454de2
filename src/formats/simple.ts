// Formats recognised from one fixed header, with nothing host-facing to check.
//
// VirtualBox VDI (qemu block/vdi.c), little-endian, 512-byte header: signature 0xbeda107f at 0x40,
// disk size (u64) at 0x170. Like oslo.utils, a match needs the whole 512-byte header.
//
// LUKS v1 (cryptsetup on-disk format), big-endian: 'LUKS\xba\xbe' · version (u16 at 6) · …
// payload offset in 512-byte sectors (u32 at 104). The virtual size is what follows the header.
// Safety: version — only LUKS1 is understood (as oslo.utils). Without a passphrase the payload is
// opaque, which is also oslo.utils' behaviour.

import { hasBytes, u16be, u32be, u32le, u64le } from './bytes.ts';
import type { FinishedData, Finding } from './types.ts';

const VDI_SIGNATURE = 0xbeda107f;

export function detectVdi(data: FinishedData): Finding | null {
  const h = data.head;
  if (h.length < 512 || u32le(h, 0x40) !== VDI_SIGNATURE) return null;
  return { format: 'vdi', virtualSize: u64le(h, 0x170), failures: {} };
}

export function detectLuks(data: FinishedData): Finding | null {
  const h = data.head;
  if (!hasBytes(h, 0, Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]))) return null;
  const failures: Record<string, string> = {};
  const version = u16be(h, 6);
  if (version !== 1) failures.version = `LUKS version ${version ?? '(truncated)'} is not supported`;
  const payloadSectors = u32be(h, 104);
  const payload = payloadSectors === null ? null : data.totalBytes - payloadSectors * 512;
  return { format: 'luks', virtualSize: payload !== null && payload >= 0 ? payload : null, failures };
}
