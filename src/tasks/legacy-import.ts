// The legacy `import` task (POST /v2/tasks): creates the image described by input.image_properties
// (its id was chosen when the task was created: task.image_id) and imports `import_from` into it
// the way web-download does — through the same SSRF-checked fetcher, format inspection and store
// writer. Result: {"image_id": …}. Restartable: a takeover finds the image it created.
import type { Image, Visibility } from '../domain/image.ts';
import { visibilities } from '../domain/image.ts';
import type { ImageRepository } from '../ports/repositories.ts';
import type { ImageImportRunner } from './image-import.ts';
import { IMPORT_PROPS } from '../domain/import.ts';
import type { TaskOutcome, TaskRun } from './worker.ts';

const CORE = new Set(['id', 'name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_ram',
  'min_disk', 'tags', 'owner', 'status', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value',
  'created_at', 'updated_at', 'locations', 'direct_url', 'self', 'file', 'schema', 'stores']);

export function imageForLegacyImport(id: string, owner: string, lock: string, given: Record<string, unknown>, now: Date): Image {
  const text = (v: unknown) => typeof v === 'string' ? v : null;
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!CORE.has(key) && !key.startsWith('os_glance') && typeof value === 'string') properties[key] = value;
  }
  properties[IMPORT_PROPS.lock] = lock;
  const visibility = (visibilities as readonly string[]).includes(String(given.visibility))
    ? given.visibility as Visibility : 'shared';
  return {
    id, name: text(given.name), status: 'importing', visibility, protected: given.protected === true,
    osHidden: given.os_hidden === true, owner, size: null, virtualSize: null,
    diskFormat: text(given.disk_format), containerFormat: text(given.container_format),
    checksum: null, osHashAlgo: null, osHashValue: null, minDisk: int(given.min_disk), minRam: int(given.min_ram),
    createdAt: now, updatedAt: now, deletedAt: null, deleted: false, properties,
    tags: Array.isArray(given.tags) ? [...new Set(given.tags.filter((t): t is string => typeof t === 'string'))] : [],
    locations: [], version: 1,
  };
}

export function legacyImportHandler(deps: { images: ImageRepository; runner: ImageImportRunner; defaultStore: () => string;
  now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  return async (run: TaskRun): Promise<TaskOutcome> => {
    const { task } = run;
    const input = task.input ?? {};
    const imageId = task.imageId!;
    if (!await deps.images.get(imageId, { includeDeleted: true })) {
      const given = (input.image_properties ?? {}) as Record<string, unknown>;
      await deps.images.create(imageForLegacyImport(imageId, task.owner, task.id, given, now()));
    }
    const outcome = await deps.runner.runImport(run, {
      imageId, method: 'web-download', uri: String(input.import_from), glanceServiceInterface: 'public',
      stores: [deps.defaultStore()], heldBefore: [], allStoresMustSucceed: true, roles: [], legacyTask: true,
    });
    return { ...outcome, result: { image_id: imageId } };
  };
}
