// The Swift store (glance_store's `swift`, single tenant): one object per image named by its id,
// in one container or, with swift_store_multiple_containers_seed, in `<container>_<id prefix>`.
//
// put() is all-or-nothing. Data of known size up to swift_store_large_object_size goes up in one
// streamed PUT; anything larger or of unknown size (as glance_store does) as Static Large Object
// segments of swift_store_large_object_chunk_size, streamed one after another, named
// `<id>/<nonce>/<n>` so two puts never share a segment, then one manifest PUT commits them.
// Every failure (source error, abort, Swift error) deletes the segments already written; an
// interrupted streamed PUT is never committed by Swift.
//
// Swift has no atomic create-if-absent: the commit carries `If-None-Match: *` (refuses an object
// already there) and a nonce in X-Object-Meta-Glimpse-Put that is read back, so a put that loses
// reports Duplicate and cleans up. Commits that overlap can both pass If-None-Match (each object
// server checks when its write starts) and both read back their own nonce, so this is a defence
// in depth; the guard is the service's compare-and-set (queued → saving), which keeps two uploads
// of one image from ever reaching the store.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

import { undici } from '../../lib/lazy-import.ts';
import { StoreError, type ByteRange, type PutResult, type StoreDriver, type StoreProbe } from '../../ports/store.ts';
import { ChunkReader } from '../../lib/chunk-reader.ts';
import { StoreDuplicateError } from '../errors.ts';
import { storeErrorFromNetwork, storeErrorFromStatus, type RemoteOperation } from '../remote-errors.ts';
import type { SwiftAuthProvider } from './swift-auth.ts';
import {
  OBJECT_NAME, containerFor, formatLocation, parseLocation, sameAccount, type ParsedSwiftLocation, type SwiftLocationBase,
} from './swift-location.ts';

export interface SwiftStoreDriverOptions {
  id: string;
  auth: SwiftAuthProvider;
  /** How new locations name the account (see swift-location.ts). */
  base: SwiftLocationBase;
  /** swift_store_container */
  container: string;
  /** swift_store_multiple_containers_seed (0: one container). */
  multipleContainersSeed?: number;
  /** swift_store_create_container_on_put */
  createContainerOnPut?: boolean;
  /** swift_store_large_object_size, in bytes. */
  largeObjectSize: number;
  /** swift_store_large_object_chunk_size, in bytes. */
  largeObjectChunkSize: number;
  /** The undici dispatcher of swift_store_cacert / swift_store_auth_insecure (lib/tls.ts); default: undici's. */
  dispatcher?: () => Promise<Dispatcher | undefined>;
}

/** Swift's default max_manifest_segments. */
const MAX_SEGMENTS = 1000;
const WHAT = 'Swift store';

type Body = string | AsyncIterable<Buffer> | undefined;

export class SwiftStoreDriver implements StoreDriver {
  readonly id: string;
  readonly type = 'swift';
  private readonly knownContainers = new Set<string>();

  constructor(private readonly options: SwiftStoreDriverOptions) {
    this.id = options.id;
    if (options.largeObjectChunkSize < 1 || options.largeObjectSize < 1) throw new Error('Swift object sizes must be positive');
  }

  locationFor(imageId: string): string {
    return formatLocation(this.options.base, containerFor(this.options.container, this.options.multipleContainersSeed ?? 0, imageId), imageId);
  }

  async put(imageId: string, source: Readable, options: { sizeHint?: number; signal?: AbortSignal } = {}): Promise<PutResult> {
    const { signal, sizeHint } = options;
    let container: string;
    try {
      signal?.throwIfAborted();
      if (!OBJECT_NAME.test(imageId)) {
        throw new StoreError('InvalidLocation', `Image id ${JSON.stringify(imageId)} cannot name an object in this store.`);
      }
      container = containerFor(this.options.container, this.options.multipleContainersSeed ?? 0, imageId);
      await this.ensureContainer(container, signal);
      const head = await this.call('HEAD', container, imageId, { signal });
      await head.body.dump();
      if (head.statusCode < 300) throw new StoreDuplicateError(imageId);
      if (head.statusCode !== 404) throw storeErrorFromStatus(head.statusCode, 'write', WHAT);
    } catch (error) {
      source.destroy();
      throw this.failure(error, signal, undefined, 'write');
    }

    const reader = new ChunkReader(source);
    let sourceError: unknown;
    const body = (limit: number) => (async function* () {
      try {
        yield* reader.take(limit);
      } catch (error) {
        sourceError ??= error;
        throw error;
      }
    })();
    const nonce = randomBytes(8).toString('hex');
    const segments: string[] = [];
    try {
      const atEnd = await reader.atEnd().catch((error: unknown) => { sourceError = error; throw error; });
      if (atEnd || (sizeHint !== undefined && sizeHint <= this.options.largeObjectSize)) {
        // A declared length lets Swift refuse at once what cannot fit (quota, max_file_size: 413).
        const length = atEnd ? 0 : sizeHint;
        await this.commit(container, imageId, nonce, body(length ?? 0), '', signal, length);
      } else {
        const manifest = await this.putSegments(container, imageId, nonce, reader, body, segments, signal);
        if (sourceError !== undefined) throw sourceError;
        await this.commit(container, imageId, nonce, JSON.stringify(manifest), 'multipart-manifest=put', signal);
      }
      if (sourceError !== undefined) throw sourceError;
      if (!await this.isOurs(container, imageId, nonce)) throw new StoreDuplicateError(imageId);
      if (signal?.aborted) {
        await this.delete(formatLocation(this.options.base, container, imageId)).catch(() => undefined);
        throw signal.reason;
      }
      return { location: formatLocation(this.options.base, container, imageId), bytesWritten: reader.bytesRead };
    } catch (error) {
      source.destroy();
      await this.removeAll(container, segments);
      throw this.failure(error, signal, sourceError, 'write');
    }
  }

