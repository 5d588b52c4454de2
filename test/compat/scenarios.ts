// Compat scenarios: each runs against a fresh set of projects, so they also run against a
// reference Glance that holds other data. Lists are always narrowed to this run's projects.
import type { Scenario, Step } from './harness.ts';
import { metadefScenarios } from './metadef-scenarios.ts';

const raw = { 'content-type': 'application/octet-stream' };
const patch = { 'content-type': 'application/openstack-images-v2.1-json-patch' };
const create = (body: Record<string, unknown> = {}, as: Step['as'] = 'owner'): Step =>
  ({ method: 'POST', path: '/v2/images', as, body, capture: { id: 'id' } });
const createReady = (body: Record<string, unknown> = {}): Step =>
  create({ disk_format: 'raw', container_format: 'bare', ...body });
const upload = (data: string, as: Step['as'] = 'owner'): Step =>
  ({ method: 'PUT', path: '/v2/images/{id}/file', as, headers: raw, body: data });
const show = (as: Step['as'] = 'owner'): Step => ({ path: '/v2/images/{id}', as });
const patchOps = (ops: unknown, as: Step['as'] = 'owner'): Step =>
  ({ method: 'PATCH', path: '/v2/images/{id}', as, headers: patch, body: JSON.stringify(ops) });
const remove = (as: Step['as'] = 'owner'): Step => ({ method: 'DELETE', path: '/v2/images/{id}', as });
const masterVersions = 'Glimpse lists Glance master\'s versions (2.17 CURRENT, decision 0025); master-scenarios.ts compares the document';

