// Synthetic disk images for the format-inspector tests, built byte by byte from the published
// layouts (qcow2.txt, VHD/VHDX specs, VMDK spec, ECMA-119, UEFI GPT). Only the structures an
// inspector reads are filled in; the rest is zeros. No binary fixtures are shipped.
import { createInspector, type InspectionResult, type InspectorOptions } from '../../src/formats/index.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const defaultOptions: InspectorOptions = { vmdkAllowedTypes: ['streamOptimized', 'monolithicSparse'] };

/** Feeds `image` to a new inspector in chunks of `chunkSize` bytes (a list cycles through sizes). */
export function inspect(image: Buffer, chunkSize: number | number[] = 65536,
  options: InspectorOptions = defaultOptions): InspectionResult {
  const sizes = Array.isArray(chunkSize) ? chunkSize : [chunkSize];
  const inspector = createInspector(options);
  let offset = 0;
  for (let i = 0; offset < image.length; i += 1) {
    const n = sizes[i % sizes.length] ?? 1;
    inspector.update(image.subarray(offset, offset + n));
    offset += n;
  }
  return inspector.finish(image.length);
}

export const CHUNKINGS: Array<number | number[]> = [1, 7, 65536, [3, 4093, 512, 65536, 1]];

// ---------------------------------------------------------------- qcow2 / qed

export interface QcowSpec {
  version?: number;
  size?: bigint;
  backingFile?: string;
  incompatible?: bigint;
  dataFileExtension?: string;
  length?: number;
}

export function qcow2(spec: QcowSpec = {}): Buffer {
  const version = spec.version ?? 3;
  const img = Buffer.alloc(spec.length ?? 4 * KiB);
  img.write('QFI\xfb', 0, 'latin1');
  img.writeUInt32BE(version, 4);
  img.writeUInt32BE(16, 20); // cluster_bits: 64 KiB clusters
  img.writeBigUInt64BE(spec.size ?? 1n * BigInt(1 << 30), 24);
  let ext = version === 3 ? 104 : 72;
  if (version === 3) {
    img.writeBigUInt64BE(spec.incompatible ?? 0n, 72);
    img.writeUInt32BE(4, 96); // refcount_order
    img.writeUInt32BE(104, 100); // header_length
  }
  if (spec.dataFileExtension) {
    const name = Buffer.from(spec.dataFileExtension);
    img.writeUInt32BE(0x44415441, ext);
    img.writeUInt32BE(name.length, ext + 4);
    name.copy(img, ext + 8);
    ext += 8 + Math.ceil(name.length / 8) * 8;
  }
  img.writeUInt32BE(0, ext); // end of extensions
  if (spec.backingFile) {
    const at = 1024;
    img.writeBigUInt64BE(BigInt(at), 8);
    img.writeUInt32BE(img.write(spec.backingFile, at), 16);
  }
  return img;
}

export function qed(): Buffer {
  const img = Buffer.alloc(4 * KiB);
  img.write('QED\0', 0, 'latin1');
  img.writeUInt32LE(64 * KiB, 4);
  img.writeBigUInt64LE(10n * BigInt(MiB), 48);
  return img;
}

// ---------------------------------------------------------------- vhd

export function vhdFooter(diskType: number, currentSize: bigint, originalSize = currentSize): Buffer {
  const f = Buffer.alloc(512);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8);
  f.writeUInt32BE(0x00010000, 12);
  f.writeBigUInt64BE(diskType === 2 ? 0xffffffffffffffffn : 512n, 16);
  f.write('qemu', 28, 'latin1');
  f.writeBigUInt64BE(originalSize, 40);
  f.writeBigUInt64BE(currentSize, 48);
  f.writeUInt32BE(diskType, 60);
  let sum = 0;
  for (const b of f) sum += b;
  f.writeUInt32BE((~sum) >>> 0, 64);
  return f;
}

/** Dynamic (type 3) or differencing (type 4): footer copy, dynamic header, BAT, footer. */
export function vhdDynamic(size: bigint, diskType = 3): Buffer {
  const footer = vhdFooter(diskType, size);
  const dyn = Buffer.alloc(1024);
  dyn.write('cxsparse', 0, 'latin1');
  dyn.writeBigUInt64BE(0xffffffffffffffffn, 8);
  dyn.writeBigUInt64BE(1536n, 16);
  const bat = Buffer.alloc(512, 0xff);
  return Buffer.concat([footer, dyn, bat, footer]);
}

/** Fixed (type 2): the raw disk followed by the footer. */
export function vhdFixed(disk: Buffer): Buffer {
  return Buffer.concat([disk, vhdFooter(2, BigInt(disk.length))]);
}

