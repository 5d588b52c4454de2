// Microsoft VHDX (MS-VHDX), little-endian. The path to the virtual size:
//   0          file identifier 'vhdxfile'
//   192 KiB    region table: 'regi' · checksum · entry count (u32 at +8, < 2048); entries of 32 bytes
//              from +16: GUID · file offset (u64) · length (u32) · required (u32)
//   metadata region (the entry whose GUID is METADATA_REGION): table header 'metadata' · reserved ·
//              entry count (u16 at +10, < 2048); entries of 32 bytes from +32: item GUID · offset (u32,
//              from the region start) · length (u32) · flags
//   "virtual disk size" item: a u64.
// The metadata region may lie anywhere in the file (qemu and Hyper-V put it at 1–2 MiB or later), so
// once the region table has streamed past we ask the capture for the 64 KiB metadata table, and from
// the table for the 8-byte item — no more than oslo.utils keeps.
//
// Safety: parent — a Parent Locator metadata item marks a differencing disk, which names its parent
// by path (qemu refuses such images today; refusing them here does not depend on that).
// Problems in the structures (bad signatures, absurd counts) leave the format vhdx with an unknown
// virtual size, as oslo.utils does.

import { guidBytes, hasBytes, u16le, u32le, u64le, KiB } from './bytes.ts';
import type { Region, StreamCapture } from './capture.ts';
import type { FinishedData, Finding } from './types.ts';

const IDENT = 'vhdxfile';
const REGION_TABLE = 192 * KiB;
const REGION_TABLE_SIZE = 64 * KiB;
const MAX_ENTRIES = 2048;
const METADATA_TABLE_SIZE = 32 * MAX_ENTRIES;
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const PARENT_LOCATOR = guidBytes('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');

export class VhdxProbe {
  private metadataOffset = -1;
  private table: Region | null = null;
  private tableParsed = false;
  private sizeItem: Region | null = null;
  private sizeItemOffset = -1;
  private virtualSize: number | null = null;
  private hasParent = false;

  attach(cap: StreamCapture): void {
    cap.at(REGION_TABLE + REGION_TABLE_SIZE, () => this.onRegionTable(cap));
  }

  detect(data: FinishedData): Finding | null {
    if (!hasBytes(data.head, 0, IDENT)) return null;
    if (this.table && !this.tableParsed) this.parseTable(null);
    if (this.virtualSize === null && this.sizeItem?.complete) this.virtualSize = u64le(this.sizeItem.data, 0);
    const failures: Record<string, string> = {};
    if (this.hasParent) failures.parent = 'Differencing VHDX refers to a parent file';
    return { format: 'vhdx', virtualSize: this.virtualSize, failures };
  }

  private onRegionTable(cap: StreamCapture): void {
    const head = cap.headBytes();
    if (!hasBytes(head, 0, IDENT) || !hasBytes(head, REGION_TABLE, 'regi')) return;
    const count = u32le(head, REGION_TABLE + 8);
    if (count === null || count >= MAX_ENTRIES) return;
    for (let i = 0; i < count; i += 1) {
      const entry = REGION_TABLE + 16 + 32 * i;
      if (!hasBytes(head, entry, METADATA_REGION)) continue;
      const offset = u64le(head, entry + 16);
      if (offset === null) return;
      this.metadataOffset = offset;
      this.table = cap.addRegion(offset, METADATA_TABLE_SIZE, () => this.parseTable(cap));
      return;
    }
  }

  /** Reads the metadata table (complete, or whatever arrived when the stream ended: cap is null). */
  private parseTable(cap: StreamCapture | null): void {
    const table = this.table;
    if (!table || this.tableParsed) return;
    this.tableParsed = true;
    const bytes = table.bytes;
    if (!hasBytes(bytes, 0, 'metadata')) return;
    const count = u16le(bytes, 10);
    if (count === null || count >= MAX_ENTRIES) return;
    for (let i = 0; i < count; i += 1) {
      const entry = 32 + 32 * i;
      if (entry + 32 > bytes.length) break;
      if (hasBytes(bytes, entry, PARENT_LOCATOR)) this.hasParent = true;
      if (!hasBytes(bytes, entry, VIRTUAL_DISK_SIZE) || this.sizeItemOffset >= 0) continue;
      const itemOffset = u32le(bytes, entry + 16);
      if (itemOffset === null) continue;
      this.sizeItemOffset = this.metadataOffset + itemOffset;
      if (itemOffset + 8 <= bytes.length) this.virtualSize = u64le(bytes, itemOffset);
      else if (cap) this.sizeItem = cap.addRegion(this.sizeItemOffset, 8);
    }
  }
}
