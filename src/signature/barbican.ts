// castellan's Barbican key manager, read side: GET /v1/secrets/{id} (metadata: secret_type) and
// GET /v1/secrets/{id}/payload, with the CALLER's Keystone token, as Glance passes the request
// context to castellan; Barbican decides what the caller may read. The endpoint is
// `[barbican] barbican_endpoint`, else the caller's catalog entry of type `key-manager`
// (interface `barbican_endpoint_type`, region `barbican_region_name`), as castellan finds it.
// Certificates are stored in Barbican as PEM; castellan hands out DER (X.509 format).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { undici } from '../lib/lazy-import.ts';
import { KeyManagerFailure, ManagedObjectNotFound, type KeyManager, type KeyManagerCaller, type ManagedObject } from '../ports/key-manager.ts';

export interface BarbicanOptions {
  /** `[barbican] barbican_endpoint`: Barbican's base URL (without the version); unset = from the catalog. */
  endpoint?: string;
  /** `[barbican] barbican_api_version` (v1). */
  apiVersion: string;
  /** `[barbican] auth_endpoint`: Keystone v3, where the caller's catalog is read. */
  authEndpoint: string;
  /** `[barbican] barbican_endpoint_type`: public, internal or admin. */
  endpointType: string;
  /** `[barbican] barbican_region_name`. */
  regionName?: string;
  /** `[barbican] verify_ssl` / `verify_ssl_path`. */
  verifySsl: boolean;
  verifySslPath?: string;
  timeoutMs?: number;
}

/** castellan's object format per Barbican secret_type. */
const FORMATS: Readonly<Record<string, string>> = {
  certificate: 'X.509', symmetric: 'RAW', public: 'SubjectPublicKeyInfo', private: 'PKCS8', passphrase: 'RAW', opaque: 'Opaque',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface CatalogEntry { type: string; endpoints: { interface: string; region_id?: string; region?: string; url: string }[] }

export class BarbicanKeyManager implements KeyManager {
  private dispatcher: Promise<Dispatcher | undefined> | undefined;

  constructor(private readonly options: BarbicanOptions) {}

  async get(caller: KeyManagerCaller, id: string): Promise<ManagedObject> {
    // castellan needs a token: without one (noauth, trusted headers without X-Auth-Token) it cannot authenticate.
    if (!caller.authToken) throw new KeyManagerFailure('no Keystone token to authenticate to the key manager with');
    // barbicanclient refuses ids that are not UUIDs before asking; Barbican would not know them either.
    if (!UUID.test(id)) throw new ManagedObjectNotFound(id);
    const base = `${(await this.endpoint(caller)).replace(/\/+$/, '')}/${this.options.apiVersion}/secrets/${id}`;
    const meta = await this.call(caller, base, 'application/json');
    let secretType: string;
    let contentType: string;
    try {
      const body = JSON.parse(meta.toString('utf8')) as { secret_type?: unknown; content_types?: { default?: unknown } };
      secretType = typeof body.secret_type === 'string' ? body.secret_type : 'opaque';
      contentType = typeof body.content_types?.default === 'string' ? body.content_types.default : 'application/octet-stream';
    } catch (error) {
      throw new KeyManagerFailure('Barbican answered a secret with a body that is not JSON', { cause: error });
    }
    const payload = await this.call(caller, `${base}/payload`, contentType);
    const format = FORMATS[secretType] ?? 'Opaque';
    if (format !== 'X.509') return { format, encoded: payload };
    try {
      return { format, encoded: new X509Certificate(payload).raw };
    } catch (error) {
      throw new KeyManagerFailure('the certificate in Barbican is not a PEM X.509 certificate', { cause: error });
    }
  }

  private async endpoint(caller: KeyManagerCaller): Promise<string> {
    if (this.options.endpoint) return this.options.endpoint;
    const url = `${this.options.authEndpoint.replace(/\/+$/, '')}/auth/catalog`;
    const body = JSON.parse((await this.call(caller, url, 'application/json')).toString('utf8')) as { catalog?: CatalogEntry[] };
    const endpoint = (body.catalog ?? []).filter((s) => s.type === 'key-manager').flatMap((s) => s.endpoints)
      .find((e) => e.interface === this.options.endpointType
        && (this.options.regionName === undefined || (e.region_id ?? e.region) === this.options.regionName))?.url;
    if (!endpoint) throw new KeyManagerFailure(`no ${this.options.endpointType} key-manager endpoint in the caller's catalog`);
    return endpoint;
  }

  /** GET with the caller's token; 404 → not found, any other failure → KeyManagerFailure. */
  private async call(caller: KeyManagerCaller, url: string, accept: string): Promise<Buffer> {
    const { request } = await undici();
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 60_000);
    const signal = caller.signal ? AbortSignal.any([caller.signal, timeout]) : timeout;
    let res;
    try {
      res = await request(url, {
        method: 'GET', headers: { 'x-auth-token': caller.authToken!, accept }, signal,
        dispatcher: await (this.dispatcher ??= this.makeDispatcher()),
      });
    } catch (error) {
      throw new KeyManagerFailure(`${new URL(url).origin} is unreachable: ${(error as Error).message}`, { cause: error });
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 404 && url.includes('/secrets/')) throw new ManagedObjectNotFound(url.split('/secrets/')[1]!.split('/')[0]!);
    if (res.statusCode !== 200) throw new KeyManagerFailure(`GET ${new URL(url).pathname} answered ${res.statusCode}`);
    return body;
  }

  private async makeDispatcher(): Promise<Dispatcher | undefined> {
    const { verifySsl, verifySslPath } = this.options;
    if (verifySsl && verifySslPath === undefined) return undefined;
    const { Agent } = await undici();
    return new Agent({ connect: { rejectUnauthorized: verifySsl, ...(verifySslPath ? { ca: readFileSync(verifySslPath) } : {}) } });
  }
}
