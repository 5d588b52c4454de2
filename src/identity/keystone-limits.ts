// The unified limits of this image service, read from Keystone as oslo.limit's flat enforcer reads
// them (decision 0021): Glimpse authenticates with the [oslo_limit] credentials (system or project
// scope), finds its endpoint (endpoint_id, or service type/name + region + interface) and with it
// the service and region, checks that Keystone's enforcement model is `flat`, and reads
// `/v3/registered_limits` (the defaults) and `/v3/limits?project_id=` (the overrides) of that
// service and region. A resource with neither counts as limit 0, as in oslo.limit. Answers are
// reused for `limits_cache_time` seconds; concurrent misses share one request.
// Keystone unreachable or answering nonsense: the check fails with 500, as Glance's does (its
// oslo.limit call raises, and nothing turns that into a 4xx).
import type { Dispatcher } from 'undici';

import type { KeystoneLimitsConfig } from '../config/types.ts';
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import { keystoneRequest } from './keystone-http.ts';
import { tlsConnectOptions, tlsDispatcher } from '../lib/tls.ts';
import type { Logger } from '../ports/context.ts';
import { QUOTA_RESOURCES, type LimitSource, type ProjectLimits } from '../ports/quotas.ts';

interface Endpoint {
  serviceId: string;
  regionId: string | null;
}

interface Cached<T> {
  value: Promise<T>;
  until: number;
}

export interface KeystoneLimitsOptions {
  now?: () => number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

export class KeystoneLimitSource implements LimitSource {
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;
  private endpoint: Promise<Endpoint> | undefined;
  private registered: Cached<Map<string, number>> | undefined;
  private readonly projects = new Map<string, Cached<Map<string, number>>>();
  /** [oslo_limit] cafile / insecure / certfile / keyfile. */
  private readonly dispatcher: () => Promise<Dispatcher | undefined>;

  constructor(private readonly config: KeystoneLimitsConfig, private readonly options: KeystoneLimitsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.dispatcher = tlsDispatcher(tlsConnectOptions(config.tls));
  }

  async limitsFor(projectId: string): Promise<ProjectLimits> {
    const [registered, overrides] = await Promise.all([this.registeredLimits(), this.projectLimits(projectId)]);
    const limits = {} as ProjectLimits;
    for (const resource of QUOTA_RESOURCES) limits[resource] = overrides.get(resource) ?? registered.get(resource) ?? 0;
    return limits;
  }

  private registeredLimits(): Promise<Map<string, number>> {
    this.registered = this.cached(this.registered, async () => {
      const { serviceId, regionId } = await this.findEndpoint();
      const body = await this.get(`/registered_limits?${query({ service_id: serviceId, region_id: regionId })}`) as
        { registered_limits?: { resource_name: string; default_limit: number }[] };
      return new Map((body.registered_limits ?? []).map((l) => [l.resource_name, Number(l.default_limit)]));
    });
    return this.registered.value;
  }

  private projectLimits(projectId: string): Promise<Map<string, number>> {
    const entry = this.cached(this.projects.get(projectId), async () => {
      const { serviceId, regionId } = await this.findEndpoint();
      const body = await this.get(`/limits?${query({ service_id: serviceId, region_id: regionId, project_id: projectId })}`) as
        { limits?: { resource_name: string; resource_limit: number; project_id?: string }[] };
      // Keystone filters by project; a domain-level limit (no project_id) is not this project's.
      return new Map((body.limits ?? []).filter((l) => l.project_id === undefined || l.project_id === projectId)
        .map((l) => [l.resource_name, Number(l.resource_limit)]));
    });
    if (this.projects.size > 10_000) this.projects.clear();
    this.projects.set(projectId, entry);
    return entry.value;
  }

  /** A fresh cache entry, or `load` started now (a failed load is not kept). */
  private cached<T>(entry: Cached<T> | undefined, load: () => Promise<T>): Cached<T> {
    const now = this.now();
    if (entry && entry.until > now) return entry;
    const value = load();
    const fresh: Cached<T> = { value, until: now + this.config.cacheSeconds * 1000 };
    value.catch(() => { fresh.until = 0; });
    return fresh;
  }

  /** The service and region the limits belong to (found once per process; a failed search is retried). */
  private findEndpoint(): Promise<Endpoint> {
    this.endpoint ??= this.lookUpEndpoint();
    this.endpoint.catch(() => { this.endpoint = undefined; });
    return this.endpoint;
  }

