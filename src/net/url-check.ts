// The synchronous half of the outbound URL rules: Glance's `[import_filtering_opts]` filter
// (glance/common/utils.py validate_import_uri, same precedence: a non-empty allow list makes the
// matching deny list ignored) plus Glimpse's stricter checks on how the URL is written and on
// IP literals. Host names are resolved and their addresses checked later, in fetcher.ts.
import { canonicalIp, deniedRange } from './address.ts';
import { FetchRefused } from './errors.ts';
import type { ImportFilteringConfig } from '../config/types.ts';

/** The options of `[import_filtering_opts]` that decide whether a URL may be fetched. */
export type UrlPolicy = Pick<ImportFilteringConfig,
  'allowedSchemes' | 'disallowedSchemes' | 'allowedHosts' | 'disallowedHosts' | 'allowedPorts' | 'disallowedPorts'>;

export interface CheckedUrl {
  url: URL;
  scheme: 'http' | 'https';
  /** Lowercase host name, or canonical IP literal without brackets. */
  host: string;
  /** Explicit port or the scheme's default. */
  port: number;
  /** The host is an IP literal (already checked against the denied ranges unless operatorAllowed). */
  isIp: boolean;
  /** host is in allowed_hosts and port in allowed_ports: the private-address checks do not apply. */
  operatorAllowed: boolean;
}

export type UrlCheck = { ok: true; checked: CheckedUrl } | { ok: false; error: FetchRefused };

const DEFAULT_PORTS = { http: 80, https: 443 } as const;
const HOST_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/** A list entry as the URL host is compared: lowercase, IP literals canonical, no brackets. */
function normalizeEntry(entry: string): string {
  return canonicalIp(entry.trim()) ?? entry.trim().toLowerCase();
}

/** Glance's rule for one allow/deny pair: a non-empty allow list decides alone. */
function passes<T>(value: T, allowed: readonly T[], disallowed: readonly T[]): boolean {
  return allowed.length > 0 ? allowed.includes(value) : !disallowed.includes(value);
}

/** Checks `input` against the policy without DNS; throws FetchRefused. */
export function checkUrlOrThrow(input: string, policy: UrlPolicy): CheckedUrl {
  const refuse = (reason: FetchRefused['reason'], detail: string): never => {
    throw new FetchRefused(reason, String(input), detail);
  };
  if (typeof input !== 'string' || input === '') refuse('malformed', 'no URL');
  if ([...input].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) refuse('malformed', 'the URL contains spaces or control characters');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return refuse('malformed', 'not an absolute URL');
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!passes(scheme, policy.allowedSchemes, policy.disallowedSchemes)) refuse('scheme', `scheme "${scheme}" is not allowed`);
  if (scheme !== 'http' && scheme !== 'https') return refuse('scheme', `scheme "${scheme}" is not supported (http and https only)`);

  // What the URL parser made of the host is compared with the host as written, so that forms it
  // rewrites (0x7f000001, 0177.0.0.1, 127.1, 2130706433, %31…, Unicode, a trailing dot on an IPv4) are refused.
  const afterScheme = input.slice(input.indexOf(':') + 1);
  if (!afterScheme.startsWith('//')) refuse('malformed', 'the URL has no //host part');
  const authority = /^[^/?#\\]*/.exec(afterScheme.slice(2))![0];
  if (authority.includes('@') || url.username !== '' || url.password !== '') {
    refuse('userinfo', 'credentials in the URL are not accepted');
  }
  const rawHost = (authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1)
    : authority.replace(/:[^:]*$/, '')).toLowerCase();
  let host: string;
  let isIp: boolean;
  if (rawHost.startsWith('[')) {
    const ip = canonicalIp(rawHost);
    if (ip === undefined || !ip.includes(':')) return refuse('host_form', `"${rawHost}" is not a plain IPv6 address`);
    host = ip;
    isIp = true;
  } else {
    if (rawHost !== url.hostname) refuse('host_form', `host "${rawHost}" is not written in canonical form ("${url.hostname}")`);
    if (!HOST_NAME.test(rawHost)) refuse('host_form', `host "${rawHost}" is not a plain host name or dotted-quad IPv4 address`);
    host = rawHost;
    isIp = canonicalIp(rawHost) !== undefined;
    if (!isIp && /^[0-9.]+$|^0x/i.test(rawHost.split('.').at(-1)!)) {
      refuse('host_form', `host "${rawHost}" looks like an encoded IPv4 address`);
    }
  }

  const allowedHosts = policy.allowedHosts.map(normalizeEntry);
  const disallowedHosts = policy.disallowedHosts.map(normalizeEntry);
  if (!passes(host, allowedHosts, disallowedHosts)) refuse('host', `host "${host}" is not allowed`);
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  if (!passes(port, policy.allowedPorts, policy.disallowedPorts)) refuse('port', `port ${port} is not allowed`);

  const operatorAllowed = allowedHosts.includes(host) && policy.allowedPorts.includes(port);
  if (isIp && !operatorAllowed) {
    const denied = deniedRange(host);
    if (denied !== undefined) refuse('address', `${host} is in a denied address range (${denied})`);
  }
  return { url, scheme, host, port, isIp, operatorAllowed };
}

/** Checks `input` against the policy without DNS (for validating a request before accepting it). */
export function checkUrl(input: string, policy: UrlPolicy): UrlCheck {
  try {
    return { ok: true, checked: checkUrlOrThrow(input, policy) };
  } catch (err) {
    if (err instanceof FetchRefused) return { ok: false, error: err };
    throw err;
  }
}
