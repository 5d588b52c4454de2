// oslo.messaging's transport URL: `rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost?ssl=1`.
// Several hosts are tried in turn; a host without credentials uses the first host's. Names and
// passwords are percent-decoded; an empty virtual host is RabbitMQ's default `/`.

export interface BrokerHost {
  host: string;
  port: number;
  username: string;
  password: string;
}

export interface TransportUrl {
  hosts: BrokerHost[];
  virtualHost: string;
  /** `?ssl=1` (also set by `[oslo_messaging_rabbit] ssl`). */
  ssl: boolean;
}

const SCHEMES = ['rabbit', 'kombu'];

export function parseTransportUrl(text: string): TransportUrl | { problem: string } {
  const match = /^([a-z0-9+]+):\/\/([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(text.trim());
  if (!match) return { problem: `"${redactTransportUrl(text)}" is not a transport URL (rabbit://user:password@host:port/vhost)` };
  const [, scheme, netloc, path, query] = match;
  if (!SCHEMES.includes(scheme!.toLowerCase())) {
    return { problem: `transport "${scheme}" is not supported (supported: ${SCHEMES.join(', ')})` };
  }
  const hosts: BrokerHost[] = [];
  for (const part of netloc!.split(',').filter((p) => p !== '')) {
    const at = part.lastIndexOf('@');
    const credentials = at >= 0 ? part.slice(0, at) : undefined;
    const address = at >= 0 ? part.slice(at + 1) : part;
    const hostMatch = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
    if (!hostMatch) return { problem: `"${address}" is not a host[:port]` };
    const port = hostMatch[2] === undefined ? 5672 : Number(hostMatch[2]);
    if (port < 1 || port > 65535) return { problem: `${port} is not a port number` };
    const colon = credentials?.indexOf(':') ?? -1;
    const first = hosts[0];
    hosts.push({
      host: hostMatch[1]!.replace(/^\[|\]$/g, ''), port,
      username: credentials === undefined ? first?.username ?? 'guest'
        : decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials),
      password: credentials === undefined ? first?.password ?? 'guest'
        : colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) : '',
    });
  }
  if (hosts.length === 0) return { problem: 'the transport URL names no host' };
  const params = new URLSearchParams(query ?? '');
  const ssl = ['1', 'true', 'yes', 'on'].includes((params.get('ssl') ?? '').toLowerCase());
  return { hosts, virtualHost: path ? decodeURIComponent(path) : '/', ssl };
}

/** The URL with passwords replaced, for messages and logs. */
export function redactTransportUrl(text: string): string {
  return text.replace(/([/,][^:/@,]*):[^@/,]*@/g, '$1:***@');
}
