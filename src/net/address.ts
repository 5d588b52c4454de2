// Which IP addresses an outbound fetch may connect to. Only global unicast addresses pass: IPv4
// outside every special-purpose block, IPv6 inside 2000::/3 and outside its special blocks. IPv6
// forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d,
// NAT64 64:ff9b::/96, 6to4 2002::/16) pass only when the carried IPv4 passes.
// The local-use NAT64 prefix 64:ff9b:1::/48 is denied outright. Range math is ipaddr.js's (the special-purpose registries of IANA).
import ipaddr from 'ipaddr.js';

const nat64Local = ipaddr.parseCIDR('64:ff9b:1::/48');
const ipv4Compatible = ipaddr.parseCIDR('::/96');
const globalUnicastV6 = ipaddr.parseCIDR('2000::/3');

/** The IPv4 address an IPv6 address carries, for the embedding forms above. */
function embeddedV4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = v6.toByteArray();
  const last32 = () => new ipaddr.IPv4(bytes.slice(12, 16));
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') return last32();
  if (v6.match(ipv4Compatible)) return last32();
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

/**
 * Why `address` (an IPv4 or IPv6 literal, no brackets) may not be connected to, e.g. `loopback`,
 * `private`, `linkLocal`, `ipv4Mapped:loopback`; undefined when it is a global unicast address.
 * Anything that does not parse strictly is denied (`unparsable`).
 */
export function deniedRange(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) parsed = ipaddr.IPv4.parse(address);
  else if (address.includes(':') && !address.includes('%') && ipaddr.IPv6.isValid(address)) parsed = ipaddr.IPv6.parse(address);
  else return 'unparsable';
  return deniedParsed(parsed);
}

function deniedParsed(ip: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? undefined : range;
  }
  const v6 = ip as ipaddr.IPv6;
  // RFC 8215 local-use NAT64: the IPv4 may sit at any of several offsets, so none is trusted.
  if (v6.match(nat64Local)) return 'nat64LocalUse';
  const inner = embeddedV4(v6);
  if (inner !== undefined) {
    const innerDenied = deniedParsed(inner);
    return innerDenied === undefined ? undefined : `${v6.range()}:${innerDenied}`;
  }
  const range = v6.range();
  if (range !== 'unicast') return range;
  return v6.match(globalUnicastV6) ? undefined : 'notGlobalUnicast';
}

/** Canonical text of an IP literal (IPv6 compressed, lowercase), or undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare).toString();
  if (bare.includes(':') && !bare.includes('%') && ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare).toString();
  return undefined;
}
