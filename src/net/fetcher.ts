// The outbound HTTP fetch: check the URL (url-check.ts), resolve its host and check every
// address, connect only to those checked addresses (the socket's DNS lookup is replaced, so a
// second, different DNS answer can never be used), follow redirects by hand re-checking each hop,
// and bound the body by size and time.
import { lookup as dnsLookup } from 'node:dns/promises';
import { Readable } from 'node:stream';
import type { LookupFunction } from 'node:net';

import { undici } from '../lib/lazy-import.ts';
import { deniedRange } from './address.ts';
import { FetchFailed, FetchRefused } from './errors.ts';
import { checkUrl, checkUrlOrThrow, type CheckedUrl, type UrlCheck } from './url-check.ts';
import type { ImportFilteringConfig } from '../config/types.ts';

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Resolves a host name to all its addresses (default: the system resolver, dns.lookup all). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions {
  /** Abort (FetchFailed too_large) once the body exceeds this many bytes; Infinity for no cap. */
  maxBytes: number;
  /** The caller's cancellation; a fired signal fails the fetch (or the body stream) with `aborted`. */
  signal?: AbortSignal;
  /** Sends `Range: bytes=start-end` (end inclusive, optional); a 206 answer is then a success. */
  range?: { start: number; end?: number };
  /** GET by default. */
  method?: 'GET' | 'HEAD';
  /** Extra request headers; dropped when a redirect leaves the original origin. */
  headers?: Record<string, string>;
}

export interface SafeFetchResult {
  /** 2xx status of the final response. */
  status: number;
  /** Response headers (lowercase names). */
  headers: Record<string, string | string[] | undefined>;
  /** Content-Length of the final response, when it sent one. */
  contentLength?: number;
  /** The final URL, after redirects. */
  url: string;
  /** The body; errors on it are FetchFailed (too_large, timeout, aborted, network). Destroy it to stop early. */
  body: Readable;
}

/** A URL that passed every check, with the addresses the connection will be pinned to. */
export interface ResolvedTarget extends CheckedUrl {
  addresses: ResolvedAddress[];
}

export interface SafeFetcher {
  /** The synchronous URL check (no DNS), as done when a request is accepted. */
  checkUrl(url: string): UrlCheck;
  /** checkUrl plus DNS: every resolved address must be allowed; throws FetchRefused (or FetchFailed timeout/aborted). */
  resolve(url: string, signal?: AbortSignal): Promise<ResolvedTarget>;
  /** Fetches `url` (following checked redirects); throws FetchRefused or FetchFailed. */
  fetch(url: string, options: SafeFetchOptions): Promise<SafeFetchResult>;
}

export interface SafeFetcherDeps {
  /** Replaces the system resolver (tests). */
  resolver?: HostResolver;
  /** TLS settings for https URLs: extra trusted CAs (PEM) and whether to verify the server certificate (default true). */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolver: HostResolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family }));

/** A socket lookup that answers only with the pinned, checked addresses, whatever name it is asked about. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  }) as unknown as LookupFunction;
}

/** Discards a response body that is not passed on (undici reports destroying it as an error). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Raced against the fetch's own signal, so DNS cannot outlast the deadlines. */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return; }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

class Timeout extends Error {
  constructor(readonly which: string) { super(`${which} ran out`); }
}

