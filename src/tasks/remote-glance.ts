// glance-download's view of another region: the Keystone catalog names the region's image endpoint,
// the caller's token proves the caller may read and download the remote image (checked when the
// import is requested), and the worker later reads the data with Glimpse's service token, because
// the caller's token is not kept (the task may run on another node, long after the request).
// Endpoints come from the operator's catalog, never from the caller, so no SSRF filter applies.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RemoteGlance, RemoteImage } from '../ports/fetch.ts';

export interface KeystoneRemoteGlanceOptions {
  /** Identity v3 base URL (…/v3). */
  authUrl: string;
  serviceToken: () => Promise<string>;
  /** `[glance_download_properties] extra_properties`: prefixes of properties copied from the remote image. */
  extraProperties: string[];
  timeoutMs?: number;
}

interface CatalogEntry { type: string; endpoints: { interface: string; region_id?: string; region?: string; url: string }[] }

export const DEFAULT_EXTRA_PROPERTIES = ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'];
const CORE = new Set(['id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo',
  'os_hash_value', 'owner', 'size', 'virtual_size', 'container_format', 'disk_format', 'created_at', 'updated_at',
  'tags', 'direct_url', 'min_ram', 'min_disk', 'self', 'file', 'schema', 'locations', 'stores']);

export class KeystoneRemoteGlance implements RemoteGlance {
  constructor(private readonly options: KeystoneRemoteGlanceOptions) {}

  async check(input: { userToken: string; region: string; serviceInterface: string; imageId: string }): Promise<RemoteImage> {
    const catalog = await this.json(`${this.options.authUrl}/auth/catalog`, input.userToken) as { catalog?: CatalogEntry[] };
    const endpoint = (catalog.catalog ?? []).filter((s) => s.type === 'image').flatMap((s) => s.endpoints)
      .find((e) => (e.region_id ?? e.region) === input.region && e.interface === input.serviceInterface)?.url;
    if (!endpoint) {
      throw new Error(`No image endpoint for region ${input.region} and interface ${input.serviceInterface} in the catalog`);
    }
    const base = endpoint.replace(/\/+$/, '').replace(/\/v2$/, '');
    const image = await this.json(`${base}/v2/images/${encodeURIComponent(input.imageId)}`, input.userToken) as Record<string, unknown>;
    if (image.status !== 'active') throw new Error(`The remote image ${input.imageId} is not active (${String(image.status)})`);
    const probe = await fetch(`${base}/v2/images/${encodeURIComponent(input.imageId)}/file`, {
      headers: { 'x-auth-token': input.userToken, range: 'bytes=0-0' }, signal: AbortSignal.timeout(this.timeout()),
    });
    await probe.body?.cancel();
    if (probe.status >= 400) throw new Error(`The remote image ${input.imageId} may not be downloaded (${probe.status})`);
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(image)) {
      if (CORE.has(key) || typeof value !== 'string') continue;
      if (this.options.extraProperties.some((prefix) => key.startsWith(prefix))) properties[key] = value;
    }
    return {
      endpoint: base,
      diskFormat: typeof image.disk_format === 'string' ? image.disk_format : null,
      containerFormat: typeof image.container_format === 'string' ? image.container_format : null,
      properties,
    };
  }

  async openData(endpoint: string, imageId: string, signal: AbortSignal): Promise<Readable> {
    const res = await fetch(`${endpoint}/v2/images/${encodeURIComponent(imageId)}/file`, {
      headers: { 'x-auth-token': await this.options.serviceToken() }, signal,
    });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new Error(`The remote image data could not be read (${res.status})`);
    }
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  private timeout(): number {
    return this.options.timeoutMs ?? 30_000;
  }

  private async json(url: string, token: string): Promise<unknown> {
    const res = await fetch(url, { headers: { 'x-auth-token': token, accept: 'application/json' },
      signal: AbortSignal.timeout(this.timeout()) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    return JSON.parse(text) as unknown;
  }
}
