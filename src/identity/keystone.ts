// `keystone`: validates X-Auth-Token against Keystone v3 as keystonemiddleware does.
// Glimpse authenticates itself as the [keystone_authtoken] service user (password, project
// scoped), then asks `GET /v3/auth/tokens` with X-Subject-Token for each new user token.
// Validations are cached by SHA-256 of the token (bounded LRU) until the token expires or
// token_cache_time passes; rejected tokens are remembered briefly. Keystone down or slow → 503.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { KeystoneAuthConfig } from '../config/types.ts';
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import { tlsConnectOptions, tlsDispatcher } from '../lib/tls.ts';
import type { Dispatcher } from 'undici';
import { keystoneRequest } from './keystone-http.ts';
import type { Identity, Logger } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

interface TokenInfo {
  userId: string | null;
  projectId: string | null;
  userDomainId: string | null;
  projectDomainId: string | null;
  roles: string[];
  expiresAt: number;
}

type Cached = { ok: true; info: TokenInfo } | { ok: false };

/** How long a rejected token is remembered (it cannot become valid; this only bounds memory). */
const rejectedTtlMs = 60_000;

export interface KeystoneOptions {
  now?: () => number;
  maxCachedTokens?: number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

function first(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

export class KeystoneIdentityProvider implements IdentityProvider {
  readonly name = 'keystone';
  private readonly cache: LRUCache<string, Cached>;
  private readonly now: () => number;
  private serviceToken: { token: string; expiresAt: number } | undefined;
  private pendingServiceToken: Promise<string> | undefined;
  /** cafile / insecure / certfile / keyfile. */
  private readonly dispatcher: () => Promise<Dispatcher | undefined>;

  constructor(private readonly config: KeystoneAuthConfig, private readonly options: KeystoneOptions = {}) {
    this.now = options.now ?? Date.now;
    this.dispatcher = tlsDispatcher(tlsConnectOptions(config.tls));
    this.cache = new LRUCache({ max: options.maxCachedTokens ?? 10_000, ttlAutopurge: false });
  }

  unauthorized(): DomainError {
    return new DomainError('Unauthorized', 'auth.invalid_token',
      msg('This server could not verify that you are authorized to access the document you requested. '
        + 'Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand '
        + 'how to supply the credentials required.'),
      { headers: { 'www-authenticate': `Keystone uri="${this.config.wwwAuthenticateUri}"` } });
  }

  async authenticate(headers: Headers): Promise<Identity> {
    const token = first(headers, 'x-auth-token');
    if (!token) throw this.unauthorized();
    const user = await this.validate(token);
    let serviceRoles: string[] = [];
    const serviceToken = first(headers, 'x-service-token');
    if (serviceToken) {
      const service = await this.validate(serviceToken);
      const qualifies = service.roles.some((role) => this.config.serviceTokenRoles.includes(role));
      if (!qualifies && this.config.serviceTokenRolesRequired) throw this.unauthorized();
      serviceRoles = qualifies ? service.roles : [];
    }
    return {
      userId: user.userId, projectId: user.projectId, roles: user.roles,
      userDomainId: user.userDomainId, projectDomainId: user.projectDomainId,
      serviceRoles, authenticated: true, authToken: token,
    };
  }

  private async validate(token: string): Promise<TokenInfo> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached) {
      if (!cached.ok) throw this.unauthorized();
      if (cached.info.expiresAt > this.now()) return cached.info;
    }
    const info = await this.askKeystone(token, false);
    if (!info) {
      this.cache.set(key, { ok: false }, { ttl: rejectedTtlMs });
      throw this.unauthorized();
    }
    const ttl = Math.min(info.expiresAt - this.now(), this.config.tokenCacheTime * 1000);
    if (ttl > 0) this.cache.set(key, { ok: true, info }, { ttl });
    return info;
  }

  /** The token's identity, or undefined when Keystone says it is not valid. */
  private async askKeystone(token: string, retried: boolean): Promise<TokenInfo | undefined> {
    const serviceToken = await this.getServiceToken(retried);
    const res = await this.call('GET', '/auth/tokens?nocatalog', {
      'x-auth-token': serviceToken, 'x-subject-token': token,
    });
    if (res.status === 200) {
      const info = parseToken(res.body);
      return info.expiresAt > this.now() ? info : undefined;
    }
    if (res.status === 404) return undefined;
    if (res.status === 401 && !retried) {
      this.serviceToken = undefined;
      return this.askKeystone(token, true);
    }
    throw this.unavailable(`token validation answered ${res.status}`);
  }

  /** Glimpse's own token (the [keystone_authtoken] service user), for calls Glimpse makes itself. */
  async serviceAuthToken(): Promise<string> {
    return this.getServiceToken(false);
  }

  /** The service token, fetched once at a time and renewed a minute before it expires. */
  private async getServiceToken(force: boolean): Promise<string> {
    if (!force && this.serviceToken && this.serviceToken.expiresAt - 60_000 > this.now()) return this.serviceToken.token;
    this.pendingServiceToken ??= this.fetchServiceToken().finally(() => { this.pendingServiceToken = undefined; });
    return this.pendingServiceToken;
  }

  private async fetchServiceToken(): Promise<string> {
    const { username, password, projectName, userDomainName, projectDomainName } = this.config;
    const res = await this.call('POST', '/auth/tokens?nocatalog', { 'content-type': 'application/json' }, JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: username, password, domain: { name: userDomainName } } } },
        scope: { project: { name: projectName, domain: { name: projectDomainName } } },
      },
    }));
    const token = res.headers['x-subject-token'];
    if (res.status !== 201 || typeof token !== 'string') {
      this.options.log?.error({ status: res.status }, 'Keystone refused the [keystone_authtoken] service credentials');
      throw this.unavailable(`service authentication answered ${res.status}`);
    }
    const expiresAt = parseToken(res.body).expiresAt;
    this.serviceToken = { token, expiresAt };
    return token;
  }

  private async call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
    try {
      return await keystoneRequest(this.config.authUrl, this.config.timeout, method, path, headers, body, await this.dispatcher());
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw this.unavailable((error as Error).message);
    }
  }

  private unavailable(reason: string): DomainError {
    this.options.log?.warn({ reason, keystone: this.config.authUrl }, 'Keystone is unavailable');
    return new DomainError('ServiceUnavailable', 'auth.keystone_unavailable',
      msg('The identity service is unavailable; try again later.'));
  }
}

function parseToken(body: string): TokenInfo {
  const token = (JSON.parse(body) as { token: Record<string, unknown> }).token;
  const project = token.project as { id?: string; domain?: { id?: string } } | undefined;
  const user = token.user as { id?: string; domain?: { id?: string } } | undefined;
  const roles = (token.roles as { name: string }[] | undefined) ?? [];
  return {
    userId: user?.id ?? null,
    projectId: project?.id ?? null,
    userDomainId: user?.domain?.id ?? null,
    projectDomainId: project?.domain?.id ?? null,
    roles: roles.map((r) => r.name.toLowerCase()),
    expiresAt: Date.parse(String(token.expires_at)),
  };
}
