// The x-image-meta-* header codec (spec/v1.md §2.1, §2.2). Reading: names are case-insensitive,
// `-` and `_` are the same after the prefix, property keys are lowercased with `-` → `_`, an empty
// value means null, booleans parse leniently (`None` is false), everything is validated before any
// record is written. Writing: one header per non-null field, booleans as `True`/`False`, never the
// storage location.
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from '../../domain/errors.ts';
import type { Image } from '../../domain/image.ts';
import type { LegacyFields } from '../../services/legacy-images.ts';
import { legacyTime } from './views.ts';

const prefix = 'x-image-meta-';
const propertyPrefix = 'x-image-meta-property-';
const coreNames = new Set(['id', 'name', 'status', 'size', 'virtual_size', 'checksum', 'disk_format', 'container_format',
  'min_ram', 'min_disk', 'owner', 'is_public', 'protected', 'deleted', 'created_at', 'updated_at', 'deleted_at',
  'location', 'store', 'copy_from', 'uri']);
const amazonFormats = new Set(['aki', 'ari', 'ami']);
const uuidLike = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface ParsedMeta {
  fields: LegacyFields;
  location?: string;
  store?: string;
}

export interface FormatLists {
  diskFormats: string[];
  containerFormats: string[];
}

/** Node reads header bytes as Latin-1; clients send UTF-8 text, so valid UTF-8 is decoded as such. */
function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === undefined || !/[\x80-\xff]/.test(text)) return text;
  const decoded = Buffer.from(text, 'latin1').toString('utf8');
  return decoded.includes('\ufffd') ? text : decoded;
}

/** Glance's lenient boolean: true, 1, yes, on, y, t (any case); anything else, `None` included, is false. */
export function lenientBool(value: string | null): boolean {
  return value !== null && /^(true|1|yes|on|y|t)$/i.test(value.trim());
}

function integer(name: string, value: string | null, max = Number.MAX_SAFE_INTEGER): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (name === 'virtual_size' && text === 'None') return null;
  if (!/^[-+]?\d+$/.test(text)) {
    if (name === 'size') throw badRequest("Cannot convert image size '{value}' to an integer.", { value }, 'v1.bad_int');
    throw badRequest("Invalid value '{value}' for parameter '{name}'", { value, name }, 'v1.bad_int');
  }
  const n = Number(text);
  if (n < 0) throw badRequest("Invalid value '{value}' for parameter '{name}': Cannot be a negative value.", { value, name }, 'v1.negative');
  if (n > max) throw badRequest("'{name}' value out of range, must not exceed {max}", { name, max }, 'v1.out_of_range');
  return n;
}

function timestamp(name: string, value: string | null): Date | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)
    ? new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(text) || text.length <= 10 ? text.replace(' ', 'T') : `${text.replace(' ', 'T')}Z`)
    : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1900) {
    throw badRequest('Invalid time format for {name}.', { name }, 'v1.bad_time');
  }
  return date;
}

