// Outbound TLS settings as node:tls connect options (undici Agent `connect`, https.Agent): the
// files are read once, when the client is built.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';

import { undici } from './lazy-import.ts';

export interface TlsClientFiles {
  caFile?: string;
  insecure: boolean;
  certFile?: string;
  keyFile?: string;
}

/** undefined when nothing differs from Node.js's defaults (no agent of its own needed). */
export function tlsConnectOptions(tls: TlsClientFiles | undefined): ConnectionOptions | undefined {
  if (!tls || (!tls.caFile && !tls.insecure && !tls.certFile)) return undefined;
  return {
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}),
    rejectUnauthorized: !tls.insecure,
  };
}

/**
 * An undici dispatcher for these connect options, made on first use (undici is loaded lazily);
 * resolves undefined when the defaults apply (undici's global dispatcher).
 */
export function tlsDispatcher(connect: ConnectionOptions | undefined): () => Promise<Dispatcher | undefined> {
  let agent: Promise<Dispatcher> | undefined;
  return async () => {
    if (!connect) return undefined;
    return agent ??= undici().then(({ Agent }) => new Agent({ connect }));
  };
}
