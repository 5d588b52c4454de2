// Image location rules (spec/v2.md §5.5, users-and-security.md §2 row 3): which URLs a caller may
// register, Glance's validation_data checks, and the legacy JSON-patch operations on `locations`.
// Pure: the data behind a new URL is read and hashed by the service beforehand (LocationProbe).
import { asDetail, badRequest, conflict, forbidden, payloadTooLarge } from './errors.ts';
import type { Image, ImageLocation } from './image.ts';

/** What the service learnt by reading the data behind a URL before it may be attached. */
export interface LocationProbe {
  url: string;
  /** Id of the store that serves the URL. */
  storeId: string;
  size: number;
  checksum: string;
  osHashAlgo: string;
  osHashValue: string;
}

export interface ValidationData {
  checksum?: string;
  os_hash_algo?: string;
  os_hash_value?: string;
}

/** A location as a client sends it (PATCH value or POST /locations body). */
export interface LocationInput {
  url: string;
  metadata: Record<string, unknown>;
  validationData?: ValidationData;
}

/**
 * Schemes a caller may never register: they name local files or the API node's own store
 * credentials (glance commit 7d3a1db3; swift+config reads credentials from the server's file).
 */
const localSchemes = new Set(['file', 'filesystem', 'swift+config', 'vsphere', 'rbd', 'cinder', 'sheepdog']);

export function invalidLocation() {
  return badRequest('Invalid location', {}, 'location.invalid');
}

/** The URL's scheme when it is one a caller may register, else 400 "Invalid location". */
export function assertRegistrableUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > 255) throw invalidLocation();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || localSchemes.has(scheme)) throw invalidLocation();
  return scheme;
}

/** A JSON value as a location, or 400 (Glance's schema: url string, metadata object, validation_data object). */
export function parseLocationInput(value: unknown): LocationInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidLocation();
  const v = value as Record<string, unknown>;
  const metadata = v.metadata ?? {};
  if (typeof v.url !== 'string' || typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalidLocation();
  }
  const input: LocationInput = { url: v.url, metadata: metadata as Record<string, unknown> };
  if (v.validation_data !== undefined) input.validationData = parseValidationData(v.validation_data);
  return input;
}

function parseValidationData(value: unknown): ValidationData {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidLocation();
  const out: ValidationData = {};
  for (const [key, v] of Object.entries(value)) {
    if (key !== 'checksum' && key !== 'os_hash_algo' && key !== 'os_hash_value') {
      throw badRequest('Additional properties are not allowed ({name} was unexpected)', { name: key }, 'location.validation_data');
    }
    if (typeof v !== 'string') throw invalidLocation();
    out[key] = v;
  }
  return out;
}

const validationKeys = ['checksum', 'os_hash_algo', 'os_hash_value'] as const;

function current(image: Image, key: (typeof validationKeys)[number]): string | null {
  return key === 'checksum' ? image.checksum : key === 'os_hash_algo' ? image.osHashAlgo : image.osHashValue;
}

/**
 * Glance's _validate_validation_data: the values the locations carry must agree with each other and
 * with what the image already has; new values only for a queued image, in the right form. Returns
 * the values to set (empty when nothing is new).
 */
