// Options of the API server's own TLS listener ([DEFAULT] cert_file, key_file, ca_file, as in
// Glance) and of the Prometheus metrics endpoint ([metrics], Glimpse only); spread into OPTIONS.
import type { OptionDef } from './schema.ts';

export const SERVER_TLS_OPTIONS: readonly OptionDef[] = [
  { section: 'DEFAULT', name: 'cert_file', type: 'path', sample: '/etc/glimpse/tls/server.crt',
    help: 'PEM certificate (with its intermediate certificates) the API serves HTTPS with; needs key_file. Unset: plain HTTP (for a TLS-terminating proxy in front).' },
  { section: 'DEFAULT', name: 'key_file', type: 'path', sample: '/etc/glimpse/tls/server.key',
    help: 'PEM private key of cert_file.' },
  { section: 'DEFAULT', name: 'ca_file', type: 'path', sample: '/etc/glimpse/tls/clients-ca.crt',
    help: 'PEM CA certificates that client certificates must be issued by. When set (with cert_file), every client must present such a certificate; the TLS handshake of one that does not fails.' },
];

export const METRICS_OPTIONS: readonly OptionDef[] = [
  { section: 'metrics', name: 'enabled', type: 'bool', default: 'false',
    help: 'Serve Prometheus metrics at /metrics (requests, transfers, stores, tasks, database pool, process). Without bind_port they are served on the API port, to anyone who can reach it.' },
  { section: 'metrics', name: 'bind_host', type: 'host', default: '127.0.0.1',
    help: 'Address of the separate metrics listener (used with bind_port).' },
  { section: 'metrics', name: 'bind_port', type: 'port', sample: '9393',
    help: 'Serve /metrics on a listener of its own on this port (plain HTTP) instead of on the API port, so that it can be kept off the public network. With workers > 1 the main process serves it, adding up the numbers of every worker; on the API port each scrape would see only the worker that answered.' },
];
