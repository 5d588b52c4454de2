// Removing the data behind locations an image gave up, and the order locations are used in.
import type { ImageLocation } from '../domain/image.ts';
import type { ImageRepository } from '../ports/repositories.ts';
import { StoreError, type StoreRegistry } from '../ports/store.ts';

export interface LocationDataDeps {
  images: Pick<ImageRepository, 'locationInUse'>;
  stores: StoreRegistry;
  log?: { warn(obj: unknown, msg?: string): void; info?(obj: unknown, msg?: string): void };
}

/**
 * Deletes the data of `removed` locations (after the image row change was committed). Data another
 * live image still references is kept (bug 1546507: registering someone's location and deleting it
 * must not destroy their data). Failures are logged, not fatal: the metadata change already happened
 * — unless `rethrow`, for a caller that undoes its change when the data cannot go (v1 delete); the
 * first failure then stops and is thrown. `rethrow: 'in-use'` throws only a store's refusal because
 * the data is in use outside Glance (rbd clones: StoreError InUse), which Glance answers with 409.
 */
export async function removeLocationData(deps: LocationDataDeps, imageId: string, removed: ImageLocation[],
  options: { rethrow?: boolean | 'in-use' } = {}): Promise<void> {
  for (const location of removed) {
    try {
      if (await deps.images.locationInUse(location.url, imageId)) {
        deps.log?.info?.({ image_id: imageId }, 'image data kept: another image references the same location');
        continue;
      }
      await deps.stores.forLocation(location.url)?.delete(location.url);
    } catch (error) {
      if (options.rethrow === true || (options.rethrow === 'in-use' && isInUse(error))) throw error;
      // The location itself is not logged: it may carry store credentials (swift://user:key@…).
      deps.log?.warn({ err: error, image_id: imageId }, 'could not delete image data');
    }
  }
}

/** The locations in the preferred stores first, in the order of `prefer`; the others keep their order after them. */
export function preferredFirst(locations: ImageLocation[], prefer: readonly string[]): ImageLocation[] {
  if (prefer.length === 0) return locations;
  const rank = (l: ImageLocation) => { const i = prefer.indexOf(String(l.metadata.store)); return i === -1 ? prefer.length : i; };
  return locations.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i).map(({ l }) => l);
}

/** Locations ordered by their store's weight, heaviest first; equal weights keep their order. */
export function sortByStoreWeight(locations: ImageLocation[], weights: Record<string, number> | undefined): ImageLocation[] {
  if (!weights || locations.length < 2) return locations;
  const weight = (l: ImageLocation) => weights[String(l.metadata.store)] ?? 0;
  return locations.map((l, i) => ({ l, i })).sort((a, b) => weight(b.l) - weight(a.l) || a.i - b.i).map(({ l }) => l);
}

export function isInUse(error: unknown): error is StoreError {
  return error instanceof StoreError && error.kind === 'InUse';
}