export function createSafeFetcher(config: ImportFilteringConfig, deps: SafeFetcherDeps = {}): SafeFetcher {
  const resolver = deps.resolver ?? systemResolver;

  async function resolveChecked(checked: CheckedUrl, signal: AbortSignal): Promise<ResolvedTarget> {
    if (checked.isIp) return { ...checked, addresses: [{ address: checked.host, family: checked.host.includes(':') ? 6 : 4 }] };
    let addresses: ResolvedAddress[];
    try {
      addresses = await withSignal(resolver(checked.host), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new FetchRefused('unresolvable', checked.url.href, `host "${checked.host}" does not resolve`);
    }
    if (addresses.length === 0) throw new FetchRefused('unresolvable', checked.url.href, `host "${checked.host}" has no address`);
    if (!checked.operatorAllowed) {
      for (const { address } of addresses) {
        const denied = deniedRange(address);
        if (denied !== undefined) {
          throw new FetchRefused('address', checked.url.href,
            `host "${checked.host}" resolves to ${address}, in a denied address range (${denied})`);
        }
      }
    }
    return { ...checked, addresses };
  }

  return {
    checkUrl: (url) => checkUrl(url, config),

    async resolve(url, signal) {
      const checked = checkUrlOrThrow(url, config);
      const deadline = AbortSignal.timeout(config.connectTimeoutMs);
      try {
        return await resolveChecked(checked, signal ? AbortSignal.any([signal, deadline]) : deadline);
      } catch (err) {
        if (err instanceof FetchRefused) throw err;
        if (signal?.aborted) throw new FetchFailed('aborted', url, 'aborted by the caller', undefined, { cause: err });
        throw new FetchFailed('timeout', url, 'connect_timeout ran out resolving the host', undefined, { cause: err });
      }
    },

    async fetch(url, options) {
      const control = new AbortController();
      let deadline: NodeJS.Timeout | undefined;
      const onCallerAbort = () => control.abort(options.signal!.reason);
      const cleanup = () => {
        clearTimeout(deadline);
        options.signal?.removeEventListener('abort', onCallerAbort);
      };
      if (options.signal?.aborted) throw new FetchFailed('aborted', url, 'aborted by the caller', undefined, { cause: options.signal.reason });
      options.signal?.addEventListener('abort', onCallerAbort, { once: true });
      if (config.totalTimeoutMs > 0) {
        deadline = setTimeout(() => control.abort(new Timeout('total_timeout')), config.totalTimeoutMs);
        deadline.unref();
      }
      /** Turns whatever went wrong on hop `at` into a FetchRefused/FetchFailed. */
      const failure = (err: unknown, at: string): Error => {
        if (err instanceof FetchRefused || err instanceof FetchFailed) return err;
        if (options.signal?.aborted) return new FetchFailed('aborted', at, 'aborted by the caller', undefined, { cause: err });
        const reason = control.signal.aborted ? control.signal.reason : err;
        if (reason instanceof Timeout) return new FetchFailed('timeout', at, reason.message, undefined, { cause: err });
        const code = (err as { code?: string } | undefined)?.code ?? '';
        if (code === 'UND_ERR_CONNECT_TIMEOUT') return new FetchFailed('timeout', at, 'connect_timeout ran out', undefined, { cause: err });
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          return new FetchFailed('timeout', at, 'read_timeout ran out', undefined, { cause: err });
        }
        return new FetchFailed('network', at, (err as Error)?.message ?? String(err), undefined, { cause: err });
      };

      let current = url;
      let method = options.method ?? 'GET';
      let headers: Record<string, string> = { ...options.headers };
      if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
      const origin = (() => { try { return new URL(url).origin; } catch { return ''; } })();
      try {
        for (let hop = 0; ; hop++) {
          const checked = checkUrlOrThrow(current, config);
          if (checked.url.origin !== origin) headers = options.range ? { range: headers.range! } : {};
          const resolveDeadline = AbortSignal.any([control.signal, AbortSignal.timeout(config.connectTimeoutMs)]);
          let target: ResolvedTarget;
          try {
            target = await resolveChecked(checked, resolveDeadline);
          } catch (err) {
            if (err instanceof FetchRefused || control.signal.aborted) throw err;
            throw new FetchFailed('timeout', current, 'connect_timeout ran out resolving the host', undefined, { cause: err });
          }
          const { Agent, request } = await undici();
          const agent = new Agent({
            connect: { ...deps.tls, timeout: config.connectTimeoutMs, lookup: pinnedLookup(target.addresses) },
            headersTimeout: config.readTimeoutMs,
            bodyTimeout: config.readTimeoutMs,
            connections: 1,
          });
          let response: Awaited<ReturnType<typeof request>>;
          try {
            response = await request(target.url, { dispatcher: agent, method, headers, signal: control.signal });
          } catch (err) {
            void agent.destroy().catch(() => undefined);
            throw failure(err, current);
          }
          const location = response.headers.location;
          if (REDIRECTS.has(response.statusCode)) {
            discard(response.body);
            void agent.destroy().catch(() => undefined);
            if (typeof location !== 'string' || location === '') {
              throw new FetchRefused('redirect', current, `redirect ${response.statusCode} without a Location`);
            }
            if (hop >= config.maxRedirects) {
              throw new FetchRefused('redirect', current, `more than ${config.maxRedirects} redirects`);
            }
            // The next hop is checked as written: an absolute or scheme-relative Location is not
            // normalised first (that would turn 0x7f000001 into 127.0.0.1 before the form check).
            let next: string;
            if ([...location].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) {
              throw new FetchRefused('malformed', location, 'the redirect Location contains spaces or control characters');
            }
            if (/^[a-z][a-z0-9+.-]*:/i.test(location)) next = location;
            else if (/^[\\/]{2}/.test(location)) next = `${target.url.protocol}${location}`;
            else {
              try {
                next = new URL(location, target.url).href;
              } catch {
                throw new FetchRefused('malformed', location, 'the redirect Location is not a URL');
              }
            }
            if (response.statusCode === 303 && method !== 'HEAD') method = 'GET';
            current = next;
            continue;
          }
          const ok = response.statusCode >= 200 && response.statusCode < 300;
          if (!ok) {
            discard(response.body);
            void agent.destroy().catch(() => undefined);
            throw new FetchFailed('http_status', current, `HTTP ${response.statusCode}`, response.statusCode);
          }
          const lengthHeader = response.headers['content-length'];
          const contentLength = typeof lengthHeader === 'string' && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
          if (contentLength !== undefined && contentLength > options.maxBytes) {
            discard(response.body);
            void agent.destroy().catch(() => undefined);
            throw new FetchFailed('too_large', current, `Content-Length ${contentLength} exceeds the limit of ${options.maxBytes} bytes`);
          }
          const body = limitedBody(response.body, options.maxBytes, current, (err) => failure(err, current), () => {
            cleanup();
            void agent.destroy().catch(() => undefined);
          });
          const result: SafeFetchResult = {
            status: response.statusCode,
            headers: response.headers as SafeFetchResult['headers'],
            url: current,
            body,
          };
          if (contentLength !== undefined) result.contentLength = contentLength;
          return result;
        }
      } catch (err) {
        cleanup();
        throw failure(err, current);
      }
    },
  };
}

/** Re-emits `source` with a byte cap; its errors become FetchFailed; `done` runs once at the end, whatever the end. */
function limitedBody(source: Readable, maxBytes: number, url: string, translate: (err: unknown) => Error,
  done: () => void): Readable {
  let received = 0;
  let finished = false;
  const finish = () => {
    if (!finished) { finished = true; done(); }
  };
  const out = new Readable({
    read() {
      source.resume();
    },
    destroy(err, callback) {
      source.destroy();
      finish();
      callback(err);
    },
  });
  source.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBytes) {
      out.destroy(new FetchFailed('too_large', url, `the body exceeds the limit of ${maxBytes} bytes`));
      return;
    }
    if (!out.push(chunk)) source.pause();
  });
  source.on('end', () => {
    out.push(null);
    finish();
  });
  source.on('error', (err) => out.destroy(translate(err)));
  source.pause();
  return out;
}
