// The operator's image property definitions (Glance's schema-image.json): either a map of
// property name → JSON-schema definition, or {"properties": {...}, "required": [...]}.
// They replace the built-in defaults and are served in /v2/schemas/image and enforced.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

export type PropertyDefinitions = Record<string, Record<string, unknown>>;

export function loadImageSchemaFile(path: string): PropertyDefinitions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigError(`cannot read image schema file ${path}: ${(error as Error).message}`, { file: path });
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new ConfigError(`image schema file ${path} must hold a JSON object`, { file: path });
  const properties = isObject(parsed.properties) ? parsed.properties : parsed;
  const out: PropertyDefinitions = {};
  for (const [name, definition] of Object.entries(properties)) {
    if (name === 'required' && Array.isArray(definition)) continue;
    if (!isObject(definition)) {
      throw new ConfigError(`image schema file ${path}: property "${name}" must be a JSON-schema object`, { file: path });
    }
    out[name] = { ...definition, is_base: false };
  }
  return out;
}