export function checkValidationData(image: Image, inputs: LocationInput[], hashingAlgorithm: string,
  digestBytes: (algo: string) => number | undefined): ValidationData {
  const given: ValidationData = {};
  for (const input of inputs) {
    for (const key of validationKeys) {
      const v = input.validationData?.[key];
      if (v === undefined) continue;
      if (given[key] !== undefined && given[key] !== v) throw conflict('Conflicting values for {name}', { name: key }, 'location.conflict');
      given[key] = v;
    }
  }
  const fresh: ValidationData = {};
  for (const key of validationKeys) {
    const v = given[key];
    if (v === undefined || v === current(image, key)) continue;
    if (current(image, key)) {
      throw conflict('{name} is already set with a different value', { name: key }, 'location.conflict');
    }
    fresh[key] = v;
  }
  const keys = Object.keys(fresh);
  if (keys.length === 0) return fresh;
  if (image.status !== 'queued') {
    throw conflict("New value(s) for {names} may only be provided when image status is 'queued'",
      { names: keys.join(', ') }, 'location.conflict');
  }
  if (fresh.checksum !== undefined && !isHexOfBytes(fresh.checksum, 16)) {
    throw conflict('checksum ({value}) is not a valid md5 hex digest', { value: fresh.checksum }, 'location.conflict');
  }
  if (fresh.os_hash_algo !== hashingAlgorithm) {
    throw conflict('os_hash_algo must be {want}, not {got}', { want: hashingAlgorithm, got: String(fresh.os_hash_algo) },
      'location.conflict');
  }
  const want = digestBytes(hashingAlgorithm);
  if (fresh.os_hash_value === undefined || want === undefined || !isHexOfBytes(fresh.os_hash_value, want)) {
    throw conflict('os_hash_value ({value}) is not a valid {algo} hex digest', { value: String(fresh.os_hash_value),
      algo: hashingAlgorithm }, 'location.conflict');
  }
  return fresh;
}

function isHexOfBytes(value: string, bytes: number): boolean {
  return value.length === bytes * 2 && /^[0-9a-fA-F]*$/.test(value);
}

/**
 * The data at a new location must be the image's data: for an image that has data, size and hashes
 * must equal the image's; for a queued image, any validation_data given must equal the computed
 * values. Otherwise 409 and nothing changes (OSSN-0065: a location cannot smuggle in other bytes).
 */
export function assertProbeMatches(image: Image, probe: LocationProbe, validation: ValidationData): void {
  const mismatch = () => conflict('The data at location {url} does not match the image data.', { url: probe.url },
    'location.data_mismatch');
  if (image.status !== 'queued') {
    if (image.size !== null && image.size !== probe.size) throw mismatch();
    if (image.checksum && image.checksum !== probe.checksum) throw mismatch();
    if (image.osHashValue && (image.osHashAlgo !== probe.osHashAlgo || image.osHashValue !== probe.osHashValue)) throw mismatch();
    return;
  }
  if (validation.checksum !== undefined && validation.checksum.toLowerCase() !== probe.checksum) throw mismatch();
  if (validation.os_hash_value !== undefined && validation.os_hash_value.toLowerCase() !== probe.osHashValue) throw mismatch();
}

export interface LocationPatchOptions {
  /** Probes of every URL the operations add (keyed by URL). */
  probes: ReadonlyMap<string, LocationProbe>;
  hashingAlgorithm: string;
  digestBytes: (algo: string) => number | undefined;
  /** image_location_quota; negative = unlimited. */
  quota: number;
  /** Record the store id in the location's metadata (multi-store). */
  recordStore: boolean;
  authorize: (rule: string) => void;
}

function position(segment: string | undefined, length: number, forAdd: boolean): number | undefined {
  if (segment === undefined) return undefined;
  if (segment === '-') return forAdd ? length : length - 1 >= 0 ? length - 1 : undefined;
  if (!/^\d+$/.test(segment)) return undefined;
  const n = Number(segment);
  return (forAdd ? n <= length : n < length) ? n : undefined;
}

function attach(image: Image, input: LocationInput, options: LocationPatchOptions, validation: ValidationData): ImageLocation {
  const probe = options.probes.get(input.url);
  if (!probe) throw invalidLocation();
  assertProbeMatches(image, probe, validation);
  const metadata = options.recordStore ? { ...input.metadata, store: probe.storeId } : { ...input.metadata };
  return { url: input.url, metadata, status: 'active' };
}

/** A queued image that got its first location becomes active with the data's size and hashes. */
function activate(image: Image, options: LocationPatchOptions): void {
  if (image.status !== 'queued') return;
  const first = image.locations[0] && options.probes.get(image.locations[0].url);
  if (!first) return;
  image.status = 'active';
  image.size = first.size;
  image.checksum = first.checksum;
  image.osHashAlgo = first.osHashAlgo;
  image.osHashValue = first.osHashValue;
  if (image.diskFormat === 'raw' && first.size > 0) image.virtualSize = first.size;
}

