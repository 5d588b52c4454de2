// Persona-matrix machinery: plays one request per (route × persona × visibility) cell over real HTTP
// against an Images API endpoint (Glimpse listening on a port, or a reference Glance), on fixtures
// built through the API itself. Projects are random per target, so a reference that keeps state
// between runs does not disturb the answers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

export const personas = ['admin', 'owner', 'ownerReader', 'other', 'pending', 'accepted', 'memberOnly', 'anonymous'] as const;
export type Persona = typeof personas[number];
export const visibilities = ['private', 'shared', 'community', 'public'] as const;
export type Visibility = typeof visibilities[number];

/** One request per cell. `{id}` is the fixture image, `{accepted}` the accepted member's project. */
export interface Route {
  method: string;
  path: string;
  body?: (target: Target, visibility: Visibility) => unknown;
  headers?: Record<string, string>;
  /** Fixture state before the request (default active: data uploaded). */
  state?: 'queued' | 'active' | 'deactivated';
  /** No fixture image needed. */
  noImage?: boolean;
  /** A 2xx/3xx answer may change the fixture: the next cell gets a new one. */
  mutates?: boolean;
  /** Turns the answer into the cell value (default: the status code). */
  outcome?: (res: Answer, target: Target, image: string) => number | string;
}

export interface Answer {
  status: number;
  body: string;
}

const octet = { 'content-type': 'application/octet-stream' };
const patch = { 'content-type': 'application/openstack-images-v2.1-json-patch' };

/** An endpoint under test with its own random projects and a cache of fixture images. */
export class Target {
  readonly projects: Record<'owner' | 'other' | 'admin' | 'pending' | 'accepted', string>;
  private readonly fixtures = new Map<string, string>();

  constructor(readonly name: string, readonly base: string) {
    const tag = randomUUID().slice(0, 8);
    this.projects = { owner: `pm-owner-${tag}`, other: `pm-other-${tag}`, admin: `pm-admin-${tag}`,
      pending: `pm-pending-${tag}`, accepted: `pm-accepted-${tag}` };
  }

