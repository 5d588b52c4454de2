// The HTTP store (glance_store's `http`): read-only access to image data any web server holds,
// for images whose location is an http(s) URL. put() is refused (AddDisabled, Glance's 410)
// before the source is read; delete() leaves the remote data alone (it is not ours, and Glance
// cannot delete it either). size is Content-Length of a HEAD, ranged reads send Range, and
// redirects are followed at most `maxRedirects` times (glance_store: 5).
//
// With a SafeFetcher (src/net/, what the registry passes) every read is checked against
// [import_filtering_opts] and the private-address rules on the URL and on every redirect hop, with
// the connection pinned to the checked addresses, so a location can never reach the metadata
// service or a loopback port. Without one (tests of the driver itself) plain undici is used.
import { Readable, Transform, pipeline } from 'node:stream';
import type { Dispatcher } from 'undici';

import { undici } from '../../lib/lazy-import.ts';
import { FetchFailed, FetchRefused, type SafeFetcher } from '../../net/index.ts';
import { StoreError, type ByteRange, type PutResult, type StoreDriver } from '../../ports/store.ts';
import { storeErrorFromNetwork, storeErrorFromStatus } from '../remote-errors.ts';

export interface HttpStoreDriverOptions {
  id: string;
  /** Redirects followed per request (default 5, as glance_store). */
  maxRedirects?: number;
  /** ms to wait for a connection and for response headers (default 30 s). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** The SSRF-safe fetcher; redirects and timeouts then follow [import_filtering_opts]. */
  fetcher?: SafeFetcher;
}

const WHAT = 'HTTP store';

export class HttpStoreDriver implements StoreDriver {
  readonly id: string;
  readonly type = 'http';
  private dispatcher: Promise<Dispatcher> | undefined;

  constructor(private readonly options: HttpStoreDriverOptions) {
    this.id = options.id;
  }

  /** The plain undici dispatcher (no safe fetcher), made on first use. */
  private plainDispatcher(): Promise<Dispatcher> {
    return this.dispatcher ??= undici().then(({ Agent, interceptors }) => {
      const timeout = this.options.timeoutMs ?? 30_000;
      const base = this.options.dispatcher ?? new Agent({ connect: { timeout }, headersTimeout: timeout });
      return base.compose(interceptors.redirect({ maxRedirections: this.options.maxRedirects ?? 5 }));
    });
  }

  async put(_imageId: string, source: Readable): Promise<PutResult> {
    source.destroy();
    throw new StoreError('AddDisabled', 'Adding images to the HTTP store is not supported: it is read-only.');
  }

  async get(location: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<{ stream: Readable; size: number }> {
    const url = this.urlOf(location);
    const { range, signal } = options;
    let res: Response;
    try {
      res = await this.send(url, 'GET', range, signal);
    } catch (error) {
      if (error instanceof FetchFailed && error.status === 416) {
        return { stream: Readable.from([], { objectMode: false }), size: await this.size(location) };
      }
      throw failure(error, signal);
    }
    if (res.statusCode === 416) {
      await drain(res.body);
      return { stream: Readable.from([], { objectMode: false }), size: await this.size(location) };
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      await drain(res.body);
      throw statusError(res.statusCode);
    }
    const contentRange = /^bytes (\d+)-\d+\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '');
    if (res.statusCode === 206 && contentRange) return { stream: res.body, size: Number(contentRange[2]) };
    const size = Number(header(res.headers, 'content-length') ?? NaN);
    if (!Number.isFinite(size)) {
      await drain(res.body);
      throw new StoreError('StoreUnavailable', 'The HTTP store did not say how large the image data is.');
    }
    if (!range) return { stream: res.body, size };
    // The server ignored Range (200): cut the range out of the whole body.
    const part = slice(range.start, range.end);
    pipeline(res.body, part, () => {});
    return { stream: part, size };
  }

  /** The data belongs to whoever serves the URL: nothing to delete here. */
  async delete(location: string): Promise<void> {
    this.urlOf(location);
  }

  async size(location: string): Promise<number> {
    const url = this.urlOf(location);
    let res: Response;
    try {
      res = await this.send(url, 'HEAD', undefined, undefined);
    } catch (error) {
      throw failure(error, undefined);
    }
    await drain(res.body);
    if (res.statusCode >= 300) throw statusError(res.statusCode);
    const size = Number(header(res.headers, 'content-length') ?? NaN);
    if (!Number.isFinite(size)) throw new StoreError('StoreUnavailable', 'The HTTP store did not say how large the image data is.');
    return size;
  }

  owns(location: string): boolean {
    return parseUrl(location) !== undefined;
  }

  /** One request through the safe fetcher, or undici when none was given; non-2xx answers are returned. */
  private async send(url: string, method: 'GET' | 'HEAD', range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Response> {
    const { fetcher } = this.options;
    if (fetcher) {
      const res = await fetcher.fetch(url, { method, signal, maxBytes: Infinity,
        ...(range ? { range: { start: range.start, end: range.end } } : {}) });
      return { statusCode: res.status, headers: res.headers, body: res.body as Response['body'] };
    }
    const { request } = await undici();
    return request(url, { method, signal, dispatcher: await this.plainDispatcher(),
      headers: range ? { range: `bytes=${range.start}-${range.end}` } : {} });
  }

  private urlOf(location: string): string {
    const url = parseUrl(location);
    if (!url) throw new StoreError('InvalidLocation', `Location is not in store ${this.id}.`);
    return url;
  }
}

function parseUrl(location: string): string | undefined {
  if (!/^https?:\/\//i.test(location)) return undefined;
  try {
    const url = new URL(location);
    return url.hostname ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** Discards a body that is not passed on. */
async function drain(body: Readable): Promise<void> {
  const dump = (body as { dump?: () => Promise<void> }).dump;
  if (typeof dump === 'function') return dump.call(body);
  body.on('error', () => undefined);
  body.destroy();
}

type Response = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;

function failure(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof FetchRefused) {
    if (error.reason === 'redirect') return new StoreError('StoreUnavailable', 'The HTTP store redirected too many times.', { cause: error });
    return new StoreError('InvalidLocation', `The image location is not allowed (${error.reason}).`, { cause: error });
  }
  if (error instanceof FetchFailed) {
    if (error.reason === 'http_status' && error.status !== undefined) return statusError(error.status);
    return new StoreError('StoreUnavailable', `The HTTP store failed (${error.reason}).`, { cause: error });
  }
  return storeErrorFromNetwork(error, WHAT);
}

/** Passes on bytes start..end (inclusive) of a stream. */
function slice(start: number, end: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

/** A non-success status; a 3xx here is one redirect more than the driver follows. */
function statusError(status: number): StoreError {
  if (status >= 300 && status < 400) return new StoreError('StoreUnavailable', 'The HTTP store redirected too many times.');
  return storeErrorFromStatus(status, 'read', WHAT);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
