// Authentication for the Swift store: tempauth/swauth (auth version 1: GET auth_address with
// X-Auth-User/X-Auth-Key) and Keystone v3 (password auth scoped to a project; the storage URL
// comes from the catalog). One token per driver, shared by concurrent requests, renewed shortly
// before it expires and whenever Swift answers 401 (invalidate()).
import type { Dispatcher } from 'undici';

import type { SwiftCredentials } from '../../config/types.ts';
import { undici } from '../../lib/lazy-import.ts';
import { StoreError } from '../../ports/store.ts';
import { storeErrorFromNetwork, storeErrorFromStatus } from '../remote-errors.ts';

export type { SwiftCredentials };

export interface SwiftToken {
  token: string;
  storageUrl: string;
  /** ms since epoch; Infinity when the auth service does not say. */
  expiresAt: number;
}

/** What the driver needs from authentication (a fake may stand in for tests). */
export interface SwiftAuthProvider {
  token(): Promise<SwiftToken>;
  /** Drops `token` if it is the current one, so the next token() authenticates again. */
  invalidate(token: string): void;
}

/** Renew this long before a token's announced expiry, so a request never starts with a dying token. */
const EXPIRY_MARGIN_MS = 60_000;

export class SwiftAuth implements SwiftAuthProvider {
  private current: Promise<SwiftToken> | undefined;
  private currentToken: string | undefined;

  /** `dispatcher`: the undici dispatcher of swift_store_cacert / swift_store_auth_insecure (lib/tls.ts). */
  constructor(private readonly credentials: SwiftCredentials,
    private readonly dispatcher: () => Promise<Dispatcher | undefined> = async () => undefined,
    private readonly now: () => number = Date.now) {}

  async token(): Promise<SwiftToken> {
    if (this.current) {
      const token = await this.current.catch(() => undefined);
      if (token && token.expiresAt - EXPIRY_MARGIN_MS > this.now()) return token;
      if (this.current) this.current = undefined;
    }
    const pending = this.authenticate();
    this.current = pending;
    pending.then((t) => { this.currentToken = t.token; }, () => { if (this.current === pending) this.current = undefined; });
    return pending;
  }

  invalidate(token: string): void {
    if (this.currentToken === token) {
      this.current = undefined;
      this.currentToken = undefined;
    }
  }

  private async authenticate(): Promise<SwiftToken> {
    try {
      const token = this.credentials.authVersion === '1' ? await this.tempauth() : await this.keystone();
      return this.credentials.endpoint ? { ...token, storageUrl: this.credentials.endpoint } : token;
    } catch (error) {
      throw storeErrorFromNetwork(error, 'Swift authentication service');
    }
  }

  private async tempauth(): Promise<SwiftToken> {
    const { authAddress, user, key } = this.credentials;
    const res = await (await undici()).request(authAddress, {
      method: 'GET', headers: { 'x-auth-user': user, 'x-auth-key': key }, dispatcher: await this.dispatcher(),
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw storeErrorFromStatus(res.statusCode, 'auth', 'Swift authentication service');
    const token = header(res.headers, 'x-auth-token') ?? header(res.headers, 'x-storage-token');
    const storageUrl = header(res.headers, 'x-storage-url');
    if (!token || !storageUrl) throw unusable('no token or storage URL');
    const seconds = Number(header(res.headers, 'x-auth-token-expires'));
    return { token, storageUrl, expiresAt: Number.isFinite(seconds) && seconds > 0 ? this.now() + seconds * 1000 : Infinity };
  }

  private async keystone(): Promise<SwiftToken> {
    const c = this.credentials;
    const sep = c.user.indexOf(':');
    const project = sep > 0 ? c.user.slice(0, sep) : undefined;
    const userName = sep > 0 ? c.user.slice(sep + 1) : c.user;
    const domain = (id: string | undefined, name: string | undefined) => (name && !id ? { name } : { id: id ?? 'default' });
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: {
          name: userName, domain: domain(c.userDomainId, c.userDomainName), password: c.key,
        } } },
        ...(project ? { scope: { project: { name: project, domain: domain(c.projectDomainId, c.projectDomainName) } } } : {}),
      },
    };
    const url = `${c.authAddress.replace(/\/+$/, '').replace(/\/v2\.0$/, '/v3').replace(/(?<!\/v3)$/, '/v3')}/auth/tokens`;
    const res = await (await undici()).request(url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), dispatcher: await this.dispatcher(),
    });
    if (res.statusCode >= 300) {
      await res.body.dump();
      throw storeErrorFromStatus(res.statusCode, 'auth', 'Swift authentication service');
    }
    const token = header(res.headers, 'x-subject-token');
    const doc = await res.body.json() as KeystoneTokenDoc;
    if (!token) throw unusable('no X-Subject-Token');
    const storageUrl = c.endpoint ?? catalogUrl(doc, c);
    if (!storageUrl) throw unusable(`no ${c.serviceType ?? 'object-store'} endpoint in the service catalog`);
    const expires = Date.parse(doc.token?.expires_at ?? '');
    return { token, storageUrl, expiresAt: Number.isFinite(expires) ? expires : Infinity };
  }
}

interface KeystoneTokenDoc {
  token?: {
    expires_at?: string;
    catalog?: Array<{ type?: string; endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }> }>;
  };
}

function catalogUrl(doc: KeystoneTokenDoc, c: SwiftCredentials): string | undefined {
  const iface = (c.endpointType ?? 'publicURL').replace(/URL$/, '');
  const service = doc.token?.catalog?.find((s) => s.type === (c.serviceType ?? 'object-store'));
  return service?.endpoints?.find((e) => e.interface === iface
    && (!c.region || e.region === c.region || e.region_id === c.region))?.url;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function unusable(problem: string): StoreError {
  return new StoreError('StoreUnavailable', `The Swift authentication service gave an unusable answer: ${problem}.`);
}