/** Reads and validates every x-image-meta-* header of a create or update request. */
export function parseImageMeta(headers: IncomingHttpHeaders, formats: FormatLists): ParsedMeta {
  const core = new Map<string, string | null>();
  const properties: Record<string, string> = {};
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (!name.startsWith(prefix)) continue;
    const text = single(rawValue) ?? '';
    const value = text === '' ? null : text;
    if (name.startsWith(propertyPrefix)) {
      properties[name.slice(propertyPrefix.length).replace(/-/g, '_')] = value ?? '';
      continue;
    }
    const key = name.slice(prefix.length).replace(/-/g, '_');
    if (!coreNames.has(key)) throw badRequest('Bad header: {header}', { header: name }, 'v1.bad_header');
    core.set(key, value);
  }
  const get = (key: string) => core.get(key);
  const has = (key: string) => core.has(key);
  const fields: LegacyFields = { properties };
  if (has('id')) {
    const id = get('id');
    if (id === null || id === undefined || !uuidLike.test(id)) throw badRequest('Invalid image id format', {}, 'v1.bad_id');
    fields.id = id;
  }
  if (has('name')) {
    const name = get('name') ?? null;
    if (name !== null && name.length > 255) {
      throw badRequest('Image name too long: {length}', { length: name.length }, 'v1.name_too_long');
    }
    fields.name = name;
  }
  if (has('status')) fields.status = get('status') ?? null;
  if (has('size')) fields.size = integer('size', get('size') ?? null);
  if (has('virtual_size')) fields.virtualSize = integer('virtual_size', get('virtual_size') ?? null);
  for (const key of ['min_ram', 'min_disk'] as const) {
    if (!has(key)) continue;
    const n = integer(key, get(key) ?? null, 2 ** 31 - 1);
    if (n !== null) fields[key === 'min_ram' ? 'minRam' : 'minDisk'] = n;
  }
  if (has('checksum')) {
    const checksum = get('checksum') ?? null;
    if (checksum !== null && checksum.length > 32) {
      throw badRequest("Invalid checksum '{checksum}': can't exceed 32 characters", { checksum }, 'v1.bad_checksum');
    }
    fields.checksum = checksum;
  }
  if (has('disk_format')) fields.diskFormat = get('disk_format') ?? null;
  if (has('container_format')) fields.containerFormat = get('container_format') ?? null;
  if (has('owner')) fields.owner = get('owner') ?? null;
  if (has('is_public')) fields.isPublic = lenientBool(get('is_public') ?? null);
  if (has('protected')) fields.protected = lenientBool(get('protected') ?? null);
  for (const key of ['created_at', 'updated_at'] as const) {
    const date = has(key) ? timestamp(key, get(key) ?? null) : undefined;
    if (date) fields[key === 'created_at' ? 'createdAt' : 'updatedAt'] = date;
  }
  if (has('deleted_at')) timestamp('deleted_at', get('deleted_at') ?? null);
  checkFormats(fields, formats);
  const parsed: ParsedMeta = { fields };
  if (has('location')) parsed.location = get('location') ?? '';
  if (has('store')) parsed.store = get('store') ?? '';
  return parsed;
}

function checkFormats(fields: LegacyFields, formats: FormatLists): void {
  const disk = fields.diskFormat;
  const container = fields.containerFormat;
  if (disk !== undefined && disk !== null && !formats.diskFormats.includes(disk)) {
    throw badRequest("Invalid disk format '{format}' for image.", { format: disk }, 'v1.bad_disk_format');
  }
  if (container !== undefined && container !== null && !formats.containerFormats.includes(container)) {
    throw badRequest("Invalid container format '{format}' for image.", { format: container }, 'v1.bad_container_format');
  }
  const amazonDisk = disk != null && amazonFormats.has(disk);
  const amazonContainer = container != null && amazonFormats.has(container);
  if (amazonDisk || amazonContainer) {
    if (disk == null) fields.diskFormat = container;
    else if (container == null) fields.containerFormat = disk;
    else if (disk !== container) {
      throw badRequest('Invalid mix of disk and container formats. When setting a disk or container format to one of '
        + "'aki', 'ari', or 'ami', the container and disk formats must match.", {}, 'v1.amazon_mix');
    }
  }
}

function pythonValue(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value instanceof Date) return legacyTime(value);
  return String(value);
}

/** The metadata headers of HEAD and GET /v1/images/{id}, plus ETag and the seed's x-image-meta-uri. */
export function imageMetaHeaders(image: Image, uri: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-image-meta-uri': uri };
  const core: [string, unknown][] = [
    ['id', image.id], ['name', image.name === null ? null : encodeHeaderValue(image.name)], ['status', image.status], ['size', image.size],
    ['virtual_size', image.virtualSize], ['disk_format', image.diskFormat], ['container_format', image.containerFormat],
    ['min_disk', image.minDisk], ['min_ram', image.minRam], ['is_public', image.visibility === 'public'],
    ['protected', image.protected], ['owner', image.owner], ['checksum', image.checksum],
    ['created_at', image.createdAt], ['updated_at', image.updatedAt], ['deleted_at', image.deletedAt],
    ['deleted', image.deleted],
  ];
  for (const [key, value] of core) if (value !== null && value !== undefined) headers[`${prefix}${key}`] = pythonValue(value);
  for (const [key, value] of Object.entries(image.properties)) {
    if (value !== null && value !== undefined) headers[`${propertyPrefix}${key.toLowerCase()}`] = encodeHeaderValue(value);
  }
  if (image.checksum) headers.etag = image.checksum;
  return headers;
}

/** Header values must be Latin-1 without control characters; anything else is sent UTF-8 encoded as Latin-1 text. */
export function encodeHeaderValue(value: string): string {
  const clean = value.replace(/[\r\n\0]/g, ' ');
  return /^[\x20-\x7e\x80-\xff\t]*$/.test(clean) ? clean : Buffer.from(clean, 'utf8').toString('latin1');
}
