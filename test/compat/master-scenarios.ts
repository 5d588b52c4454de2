// Compat scenarios for behaviour that only Glance master has (the reference Glance 25.1 cannot be
// asked): the versions document with 2.17/2.18, the 2.18 cache calls, `?prefer=` on download and
// store weights. Each expected answer is WRITTEN BY HAND from master's code and api-ref (named per
// scenario), not recorded; master-compat.test.ts replays them against Glimpse. The error bodies
// have the shape the reference records for the same webob exceptions (golden.json).
import type { Outcome, Scenario, Step } from './harness.ts';

/** The Glimpse configuration a scenario runs against. */
export type MasterSetup = 'stores' | 'cache' | 'single';

export interface MasterScenario extends Scenario {
  setup: MasterSetup;
  /** Where in Glance master the expectation comes from. */
  source: string;
  expected: (dirs: { fast: string; cheap: string }) => Outcome[];
}

const raw = { 'content-type': 'application/octet-stream' };
const activeImage: Step[] = [
  { method: 'POST', path: '/v2/images', body: { disk_format: 'raw', container_format: 'bare' }, capture: { id: 'id' } },
  { method: 'PUT', path: '/v2/images/{id}/file', headers: raw, body: 'abc' },
];
const unknown = '7b2d0b0e-0000-4000-8000-000000000000';
const md5abc = '900150983cd24fb0d6963f7d28e17f72';

