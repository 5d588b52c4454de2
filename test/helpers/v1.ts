// Small helpers for v1 API tests: personas, requests in the v1 client's shapes, header parsing as
// python-glanceclient's v1 client does it.
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { as, startTestApp, type TestApp } from './app.ts';
import { forEachDatabase } from './databases.ts';

export const owner = as('owner', 'member,reader');
export const other = as('other', 'member,reader');
export const admin = as('adminproject', 'admin,member,reader');
export const octet = { 'content-type': 'application/octet-stream' };

export type Headers = Record<string, string>;

export async function v1Create(t: TestApp, meta: Headers = {}, data?: string | Buffer, who = owner) {
  return t.app.inject({ method: 'POST', url: '/v1/images', headers: { ...who, ...octet, ...meta },
    ...(data === undefined ? {} : { payload: typeof data === 'string' ? Buffer.from(data) : data }) });
}

/** A created image's JSON record (asserts 201). */
export async function v1Reserve(t: TestApp, meta: Headers = {}, who = owner) {
  const res = await v1Create(t, meta, undefined, who);
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { image: Record<string, unknown> & { id: string } }).image;
}

export async function v1Active(t: TestApp, data = 'hello', meta: Headers = {}, who = owner) {
  const res = await v1Create(t, { 'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare', ...meta }, data, who);
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { image: Record<string, unknown> & { id: string } }).image;
}

export async function v1Head(t: TestApp, id: string, who = owner) {
  return t.app.inject({ method: 'HEAD', url: `/v1/images/${id}`, headers: who });
}

export async function v1Update(t: TestApp, id: string, meta: Headers, who = owner, data?: string) {
  return t.app.inject({ method: 'PUT', url: `/v1/images/${id}`, headers: { ...who, ...octet, ...meta },
    ...(data === undefined ? {} : { payload: Buffer.from(data) }) });
}

export async function v1List(t: TestApp, query = '', who = owner, detail = true) {
  const res = await t.app.inject({ url: `/v1/images${detail ? '/detail' : ''}${query ? `?${query}` : ''}`, headers: who });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { images: (Record<string, unknown> & { id: string })[] }).images;
}

/** python-glanceclient v1's header reading: x-image-meta-* → fields, ints and lenient booleans. */
export function clientMeta(headers: Record<string, unknown>): Record<string, unknown> {
  const meta: Record<string, unknown> = { properties: {} };
  for (const [name, raw] of Object.entries(headers)) {
    const value = String(raw);
    if (name.startsWith('x-image-meta-property-')) (meta.properties as Record<string, string>)[name.slice(22)] = value;
    else if (name.startsWith('x-image-meta-')) {
      const key = name.slice(13);
      if (['size', 'min_ram', 'min_disk'].includes(key)) meta[key] = Number.parseInt(value, 10);
      else if (['is_public', 'protected', 'deleted'].includes(key)) meta[key] = /^(true|1|yes|on|y|t)$/i.test(value);
      else meta[key] = value;
    }
  }
  return meta;
}

/**
 * One suite per database dialect (SQLite; PostgreSQL and MariaDB when their env is set), each with
 * an app on that database. `start(env)` opens another app (other options) on the same database.
 */
export function v1Suite(name: string, body: (app: () => TestApp, start: (env?: Record<string, string>) => Promise<TestApp>) => void): void {
  forEachDatabase(name, (_getDb, target) => {
    let t: TestApp | undefined;
    const start = (env: Record<string, string> = {}) => startTestApp({ GLIMPSE_DATABASE__CONNECTION: target.url(), ...env });
    before(async () => { t = await start(); });
    after(async () => { await t?.close(); });
    body(() => t!, start);
  });
}

/** A real HTTP request to the app (listening on an ephemeral loopback port); `chunks` are sent chunked. */
export async function httpRequest(t: TestApp, method: string, path: string, headers: Headers, chunks?: (string | Buffer)[]) {
  const address = t.app.server.address();
  if (address === null) await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of chunks ?? []) req.write(chunk);
    req.end();
  });
}
