// The memory-bounded window the inspector keeps on an upload stream. It retains:
//   - the head: the first HEAD_BYTES of the stream (every format's fixed-offset structures live there:
//     qcow2/vdi/vhd/luks headers, the VMDK descriptor at 0x200 of up to 1 MiB - 1, the VHDX region
//     table at 192 KiB, ISO volume descriptors from 32 KiB, the MBR and the GPT header);
//   - the tail: the last TAIL_BYTES (the VHD footer, the streamOptimized VMDK footer + end marker);
//   - regions: small windows at offsets only known once earlier bytes were parsed (the VHDX metadata
//     table and its virtual-disk-size item), limited to REGION_BUDGET in total.
// Chunks are copied, never referenced, so the caller may reuse its buffers.

import { KiB, MiB } from './bytes.ts';

/** The VMDK embedded descriptor ends at most at 0x200 + (1 MiB - 1); nothing else needs more. */
export const HEAD_BYTES = MiB + 512;
/** Footer marker + footer + end-of-stream marker of a streamOptimized VMDK (3 × 512); covers the VHD footer. */
export const TAIL_BYTES = 1536;
/** The VHDX metadata table (2048 × 32 bytes) plus a few small items. */
export const REGION_BUDGET = 64 * KiB + 4 * KiB;
/** Upper bound of bytes retained by one inspector, whatever the input. */
export const MAX_RETAINED_BYTES = HEAD_BYTES + TAIL_BYTES + REGION_BUDGET;

export class Region {
  readonly data: Buffer;
  /** Bytes captured so far, contiguous from the region's start. */
  filled = 0;
  /** Part of the region had already streamed past, unretained, when it was asked for. */
  lost = false;
  notified = false;

  constructor(readonly offset: number, readonly length: number, readonly onComplete?: () => void) {
    this.data = Buffer.alloc(length);
  }

  get complete(): boolean {
    return !this.lost && this.filled === this.length;
  }

  /** The captured prefix. */
  get bytes(): Buffer {
    return this.data.subarray(0, this.filled);
  }

  /** Copies the part of [from, from + src.length) that continues the captured prefix. */
  take(src: Buffer, from: number): void {
    if (this.lost || this.filled === this.length) return;
    const want = this.offset + this.filled;
    const end = Math.min(this.offset + this.length, from + src.length);
    if (from > want || end <= want) return;
    src.copy(this.data, this.filled, want - from, end - from);
    this.filled = end - this.offset;
  }
}

interface Trigger { at: number; fn: () => void }

export class StreamCapture {
  position = 0;
  private head = Buffer.alloc(0);
  private headLength = 0;
  private readonly ring = Buffer.alloc(TAIL_BYTES);
  private regions: Region[] = [];
  private regionBytes = 0;
  private triggers: Trigger[] = [];
  private nextTrigger = Infinity;
  private current: Buffer | null = null;
  private currentStart = 0;

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const start = this.position;
    this.keepHead(chunk);
    this.keepTail(chunk);
    this.position += chunk.length;
    for (const region of this.regions) region.take(chunk, start);
    this.current = chunk;
    this.currentStart = start;
    try {
      this.fireEvents();
    } finally {
      this.current = null;
    }
  }

  /** Runs `fn` once the stream has reached `offset` (while the chunk that reached it is still at hand). */
  at(offset: number, fn: () => void): void {
    this.triggers.push({ at: offset, fn });
    this.nextTrigger = Math.min(this.nextTrigger, offset);
  }

  /**
   * Starts capturing [offset, offset + length). Bytes already streamed are taken from the head or the
   * current chunk; if some are gone the region is marked lost. Null when the budget would be exceeded.
   */
  addRegion(offset: number, length: number, onComplete?: () => void): Region | null {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0) return null;
    if (this.regionBytes + length > REGION_BUDGET) return null;
    const region = new Region(offset, length, onComplete);
    this.regionBytes += length;
    region.take(this.head.subarray(0, this.headLength), 0);
    if (this.current) region.take(this.current, this.currentStart);
    if (region.filled < region.length && region.offset + region.filled < this.position) region.lost = true;
    this.regions.push(region);
    return region;
  }

  /** The retained first bytes of the stream. */
  headBytes(): Buffer {
    return this.head.subarray(0, this.headLength);
  }

  /** The last min(position, TAIL_BYTES) bytes, in order. */
  tailBytes(): Buffer {
    const size = Math.min(this.position, TAIL_BYTES);
    const out = Buffer.alloc(size);
    const end = this.position % TAIL_BYTES;
    // The ring holds stream byte p at index p % TAIL_BYTES.
    const first = (end - size + TAIL_BYTES) % TAIL_BYTES;
    if (first + size <= TAIL_BYTES) this.ring.copy(out, 0, first, first + size);
    else {
      const n = TAIL_BYTES - first;
      this.ring.copy(out, 0, first, TAIL_BYTES);
      this.ring.copy(out, n, 0, size - n);
    }
    return out;
  }

  /** Bytes of memory held (for audits and the memory-bound tests). */
  get retainedBytes(): number {
    return this.head.length + this.ring.length + this.regionBytes;
  }

  private keepHead(chunk: Buffer): void {
    if (this.headLength >= HEAD_BYTES) return;
    const n = Math.min(chunk.length, HEAD_BYTES - this.headLength);
    const need = this.headLength + n;
    if (need > this.head.length) {
      let capacity = Math.max(this.head.length, 4 * KiB);
      while (capacity < need) capacity *= 2;
      const grown = Buffer.alloc(Math.min(capacity, HEAD_BYTES));
      this.head.copy(grown, 0, 0, this.headLength);
      this.head = grown;
    }
    chunk.copy(this.head, this.headLength, 0, n);
    this.headLength = need;
  }

  private keepTail(chunk: Buffer): void {
    const skip = Math.max(0, chunk.length - TAIL_BYTES);
    let p = this.position + skip;
    let i = skip;
    while (i < chunk.length) {
      const at = p % TAIL_BYTES;
      const n = Math.min(TAIL_BYTES - at, chunk.length - i);
      chunk.copy(this.ring, at, i, i + n);
      i += n;
      p += n;
    }
  }

  /** Fires reached triggers and newly complete regions until neither produces more. */
  private fireEvents(): void {
    for (let round = 0; round < 64; round += 1) {
      let fired = false;
      if (this.nextTrigger <= this.position) {
        const due = this.triggers.filter((t) => t.at <= this.position);
        this.triggers = this.triggers.filter((t) => t.at > this.position);
        this.nextTrigger = Math.min(Infinity, ...this.triggers.map((t) => t.at));
        for (const t of due) t.fn();
        fired = true;
      }
      for (const region of this.regions) {
        if (!region.notified && region.complete) {
          region.notified = true;
          region.onComplete?.();
          fired = true;
        }
      }
      if (!fired) return;
    }
  }
}
