// Unified limits in the real Keystone of the integration tests (keystone.sh), through Keystone's
// API as its admin: a fresh project per suite with its own project limits, and the registered
// limits of the image service, created only when missing and removed again by whoever created
// them. Other streams share this Keystone: every limit a suite creates belongs to its own project,
// except registered defaults, which nothing but use_keystone_limits reads.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { keystoneUrl, login } from './keystone.ts';

export const RESOURCES = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const;
export type Limits = Partial<Record<typeof RESOURCES[number], number>>;

/** Generous defaults: every project without limits of its own may still do everything. */
const DEFAULTS: Record<typeof RESOURCES[number], number> = {
  image_size_total: 100_000, image_stage_total: 100_000, image_count_total: 10_000, image_count_uploading: 1000,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Keystone's answers, read field by field in the tests
type Json = any;

async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const send = () => fetch(`${keystoneUrl}${path}`, {
    method, headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Keystone closes idle kept-alive connections; a request sent on one just closed is sent again.
  const res = await send().catch(() => send());
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A system-scoped admin token: it lists the limits of every project (a project-scoped one sees its own). */
async function systemToken(): Promise<string> {
  const res = await fetch(`${keystoneUrl}/auth/tokens?nocatalog`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', password: 'admin', domain: { name: 'Default' } } } },
      scope: { system: { all: true } } } }),
  });
  assert.equal(res.status, 201, 'system-scoped admin token');
  return res.headers.get('x-subject-token')!;
}

export interface LimitsFixture {
  projectId: string;
  /** The image service's public endpoint id ([oslo_limit] endpoint_id). */
  endpointId: string;
  /** Sets (creates or updates) this project's limits. */
  setLimits(limits: Limits): Promise<void>;
  cleanup(): Promise<void>;
}

export async function limitsFixture(): Promise<LimitsFixture> {
  const { token } = await login('admin', 'admin', 'admin');
  const endpoints = (await call(token, 'GET', '/endpoints?interface=public')).json.endpoints as
    { id: string; service_id: string; region_id: string }[];
  const services = (await call(token, 'GET', '/services?type=image')).json.services as { id: string }[];
  assert.equal(services.length, 1, 'one image service in the catalog');
  const endpoint = endpoints.find((e) => e.service_id === services[0]!.id);
  assert.ok(endpoint, 'the image service has a public endpoint');
  const serviceId = endpoint.service_id;
  const regionId = endpoint.region_id;

  const existing = (await call(token, 'GET', `/registered_limits?service_id=${serviceId}&region_id=${regionId}`)).json
    .registered_limits as { resource_name: string }[];
  const missing = RESOURCES.filter((r) => !existing.some((l) => l.resource_name === r));
  const createdRegistered: string[] = [];
  if (missing.length > 0) {
    const res = await call(token, 'POST', '/registered_limits', { registered_limits: missing.map((r) => ({
      service_id: serviceId, region_id: regionId, resource_name: r, default_limit: DEFAULTS[r] })) });
    if (res.status === 201) createdRegistered.push(...(res.json.registered_limits as { id: string }[]).map((l) => l.id));
    else assert.equal(res.status, 409, `registered limits: ${JSON.stringify(res.json)}`); // a parallel run made them
  }

  const project = await call(token, 'POST', '/projects', {
    project: { name: `glimpse-quota-${randomBytes(4).toString('hex')}`, domain_id: 'default', description: 'Glimpse quota tests' },
  });
  assert.equal(project.status, 201);
  const projectId = project.json.project.id as string;
  const limitIds = new Map<string, string>();

  return {
    projectId,
    endpointId: endpoint.id,
    async setLimits(limits) {
      for (const [resource, value] of Object.entries(limits)) {
        let id = limitIds.get(resource);
        if (id && value === 0) {
          // Keystone ignores a PATCH to 0 (it answers 200 and keeps the old value): replace the limit.
          await call(token, 'DELETE', `/limits/${id}`);
          limitIds.delete(resource);
          id = undefined;
        }
        if (id) {
          const res = await call(token, 'PATCH', `/limits/${id}`, { limit: { resource_limit: value } });
          assert.equal(res.status, 200, JSON.stringify(res.json));
          continue;
        }
        const res = await call(token, 'POST', '/limits', { limits: [{
          service_id: serviceId, region_id: regionId, project_id: projectId, resource_name: resource, resource_limit: value }] });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        limitIds.set(resource, res.json.limits[0].id);
      }
    },
    async cleanup() {
      for (const id of limitIds.values()) await call(token, 'DELETE', `/limits/${id}`);
      await call(token, 'PATCH', `/projects/${projectId}`, { project: { enabled: false } });
      await call(token, 'DELETE', `/projects/${projectId}`);
      if (createdRegistered.length === 0) return;
      // Another suite running meanwhile may still use the defaults: they go with the last project limit.
      const system = await systemToken();
      const others = (await call(system, 'GET', `/limits?service_id=${serviceId}&region_id=${regionId}`)).json.limits as unknown[];
      if (others.length > 0) return;
      for (const id of createdRegistered) await call(token, 'DELETE', `/registered_limits/${id}`);
    },
  };
}

/**
 * GLIMPSE_* settings of use_keystone_limits against the test Keystone. Reading every project's
 * limits takes a system-scoped token (a project-scoped one sees only its own project's limits);
 * keystone.sh's glance user has no system role and other streams share it, so the tests read as
 * admin, which keystone-manage bootstrap gave the system admin role.
 */
export function limitsEnv(endpointId: string, authUrl = keystoneUrl!): Record<string, string> {
  return {
    GLIMPSE_DEFAULT__USE_KEYSTONE_LIMITS: 'true',
    GLIMPSE_OSLO_LIMIT__AUTH_URL: authUrl,
    GLIMPSE_OSLO_LIMIT__USERNAME: 'admin',
    GLIMPSE_OSLO_LIMIT__PASSWORD: 'admin',
    GLIMPSE_OSLO_LIMIT__SYSTEM_SCOPE: 'all',
    GLIMPSE_OSLO_LIMIT__ENDPOINT_ID: endpointId,
    GLIMPSE_GLIMPSE_QUOTAS__LIMITS_CACHE_TIME: '0',
  };
}
