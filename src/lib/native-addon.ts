// Where a native binding of this checkout was built: native/<name>/build/Release/glimpse_<name>.node,
// found by walking up from this module (it runs from src/lib or from the bundle in dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built binding `native/<name>` (rbd, sendfile), or undefined when it was not built. */
export function nativeAddonPath(name: string): string | undefined {
  const addon = join('native', name, 'build', 'Release', `glimpse_${name}.node`);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, addon))) return join(dir, addon);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}
