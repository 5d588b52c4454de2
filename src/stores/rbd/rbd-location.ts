// glance_store's rbd locations: `rbd://<fsid>/<pool>/<image>/<snapshot>` (each part URL-quoted), as
// written for every image since Glance learned copy-on-write clones, and the old `rbd://<image>`
// (pool and snapshot: the store's own). Nova and Cinder parse the four-part form to clone the snapshot.

export interface RbdLocation {
  fsid?: string;
  pool?: string;
  image: string;
  snapshot?: string;
}

const PREFIX = 'rbd://';

/** The location, or a reason why `uri` is not one (glance_store's BadStoreUri cases). */
export function parseRbdLocation(uri: string): RbdLocation | string {
  if (!uri.startsWith(PREFIX)) return 'URI must start with rbd://';
  // librbd takes C strings: no control characters, and nothing that is not ASCII (as glance_store).
  if (/[^\x20-\x7e]/.test(uri)) return 'URI contains non-ascii characters';
  const pieces = uri.slice(PREFIX.length).split('/');
  if (pieces.some((p) => p === '')) return 'URI cannot contain empty components';
  let parts: string[];
  try {
    parts = pieces.map((p) => decodeURIComponent(p));
  } catch {
    return 'URI has an invalid escape';
  }
  if (parts.some((p) => p === '' || /[\0/@]/.test(p) || p === '.' || p === '..')) return 'URI has an invalid component';
  if (parts.length === 1) return { image: pieces[0]! };
  if (parts.length === 4) return { fsid: parts[0]!, pool: parts[1]!, image: parts[2]!, snapshot: parts[3]! };
  return 'URI must have exactly 1 or 4 components';
}

/** Python's urllib.parse.quote(value, ''): what glance_store writes (letters, digits, `_.-~` kept). */
function quote(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function formatRbdLocation(location: Required<RbdLocation>): string {
  return `${PREFIX}${quote(location.fsid)}/${quote(location.pool)}/${quote(location.image)}/${quote(location.snapshot)}`;
}