  private async lookUpEndpoint(): Promise<Endpoint> {
    const model = await this.get('/limits/model') as { model?: { name?: string } };
    if (model.model?.name !== 'flat') throw this.failure(`enforcement model ${String(model.model?.name)} is not supported`);
    const c = this.config;
    if (c.endpointId) {
      const body = await this.get(`/endpoints/${encodeURIComponent(c.endpointId)}`, `Can't find endpoint for ${c.endpointId}`) as
        { endpoint: { service_id: string; region_id?: string | null } };
      return { serviceId: body.endpoint.service_id, regionId: body.endpoint.region_id ?? null };
    }
    const services = (await this.get(`/services?${query({ type: c.endpointServiceType, name: c.endpointServiceName })}`) as
      { services: { id: string; type: string; name?: string }[] }).services
      .filter((s) => (!c.endpointServiceType || s.type === c.endpointServiceType) && (!c.endpointServiceName || s.name === c.endpointServiceName));
    if (services.length !== 1) throw this.failure(services.length === 0 ? 'Service not found' : 'Multiple services found');
    let regionId: string | null = null;
    if (c.endpointRegionName) {
      regionId = (await this.get(`/regions/${encodeURIComponent(c.endpointRegionName)}`, 'Region not found') as
        { region: { id: string } }).region.id;
    }
    const endpoints = (await this.get(`/endpoints?${query({ service_id: services[0]!.id, region_id: regionId,
      interface: c.endpointInterface })}`) as { endpoints: { service_id: string; region_id?: string | null }[] }).endpoints;
    if (endpoints.length !== 1) throw this.failure(endpoints.length === 0 ? 'Endpoint not found' : 'Multiple endpoints found');
    return { serviceId: endpoints[0]!.service_id, regionId: endpoints[0]!.region_id ?? null };
  }

  private async get(path: string, notFound?: string, retried = false): Promise<unknown> {
    const token = await this.serviceToken(retried);
    const res = await this.call('GET', path, { 'x-auth-token': token, accept: 'application/json' });
    if (res.status === 401 && !retried) {
      this.token = undefined;
      return this.get(path, notFound, true);
    }
    if (res.status === 404 && notFound) throw this.failure(notFound);
    if (res.status !== 200) throw this.failure(`GET ${path.split('?')[0]} answered ${res.status}`);
    return parse(res.body, () => this.failure(`GET ${path.split('?')[0]} answered with no JSON`));
  }

  private serviceToken(force: boolean): Promise<string> {
    if (!force && this.token && this.token.expiresAt - 60_000 > this.now()) return Promise.resolve(this.token.value);
    this.pendingToken ??= this.authenticate().finally(() => { this.pendingToken = undefined; });
    return this.pendingToken;
  }

  private async authenticate(): Promise<string> {
    const c = this.config;
    const domain = c.userDomainId ? { id: c.userDomainId } : { name: c.userDomainName };
    const scope = c.systemScope
      ? { system: { all: true } }
      : { project: { name: c.projectName, domain: c.projectDomainId ? { id: c.projectDomainId } : { name: c.projectDomainName } } };
    const res = await this.call('POST', '/auth/tokens?nocatalog', { 'content-type': 'application/json' }, JSON.stringify({
      auth: { identity: { methods: ['password'], password: { user: { name: c.username, password: c.password, domain } } }, scope },
    }));
    const token = res.headers['x-subject-token'];
    if (res.status !== 201 || typeof token !== 'string') {
      throw this.failure(`Keystone refused the [oslo_limit] credentials (${res.status})`);
    }
    const body = parse(res.body, () => this.failure('Keystone answered a token request with no JSON')) as { token?: { expires_at?: string } };
    const expiresAt = Date.parse(String(body.token?.expires_at));
    this.token = { value: token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : this.now() + 300_000 };
    return token;
  }

  private async call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
    try {
      return await keystoneRequest(this.config.authUrl, this.config.timeout, method, path, headers, body, await this.dispatcher());
    } catch (error) {
      throw this.failure(`Keystone is unreachable: ${(error as Error).message}`, error);
    }
  }

  private failure(reason: string, cause?: unknown): DomainError {
    this.options.log?.error({ reason, keystone: this.config.authUrl }, 'could not read the unified limits from Keystone');
    return new DomainError('Internal', 'quota.limits_unavailable',
      msg('The server has either erred or is incapable of performing the requested operation.'), { cause });
  }
}

function query(params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, value);
  return search.toString();
}

function parse(text: string, failure: () => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw failure();
  }
}
