// The import plugins named by `[image_import_opts] image_import_plugins`, built in the operator's
// order, and the runner that chains them over one staged file. Glance runs them after the staged
// data is verified and before it is written to the stores, for every import method but copy-image.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { ImportPluginName } from '../../config/import-plugins.ts';
import type { InspectorOptions } from '../../formats/index.ts';
import { imageConversionPlugin } from './image-conversion.ts';
import { imageDecompressionPlugin } from './image-decompression.ts';
import { injectMetadataPlugin } from './inject-metadata.ts';
import type { ImportPlugin, PluginAttributeChanges, PluginImage, PluginInput } from './types.ts';

export { ImportPluginError, type ImportPlugin, type PluginImage, type PluginInput, type PluginResult } from './types.ts';

export interface ImportPluginSettings {
  plugins: readonly ImportPluginName[];
  conversion: { outputFormat: string; timeoutSeconds: number };
  inject: { ignoreUserRoles: readonly string[]; properties: Readonly<Record<string, string>> };
  imageSizeCap: number;
  inspection: InspectorOptions;
}

const noOp: ImportPlugin = {
  name: 'no_op',
  run: async (input) => {
    input.log.debug({ image_id: input.image.id }, 'no_op import plugin');
    return {};
  },
};

const FACTORIES: Record<ImportPluginName, (s: ImportPluginSettings) => ImportPlugin> = {
  no_op: () => noOp,
  image_conversion: (s) => imageConversionPlugin({
    outputFormat: s.conversion.outputFormat, timeoutSeconds: s.conversion.timeoutSeconds,
    imageSizeCap: s.imageSizeCap, inspection: s.inspection,
  }),
  image_decompression: (s) => imageDecompressionPlugin({ maxBytes: s.imageSizeCap, timeoutSeconds: s.conversion.timeoutSeconds }),
  inject_image_metadata: (s) => injectMetadataPlugin(s.inject),
};

export function createImportPlugins(settings: ImportPluginSettings): ImportPlugin[] {
  return settings.plugins.map((name) => FACTORIES[name](settings));
}

/**
 * What the runner needs: the same as one plugin's input, where `filePath` is the staged data (never
 * modified or deleted by the runner) and `workDir` a directory the runner owns: it is emptied
 * first, so a retried step starts clean, and each plugin gets a folder of its own inside it.
 */
export type PluginRunInput = PluginInput;

export interface PluginRunOutcome {
  /** The data to store: the staged file itself, or the last plugin output inside workDir. */
  filePath: string;
  /** True when filePath is not the staged file (size, checksum and os_hash must be computed again). */
  dataChanged: boolean;
  /** Core attribute changes, merged in plugin order; `size` is the final file's size when the data changed. */
  attributes: PluginAttributeChanges;
  /** Extra properties to set. */
  properties: Record<string, string>;
}

/**
 * Runs the plugins in order, each on the previous one's output. Intermediate files are removed as
 * soon as a later plugin replaces them; on failure everything in workDir is removed and the
 * plugin's error is thrown. The caller removes workDir once the data is stored.
 */
export async function runImportPlugins(plugins: readonly ImportPlugin[], input: PluginRunInput): Promise<PluginRunOutcome> {
  await rm(input.workDir, { recursive: true, force: true });
  await mkdir(input.workDir, { recursive: true });
  let image: PluginImage = { ...input.image, properties: { ...input.image.properties } };
  let filePath = input.filePath;
  const attributes: PluginAttributeChanges = {};
  const properties: Record<string, string> = {};
  try {
    for (const [index, plugin] of plugins.entries()) {
      input.signal.throwIfAborted();
      const pluginDir = join(input.workDir, `${index}-${plugin.name}`);
      await mkdir(pluginDir);
      const log = input.log.child({ import_plugin: plugin.name });
      const result = await plugin.run({ image, filePath, workDir: pluginDir, roles: input.roles, signal: input.signal, log });
      if (result.filePath !== undefined && result.filePath !== filePath) {
        if (filePath !== input.filePath) await rm(filePath, { force: true });
        filePath = result.filePath;
      }
      Object.assign(attributes, result.attributes);
      Object.assign(properties, result.properties);
      image = { ...image, ...result.attributes, properties: { ...image.properties, ...result.properties } };
    }
  } catch (err) {
    await rm(input.workDir, { recursive: true, force: true });
    throw err;
  }
  const dataChanged = filePath !== input.filePath;
  if (dataChanged) attributes.size = (await stat(filePath)).size;
  return { filePath, dataChanged, attributes, properties };
}
