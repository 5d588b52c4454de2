// Import plugins (`[image_import_opts] image_import_plugins`): steps that run on the staged data of
// an import after the format inspector's safety checks passed it and before it is copied into the
// target stores. They do not run for copy-image (the data is already an active image).
//
// Contract for a plugin:
// - run() receives the image as it is now and the staged data (in the staging store, under the
//   image id). It may replace the staged data (whole: never leave a partly written object) and
//   report the change; it may also set image attributes.
// - It must be idempotent: an import taken over from a dead worker runs every plugin again on the
//   staged data, which an earlier attempt may already have transformed (e.g. a decompressor sees
//   no compression magic any more and does nothing).
// - Replaced data gets the safety checks again, and the declared disk_format is checked after the
//   last plugin (plugins may change what the data is: decompression, conversion).
// - It must honour `signal` (worker stopping or lease lost) and throw to fail the import; the
//   import then reverts the image and records the error.
// The plugins: src/tasks/plugins/ (image_conversion, image_decompression,
// inject_image_metadata, no_op), adapted to this contract by ./import-plugins.ts.
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
