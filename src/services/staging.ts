// The shared staging store of interoperable import: data staged for an image lives under the
// image's id, so any node (the API that staged it, the worker that imports it) finds it.
import type { StoreDriver } from '../ports/store.ts';

export function stagedLocation(staging: StoreDriver, imageId: string): string {
  if (!staging.locationFor) throw new Error(`staging store ${staging.id} cannot name objects by image id`);
  return staging.locationFor(imageId);
}

export async function stagedExists(staging: StoreDriver, imageId: string): Promise<boolean> {
  try {
    await staging.size(stagedLocation(staging, imageId));
    return true;
  } catch {
    return false;
  }
}
