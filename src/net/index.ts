// Glimpse's one way to fetch a URL given by a user (web-download import, v1 x-glance-api-copy-from,
// glance-download, the http store). Never call fetch/undici/http.get on such a URL directly.
//
// Usage:
//   import { createSafeFetcher, FetchRefused, FetchFailed } from '../net/index.ts';
//   const fetcher = createSafeFetcher(config.importFiltering);   // one per process is fine; it holds no sockets
//   // deps (2nd argument): { resolver?: tests only; tls?: { ca?, rejectUnauthorized? } for https (http store options) }
//
//   // At request time (no network), as Glance's validate_import_uri: 400 when not ok.
//   const check = fetcher.checkUrl(uri);
//   if (!check.ok) throw badRequest(…);          // check.error.reason says why ('scheme', 'port', …)
//
//   // Later, in the task:
//   try {
//     const res = await fetcher.fetch(uri, { maxBytes: config.imageSizeCap, signal });
//     await pipeline(res.body, sink);             // res.status, res.headers, res.contentLength, res.url
//   } catch (err) {
//     if (err instanceof FetchRefused) …          // err.reason: RefusalReason (a redirect or DNS answer was refused)
//     else if (err instanceof FetchFailed) …      // err.reason: FailureReason; err.status for 'http_status'
//   }
//
// What is checked, on the URL and again on every redirect hop: scheme, host and port against
// [import_filtering_opts] (Glance's precedence), the host's written form, and every address the host
// resolves to (no loopback, private, link-local, CGNAT, ULA, multicast, … and no IPv6 form carrying
// such an IPv4). The connection is pinned to the checked addresses. A host in allowed_hosts whose
// port is in allowed_ports skips the address checks (operator-approved mirrors). See
// docs/operations.md "Outbound fetches and SSRF protection" and docs/decisions/0009.
export { deniedRange } from './address.ts';
export { FetchFailed, FetchRefused, type FailureReason, type RefusalReason } from './errors.ts';
export {
  createSafeFetcher,
  type HostResolver,
  type ResolvedAddress,
  type ResolvedTarget,
  type SafeFetcher,
  type SafeFetcherDeps,
  type SafeFetchOptions,
  type SafeFetchResult,
} from './fetcher.ts';
export { checkUrl, type CheckedUrl, type UrlCheck, type UrlPolicy } from './url-check.ts';