  async get(location: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<{ stream: Readable; size: number }> {
    const { container, object } = this.parse(location);
    const { range, signal } = options;
    try {
      const res = await this.call('GET', container, object, { signal, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {} });
      if (res.statusCode === 416) {
        // A range past the end (or any range of a 0-byte object): nothing to send.
        await res.body.dump();
        return { stream: Readable.from([], { objectMode: false }), size: await this.size(location) };
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw storeErrorFromStatus(res.statusCode, 'read', WHAT);
      }
      const total = /\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '')?.[1] ?? header(res.headers, 'content-length');
      return { stream: res.body, size: Number(total) };
    } catch (error) {
      throw this.failure(error, signal, undefined, 'read');
    }
  }

  async delete(location: string): Promise<void> {
    const { container, object } = this.parse(location);
    try {
      const head = await this.call('HEAD', container, object, {});
      await head.body.dump();
      if (head.statusCode === 404) return;
      if (head.statusCode >= 300) throw storeErrorFromStatus(head.statusCode, 'delete', WHAT);
      if (header(head.headers, 'x-static-large-object')?.toLowerCase() === 'true') {
        const res = await this.call('DELETE', container, object, {
          query: 'multipart-manifest=delete', headers: { accept: 'application/json' },
        });
        const report = await res.body.json().catch(() => ({})) as { 'Response Status'?: string; Errors?: unknown[] };
        if (res.statusCode >= 300 && res.statusCode !== 404) throw storeErrorFromStatus(res.statusCode, 'delete', WHAT);
        const status = Number(/^(\d+)/.exec(report['Response Status'] ?? '')?.[1] ?? 200);
        if ((status >= 300 && status !== 404) || (report.Errors?.length ?? 0) > 0) throw storeErrorFromStatus(status >= 300 ? status : 500, 'delete', WHAT);
        return;
      }
      // A Dynamic Large Object (what glance_store writes): its segments share a name prefix.
      const dlo = header(head.headers, 'x-object-manifest');
      if (dlo) {
        const slash = dlo.indexOf('/');
        const segContainer = decodeURIComponent(dlo.slice(0, slash));
        const prefix = decodeURIComponent(dlo.slice(slash + 1));
        await this.removeAll(segContainer, await this.list(segContainer, prefix), true);
      }
      await this.removeObject(container, object, true);
    } catch (error) {
      throw this.failure(error, undefined, undefined, 'delete');
    }
  }

  async size(location: string): Promise<number> {
    const { container, object } = this.parse(location);
    try {
      const res = await this.call('HEAD', container, object, {});
      await res.body.dump();
      if (res.statusCode >= 300) throw storeErrorFromStatus(res.statusCode, 'read', WHAT);
      return Number(header(res.headers, 'content-length') ?? 0);
    } catch (error) {
      throw this.failure(error, undefined, undefined, 'read');
    }
  }

  owns(location: string): boolean {
    return this.ownParse(location) !== undefined;
  }