export const scenarios: Scenario[] = [
  // versions and routing
  // The document itself differs from 25.1 on purpose (decision 0025): master-scenarios.ts compares it.
  { name: 'versions: GET / is 300', steps: [{ path: '/', as: 'anonymous', statusOnly: masterVersions }] },
  { name: 'versions: GET /versions is 200', steps: [{ path: '/versions', as: 'anonymous', statusOnly: masterVersions }] },
  { name: 'routing: GET /v2 redirects', steps: [{ path: '/v2', compareHeaders: ['location'] }] },
  { name: 'routing: unknown path 404', steps: [{ path: '/v2/nothing' }] },
  { name: 'routing: wrong method 405 with Allow', steps: [{ method: 'PUT', path: '/v2/images' }] },
  { name: 'routing: HEAD on a list is 405', steps: [{ method: 'HEAD', path: '/v2/images' }] },
  { name: 'auth: no identity is 401', steps: [{ path: '/v2/images', as: 'anonymous' }] },
  { name: 'errors: HTML for */*', steps: [{ path: '/v2/nothing', headers: { accept: '*/*' } }] },
  { name: 'errors: plain text without Accept', steps: [{ path: '/v2/nothing', headers: { accept: '' } }] },

  // schemas
  ...['image', 'images', 'member', 'members', 'task', 'tasks'].map((name): Scenario =>
    ({ name: `schemas: ${name}`, steps: [{ path: `/v2/schemas/${name}` }] })),
  { name: 'schemas: POST is 405', steps: [{ method: 'POST', path: '/v2/schemas/image' }] },

  // create
  { name: 'create: defaults and rendering', steps: [create({ name: 'c1', foo: 'bar', tags: ['b', 'a', 'b'] }), show()] },
  { name: 'create: caller-supplied id, duplicate 409, deleted id not reusable',
    steps: [create({ id: '{newid}' }), create({ id: '{newid}' }), { method: 'DELETE', path: '/v2/images/{newid}' },
      create({ id: '{newid}' })] },
  { name: 'create: name of wrong type 400', steps: [{ method: 'POST', path: '/v2/images', body: { name: 1 },
    statusOnly: 'Glance appends the schema excerpt and instance to the message' }] },
  { name: 'create: custom property not a string 400', steps: [{ method: 'POST', path: '/v2/images', body: { foo: 1 },
    statusOnly: 'Glance appends the schema excerpt and instance to the message' }] },
  { name: 'create: negative min_ram 400', steps: [{ method: 'POST', path: '/v2/images', body: { min_ram: -1 } }] },
  { name: 'create: read-only status 403', steps: [{ method: 'POST', path: '/v2/images', body: { status: 'active' } }] },
  { name: 'create: reserved os_glance_ 403', steps: [{ method: 'POST', path: '/v2/images', body: { os_glance_x: 'y' } }] },
  { name: 'create: locations reserved 403', steps: [{ method: 'POST', path: '/v2/images', body: { locations: [] } }] },
  { name: 'create: other owner 403', steps: [{ method: 'POST', path: '/v2/images', body: { owner: 'someone' } }] },
  { name: 'create: public needs admin 403', steps: [{ method: 'POST', path: '/v2/images', body: { visibility: 'public' } }] },
  { name: 'create: reader may not create 403', steps: [{ method: 'POST', path: '/v2/images', as: 'ownerReader', body: {} }] },
  { name: 'create: malformed JSON 400', steps: [{ method: 'POST', path: '/v2/images', body: '{bad' }] },
  { name: 'create: community by a member', steps: [create({ visibility: 'community' }), show('other'), remove()] },

  // show / visibility
  { name: 'show: unknown id 404', steps: [{ path: '/v2/images/00000000-0000-4000-8000-000000000000' }] },
  { name: 'show: private image hidden from other project', steps: [create({ visibility: 'private' }), show('other'), show('admin')] },
  { name: 'show: shared image visible to a pending member',
    steps: [create(), show('other'), { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } },
      show('other')] },

  // patch
  { name: 'patch: add, replace, remove custom properties',
    steps: [create({ foo: 'a' }), patchOps([{ op: 'add', path: '/foo', value: 'b' }, { op: 'add', path: '/bar', value: 'c' }]),
      patchOps([{ op: 'remove', path: '/foo' }, { op: 'replace', path: '/name', value: 'n' }])] },
  { name: 'patch: replace and remove of missing property 409',
    steps: [create(), patchOps([{ op: 'replace', path: '/nope', value: 'x' }]), patchOps([{ op: 'remove', path: '/nope' }])] },
  { name: 'patch: core property removal 403', steps: [create(), patchOps([{ op: 'remove', path: '/name' }])] },
  { name: 'patch: read-only 403', steps: [create(), patchOps([{ op: 'replace', path: '/status', value: 'active' }])] },
  { name: 'patch: json pointer escapes', steps: [create(), patchOps([{ op: 'add', path: '/a~1b', value: 'slash' }])] },
  { name: 'patch: bad pointer and op 400',
    steps: [create(), patchOps([{ op: 'add', path: '/tags/-', value: 'x' }]), patchOps([{ op: 'test', path: '/name', value: 'x' }])] },
  { name: 'patch: unsupported media type 415',
    steps: [create(), { method: 'PATCH', path: '/v2/images/{id}', headers: { 'content-type': 'application/json' }, body: '[]' }] },
  { name: 'patch: 2.0 add of existing property 409',
    steps: [create({ foo: 'a' }), { method: 'PATCH', path: '/v2/images/{id}',
      headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' }, body: JSON.stringify([{ add: '/foo', value: 'b' }]) }] },
  { name: 'patch: non-owner member 403 on community image',
    steps: [create({ visibility: 'community' }), patchOps([{ op: 'replace', path: '/name', value: 'x' }], 'other'), remove()] },
  { name: 'patch: location changes while locations are hidden',
    steps: [create(), patchOps([{ op: 'add', path: '/locations/-', value: { url: 'http://x/y', metadata: {} } }]),
      patchOps([{ op: 'replace', path: '/locations', value: [] }]),
      patchOps([{ op: 'replace', path: '/locations', value: [{ url: 'http://x/y', metadata: {} }] }]),
      patchOps([{ op: 'remove', path: '/locations/0' }]), patchOps([{ op: 'remove', path: '/locations/0' }], 'admin'),
      patchOps([{ op: 'add', path: '/locations', value: { url: 'http://x/y', metadata: {} } }])] },
  { name: 'patch: owner change by non-admin 403', steps: [create(), patchOps([{ op: 'replace', path: '/owner', value: 'x' }])] },

  // delete / protected / deactivate
  { name: 'delete: 204 then 404', steps: [create(), remove(), show()] },
  { name: 'delete: protected 403', steps: [create({ protected: true }), remove(),
    patchOps([{ op: 'replace', path: '/protected', value: false }]), remove()] },
  { name: 'deactivate: queued image 403', steps: [create(), { method: 'POST', path: '/v2/images/{id}/actions/deactivate' }] },
  { name: 'deactivate: active image, download by owner 403, admin ok',
    steps: [createReady(), upload('abc'), { method: 'POST', path: '/v2/images/{id}/actions/deactivate' },
      { path: '/v2/images/{id}/file' }, { path: '/v2/images/{id}/file', as: 'admin' },
      { method: 'POST', path: '/v2/images/{id}/actions/reactivate' }, show()] },

  // data
  { name: 'upload: active with checksums', steps: [createReady(), upload('hello world'), show()] },
  { name: 'upload: empty body', steps: [createReady(), upload(''), show(), { path: '/v2/images/{id}/file' }] },
  { name: 'upload: formats unset 400', steps: [create(), upload('x')] },
  { name: 'upload: second upload 409', steps: [createReady(), upload('x'), upload('y')] },
  { name: 'upload: wrong content type 415',
    steps: [createReady(), { method: 'PUT', path: '/v2/images/{id}/file', headers: { 'content-type': 'text/plain' }, body: 'x' }] },
  { name: 'download: no data 204', steps: [create(), { path: '/v2/images/{id}/file' }] },
  { name: 'download: whole and ranges',
    steps: [createReady(), upload('0123456789'), { path: '/v2/images/{id}/file' },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=2-4' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=-3' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=8-100' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=10-' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=0-1,3-4' } },
      { path: '/v2/images/{id}/file', headers: { 'content-range': 'bytes 1-2/*' } }] },
  // `bytes=-0`: webob reads it as `bytes=0-` (the whole image, 206); on an empty image it is 416.
  { name: 'download: suffix ranges, -0 included',
    steps: [createReady(), upload('0123456789'),
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=-0' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=-1' } },
      { path: '/v2/images/{id}/file', headers: { range: 'bytes=-100' } }] },
  { name: 'download: -0 of an empty image',
    steps: [createReady(), upload(''), { path: '/v2/images/{id}/file', headers: { range: 'bytes=-0' } }] },
  { name: 'download: reader 403', steps: [createReady(), upload('x'), { path: '/v2/images/{id}/file', as: 'ownerReader' }] },

  // members
  { name: 'members: add, accept, list, delete',
    steps: [create(), { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } },
      { method: 'PUT', path: '/v2/images/{id}/members/{other}', as: 'other', body: { status: 'accepted' } },
      { path: '/v2/images/{id}/members' }, { path: '/v2/images/{id}/members', as: 'other' },
      { path: '/v2/images/{id}/members/{other}', as: 'other' },
      { method: 'DELETE', path: '/v2/images/{id}/members/{other}' }, show('other')] },
  { name: 'members: owner may not set status 403; duplicate 409',
    steps: [create(), { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } },
      { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } },
      { method: 'PUT', path: '/v2/images/{id}/members/{other}', body: { status: 'accepted' } },
      { method: 'PUT', path: '/v2/images/{id}/members/{other}', as: 'other', body: { status: 'maybe' } }] },
  { name: 'members: private image 403', steps: [create({ visibility: 'private' }),
    { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } }, { path: '/v2/images/{id}/members' }] },
  { name: 'members: bad bodies 400', steps: [create(), { method: 'POST', path: '/v2/images/{id}/members', body: {} },
    { method: 'POST', path: '/v2/images/{id}/members', body: { member: '' } }] },

  // tags
  { name: 'tags: add idempotent, delete, delete missing 404',
    steps: [create(), { method: 'PUT', path: '/v2/images/{id}/tags/a%20b' }, { method: 'PUT', path: '/v2/images/{id}/tags/a%20b' },
      show(), { method: 'DELETE', path: '/v2/images/{id}/tags/a%20b' }, { method: 'DELETE', path: '/v2/images/{id}/tags/a%20b' }] },
  { name: 'tags: reader 403', steps: [create(), { method: 'PUT', path: '/v2/images/{id}/tags/x', as: 'ownerReader' }] },

  // lists (narrowed to this run's projects)
  { name: 'list: own images, filters and paging',
    steps: [create({ name: 'l1', tags: ['x'] }), create({ name: 'l2', os_distro: 'u' }), create({ name: 'l3', visibility: 'private' }),
      { path: '/v2/images?owner={owner}&sort_key=name&sort_dir=asc' },
      { path: '/v2/images?owner={owner}&tag=x' },
      { path: '/v2/images?owner={owner}&os_distro=u' },
      { path: '/v2/images?owner={owner}&name=in:l1,l3&sort=name:asc' },
      { path: '/v2/images?owner={owner}&limit=1&sort_key=name&sort_dir=asc' }] },
  { name: 'list: bad parameters 400',
    steps: [{ path: '/v2/images?limit=x' }, { path: '/v2/images?limit=-1' }, { path: '/v2/images?sort_key=owner', statusOnly: 'key list wording' },
      { path: '/v2/images?sort_dir=up' }, { path: '/v2/images?visibility=secret' }, { path: '/v2/images?changes-since=2020-01-01' },
      { path: '/v2/images?marker=00000000-0000-4000-8000-000000000000' }, { path: '/v2/images?name=gt:a' },
      { path: '/v2/images?protected=True', statusOnly: 'wording' }, { path: '/v2/images?sort=name&sort_key=id' }] },
  { name: 'list: member_status for shared images',
    steps: [create({ name: 's1' }), { method: 'POST', path: '/v2/images/{id}/members', body: { member: '{other}' } },
      { path: '/v2/images?owner={owner}', as: 'other' },
      { path: '/v2/images?owner={owner}&member_status=pending', as: 'other' },
      { method: 'PUT', path: '/v2/images/{id}/members/{other}', as: 'other', body: { status: 'accepted' } },
      { path: '/v2/images?owner={owner}', as: 'other' }] },
  { name: 'list: reader-less token 403',
    steps: [{ path: '/v2/images', headers: { 'x-roles': 'member' }, statusOnly: 'policy wording' }] },

  // issue 21: the last differences found side by side with the reference
  { name: 'views: kernel_id and ramdisk_id set to null show null (create, show, list, patch)',
    steps: [create({ name: 'nullable', kernel_id: null, ramdisk_id: null }), show(), { path: '/v2/images?owner={owner}' },
      patchOps([{ op: 'replace', path: '/kernel_id', value: '00000000-0000-4000-8000-000000000001' }]),
      patchOps([{ op: 'replace', path: '/kernel_id', value: null }, { op: 'add', path: '/os_distro', value: 'x' }]), show()] },
  { name: 'views: a deactivated image shows no stores',
    steps: [createReady(), upload('abc'), show(), { method: 'POST', path: '/v2/images/{id}/actions/deactivate' }, show(),
      show('admin'), { path: '/v2/images?owner={owner}' }, { method: 'POST', path: '/v2/images/{id}/actions/reactivate' }, show()] },
  { name: 'patch: a path with an empty segment',
    steps: [create(), patchOps([{ op: 'add', path: '//a', value: 'x' }]), show(),
      patchOps([{ op: 'add', path: '/a/', value: 'y' }]), patchOps([{ op: 'add', path: '/', value: 'z' }]),
      patchOps([{ op: 'remove', path: '//a' }]), show(),
      patchOps([{ op: 'add', path: '/a//b', value: 'x' }]), patchOps([{ op: 'add', path: 'a', value: 'x' }]),
      patchOps([{ op: 'add', path: '/a~2', value: 'x' }]), patchOps([{ op: 'add', path: '/ / ', value: 'x' }]),
      patchOps([{ op: 'add', path: '///a', value: 'x' }]), patchOps([{ op: 'add', path: '/ b ', value: 'x' }]),
      patchOps([{ op: 'add', path: '/a/b' }]), patchOps([{ op: 'add', path: '//c' }]), show()] },
  { name: 'list: a marker the caller cannot see',
    steps: [create({ visibility: 'private' }, 'other'), { path: '/v2/images?marker={id}' },
      { path: '/v2/images?marker={id}&owner={other}', as: 'admin' }, { path: '/v2/images?marker={id}&owner={other}', as: 'other' }] },

  ...metadefScenarios,
  // multi-store (the reference has enabled_backends = fast:file)
  { name: 'stores: GET /v2/info/stores', steps: [{ path: '/v2/info/stores' }, { path: '/v2/info/stores', as: 'ownerReader' }] },
  { name: 'stores: detail is admin only',
    steps: [{ path: '/v2/info/stores/detail' }, { path: '/v2/info/stores/detail', as: 'admin', statusOnly: 'data_dir is a local path' }] },
  { name: 'stores: upload to an unknown store 400, then to the named store',
    steps: [createReady(), { method: 'PUT', path: '/v2/images/{id}/file', headers: { ...raw, 'x-image-meta-store': 'nope' }, body: 'abc' },
      show(), { method: 'PUT', path: '/v2/images/{id}/file', headers: { ...raw, 'x-image-meta-store': 'fast' }, body: 'abc' }, show()] },
  { name: 'stores: create answers OpenStack-image-store-ids', steps: [{ ...create(), compareHeaders: ['openstack-image-store-ids'] }] },
  { name: 'stores: DELETE /v2/stores answers',
    steps: [createReady(), { method: 'DELETE', path: '/v2/stores/fast/{id}', as: 'admin' }, upload('abc'),
      { method: 'DELETE', path: '/v2/stores/nope/{id}', as: 'admin' },
      { method: 'DELETE', path: '/v2/stores/fast/{id}', statusOnly: 'policy wording' },
      { method: 'DELETE', path: '/v2/stores/fast/{id}', as: 'admin' },
      { method: 'DELETE', path: '/v2/stores/fast/00000000-0000-4000-8000-000000000000', as: 'admin' }, show()] },
];