function checkQuota(image: Image, options: LocationPatchOptions): void {
  const count = image.locations.length;
  if (options.quota >= 0 && count > options.quota) {
    throw payloadTooLarge('The limit has been exceeded on the number of allowed image locations. '
      + 'Attempted: {attempted}, Maximum: {maximum}', { attempted: count, maximum: options.quota }, 'quota.locations');
  }
}

function assertUnique(locations: ImageLocation[]): void {
  const seen = new Set<string>();
  for (const l of locations) {
    if (seen.has(l.url)) throw badRequest('The location {url} already exists', { url: l.url }, 'location.duplicate');
    seen.add(l.url);
  }
}

/**
 * Applies one legacy location operation to `image` (a working copy, changed in place) while
 * locations are visible. Returns the locations the operation took off the image.
 */
export function applyLocationOperation(image: Image, op: 'add' | 'replace' | 'remove', path: string[], value: unknown,
  options: LocationPatchOptions): ImageLocation[] {
  if (op === 'replace') {
    if (path.length !== 1 || !Array.isArray(value) || value.length === 0) {
      if (Array.isArray(value) && value.length === 0) {
        throw asDetail(forbidden('Cannot set locations to empty list.', {}, 'image.locations_empty'));
      }
      throw invalidLocation();
    }
    options.authorize('set_image_location');
    if (image.status !== 'active' && image.status !== 'queued') {
      throw conflict("It's not allowed to replace locations if image status is {status}.", { status: image.status },
        'location.bad_status');
    }
    const inputs = value.map(parseLocationInput);
    const validation = checkValidationData(image, inputs, options.hashingAlgorithm, options.digestBytes);
    if (image.locations.length > 0) {
      // As Glance: an image that has locations may only have their metadata replaced; the same URLs
      // must come back (removing one is `remove`, adding one is `add`).
      const given = inputs.map((l) => l.url).sort();
      const current = image.locations.map((l) => l.url).sort();
      if (given.length !== current.length || given.some((url, i) => url !== current[i])) {
        throw badRequest('Original locations is not empty: only the metadata of the locations can be replaced.', {},
          'location.replace_urls');
      }
      const byUrl = new Map(image.locations.map((l) => [l.url, l]));
      image.locations = inputs.map((input) => {
        const existing = byUrl.get(input.url)!;
        const metadata = options.recordStore && existing.metadata.store !== undefined
          ? { ...input.metadata, store: existing.metadata.store } : { ...input.metadata };
        return { ...existing, metadata };
      });
      return [];
    }
    const next = inputs.map((input) => attach(image, input, options, validation));
    assertUnique(next);
    image.locations = next;
    checkQuota(image, options);
    activate(image, options);
    return [];
  }
  if (op === 'add') {
    options.authorize('set_image_location');
    if (image.status !== 'active' && image.status !== 'queued') {
      throw conflict("It's not allowed to add locations if image status is {status}.", { status: image.status },
        'location.bad_status');
    }
    const input = parseLocationInput(value);
    const validation = checkValidationData(image, [input], options.hashingAlgorithm, options.digestBytes);
    const pos = position(path[1], image.locations.length, true);
    if (pos === undefined || path.length > 2) {
      throw badRequest('Invalid position for adding a location.', {}, 'location.position');
    }
    const location = attach(image, input, options, validation);
    image.locations = [...image.locations.slice(0, pos), location, ...image.locations.slice(pos)];
    assertUnique(image.locations);
    checkQuota(image, options);
    activate(image, options);
    return [];
  }
  options.authorize('delete_image_location');
  if (image.status !== 'active') {
    throw conflict("It's not allowed to remove locations if image status is {status}.", { status: image.status },
      'location.bad_status');
  }
  if (image.locations.length <= 1) throw forbidden('Cannot remove last location in the image.', {}, 'location.last');
  const pos = position(path[1], image.locations.length, false);
  if (pos === undefined || path.length > 2) {
    throw badRequest('Invalid position for removing a location.', {}, 'location.position');
  }
  const removed = image.locations[pos]!;
  image.locations = image.locations.filter((_, i) => i !== pos);
  return [removed];
}
