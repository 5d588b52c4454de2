// `[paste_deploy] flavor` → authentication. Glance picks a paste pipeline named
// `glance-api-<flavor>`; its real pipelines are keystone, trusted-auth and the unauthenticated one,
// each optionally with `+caching` or `+cachemanagement` (and `caching` / `cachemanagement` alone
// meaning unauthenticated). Glimpse calls the unauthenticated pipeline `noauth`.
import type { AuthFlavor } from './types.ts';

const bases: readonly AuthFlavor[] = ['noauth', 'keystone', 'trusted-auth'];
/** Suffixes that stand alone in Glance (`flavor = cachemanagement`) and mean no authentication. */
export const KNOWN_FLAVOR_SUFFIXES: readonly string[] = ['caching', 'cachemanagement'];

export type ParsedFlavor = { flavor: AuthFlavor; suffixes: string[] } | { problem: string };

export function parseFlavor(value: string): ParsedFlavor {
  const text = value.trim();
  if (text === '') return { flavor: 'noauth', suffixes: [] };
  const parts = text.split('+').map((p) => p.trim());
  const expected = `"${value}" is not a flavor (expected keystone, trusted-auth or noauth, optionally followed by +suffix such as +cachemanagement)`;
  if (parts.some((p) => !/^[a-z][a-z0-9_-]*$/.test(p))) return { problem: expected };
  const [first, ...rest] = parts as [string, ...string[]];
  if ((bases as readonly string[]).includes(first)) return { flavor: first as AuthFlavor, suffixes: rest };
  if (KNOWN_FLAVOR_SUFFIXES.includes(first)) return { flavor: 'noauth', suffixes: parts };
  return { problem: expected };
}