const v = (id: string, status = 'SUPPORTED') => ({ id: `v${id}`, status, links: [{ rel: 'self', href: '<base>/v2/' }] });
const older = ['2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((id) => v(id));
const multiStore = ['2.13', '2.12', '2.11', '2.10', '2.9', '2.8'].map((id) => v(id));
/** glance/api/versions.py (master) with enabled_backends and without image_cache_dir. */
const versionsNoCache = [v('2.15'), ...multiStore, v('2.17', 'CURRENT'), ...older];
/** The same with image_cache_dir. */
const versionsCache = [v('2.18', 'CURRENT'), v('2.17'), v('2.16'), v('2.15'), v('2.14'), ...multiStore, ...older];

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Outcome =>
  ({ status, contentType: 'application/json', headers, body });
const error = (status: number, code: string, title: string, message: string): Outcome =>
  json(status, { message: `${message}<br /><br />\n\n\n`, code: `${status} ${code}`, title });
const created = (): Outcome => json(201, {
  name: null, disk_format: 'raw', container_format: 'bare', visibility: 'shared', size: null, virtual_size: null,
  status: 'queued', checksum: null, protected: false, min_ram: 0, min_disk: 0, owner: '<owner>', os_hidden: false,
  os_hash_algo: null, os_hash_value: null, id: '<id1>', created_at: '<time>', updated_at: '<time>', tags: [],
  self: '/v2/images/<id1>', file: '/v2/images/<id1>/file', schema: '/v2/schemas/image',
}, { location: '<base>/v2/images/<id1>' });
/** webob's empty 204 keeps its default text/html type (the reference records it so). */
const noContent: Outcome = { status: 204, contentType: 'text/html', headers: {}, body: '' };
const data = (body: string, md5: string): Outcome =>
  ({ status: 200, contentType: 'application/octet-stream', headers: { 'content-md5': md5 }, body });

export const masterScenarios: MasterScenario[] = [
  {
    name: 'master versions: GET / is 300 with 2.17 CURRENT', setup: 'stores',
    source: 'glance/api/versions.py (enabled_backends set, no image_cache_dir)',
    steps: [{ path: '/', as: 'anonymous' }],
    expected: () => [json(300, { versions: versionsNoCache })],
  },
  {
    name: 'master versions: GET /versions is 200', setup: 'stores', source: 'glance/api/versions.py',
    steps: [{ path: '/versions', as: 'anonymous' }],
    expected: () => [json(200, { versions: versionsNoCache })],
  },
  {
    name: 'master versions: with the cache, 2.18 CURRENT', setup: 'cache',
    source: 'glance/api/versions.py (image_cache_dir set)',
    steps: [{ path: '/versions', as: 'anonymous' }],
    expected: () => [json(200, { versions: versionsCache })],
  },
  {
    name: 'master routing: /v2.17 routes; /v2.16 and /v2.18 only with the cache', setup: 'stores',
    source: 'glance/api/middleware/version_negotiation.py _get_allowed_versions',
    steps: [{ path: '/v2.17' }, { path: '/v2.17/images?owner={owner}' }, { path: '/v2.18/images' }, { path: '/v2.16/images' }],
    expected: () => [
      { status: 302, contentType: 'text/plain', headers: { location: '<base>/v2/' }, body: '' },
      json(200, { images: [], first: '/v2/images?owner=<owner>', schema: '/v2/schemas/images' }),
      json(300, { versions: versionsNoCache }), json(300, { versions: versionsNoCache }),
    ],
  },
  {
    name: 'master 2.18: prune and clean an empty cache, nodes of an uncached image, 404 and 403', setup: 'cache',
    source: 'glance/api/v2/cached_images.py prune_cache/clean_cache/get_cached_nodes, api-ref cache-manage.inc',
    steps: [
      { method: 'DELETE', path: '/v2/cache', as: 'admin' },
      { method: 'POST', path: '/v2.18/cache/prune', as: 'admin' },
      { method: 'POST', path: '/v2/cache/clean', as: 'admin' },
      ...activeImage,
      { path: '/v2/cache/nodes/{id}', as: 'admin' },
      { path: `/v2/cache/nodes/${unknown}`, as: 'admin' },
      { method: 'POST', path: '/v2/cache/prune' },
      { method: 'POST', path: '/v2/cache/clean' },
      { path: '/v2/cache/nodes/{id}' },
    ],
    expected: () => [
      noContent,
      json(200, { total_files_pruned: 0, total_bytes_pruned: 0 }),
      { status: 200, contentType: 'text/html', headers: {}, body: '' },
      created(), noContent,
      json(200, []),
      error(404, 'Not Found', 'Not Found', 'Image <id2> not found.'),
      error(403, 'Forbidden', 'Forbidden', 'You are not authorized to complete cache_prune action.'),
      error(403, 'Forbidden', 'Forbidden', 'You are not authorized to complete cache_clean action.'),
      error(403, 'Forbidden', 'Forbidden', 'You are not authorized to complete list_cached_nodes action.'),
    ],
  },
  {
    name: 'master prefer: preferred store, fallback, unknown store 400', setup: 'stores',
    source: 'glance/api/v2/image_data.py download/_validate_stores, api-ref images-data.inc',
    steps: [
      ...activeImage,
      { path: '/v2/images/{id}/file?prefer=fast' },
      { path: '/v2/images/{id}/file?prefer=cheap' },
      { path: '/v2/images/{id}/file?prefer=cheap,%20fast' },
      { path: '/v2/images/{id}/file?prefer=nowhere' },
      { path: '/v2/images/{id}/file?prefer=fast,os_glance_staging_store' },
    ],
    expected: () => [
      created(), noContent,
      data('abc', md5abc), data('abc', md5abc), data('abc', md5abc),
      error(400, 'Bad Request', 'Bad Request', "Store 'nowhere' is not configured."),
      error(400, 'Bad Request', 'Bad Request', "Store 'os_glance_staging_store' is not configured."),
    ],
  },
  {
    name: 'master prefer: 400 without multiple backends', setup: 'single',
    source: 'glance/api/v2/image_data.py _validate_stores',
    steps: [...activeImage, { path: '/v2/images/{id}/file?prefer=fast' }, { path: '/v2/images/{id}/file?prefer=' }],
    expected: () => [
      created(), noContent,
      error(400, 'Bad Request', 'Bad Request',
        'Store selection for download is not available when multiple backends are not enabled.'),
      data('abc', md5abc),
    ],
  },
  {
    name: 'master stores detail: weight after the properties', setup: 'stores',
    source: 'glance/api/v2/discovery.py get_stores_detail (store[\'weight\'] = CONF.<store>.weight)',
    steps: [{ path: '/v2/info/stores/detail', as: 'admin' }],
    expected: ({ fast, cheap }) => [json(200, { stores: [
      { id: 'fast', default: 'true', type: 'file',
        properties: { data_dir: fast, chunk_size: 65536, thin_provisioning: false }, weight: 0 },
      { id: 'cheap', type: 'file', properties: { data_dir: cheap, chunk_size: 65536, thin_provisioning: false }, weight: 7 },
    ] })],
  },
];
