// Swift locations in glance_store's forms:
//   swift+config://<reference>/<container>/<object>     (credentials in swift_store_config_file)
//   swift+http(s)://[user:key@]<auth address>/<container>/<object>  (single tenant, legacy)
// Glimpse writes the first form when a reference file is used and the second one WITHOUT
// credentials otherwise; locations that carry credentials (written by Glance) are still read,
// and their credentials ignored: the store's configured ones are used.

/** Image ids become object names: the same alphabet as the file store's file names. */
export const OBJECT_NAME = /^[A-Za-z0-9_-]{1,200}$/;

export interface SwiftLocationBase {
  /** `config` for swift+config://<ref>, `auth` for swift+http(s)://<auth address>. */
  kind: 'config' | 'auth';
  /** Reference name, or the auth address without scheme and trailing slash (host:port/path). */
  address: string;
  /** Scheme written into new locations. */
  scheme: 'swift+config' | 'swift+http' | 'swift+https';
}

export interface ParsedSwiftLocation {
  scheme: string;
  address: string;
  container: string;
  object: string;
}

export function locationBase(options: { reference?: string; authAddress: string }): SwiftLocationBase {
  if (options.reference !== undefined) return { kind: 'config', address: options.reference, scheme: 'swift+config' };
  const match = /^(https?):\/\/(.+?)\/*$/i.exec(options.authAddress);
  if (!match) throw new Error(`Swift auth address "${options.authAddress}" is not an http(s) URL`);
  return { kind: 'auth', address: match[2]!, scheme: match[1]!.toLowerCase() === 'https' ? 'swift+https' : 'swift+http' };
}

export function formatLocation(base: SwiftLocationBase, container: string, object: string): string {
  return `${base.scheme}://${base.address}/${container}/${object}`;
}

export function parseLocation(location: string): ParsedSwiftLocation | undefined {
  const match = /^(swift|swift\+https?|swift\+config):\/\/(.+)$/i.exec(location);
  if (!match) return undefined;
  let rest = match[2]!;
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  if (/[?#\0\\]/.test(rest)) return undefined;
  const parts = rest.split('/');
  if (parts.length < 3) return undefined;
  const object = parts.pop()!;
  const container = parts.pop()!;
  const address = parts.join('/');
  if (!OBJECT_NAME.test(object) || !/^[A-Za-z0-9_.-]{1,256}$/.test(container) || address === '') return undefined;
  return { scheme: match[1]!.toLowerCase(), address, container, object };
}

/** Whether a parsed location points at the account this base describes. */
export function sameAccount(base: SwiftLocationBase, parsed: ParsedSwiftLocation): boolean {
  if (base.kind === 'config') return parsed.scheme === 'swift+config' && parsed.address === base.address;
  return parsed.scheme !== 'swift+config' && parsed.address.toLowerCase() === base.address.toLowerCase();
}

/** glance_store's container for an image under swift_store_multiple_containers_seed. */
export function containerFor(container: string, seed: number, imageId: string): string {
  if (seed <= 0) return container;
  const id = imageId.toLowerCase();
  const dashes = [...id.slice(0, seed)].filter((c) => c === '-').length;
  return `${container}_${id.slice(0, seed + dashes)}`;
}