  /** Segments `<id>/<nonce>/<n>` of puts that never committed (the object's glimpse-put nonce is another). */
  async removePartial(imageId: string): Promise<number> {
    if (!OBJECT_NAME.test(imageId)) return 0;
    const container = containerFor(this.options.container, this.options.multipleContainersSeed ?? 0, imageId);
    try {
      const segments = await this.list(container, `${imageId}/`);
      if (segments.length === 0) return 0;
      const head = await this.call('HEAD', container, imageId, {});
      await head.body.dump();
      if (head.statusCode >= 300 && head.statusCode !== 404) throw storeErrorFromStatus(head.statusCode, 'read', WHAT);
      const committed = head.statusCode < 300 ? header(head.headers, 'x-object-meta-glimpse-put') : undefined;
      const dlo = head.statusCode < 300 ? header(head.headers, 'x-object-manifest') : undefined;
      const stray = segments.filter((name) => (committed === undefined || !name.startsWith(`${imageId}/${committed}/`))
        && (dlo === undefined || !`${container}/${name}`.startsWith(decodeURIComponent(dlo))));
      await this.removeAll(container, stray, true);
      return stray.length;
    } catch (error) {
      throw this.failure(error, undefined, undefined, 'delete');
    }
  }

  /** Names of every object in `container` under `prefix` (all pages); [] for a missing container. */
  async list(container: string, prefix = ''): Promise<string[]> {
    const names: string[] = [];
    let marker = '';
    for (;;) {
      const query = `format=json&prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`;
      const res = await this.call('GET', container, undefined, { query });
      if (res.statusCode === 404) {
        await res.body.dump();
        return names;
      }
      if (res.statusCode >= 300) {
        await res.body.dump();
        throw storeErrorFromStatus(res.statusCode, 'read', WHAT);
      }
      const page = res.statusCode === 204 ? [] : await res.body.json() as Array<{ name: string }>;
      if (page.length === 0) return names;
      names.push(...page.map((o) => o.name));
      marker = page[page.length - 1]!.name;
    }
  }

  /** Names of the account's containers starting with `prefix` (first 10 000). */
  async listContainers(prefix: string): Promise<string[]> {
    const res = await this.call('GET', '', undefined, { query: `format=json&prefix=${encodeURIComponent(prefix)}` });
    if (res.statusCode >= 300) {
      await res.body.dump();
      throw storeErrorFromStatus(res.statusCode, 'read', WHAT);
    }
    return res.statusCode === 204 ? [] : (await res.body.json() as Array<{ name: string }>).map((c) => c.name);
  }

  /** Deletes every object of `container` and the container itself (tests, operators' tooling). */
  async removeContainer(container: string): Promise<void> {
    await this.removeAll(container, await this.list(container), true);
    const res = await this.call('DELETE', container, undefined, {});
    await res.body.dump();
    this.knownContainers.delete(container);
    if (res.statusCode >= 300 && res.statusCode !== 404) throw storeErrorFromStatus(res.statusCode, 'delete', WHAT);
  }

  /** Streams the data into numbered segments; returns the SLO manifest. */
  private async putSegments(container: string, imageId: string, nonce: string, reader: ChunkReader,
    body: (limit: number) => AsyncIterable<Buffer>, segments: string[], signal: AbortSignal | undefined) {
    const manifest: Array<{ path: string; etag: string | null; size_bytes: number }> = [];
    do {
      if (segments.length >= MAX_SEGMENTS) {
        throw new StoreError('StoreFull', `The image needs more than ${MAX_SEGMENTS} segments; raise swift_store_large_object_chunk_size.`);
      }
      const name = `${imageId}/${nonce}/${String(segments.length + 1).padStart(5, '0')}`;
      segments.push(name);
      const before = reader.bytesRead;
      const res = await this.call('PUT', container, name, { body: body(this.options.largeObjectChunkSize), signal });
      await res.body.dump();
      if (res.statusCode !== 201) throw storeErrorFromStatus(res.statusCode, 'write', WHAT);
      manifest.push({ path: `/${container}/${name}`, etag: header(res.headers, 'etag') ?? null, size_bytes: reader.bytesRead - before });
    } while (!await reader.atEnd());
    return manifest;
  }

  /**
   * PUTs the object (data or manifest) unless it exists: 412 → Duplicate, and so is 409 (Swift's
   * answer when a write with a newer timestamp is already there).
   */
  private async commit(container: string, imageId: string, nonce: string, body: Body, query: string, signal: AbortSignal | undefined,
    length?: number) {
    const res = await this.call('PUT', container, imageId, {
      body, query, signal,
      headers: {
        'if-none-match': '*', 'x-object-meta-glimpse-put': nonce, 'content-type': 'application/octet-stream',
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      },
    });
    await res.body.dump();
    if (res.statusCode === 412 || res.statusCode === 409) throw new StoreDuplicateError(imageId);
    if (res.statusCode !== 201) throw storeErrorFromStatus(res.statusCode, 'write', WHAT);
  }

