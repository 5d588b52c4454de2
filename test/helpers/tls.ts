// Certificates made in the test with the openssl command (node:crypto cannot issue certificates):
// a CA, a server certificate for 127.0.0.1/localhost and a client certificate, both issued by it;
// and a TLS-terminating forwarder that puts a real plain-HTTP service behind HTTPS.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that issued nothing here: trusting it must not be enough. */
  otherCaCert: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function issue(dir: string, name: string, subject: string, ext: string) {
  openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

/** Makes the CA and the certificates in `dir`. */
export function makePki(dir: string): Pki {
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=Glimpse test CA', '-days', '2'], dir);
  openssl(['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-subj', '/CN=Another CA', '-days', '2'], dir);
  issue(dir, 'server', '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  issue(dir, 'client', '/CN=glimpse-test-client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const path = (name: string) => join(dir, name);
  return { caCert: path('ca.crt'), serverCert: path('server.crt'), serverKey: path('server.key'),
    clientCert: path('client.crt'), clientKey: path('client.key'), otherCaCert: path('other-ca.crt') };
}

/** HTTPS in front of a plain TCP service (the server certificate of `pki`); returns its port. */
export async function tlsForwarder(pki: Pki, target: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (client) => {
    const upstream = createConnection(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
