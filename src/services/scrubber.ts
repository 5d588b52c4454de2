// The scrubber (Glance's glance-scrubber): with `delayed_delete`, deleting an image only marks it
// `pending_delete` and keeps its data; this removes that data once the image has been pending for
// `scrub_time` seconds, and marks the image `deleted`. `restore` brings a pending image back.
//
// Safe with several scrubbers, API nodes and restores at once. A pass first marks the image's
// locations `deleted` by compare-and-set (the image stays pending_delete): from then on a restore
// is refused, so no image can come back active without its data. Then the data goes (data another
// live image still references is kept, as on every delete), then the row moves pending_delete →
// deleted, again by compare-and-set. A scrubber that loses a race (another scrubber, a restore)
// skips the image; one killed half-way leaves it pending, and the next pass deletes what is left (a
// missing object is no error) and marks it.
import { conflict } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import type { Logger } from '../ports/context.ts';
import type { ImageRepository } from '../ports/repositories.ts';
import type { StoreRegistry } from '../ports/store.ts';
import { isVersionConflict } from './images.ts';
import { removeLocationData } from './location-data.ts';

export interface ScrubberDeps {
  images: Pick<ImageRepository, 'pendingDeletes' | 'update' | 'get' | 'locationInUse'>;
  stores: StoreRegistry;
  log: Logger;
  /** Seconds an image stays pending before its data goes (`scrub_time`). */
  scrubTimeSeconds: number;
  /** Images scrubbed at the same time (`scrub_pool_size`). */
  poolSize: number;
  now?: () => Date;
}

export interface ScrubReport {
  /** Images whose data was removed and that are now `deleted`. */
  scrubbed: number;
  /** Images left pending because their data could not be removed (tried again next pass). */
  failed: number;
}

const PAGE = 100;

export class Scrubber {
  constructor(private readonly deps: ScrubberDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** One pass over every image that has been pending long enough. */
  async scrubOnce(): Promise<ScrubReport> {
    const deletedBefore = new Date(this.now().getTime() - this.deps.scrubTimeSeconds * 1000);
    const report: ScrubReport = { scrubbed: 0, failed: 0 };
    let afterId: string | undefined;
    for (;;) {
      const page = await this.deps.images.pendingDeletes({ deletedBefore, afterId, limit: PAGE });
      const queue = [...page];
      const lanes = Array.from({ length: Math.max(1, this.deps.poolSize) }, async () => {
        for (let image = queue.shift(); image; image = queue.shift()) {
          const outcome = await this.scrub(image);
          if (outcome !== 'skipped') report[outcome]++;
        }
      });
      await Promise.all(lanes);
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    return report;
  }

  /** pending_delete → active, with its locations back in use (glance-scrubber --restore). */
  async restore(id: string): Promise<Image> {
    const image = await this.deps.images.get(id, { includeDeleted: true });
    if (!image || image.status !== 'pending_delete') {
      throw conflict('Image {id} is not pending_delete; only such an image can be restored.', { id }, 'scrubber.not_pending');
    }
    if (image.locations.some((l) => l.status !== 'pending_delete')) {
      throw conflict('The data of image {id} is being scrubbed; it cannot be restored.', { id }, 'scrubber.scrubbing');
    }
    const restored = await this.deps.images.update({
      ...image, status: 'active', deleted: false, deletedAt: null, updatedAt: this.now(),
      locations: image.locations.map((l) => ({ ...l, status: 'active' as const })),
    }, { expectVersion: image.version, expectStatus: 'pending_delete' });
    this.deps.log.info({ image_id: id }, 'pending_delete image restored');
    return restored;
  }

  private async scrub(image: Image): Promise<'scrubbed' | 'failed' | 'skipped'> {
    const log = this.deps.log;
    let current = image;
    try {
      if (image.locations.some((l) => l.status !== 'deleted')) {
        current = await this.deps.images.update({
          ...image, locations: image.locations.map((l) => ({ ...l, status: 'deleted' as const })),
        }, { expectVersion: image.version, expectStatus: 'pending_delete' });
      }
    } catch (error) {
      if (isVersionConflict(error)) return 'skipped'; // restored, or another scrubber has it
      throw error;
    }
    try {
      await removeLocationData(this.deps, image.id, current.locations, { rethrow: true });
    } catch (error) {
      // Not the location: it may carry store credentials.
      log.warn({ err: error, image_id: image.id }, 'could not remove the data of a pending_delete image; it stays pending');
      return 'failed';
    }
    try {
      await this.deps.images.update({ ...current, status: 'deleted', updatedAt: this.now() },
        { expectVersion: current.version, expectStatus: 'pending_delete' });
    } catch (error) {
      if (isVersionConflict(error)) return 'skipped'; // another scrubber finished it first
      throw error;
    }
    log.info({ image_id: image.id }, 'pending_delete image scrubbed');
    return 'scrubbed';
  }
}