  private async isOurs(container: string, imageId: string, nonce: string): Promise<boolean> {
    const res = await this.call('HEAD', container, imageId, {});
    await res.body.dump();
    if (res.statusCode >= 300 && res.statusCode !== 404) throw storeErrorFromStatus(res.statusCode, 'write', WHAT);
    return res.statusCode < 300 && header(res.headers, 'x-object-meta-glimpse-put') === nonce;
  }

  /** Reachable when the account answers; writable when the (first) container exists or may be created. */
  async probe(signal?: AbortSignal): Promise<StoreProbe> {
    const container = containerFor(this.options.container, this.options.multipleContainersSeed ?? 0, '0');
    try {
      const head = await this.call('HEAD', '', undefined, { signal });
      await head.body.dump();
      if (head.statusCode >= 300) throw storeErrorFromStatus(head.statusCode, 'read', WHAT);
    } catch (error) {
      return { reachable: false, writable: false, reason: `Swift account: ${error instanceof Error ? error.message : String(error)}` };
    }
    try {
      await this.ensureContainer(container, signal);
      return { reachable: true, writable: true };
    } catch (error) {
      return { reachable: true, writable: false,
        reason: `Swift container ${container}: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private async ensureContainer(container: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.knownContainers.has(container)) return;
    const head = await this.call('HEAD', container, undefined, { signal });
    await head.body.dump();
    if (head.statusCode === 404) {
      if (!this.options.createContainerOnPut) {
        throw new StoreError('StoreUnavailable', `Swift container ${container} does not exist; create it or set `
          + 'swift_store_create_container_on_put.');
      }
      const res = await this.call('PUT', container, undefined, { signal });
      await res.body.dump();
      if (res.statusCode >= 300) throw storeErrorFromStatus(res.statusCode, 'write', WHAT);
    } else if (head.statusCode >= 300) {
      throw storeErrorFromStatus(head.statusCode, 'write', WHAT);
    }
    this.knownContainers.add(container);
  }

  /** Best-effort cleanup of objects this put wrote (or, for delete, must remove); `strict` rethrows. */
  private async removeAll(container: string, names: string[], strict = false): Promise<void> {
    for (const name of names) {
      try {
        await this.removeObject(container, name, strict);
      } catch (error) {
        if (strict) throw error;
      }
    }
  }

  private async removeObject(container: string, name: string, strict: boolean): Promise<void> {
    const res = await this.call('DELETE', container, name, {});
    await res.body.dump();
    if (strict && res.statusCode >= 300 && res.statusCode !== 404) throw storeErrorFromStatus(res.statusCode, 'delete', WHAT);
  }

  /**
   * One request with the current token; a 401 drops the token, and requests without a streamed
   * body are retried once with a new one (a stream cannot be replayed: that upload fails, 503).
   */
  private async call(method: string, container: string, object: string | undefined,
    options: { body?: Body; query?: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Dispatcher.ResponseData> {
    const replayable = typeof options.body !== 'object';
    for (let attempt = 0; ; attempt++) {
      const { token, storageUrl } = await this.options.auth.token();
      const path = [container, ...(object ?? '').split('/')].filter(Boolean).map(encodeURIComponent).join('/');
      const url = `${storageUrl.replace(/\/+$/, '')}/${path}${options.query ? `?${options.query}` : ''}`;
      const res = await (await undici()).request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: { ...options.headers, 'x-auth-token': token },
        body: options.body as Dispatcher.RequestOptions['body'],
        signal: options.signal,
        dispatcher: await this.options.dispatcher?.(),
      });
      if (res.statusCode !== 401) return res;
      this.options.auth.invalidate(token);
      if (!replayable || attempt > 0) return res;
      await res.body.dump();
    }
  }

  private parse(location: string): ParsedSwiftLocation {
    const parsed = this.ownParse(location);
    if (!parsed) throw new StoreError('InvalidLocation', `Location is not in store ${this.id}.`);
    return parsed;
  }

  private ownParse(location: string): ParsedSwiftLocation | undefined {
    const parsed = parseLocation(location);
    if (!parsed || !sameAccount(this.options.base, parsed)) return undefined;
    const own = this.options.container;
    return parsed.container === own || parsed.container.startsWith(`${own}_`) ? parsed : undefined;
  }

  /** The error to report: the abort reason, the source's own error, or a typed store error. */
  private failure(error: unknown, signal: AbortSignal | undefined, sourceError: unknown, operation: RemoteOperation): unknown {
    if (signal?.aborted) return signal.reason;
    if (sourceError !== undefined) return sourceError;
    if (error instanceof StoreError || error instanceof StoreDuplicateError) return error;
    void operation;
    return storeErrorFromNetwork(error, WHAT);
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
