// The metrics listener of its own ([metrics] bind_host / bind_port): plain HTTP, GET /metrics only,
// so that it can be bound to a management network while the API port faces clients.
import { createServer, type Server } from 'node:http';

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(host: string, port: number,
  render: () => Promise<{ contentType: string; body: string }>,
  log: { warn(obj: unknown, msg?: string): void }): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8',
        ...(path === '/metrics' ? { allow: 'GET, HEAD' } : {}) });
      res.end(path === '/metrics' ? 'Method not allowed\n' : 'Not found: metrics are served at /metrics\n');
      return;
    }
    render().then(({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    }, (error: unknown) => {
      log.warn({ err: error }, 'collecting metrics failed');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Collecting metrics failed\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as { address: string; port: number };
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
