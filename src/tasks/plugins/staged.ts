// Runs an import plugin (the ImportPlugin contract of ./types.ts) on the staged data of an
// api_image_import task. Plugins work on a local file: when the staging store is a file store (the
// only kind Glimpse stages to) that is the staged object itself, and a plugin's output replaces it
// with one rename in the same directory, so the staged object is always either the old data or the
// new, never a mix. Other staging stores get a local copy, and the output is written back with
// delete + put. Where plugins sit in an import, and what they must guarantee (idempotence: a
// taken-over import runs every plugin again on data an earlier attempt may have transformed;
// honouring the signal; throwing to fail the import): tasks/image-import.ts and ./types.ts.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

import type { GlimpseConfig } from '../../config/types.ts';
import type { Image, ImageProperties } from '../../domain/image.ts';
import type { Logger } from '../../ports/context.ts';
import type { StoreDriver } from '../../ports/store.ts';
import { runImportPlugins, type ImportPlugin, type ImportPluginSettings, type PluginImage } from './index.ts';

/** The plugin settings from the configuration (image_import_plugins and the plugins' options). */
export function importPluginSettings(config: GlimpseConfig): ImportPluginSettings {
  return {
    plugins: config.importPlugins.plugins,
    conversion: config.importPlugins.conversion,
    inject: config.importPlugins.inject,
    imageSizeCap: config.imageSizeCap,
    inspection: {
      vmdkAllowedTypes: config.imageFormat.vmdkAllowedTypes, gptSafetyChecksNonfatal: config.imageFormat.gptSafetyChecksNonfatal,
    },
  };
}

function stringProperties(properties: ImageProperties): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).filter((e): e is [string, string] => e[1] !== null));
}

function pluginImage(image: Image): PluginImage {
  return {
    id: image.id, diskFormat: image.diskFormat, containerFormat: image.containerFormat, size: image.size,
    // Plugins see string properties; a null one (kernel_id, ramdisk_id) is as good as absent to them.
    virtualSize: image.virtualSize, properties: stringProperties(image.properties),
  };
}

function localPath(location: string): string | undefined {
  return location.startsWith('file://') ? fileURLToPath(location) : undefined;
}

/** Where and on what a plugin runs. */
export interface StagedData {
  image: Image;
  /** The staging store; the staged object is at `stagedLocation`. */
  staging: StoreDriver;
  stagedLocation: string;
  /** The caller's roles (inject_image_metadata skips callers with an ignore_user_roles role). */
  roles: string[];
  signal: AbortSignal;
}

/** What a plugin changed, for the import to apply to the image. */
export interface StagedChange {
  /** true when the plugin rewrote the staged object (it is then inspected again). */
  replacedData: boolean;
  diskFormat?: string;
  containerFormat?: string;
  /** Custom properties to set on the image. */
  properties?: Record<string, string>;
}

/** Runs `plugin` on the staged object, replacing it whole when the plugin produced new data. */
export async function runOnStaged(plugin: ImportPlugin, staged: StagedData, log: Logger): Promise<StagedChange> {
  const { image, staging, stagedLocation, signal } = staged;
  const local = localPath(stagedLocation);
  // Beside the staged object (same filesystem, so the result can be renamed over it), hidden
  // from the store's own names; a retried run empties it first.
  const workDir = local === undefined ? join(tmpdir(), `glimpse-import-${image.id}`)
    : join(dirname(local), `.${basename(local)}.plugins`);
  try {
    let source = local;
    if (source === undefined) {
      await mkdir(workDir, { recursive: true });
      source = join(workDir, 'staged');
      await pipeline((await staging.get(stagedLocation, { signal })).stream, createWriteStream(source), { signal });
    }
    const outcome = await runImportPlugins([plugin], {
      image: pluginImage(image), filePath: source, workDir: join(workDir, 'run'), roles: staged.roles, signal,
      log: log.child({ image_id: image.id }),
    });
    if (outcome.dataChanged) {
      if (local !== undefined) {
        await rename(outcome.filePath, local);
      } else {
        await staging.delete(stagedLocation);
        await staging.put(image.id, createReadStream(outcome.filePath), { signal });
      }
    }
    return {
      replacedData: outcome.dataChanged,
      diskFormat: outcome.attributes.diskFormat,
      containerFormat: outcome.attributes.containerFormat,
      properties: Object.keys(outcome.properties).length > 0 ? outcome.properties : undefined,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
