// A small static web server for the http store's tests: serves added files under /images/<id>
// with HEAD and single byte ranges (RFC 9110 206/416), and /redirect/<n>/<id> that redirects n
// times before reaching /images/<id>. `/norange/<id>` ignores Range (answers 200 with everything).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ImportFilteringConfig } from '../../src/config/types.ts';

export interface StaticServer {
  url: string;
  /** Serves `data` and returns its URL. */
  add(data: Buffer): string;
  files(): string[];
  /** Requests seen, as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startStaticServer(): Promise<StaticServer> {
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const redirect = /^\/redirect\/(\d+)\/([\w-]+)$/.exec(req.url ?? '');
    if (redirect) {
      const n = Number(redirect[1]);
      res.writeHead(302, { location: n > 1 ? `/redirect/${n - 1}/${redirect[2]}` : `/images/${redirect[2]}` }).end();
      return;
    }
    const match = /^\/(images|norange)\/([\w-]+)$/.exec(req.url ?? '');
    const data = match ? files.get(match[2]!) : undefined;
    if (!data) {
      res.writeHead(404).end('not found');
      return;
    }
    const range = match![1] === 'images' ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': end - start + 1 });
      res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    add(data) {
      const id = randomUUID();
      files.set(id, data);
      return `${url}/images/${id}`;
    },
    files: () => [...files.keys()].sort(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** [import_filtering_opts] for the safe fetcher that lets tests reach this loopback server (an
 *  operator-approved host, which skips the private-address checks). */
export function loopbackFiltering(server: { url: string }, maxRedirects = 5): ImportFilteringConfig {
  return {
    allowedSchemes: ['http', 'https'], disallowedSchemes: [], allowedHosts: ['127.0.0.1'], disallowedHosts: [],
    allowedPorts: [Number(new URL(server.url).port)], disallowedPorts: [], maxRedirects, connectTimeoutMs: 5000, readTimeoutMs: 10_000, totalTimeoutMs: 0,
  };
}
