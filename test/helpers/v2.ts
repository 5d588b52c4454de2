// Small helpers for v2 API tests.
import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';
import { as } from './app.ts';

export const ownerMember = as('owner', 'member,reader');
export const ownerReader = as('owner', 'reader');
export const otherMember = as('other', 'member,reader');
export const admin = as('adminproject', 'admin,member,reader');
export const json = { accept: 'application/json' };
export const patch21 = { 'content-type': 'application/openstack-images-v2.1-json-patch' };
export const octet = { 'content-type': 'application/octet-stream' };

export async function createImage(t: TestApp, body: Record<string, unknown> = {}, headers = ownerMember) {
  const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...headers, ...json }, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as Record<string, unknown> & { id: string };
}

export async function createActive(t: TestApp, data = 'hello', body: Record<string, unknown> = {}, headers = ownerMember) {
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare', ...body }, headers);
  const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...headers, ...octet },
    payload: Buffer.from(data) });
  assert.equal(res.statusCode, 204, res.body);
  return image;
}

export async function patchImage(t: TestApp, id: string, ops: unknown, headers = ownerMember) {
  return t.app.inject({ method: 'PATCH', url: `/v2/images/${id}`, headers: { ...headers, ...json, ...patch21 },
    payload: JSON.stringify(ops) });
}

export async function show(t: TestApp, id: string, headers = ownerMember) {
  return t.app.inject({ url: `/v2/images/${id}`, headers: { ...headers, ...json } });
}
