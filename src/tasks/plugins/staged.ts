// The import plugins of this folder as steps of the api_image_import task
// (the ImportPlugin contract of ./plugins.ts). The plugins work on a local file: when the staging
// store is a file store (the only kind Glimpse stages to) that is the staged object itself, and a
// plugin's output replaces it with one rename in the same directory, so the staged object is
// always either the old data or the new, never a mix. Other staging stores get a local copy, and
// the output is written back with delete + put.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

import type { GlimpseConfig } from '../../config/types.ts';
import type { Image } from '../../domain/image.ts';
import type { Logger } from '../../ports/context.ts';
import {
  createImportPlugins, runImportPlugins, type ImportPlugin as DataPlugin, type ImportPluginSettings, type PluginImage,
} from './index.ts';
import type { ImportPlugin, ImportPluginContext, ImportPluginResult } from '../plugins.ts';

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

/** The configured plugins, in order, as import task steps. */
export function importTaskPlugins(settings: ImportPluginSettings, log: Logger): ImportPlugin[] {
  return createImportPlugins(settings).map((plugin) => onStagedData(plugin, log));
}

function pluginImage(image: Image): PluginImage {
  return {
    id: image.id, diskFormat: image.diskFormat, containerFormat: image.containerFormat, size: image.size,
    virtualSize: image.virtualSize, properties: image.properties,
  };
}

function localPath(location: string): string | undefined {
  return location.startsWith('file://') ? fileURLToPath(location) : undefined;
}

function onStagedData(plugin: DataPlugin, log: Logger): ImportPlugin {
  return {
    name: plugin.name,
    async run(context: ImportPluginContext): Promise<ImportPluginResult> {
      const { image, staging, stagedLocation, signal } = context;
      const staged = localPath(stagedLocation);
      // Beside the staged object (same filesystem, so the result can be renamed over it), hidden
      // from the store's own names; a retried run empties it first.
      const workDir = staged === undefined ? join(tmpdir(), `glimpse-import-${image.id}`)
        : join(dirname(staged), `.${basename(staged)}.plugins`);
      try {
        let source = staged;
        if (source === undefined) {
          await mkdir(workDir, { recursive: true });
          source = join(workDir, 'staged');
          await pipeline((await staging.get(stagedLocation, { signal })).stream, createWriteStream(source), { signal });
        }
        const outcome = await runImportPlugins([plugin], {
          image: pluginImage(image), filePath: source, workDir: join(workDir, 'run'), roles: context.roles, signal,
          log: log.child({ image_id: image.id }),
        });
        if (outcome.dataChanged) {
          if (staged !== undefined) {
            await rename(outcome.filePath, staged);
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
    },
  };
}
