// Bounds-checked readers over captured bytes. Image headers are attacker-controlled, so every read
// answers null instead of throwing when the field lies outside what was captured, and 64-bit values
// beyond Number.MAX_SAFE_INTEGER (8 PiB) are reported as null rather than rounded.

export const KiB = 1024;
export const MiB = 1024 * KiB;

function fits(buf: Buffer, offset: number, length: number): boolean {
  return Number.isInteger(offset) && offset >= 0 && offset + length <= buf.length;
}

export function u16le(buf: Buffer, offset: number): number | null {
  return fits(buf, offset, 2) ? buf.readUInt16LE(offset) : null;
}

export function u16be(buf: Buffer, offset: number): number | null {
  return fits(buf, offset, 2) ? buf.readUInt16BE(offset) : null;
}

export function u32le(buf: Buffer, offset: number): number | null {
  return fits(buf, offset, 4) ? buf.readUInt32LE(offset) : null;
}

export function u32be(buf: Buffer, offset: number): number | null {
  return fits(buf, offset, 4) ? buf.readUInt32BE(offset) : null;
}

export function u64leBig(buf: Buffer, offset: number): bigint | null {
  return fits(buf, offset, 8) ? buf.readBigUInt64LE(offset) : null;
}

export function u64beBig(buf: Buffer, offset: number): bigint | null {
  return fits(buf, offset, 8) ? buf.readBigUInt64BE(offset) : null;
}

/** A 64-bit count as a safe JS number, or null if absent or too large to be exact. */
export function safeNumber(value: bigint | null): number | null {
  if (value === null || value > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(value);
}

export function u64le(buf: Buffer, offset: number): number | null {
  return safeNumber(u64leBig(buf, offset));
}

export function u64be(buf: Buffer, offset: number): number | null {
  return safeNumber(u64beBig(buf, offset));
}

/** True when `buf` holds exactly `magic` (a latin1 string or bytes) at `offset`. */
export function hasBytes(buf: Buffer, offset: number, magic: string | Buffer): boolean {
  const want = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
  if (!fits(buf, offset, want.length)) return false;
  return buf.subarray(offset, offset + want.length).equals(want);
}

/** The 16 on-disk bytes of a Microsoft GUID: the first three groups little-endian, the rest as written. */
export function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`bad GUID ${guid}`);
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.from(raw);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  return out;
}

/** A virtual size worth reporting: a positive safe integer, else null. */
export function positiveOrNull(n: number | null): number | null {
  return n !== null && Number.isSafeInteger(n) && n > 0 ? n : null;
}
