// The two error types of the outbound fetcher. FetchRefused: Glimpse's own rules said no (the URL,
// a redirect target or a resolved address is not allowed); nothing was sent to the refused target.
// FetchFailed: the target was allowed but the fetch did not work (network, timeout, HTTP status,
// size cap, caller abort). Callers map them: v1 copy-from and web-download answer 400 for a refused
// URL at request time; a background import marks its task failed for either.

/** Why a URL (or a redirect hop) was refused. */
export type RefusalReason =
  /** Not an absolute URL, or it holds spaces/control characters. */
  | 'malformed'
  /** Scheme not allowed by `allowed_schemes`/`disallowed_schemes` or not http(s) at all. */
  | 'scheme'
  /** `user:password@` in the URL. */
  | 'userinfo'
  /** Host written in a form that does not name itself plainly: numeric/hex/octal/short IPv4, trailing dot, percent-encoding, Unicode (IDN not in xn-- form), IPv6 zone id. */
  | 'host_form'
  /** Host not in `allowed_hosts`, or in `disallowed_hosts`. */
  | 'host'
  /** Port not in `allowed_ports`, or in `disallowed_ports`. */
  | 'port'
  /** The host (literal or any resolved address) is in a denied range: loopback, private, link-local, … */
  | 'address'
  /** The host name does not resolve. */
  | 'unresolvable'
  /** More redirects than `max_redirects`, or a redirect without a usable Location. */
  | 'redirect';

/** Why an allowed fetch failed. */
export type FailureReason =
  /** Connection refused/reset, TLS error, DNS failure during connect, … */
  | 'network'
  /** connect_timeout, read_timeout or total_timeout ran out. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The final response was not 2xx (`status` holds it). */
  | 'http_status'
  /** Content-Length or the bytes received exceed the caller's maxBytes. */
  | 'too_large';

export class FetchRefused extends Error {
  override readonly name = 'FetchRefused';
  constructor(
    readonly reason: RefusalReason,
    /** The URL (or redirect target) that was refused, as given. */
    readonly url: string,
    detail: string,
  ) {
    super(`refused ${url}: ${detail}`);
  }
}

export class FetchFailed extends Error {
  override readonly name = 'FetchFailed';
  constructor(
    readonly reason: FailureReason,
    /** The URL of the hop that failed. */
    readonly url: string,
    detail: string,
    /** HTTP status of the final response, for `http_status`. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`fetching ${url} failed: ${detail}`, options);
  }
}