// ---------------------------------------------------------------- vhdx

function guid(text: string): Buffer {
  const raw = Buffer.from(text.replace(/-/g, ''), 'hex');
  const out = Buffer.from(raw);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  return out;
}

const BAT_REGION = guid('2DC27766-F623-4200-9D64-115E9BFD4A08');
const METADATA_REGION = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const FILE_PARAMETERS = guid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');
const VIRTUAL_DISK_SIZE = guid('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const PARENT_LOCATOR = guid('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');

export interface VhdxSpec {
  size?: bigint;
  metadataOffset?: number;
  /** Where the virtual-disk-size item sits, from the metadata region's start. */
  sizeItemOffset?: number;
  parent?: boolean;
}

export function vhdx(spec: VhdxSpec = {}): Buffer {
  const meta = spec.metadataOffset ?? MiB;
  const itemAt = spec.sizeItemOffset ?? 64 * KiB;
  const img = Buffer.alloc(Math.max(meta + itemAt + 4 * KiB, meta + 64 * KiB + 4 * KiB));
  img.write('vhdxfile', 0, 'latin1');
  const rt = 192 * KiB;
  img.write('regi', rt, 'latin1');
  img.writeUInt32LE(2, rt + 8);
  BAT_REGION.copy(img, rt + 16);
  img.writeBigUInt64LE(BigInt(meta + MiB), rt + 16 + 16);
  img.writeUInt32LE(MiB, rt + 16 + 24);
  METADATA_REGION.copy(img, rt + 48);
  img.writeBigUInt64LE(BigInt(meta), rt + 48 + 16);
  img.writeUInt32LE(MiB, rt + 48 + 24);
  img.writeUInt32LE(1, rt + 48 + 28);

  img.write('metadata', meta, 'latin1');
  const items: Array<[Buffer, number, number]> = [[FILE_PARAMETERS, itemAt + 8, 8], [VIRTUAL_DISK_SIZE, itemAt, 8]];
  if (spec.parent) items.push([PARENT_LOCATOR, itemAt + 16, 64]);
  img.writeUInt16LE(items.length, meta + 10);
  items.forEach(([id, offset, length], i) => {
    const e = meta + 32 + 32 * i;
    id.copy(img, e);
    img.writeUInt32LE(offset, e + 16);
    img.writeUInt32LE(length, e + 20);
  });
  img.writeBigUInt64LE(spec.size ?? 5n * BigInt(1 << 30), meta + itemAt);
  img.writeUInt32LE(32 * MiB, meta + itemAt + 8);
  return img;
}

// ---------------------------------------------------------------- vdi / luks

export function vdi(size: bigint): Buffer {
  const img = Buffer.alloc(2 * KiB);
  img.write('<<< Oracle VM VirtualBox Disk Image >>>\n', 0, 'latin1');
  img.writeUInt32LE(0xbeda107f, 0x40);
  img.writeUInt32LE(0x00010001, 0x44);
  img.writeBigUInt64LE(size, 0x170);
  return img;
}

export function luks(version = 1, payloadSectors = 4096, length = 4096 * 512 + 8192): Buffer {
  const img = Buffer.alloc(length);
  Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]).copy(img, 0);
  img.writeUInt16BE(version, 6);
  img.write('aes', 8, 'latin1');
  img.write('xts-plain64', 40, 'latin1');
  img.write('sha256', 72, 'latin1');
  img.writeUInt32BE(payloadSectors, 104);
  img.writeUInt32BE(64, 108);
  return img;
}

// ---------------------------------------------------------------- iso / mbr / gpt

export function iso(blocks: number, opts: { systemArea?: Buffer; bootRecordFirst?: boolean } = {}): Buffer {
  const img = Buffer.alloc(Math.max(blocks * 2048, 40 * KiB));
  opts.systemArea?.copy(img, 0);
  let sector = 16;
  if (opts.bootRecordFirst) {
    img[sector * 2048] = 0;
    img.write('CD001', sector * 2048 + 1, 'latin1');
    img[sector * 2048 + 6] = 1;
    img.write('EL TORITO SPECIFICATION', sector * 2048 + 7, 'latin1');
    sector += 1;
  }
  const pvd = sector * 2048;
  img[pvd] = 1;
  img.write('CD001', pvd + 1, 'latin1');
  img[pvd + 6] = 1;
  img.writeUInt32LE(blocks, pvd + 80);
  img.writeUInt32BE(blocks, pvd + 84);
  img.writeUInt16LE(2048, pvd + 128);
  img.writeUInt16BE(2048, pvd + 130);
  const term = (sector + 1) * 2048;
  img[term] = 255;
  img.write('CD001', term + 1, 'latin1');
  img[term + 6] = 1;
  return img;
}