  headers(persona: Persona): Record<string, string> {
    if (persona === 'anonymous') return {};
    const [project, roles] = ({
      admin: [this.projects.admin, 'admin'],
      owner: [this.projects.owner, 'member,reader'],
      ownerReader: [this.projects.owner, 'reader'],
      other: [this.projects.other, 'member,reader'],
      pending: [this.projects.pending, 'member,reader'],
      accepted: [this.projects.accepted, 'member,reader'],
      memberOnly: [this.projects.owner, 'member'],
    } as const)[persona];
    return { 'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${persona}-user`, 'x-roles': roles };
  }

  async call(persona: Persona, method: string, path: string, body?: unknown,
    headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method, redirect: 'manual',
      headers: { accept: 'application/json', ...this.headers(persona), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.text() };
  }

  private async must(persona: Persona, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const res = await this.call(persona, method, path, body, headers);
    assert.ok(res.status < 300, `${this.name} fixture: ${method} ${path} as ${persona} → ${res.status} ${res.body}`);
    return res.body === '' ? {} : JSON.parse(res.body) as Record<string, unknown>;
  }

  /**
   * An image owned by the owner project (public ones are made public by admin), created shared with
   * tag `t1`, the pending and accepted members added (member rows survive the later visibility change),
   * then data uploaded / deactivated as asked, and finally switched to the wanted visibility.
   */
  async makeImage(visibility: Visibility, state: Route['state'] = 'active'): Promise<string> {
    const by: Persona = visibility === 'public' ? 'admin' : 'owner';
    const image = await this.must(by, 'POST', '/v2/images', { name: `pm-${visibility}`, disk_format: 'raw',
      container_format: 'bare', visibility: 'shared', tags: ['t1'], owner: this.projects.owner });
    const id = image.id as string;
    await this.must(by, 'POST', `/v2/images/${id}/members`, { member: this.projects.pending });
    await this.must(by, 'POST', `/v2/images/${id}/members`, { member: this.projects.accepted });
    await this.must('accepted', 'PUT', `/v2/images/${id}/members/${this.projects.accepted}`, { status: 'accepted' });
    if (state !== 'queued') await this.must(by, 'PUT', `/v2/images/${id}/file`, 'persona-matrix', octet);
    if (state === 'deactivated') await this.must(by, 'POST', `/v2/images/${id}/actions/deactivate`);
    if (visibility !== 'shared') {
      await this.must(by, 'PATCH', `/v2/images/${id}`, [{ op: 'replace', path: '/visibility', value: visibility }], patch);
    }
    return id;
  }

  /** Plays one cell: a fixture (reused until a request may have changed it), then the request. */
  async play(routeName: string, route: Route, persona: Persona, visibility: Visibility) {
    let image = '';
    const key = `${routeName} ${visibility}`;
    if (!route.noImage) {
      image = this.fixtures.get(key) ?? await this.makeImage(visibility, route.state);
      this.fixtures.set(key, image);
    }
    const path = route.path.replace('{id}', image).replace('{accepted}', this.projects.accepted)
      .replace('{owner}', this.projects.owner);
    const res = await this.call(persona, route.method, path, route.body?.(this, visibility), route.headers);
    if (route.mutates && res.status < 400) this.fixtures.delete(key);
    return { value: route.outcome ? route.outcome(res, this, image) : res.status, res };
  }
}

/** Every v2 route Glimpse has, with the request each cell sends. */
export const routes = {
  'GET /v2/images': { method: 'GET', path: '/v2/images?owner={owner}&limit=1000',
    outcome: (res, _t, image) => res.status !== 200 ? res.status
      : (JSON.parse(res.body) as { images: { id: string }[] }).images.some((i) => i.id === image) ? '200 listed' : '200 unlisted' },
  'POST /v2/images': { method: 'POST', path: '/v2/images', noImage: true, body: (_t, visibility) => ({ visibility }) },
  'GET /v2/images/{id}': { method: 'GET', path: '/v2/images/{id}' },
  'PATCH /v2/images/{id}': { method: 'PATCH', path: '/v2/images/{id}', headers: patch, mutates: true,
    body: () => [{ op: 'replace', path: '/name', value: 'patched' }] },
  'DELETE /v2/images/{id}': { method: 'DELETE', path: '/v2/images/{id}', mutates: true },
  'POST /v2/images/{id}/actions/deactivate': { method: 'POST', path: '/v2/images/{id}/actions/deactivate', mutates: true },
  'POST /v2/images/{id}/actions/reactivate': { method: 'POST', path: '/v2/images/{id}/actions/reactivate',
    state: 'deactivated', mutates: true },
  'PUT /v2/images/{id}/file': { method: 'PUT', path: '/v2/images/{id}/file', state: 'queued', headers: octet,
    body: () => 'new data', mutates: true },
  'GET /v2/images/{id}/file': { method: 'GET', path: '/v2/images/{id}/file' },
  'PUT /v2/images/{id}/tags/{tag}': { method: 'PUT', path: '/v2/images/{id}/tags/t2', mutates: true },
  'DELETE /v2/images/{id}/tags/{tag}': { method: 'DELETE', path: '/v2/images/{id}/tags/t1', mutates: true },
  'GET /v2/images/{id}/members': { method: 'GET', path: '/v2/images/{id}/members' },
  'POST /v2/images/{id}/members': { method: 'POST', path: '/v2/images/{id}/members', mutates: true,
    body: () => ({ member: `pm-new-${randomUUID().slice(0, 8)}` }) },
  'GET /v2/images/{id}/members/{accepted}': { method: 'GET', path: '/v2/images/{id}/members/{accepted}' },
  'PUT /v2/images/{id}/members/{accepted}': { method: 'PUT', path: '/v2/images/{id}/members/{accepted}', mutates: true,
    body: () => ({ status: 'rejected' }) },
  'DELETE /v2/images/{id}/members/{accepted}': { method: 'DELETE', path: '/v2/images/{id}/members/{accepted}', mutates: true },
  'GET /v2/schemas/image': { method: 'GET', path: '/v2/schemas/image', noImage: true },
} satisfies Record<string, Route>;
export type RouteName = keyof typeof routes;
