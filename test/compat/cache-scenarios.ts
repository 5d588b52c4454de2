// Compat scenarios of the image cache API, compared with a reference Glance that has the cache on
// (`GLANCE_CACHE=1 refglance.sh`: image_cache_dir and the cachemanage middleware). The cache is one
// per node, so every scenario starts by clearing it.
import type { Scenario, Step } from './harness.ts';

const raw = { 'content-type': 'application/octet-stream' };
const clear: Step = { method: 'DELETE', path: '/v2/cache', as: 'admin' };
const list: Step = { path: '/v2/cache', as: 'admin' };
const activeImage: Step[] = [
  { method: 'POST', path: '/v2/images', body: { disk_format: 'raw', container_format: 'bare' }, capture: { id: 'id' } },
  { method: 'PUT', path: '/v2/images/{id}/file', headers: raw, body: 'cached bytes' },
];
const unknown = '7b2d0b0e-0000-4000-8000-000000000000';

export const cacheScenarios: Scenario[] = [
  { name: 'cache: versions with the cache on', steps: [{ path: '/versions', as: 'anonymous',
    statusOnly: 'Glimpse lists Glance master\'s versions (2.18 CURRENT, decision 0025); master-scenarios.ts compares the document' }] },
  { name: 'cache: cleared cache lists nothing', steps: [clear, list] },
  { name: 'cache: a download fills the cache, a second one counts a hit',
    steps: [clear, ...activeImage, { path: '/v2/images/{id}/file' }, { path: '/v2/images/{id}' }, list,
      { path: '/v2/images/{id}/file' }, { path: '/v2/images/{id}' }, list, clear, list] },
  { name: 'cache: PUT queues an active image (202), DELETE removes it (204)',
    steps: [clear, ...activeImage, { method: 'PUT', path: '/v2/cache/{id}', as: 'admin' },
      { method: 'DELETE', path: '/v2/cache/{id}', as: 'admin' }] },
  { name: 'cache: PUT of a queued image 400',
    steps: [{ method: 'POST', path: '/v2/images', body: { disk_format: 'raw', container_format: 'bare' }, capture: { id: 'id' } },
      { method: 'PUT', path: '/v2/cache/{id}', as: 'admin' }] },
  { name: 'cache: PUT and DELETE of an unknown image 404',
    steps: [{ method: 'PUT', path: `/v2/cache/${unknown}`, as: 'admin' }, { method: 'DELETE', path: `/v2/cache/${unknown}`, as: 'admin' }] },
  { name: 'cache: members may not list, queue, delete or clear (403)',
    steps: [...activeImage, { path: '/v2/cache' }, { method: 'PUT', path: '/v2/cache/{id}' },
      { method: 'DELETE', path: '/v2/cache/{id}' }, { method: 'DELETE', path: '/v2/cache' }] },
  { name: 'cache: clear targets cache, queue, empty; anything else 400',
    steps: [{ ...clear, headers: { 'x-image-cache-clear-target': 'cache' } },
      { ...clear, headers: { 'x-image-cache-clear-target': 'QUEUE' } },
      { ...clear, headers: { 'x-image-cache-clear-target': '' } },
      { ...clear, headers: { 'x-image-cache-clear-target': 'all' } }] },
  // POST /v2/cache/clean and /prune (405 on 25.1) are master's 2.18 calls: master-scenarios.ts.
  { name: 'cache: other methods 405',
    steps: [{ method: 'PUT', path: '/v2/cache', as: 'admin' }, { method: 'GET', path: `/v2/cache/${unknown}`, as: 'admin' }] },
  { name: 'cache: legacy queued_images round trip',
    steps: [clear, ...activeImage, { method: 'PUT', path: '/v2/queued_images/{id}', as: 'admin' },
      { path: '/v2/queued_images', as: 'admin' }, { method: 'DELETE', path: '/v2/queued_images/{id}', as: 'admin' },
      { method: 'PUT', path: '/v2/queued_images/{id}', as: 'admin' }, { method: 'DELETE', path: '/v2/queued_images', as: 'admin' },
      { path: '/v2/queued_images', as: 'admin' }] },
  { name: 'cache: legacy cached_images',
    steps: [clear, ...activeImage, { path: '/v2/images/{id}/file' }, { path: '/v2/images/{id}' },
      { path: '/v2/cached_images', as: 'admin' }, { method: 'DELETE', path: '/v2/cached_images/{id}', as: 'admin' },
      { path: '/v2/cached_images', as: 'admin' }, { method: 'DELETE', path: '/v2/cached_images', as: 'admin' }] },
  { name: 'cache: legacy routes need manage_image_cache (403)',
    steps: [{ path: '/v2/cached_images' }, { path: '/v2/queued_images' }, { method: 'DELETE', path: '/v2/cached_images' }] },
];
