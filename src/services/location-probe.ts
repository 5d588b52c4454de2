// Reading the data behind a location a caller wants to attach: which store serves the URL, and
// its size and hashes (md5 `checksum` + `hashing_algorithm`), computed here before the location is
// accepted, so a location can never bring other bytes than the image claims (OSSN-0065).
// http(s) URLs are fetched only through the SSRF-safe fetcher (src/net), never by a store driver.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DomainError, forbidden, payloadTooLarge } from '../domain/errors.ts';
import { assertRegistrableUrl, invalidLocation, type LocationProbe } from '../domain/locations.ts';
import { nodeHashName } from '../config/hash-algorithms.ts';
import type { RequestContext } from '../ports/context.ts';
import type { Authorizer } from '../ports/policy.ts';
import type { StoreRegistry } from '../ports/store.ts';

/** The part of src/net's SafeFetcher this needs. */
export interface LocationFetcher {
  checkUrl(url: string): { ok: boolean };
  fetch(url: string, options: { maxBytes: number; signal?: AbortSignal }): Promise<{ body: Readable }>;
}

export interface LocationProbeDeps {
  stores: StoreRegistry;
  policy: Authorizer;
  fetcher?: LocationFetcher;
  /** Id of the configured `http` backend: http(s) locations are accepted only when there is one. */
  httpStoreId?: string;
  hashingAlgorithm: string;
  imageSizeCap: number;
  log?: { warn(obj: unknown, msg?: string): void };
}

const httpSchemes = new Set(['http', 'https']);

type ProbeLog = { warn(obj: unknown, msg?: string): void };

interface ResolvedLocation {
  url: string;
  scheme: string;
  isHttp: boolean;
  storeId: string;
  open(signal: AbortSignal | undefined): Promise<Readable>;
}

export class LocationProber {
  constructor(private readonly deps: LocationProbeDeps) {}

  /**
   * Checks that `url` may be attached by this caller and reads its data. Everyone: no local schemes
   * and no scheme that no store reads (400). Callers that are not services (`service_api`) may only
   * name http(s) URLs, and only when an http store is configured (403): a store URI would let them
   * adopt another project's object.
   */
  async probe(ctx: RequestContext, url: unknown): Promise<LocationProbe> {
    return this.read(this.authorize(ctx, url), ctx.signal, ctx.log);
  }

  /** The checks of probe() without reading: for a URL whose data is read later (a location_import task). */
  check(ctx: RequestContext, url: unknown): void {
    this.authorize(ctx, url);
  }

  private authorize(ctx: RequestContext, url: unknown): ResolvedLocation {
    const resolved = this.resolve(url);
    if (!resolved.isHttp && !this.deps.policy.check('service_api', {}, ctx)) {
      throw forbidden('Only http(s) locations may be added by this user.', {}, 'location.scheme_forbidden');
    }
    return resolved;
  }

  /**
   * Reads a URL that check() accepted when the task that reads it was created (no caller to authorize
   * now); `hashAlgorithm` (default `hashing_algorithm`) names the os_hash_value to compute.
   */
  async probeChecked(url: string, signal: AbortSignal, log: ProbeLog, hashAlgorithm?: string): Promise<LocationProbe> {
    return this.read(this.resolve(url), signal, log, hashAlgorithm);
  }

  /** Which store serves `url` and how to open it; 400 for local or unreadable schemes, 403 without an http store. */
  private resolve(url: unknown): ResolvedLocation {
    const scheme = assertRegistrableUrl(url);
    const location = url as string;
    const isHttp = httpSchemes.has(scheme);
    // A scheme no configured store reads (gopher:, rbd: without an rbd store…) is 400 for everyone,
    // as Glance's unknown-scheme answer; only a URI some store owns is a matter of who may add it.
    const owner = isHttp ? undefined : this.deps.stores.forLocation(location);
    if (!isHttp && !owner) throw invalidLocation();
    if (!isHttp) {
      const driver = owner!;
      return { url: location, scheme, isHttp, storeId: driver.id,
        open: async (signal) => (await driver.get(location, { signal })).stream };
    }
    const storeId = this.deps.stores.forLocation(location)?.id ?? this.deps.httpStoreId;
    if (storeId === undefined) {
      throw forbidden('Locations with http(s) URLs need an http store, and none is configured.', {}, 'location.no_http_store');
    }
    const fetcher = this.deps.fetcher;
    if (!fetcher || !fetcher.checkUrl(location).ok) throw invalidLocation();
    return { url: location, scheme, isHttp, storeId,
      open: async (signal) => (await fetcher.fetch(location, { maxBytes: this.deps.imageSizeCap, signal })).body };
  }

  private async read(resolved: ResolvedLocation, signal: AbortSignal | undefined, log: ProbeLog,
    algo = this.deps.hashingAlgorithm): Promise<LocationProbe> {
    try {
      return { url: resolved.url, storeId: resolved.storeId, ...await this.hash(await resolved.open(signal), algo) };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      // Never echo the store's or the remote's error text: it may name hosts or credentials.
      log.warn({ err: error, image_location_scheme: resolved.scheme }, 'could not read the data of a new location');
      throw invalidLocation();
    }
  }

  private async hash(stream: Readable, algo: string): Promise<Omit<LocationProbe, 'url' | 'storeId'>> {
    const md5 = createHash('md5');
    const multi = createHash(nodeHashName(algo));
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.deps.imageSizeCap) {
        stream.destroy();
        throw payloadTooLarge('Image exceeds the size limit of {limit} bytes.', { limit: this.deps.imageSizeCap }, 'quota.size_cap');
      }
      md5.update(chunk);
      multi.update(chunk);
    }
    if (size === 0) throw invalidLocation();
    return { size, checksum: md5.digest('hex'), osHashAlgo: algo, osHashValue: multi.digest('hex') };
  }
}

/** Bytes of a digest of `algo` (a hashlib name), or undefined for an unknown name. */
export function digestBytes(algo: string): number | undefined {
  try {
    return createHash(nodeHashName(algo)).digest().length;
  } catch {
    return undefined;
  }
}
