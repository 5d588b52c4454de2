// `[image_import_opts] image_import_plugins` and the options of the plugins it names, resolved into
// GlimpseConfig['importPlugins']. Glance declares image_import_plugins with oslo's bounded list type
// (`[a, 'b']`: brackets required, items may be quoted); Glimpse also takes the list without brackets.
import type { OptionValue } from './schema.ts';
import type { Settings } from './settings.ts';
import type { GlimpseConfig } from './types.ts';

/** Plugin names as Glance's entry points spell them (setup.cfg `glance.image_import.plugins`). */
export const IMPORT_PLUGIN_NAMES = ['no_op', 'image_conversion', 'image_decompression', 'inject_image_metadata'] as const;
export type ImportPluginName = (typeof IMPORT_PLUGIN_NAMES)[number];

/** `[image_conversion] output_format` choices (Glance's). */
export const CONVERSION_OUTPUT_FORMATS: readonly string[] = ['qcow2', 'raw', 'vmdk'];

/** Strips oslo's optional `[`…`]` bounds and the quotes around each item. */
export function unbracketList(items: readonly string[]): string[] {
  const out = [...items];
  if (out.length > 0) {
    out[0] = out[0]!.replace(/^\[\s*/, '');
    out[out.length - 1] = out[out.length - 1]!.replace(/\s*\]$/, '');
  }
  return out.map((item) => item.trim().replace(/^(['"])(.*)\1$/, '$2').trim()).filter((item) => item !== '');
}

export const importPluginsCheck = (value: OptionValue): string | undefined => {
  const names = unbracketList(value as string[]);
  const unknown = names.filter((n) => !(IMPORT_PLUGIN_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    return `names unknown plugins ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${IMPORT_PLUGIN_NAMES.join(', ')})`;
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? undefined : `names the plugin "${twice}" twice`;
};

/** Glance's help: keys of at most 255 characters (the image_properties name column). */
export const injectCheck = (value: OptionValue): string | undefined => {
  const long = Object.keys(value as Record<string, string>).find((k) => k.length > 255);
  return long === undefined ? undefined : `has a key longer than 255 characters ("${long.slice(0, 20)}…")`;
};

export function resolveImportPlugins(s: Settings): GlimpseConfig['importPlugins'] {
  return {
    plugins: unbracketList(s.list('image_import_opts', 'image_import_plugins')) as ImportPluginName[],
    conversion: {
      outputFormat: s.string('image_conversion', 'output_format'),
      timeoutSeconds: s.number('image_conversion', 'conversion_timeout'),
    },
    inject: {
      ignoreUserRoles: s.list('inject_metadata_properties', 'ignore_user_roles'),
      properties: s.optionalDict('inject_metadata_properties', 'inject') ?? {},
    },
  };
}
