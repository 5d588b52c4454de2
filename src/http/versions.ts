// The versions document and version negotiation (Glance's VersionNegotiationFilter).
// Negotiation runs before routing: it turns the client's path into /v2/… or /v1/…, or
// answers with the versions document (200 for /versions, 300 for anything else).

export interface ApiFeatures {
  v1: boolean;
  v2: boolean;
  /** `enabled_backends` set: versions 2.8 and 2.10–2.13. */
  multiStore: boolean;
  /** The cache API (/v2/cache, and master's clean/prune/nodes calls) is served: versions 2.14, 2.16 and 2.18. */
  cache: boolean;
}

export interface VersionEntry {
  id: string;
  status: 'CURRENT' | 'SUPPORTED' | 'DEPRECATED';
  links: { rel: 'self'; href: string }[];
}

/**
 * The routes each version brought (versions not named add none: 2.16 changed status codes, 2.13
 * brought /v2/info/usage, which Glance master serves whatever the version list says). An
 * advertised version's routes must be in the route table and must not answer "not supported at
 * this site": test/api/versions-routes.test.ts checks that for each configuration.
 */
export const versionRoutes: Readonly<Record<string, readonly string[]>> = {
  'v2.8': ['GET /v2/info/stores'],
  'v2.10': ['DELETE /v2/stores/:store/:id'],
  'v2.14': ['GET /v2/cache', 'DELETE /v2/cache', 'PUT /v2/cache/:id', 'DELETE /v2/cache/:id'],
  'v2.15': ['GET /v2/info/stores/detail'],
  'v2.17': ['POST /v2/images/:id/locations', 'GET /v2/images/:id/locations'],
  'v2.18': ['POST /v2/cache/clean', 'POST /v2/cache/prune', 'GET /v2/cache/nodes/:id'],
};

/**
 * Versions advertised, in Glance master's order and statuses (glance/api/versions.py): with the
 * cache 2.18 CURRENT, 2.17…2.14; without it 2.15, then the multi-store block (2.13…2.8, else 2.9),
 * then 2.17 CURRENT (master lists it there), then 2.7…2.0. v1 (Glimpse's, decision 0010) last.
 */
export function advertisedVersions(features: ApiFeatures): { id: string; status: VersionEntry['status']; major: 1 | 2 }[] {
  const out: { id: string; status: VersionEntry['status']; major: 1 | 2 }[] = [];
  if (features.v2) {
    const v2 = (id: string, status: VersionEntry['status'] = 'SUPPORTED') => out.push({ id, status, major: 2 });
    if (features.cache) { v2('v2.18', 'CURRENT'); v2('v2.17'); v2('v2.16'); v2('v2.15'); v2('v2.14'); } else v2('v2.15');
    if (features.multiStore) for (const minor of [13, 12, 11, 10, 9, 8]) v2(`v2.${minor}`);
    else v2('v2.9');
    if (!features.cache) v2('v2.17', 'CURRENT');
    for (let minor = 7; minor >= 0; minor--) v2(`v2.${minor}`);
  }
  if (features.v1) {
    out.push({ id: 'v1.1', status: 'DEPRECATED', major: 1 }, { id: 'v1.0', status: 'DEPRECATED', major: 1 });
  }
  return out;
}

/** The version tokens a URL segment or vnd Accept may carry, mapped to their major version. */
export function allowedVersionTokens(features: ApiFeatures): Map<string, 1 | 2> {
  const tokens = new Map<string, 1 | 2>();
  if (features.v2) {
    tokens.set('v2', 2);
    for (const { id } of advertisedVersions({ ...features, v1: false })) tokens.set(id, 2);
  }
  if (features.v1) for (const id of ['v1', 'v1.0', 'v1.1']) tokens.set(id, 1);
  return tokens;
}

export function versionsDocument(features: ApiFeatures, baseUrl: string): { versions: VersionEntry[] } {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    versions: advertisedVersions(features).map(({ id, status, major }) => ({
      id, status, links: [{ rel: 'self', href: `${base}/v${major}/` }],
    })),
  };
}

export type Negotiated =
  | { kind: 'versions'; explicit: boolean }
  | { kind: 'api'; major: 1 | 2; path: string };

const vndPrefix = 'application/vnd.openstack.images-';

/**
 * Decides where a request goes. `path` is the URL path without the query string.
 * - first segment `versions` → the versions document with 200;
 * - Accept starting with the vnd media type → its token picks the version and the path is kept;
 * - otherwise the first path segment must be an allowed version token and is replaced by /vN;
 * - anything else → the versions document with 300.
 */
export function negotiate(path: string, accept: string | undefined, tokens: Map<string, 1 | 2>): Negotiated {
  const trimmed = path.replace(/^\/+/, '');
  const slash = trimmed.indexOf('/');
  const first = slash === -1 ? trimmed : trimmed.slice(0, slash);
  if (first === 'versions') return { kind: 'versions', explicit: true };
  let token: string;
  let rest: string;
  if (accept?.startsWith(vndPrefix)) {
    token = accept.slice(vndPrefix.length);
    rest = path;
  } else {
    token = first;
    rest = slash === -1 ? '' : trimmed.slice(slash);
  }
  const major = tokens.get(token);
  if (major === undefined) return { kind: 'versions', explicit: false };
  return { kind: 'api', major, path: `/v${major}${rest}` };
}
