// Which of Glance's locations carry over, how their metadata maps, and whether Glimpse's configured
// stores can read them. The data is never copied: a location URL is kept byte for byte, so Glimpse
// reads the same file, Swift object, S3 key or RBD image Glance did (StoreRegistry.forLocation).
//
// Metadata: kept as Glance has it, with two rewrites Glance itself performs — the pre-Train key
// `backend` becomes `store` (Glance's train_migrate01), and with enabled_backends a location without
// a `store` gets the id of the store that owns its URL (Glance's update_store_in_locations does this
// lazily on first read).
import type { StoreDriver } from '../ports/store.ts';
import type { StoreRegistry } from '../stores/registry.ts';
import { redactLocation } from '../stores/remote-errors.ts';
import type { GlanceImage, GlanceLocation } from './glance-model.ts';
import type { LocationProblem } from './report.ts';

export interface CarriedLocation {
  url: string;
  metadata: Record<string, unknown>;
  status: 'active' | 'pending_delete';
  createdAt: Date;
  updatedAt: Date;
}

/** Glance keeps deleted location rows; only live ones (and those a delayed delete still holds data for) carry over. */
export function carriedLocations(image: GlanceImage): { carried: GlanceLocation[]; dropped: GlanceLocation[] } {
  const carried: GlanceLocation[] = [];
  const dropped: GlanceLocation[] = [];
  for (const l of image.locations) {
    const live = l.status === 'active' && !l.deleted;
    (live || l.status === 'pending_delete' ? carried : dropped).push(l);
  }
  return { carried, dropped };
}

export function mapLocation(location: GlanceLocation, registry: StoreRegistry, multiStore: boolean): CarriedLocation {
  const metadata = { ...location.metadata };
  if (metadata['backend'] !== undefined && metadata['store'] === undefined) {
    metadata['store'] = metadata['backend'];
    delete metadata['backend'];
  }
  if (multiStore && metadata['store'] === undefined) {
    const owner = registry.forLocation(location.url);
    if (owner) metadata['store'] = owner.id;
  }
  return {
    url: location.url, metadata, status: location.status === 'pending_delete' ? 'pending_delete' : 'active',
    createdAt: location.createdAt, updatedAt: location.updatedAt,
  };
}

function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '(none)';
}

async function readable(driver: StoreDriver, url: string): Promise<number> {
  const size = await driver.size(url);
  if (size > 0) {
    const { stream } = await driver.get(url, { range: { start: 0, end: 0 } });
    await new Promise<void>((resolve, reject) => {
      stream.once('data', () => { stream.destroy(); resolve(); });
      stream.once('end', resolve);
      stream.once('error', reject);
    });
  }
  return size;
}

/** Why Glimpse cannot serve this location, or undefined when it can (size checked, first byte read). */
export async function locationProblem(image: GlanceImage, location: CarriedLocation, registry: StoreRegistry):
  Promise<string | undefined> {
  const named = typeof location.metadata['store'] === 'string' ? location.metadata['store'] : undefined;
  const driver = registry.forLocation(location.url);
  if (!driver) {
    const skipped = registry.skipped.find((s) => s.id === named);
    if (skipped) return `store "${skipped.id}" (${skipped.type}) has no driver in Glimpse: ${skipped.reason}`;
    if (named !== undefined && !registry.get(named)) {
      return `Glance's store "${named}" is not configured in Glimpse (enabled_backends), and no configured store reads this ${schemeOf(location.url)} location`;
    }
    return `no store configured in Glimpse reads this ${schemeOf(location.url)} location`
      + (schemeOf(location.url) === 'file' ? ' (outside every filesystem_store_datadir)' : '');
  }
  if (named !== undefined && named !== driver.id) {
    return `Glance's store "${named}" is store "${driver.id}" in Glimpse's configuration; name that backend "${named}" in enabled_backends`;
  }
  if (location.status !== 'active') return undefined; // pending_delete: only the scrubber will read it
  try {
    const size = await readable(driver, location.url);
    if (image.status === 'active' && image.size !== null && size !== image.size) {
      return `holds ${size} bytes but the image's size is ${image.size}`;
    }
  } catch (error) {
    return `cannot be read through store "${driver.id}": ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

/** Checks every carried location of `images`, `concurrency` at a time; returns the problems found. */
export async function checkLocations(images: GlanceImage[], registry: StoreRegistry, multiStore: boolean,
  concurrency = 8): Promise<LocationProblem[]> {
  const work = images.flatMap((image) => carriedLocations(image).carried
    .map((l) => ({ image, location: mapLocation(l, registry, multiStore) })));
  const problems: LocationProblem[] = [];
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { image, location } = work[next++]!;
      const reason = await locationProblem(image, location, registry);
      if (reason) problems.push({ imageId: image.id, location: redactLocation(location.url), reason });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
  return problems;
}
