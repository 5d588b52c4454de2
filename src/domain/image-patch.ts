// Glance's JSON-patch dialect applied to an image (spec/v2.md §3). Parsing and media types
// live in http/v2; this applies already-parsed operations with the attribute rules, in order,
// to a copy of the image. Value types were checked against the image schema by the caller.
import { asDetail, badRequest, conflict, forbidden } from './errors.ts';
import type { Image, ImageLocation, Visibility } from './image.ts';
import { applyLocationOperation, type LocationPatchOptions } from './locations.ts';
import {
  coreAttributes, formatsMutable, isReserved, readOnlyAttributes, readOnlyError, reservedError, writableCoreAttributes,
} from './image-rules.ts';

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  /** Decoded JSON-pointer segments (`/a~1b` → ['a/b']). */
  path: string[];
  value?: unknown;
}

export interface PatchOptions {
  /** 2.0 media type: `add` of an existing property is a conflict instead of an overwrite. */
  dialect: '2.0' | '2.1';
  isAdmin: boolean;
  callerProject: string | null;
  /** Enforces a policy rule that a particular operation needs (throws when denied). */
  authorize: (rule: string) => void;
  /** Set when locations are visible (show_multiple_locations): location operations apply. */
  locations?: Omit<LocationPatchOptions, 'authorize'>;
}

export interface PatchOutcome {
  image: Image;
  visibilityChangedTo?: Visibility;
  /** Locations the patch took off the image (their data may need removing). */
  removedLocations: ImageLocation[];
}

function setCore(image: Image, name: string, value: unknown, options: PatchOptions, original: Image): void {
  switch (name) {
    case 'name': image.name = value as string | null; return;
    case 'visibility': image.visibility = value as Visibility; return;
    case 'protected': image.protected = value as boolean; return;
    case 'os_hidden': image.osHidden = value as boolean; return;
    case 'min_ram':
    case 'min_disk': {
      const n = value as number;
      if (n < 0) {
        throw badRequest("Invalid value '{value}' for parameter '{name}': Cannot be a negative value", { value: n, name });
      }
      if (name === 'min_ram') image.minRam = n; else image.minDisk = n;
      return;
    }
    case 'disk_format':
    case 'container_format': {
      const current = name === 'disk_format' ? original.diskFormat : original.containerFormat;
      if (current !== value && !formatsMutable(original.status)) {
        throw forbidden('Attribute {name} can be only replaced for a queued image.', { name }, 'image.formats_immutable');
      }
      if (name === 'disk_format') image.diskFormat = value as string | null;
      else image.containerFormat = value as string | null;
      return;
    }
    case 'tags': image.tags = [...new Set(value as string[])]; return;
    case 'owner': {
      const owner = value as string | null;
      if (!options.isAdmin && owner !== original.owner) {
        throw asDetail(forbidden("Owner can't be updated by non admin.", {}, 'image.owner_not_admin'));
      }
      image.owner = owner;
      return;
    }
  }
}

/**
 * Location changes through PATCH while image locations are not shown to users (Glance's
 * show_multiple_locations = false): refused the way Glance refuses them.
 */
function refuseLocationChange(op: PatchOperation['op'], value: unknown, options: PatchOptions): never {
  if (op === 'add') throw forbidden("It's not allowed to add locations if locations are invisible.", {}, 'image.locations_hidden');
  if (op === 'remove') {
    options.authorize('delete_image_location');
    throw forbidden("It's not allowed to remove locations if locations are invisible.", {}, 'image.locations_hidden');
  }
  if (Array.isArray(value) && value.length === 0) {
    throw asDetail(forbidden('Cannot set locations to empty list.', {}, 'image.locations_empty'));
  }
  throw forbidden("It's not allowed to update locations if locations are invisible.", {}, 'image.locations_hidden');
}

export function assertPropertyName(name: string): void {
  if (name.length > 255) throw badRequest('Custom property should not be greater than 255 characters.');
}

/** Applies the operations in order; any failure aborts the whole patch (nothing is returned). */
export function applyPatch(original: Image, operations: PatchOperation[], options: PatchOptions): PatchOutcome {
  const image: Image = { ...original, properties: { ...original.properties }, tags: [...original.tags] };
  let visibilityChangedTo: Visibility | undefined;
  const removedLocations: ImageLocation[] = [];
  for (const { op, path, value } of operations) {
    const name = path[0]!;
    if (name === 'locations') {
      if (!options.locations) refuseLocationChange(op, value, options);
      image.locations = [...image.locations];
      removedLocations.push(...applyLocationOperation(image, op, path, value, { ...options.locations, authorize: options.authorize }));
      continue;
    }
    if (readOnlyAttributes.has(name)) throw readOnlyError(name);
    if (isReserved(name)) throw reservedError(name);
    if (writableCoreAttributes.has(name)) {
      if (op === 'remove') throw asDetail(forbidden('Property {name} may not be removed.', { name }, 'image.core_remove'));
      if (op === 'add' && options.dialect === '2.0') {
        throw asDetail(conflict('Property {name} already present.', { name }, 'image.property_present'));
      }
      setCore(image, name, value, options, original);
      if (name === 'visibility' && value !== original.visibility) visibilityChangedTo = value as Visibility;
      continue;
    }
    if (coreAttributes.has(name)) throw readOnlyError(name);
    const exists = Object.prototype.hasOwnProperty.call(image.properties, name);
    if (op === 'add') {
      assertPropertyName(name);
      if (exists && options.dialect === '2.0') {
        throw asDetail(conflict('Property {name} already present.', { name }, 'image.property_present'));
      }
      image.properties[name] = value as string;
    } else if (!exists) {
      throw asDetail(conflict('Property {name} does not exist.', { name }, 'image.property_missing'));
    } else if (op === 'replace') {
      image.properties[name] = value as string;
    } else {
      delete image.properties[name];
    }
  }
  return { image, visibilityChangedTo, removedLocations };
}
