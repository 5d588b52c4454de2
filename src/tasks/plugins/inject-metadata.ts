// `inject_image_metadata`: sets `[inject_metadata_properties] inject` on imported images unless the
// importing user has one of `ignore_user_roles` (glance/async_/flows/plugins/inject_image_metadata.py).
// Keys in Glance's reserved os_glance namespace are dropped, as Glance's import action wrapper does;
// Glimpse also drops the other reserved names and core attributes (they are not properties).
import { coreAttributes, isReserved } from '../../domain/image-rules.ts';
import type { ImportPlugin, PluginInput, PluginResult } from './types.ts';

export interface InjectSettings {
  ignoreUserRoles: readonly string[];
  properties: Readonly<Record<string, string>>;
}

export function injectMetadataPlugin(settings: InjectSettings): ImportPlugin {
  const ignored = new Set(settings.ignoreUserRoles.map((r) => r.toLowerCase()));
  return {
    name: 'inject_image_metadata',
    run: async (input: PluginInput): Promise<PluginResult> => {
      if (input.roles.some((role) => ignored.has(role.toLowerCase()))) return {};
      const properties: Record<string, string> = {};
      for (const [key, value] of Object.entries(settings.properties)) {
        if (isReserved(key) || coreAttributes.has(key)) {
          input.log.warn({ image_id: input.image.id, property: key }, 'inject_image_metadata: reserved name dropped');
        } else {
          properties[key] = value;
        }
      }
      return Object.keys(properties).length > 0 ? { properties } : {};
    },
  };
}