export interface PartitionEntry { boot?: number; type: number; startChs?: [number, number, number]; startLba: number; sectors: number }

export function mbr(entries: PartitionEntry[], length = 64 * KiB): Buffer {
  const img = Buffer.alloc(length);
  entries.forEach((p, i) => {
    const e = 446 + 16 * i;
    img[e] = p.boot ?? 0;
    const [h, s, c] = p.startChs ?? [0, 2, 0];
    img[e + 1] = h; img[e + 2] = s; img[e + 3] = c;
    img[e + 4] = p.type;
    img[e + 5] = 0xfe; img[e + 6] = 0xff; img[e + 7] = 0xff;
    img.writeUInt32LE(p.startLba, e + 8);
    img.writeUInt32LE(p.sectors, e + 12);
  });
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

/** A GPT disk: protective MBR, primary header at LBA 1 (plus optional extra MBR entries). */
export function gpt(opts: { extra?: PartitionEntry[]; header?: boolean; length?: number; sector?: number } = {}): Buffer {
  const length = opts.length ?? 128 * KiB;
  const sector = opts.sector ?? 512;
  const img = mbr([{ type: 0xee, startLba: 1, sectors: length / 512 - 1 }, ...(opts.extra ?? [])], length);
  if (opts.header ?? true) {
    img.write('EFI PART', sector, 'latin1');
    img.writeUInt32LE(0x00010000, sector + 8);
    img.writeUInt32LE(92, sector + 12);
    img.writeBigUInt64LE(1n, sector + 24);
    img.writeBigUInt64LE(BigInt(length / sector - 1), sector + 32);
  }
  return img;
}

// ---------------------------------------------------------------- vmdk

export function vmdkDescriptor(createType: string, extents: string[], extra: string[] = []): string {
  return ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe', 'parentCID=ffffffff', `createType="${createType}"`, ...extra,
    '', '# Extent description', ...extents, '', '# The Disk Data Base', '#DDB', '', 'ddb.virtualHWVersion = "4"',
    'ddb.adapterType = "ide"', ''].join('\n');
}

export interface SparseSpec {
  createType?: string;
  extents?: string[];
  extra?: string[];
  capacitySectors?: bigint;
  descriptorSector?: bigint;
  version?: number;
  /** streamOptimized layout: GD offset "at end" and a footer + end-of-stream marker. */
  footer?: 'valid' | 'missing' | 'mismatched';
  descriptorText?: string;
}

function sparseHeader(spec: SparseSpec, gdOffset: bigint): Buffer {
  const h = Buffer.alloc(512);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(spec.version ?? (spec.footer ? 3 : 1), 4);
  h.writeUInt32LE(3, 8);
  h.writeBigUInt64LE(spec.capacitySectors ?? 2097152n, 12);
  h.writeBigUInt64LE(128n, 20);
  h.writeBigUInt64LE(spec.descriptorSector ?? 1n, 28);
  h.writeBigUInt64LE(20n, 36);
  h.writeUInt32LE(512, 44);
  h.writeBigUInt64LE(gdOffset, 56);
  return h;
}

export function vmdkSparse(spec: SparseSpec = {}): Buffer {
  const type = spec.createType ?? (spec.footer ? 'streamOptimized' : 'monolithicSparse');
  const text = spec.descriptorText ?? vmdkDescriptor(type, spec.extents ?? [`RW 2097152 SPARSE "disk.vmdk"`], spec.extra);
  const desc = Buffer.alloc(20 * 512);
  desc.write(text, 'latin1');
  const gdAtEnd = spec.footer !== undefined;
  const header = sparseHeader(spec, gdAtEnd ? 0xffffffffffffffffn : 21n);
  const body = Buffer.alloc(8 * KiB);
  if (!gdAtEnd || spec.footer === 'missing') return Buffer.concat([header, desc, body]);
  const marker = (type: number): Buffer => {
    const m = Buffer.alloc(512);
    m.writeBigUInt64LE(type === 3 ? 1n : 0n, 0);
    m.writeUInt32LE(type, 12);
    return m;
  };
  const footer = sparseHeader(spec.footer === 'mismatched' ? { ...spec, descriptorSector: 2n } : spec, 40n);
  return Buffer.concat([header, desc, body, marker(3), footer, marker(0)]);
}
