// Import plugins (`[image_import_opts] image_import_plugins`): steps that run on the staged data of
// an import after the format inspector passed it and before it is copied into the target stores.
// They do not run for copy-image (the data is already an active image).
//
// Contract for a plugin:
// - run() receives the image as it is now and the staged data (in the staging store, under the
//   image id). It may replace the staged data: write the new bytes with `staging.put` under
//   `replaceStagedWith` semantics below, and report the change; it may also set image attributes.
// - It must be idempotent: an import taken over from a dead worker runs every plugin again on the
//   staged data, which an earlier attempt may already have transformed (e.g. a converter should see
//   that the data is already in the output format and do nothing).
// - Replaced data is inspected again before the import continues (a converter's output must be as
//   safe as its input), so a plugin never needs to repeat the safety checks itself.
// - It must honour `signal` (worker stopping or lease lost) and throw to fail the import; the
//   import then reverts the image and records the error.
// Planned plugins (issue 8 part 6, not built here): image_conversion (qemu-img convert with -f
// pinned, after inspection), image_decompression, inject_image_metadata.
import type { Image } from '../domain/image.ts';
import type { StoreDriver } from '../ports/store.ts';

export interface ImportPluginContext {
  image: Image;
  /** The staging store; the staged object is at `stagedLocation`. */
  staging: StoreDriver;
  stagedLocation: string;
  /** The caller's roles (inject_image_metadata skips callers with an ignore_user_roles role). */
  roles: string[];
  signal: AbortSignal;
}

export interface ImportPluginResult {
  /** true when the plugin rewrote the staged object (it is then inspected again). */
  replacedData?: boolean;
  diskFormat?: string;
  containerFormat?: string;
  /** Custom properties to set on the image. */
  properties?: Record<string, string>;
}

export interface ImportPlugin {
  /** Glance's plugin name as listed in image_import_plugins (`image_conversion`, …). */
  readonly name: string;
  run(context: ImportPluginContext): Promise<ImportPluginResult>;
}
