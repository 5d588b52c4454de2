// The SSRF-safe fetcher against real HTTP servers on 127.0.0.1 (ephemeral ports). Loopback is a
// denied range, so these servers are reachable only through the operator exception (allowed_hosts
// + allowed_ports), which is itself under test; host names come from an injected resolver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

import {
  createSafeFetcher, FetchFailed, FetchRefused, type FailureReason, type HostResolver, type RefusalReason,
  type SafeFetcherDeps,
} from '../../src/net/index.ts';
import type { ImportFilteringConfig } from '../../src/config/types.ts';
import { policy } from './net-helpers.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const payload = randomBytes(3 * 1024 * 1024 + 17);
const seen: string[] = [];
let main: Server;
let other: Server;
let port: number;
let otherPort: number;
let otherHits = 0;

const routes: Record<string, Handler> = {
  '/image': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
    res.end(payload);
  },
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const more = () => {
      while (sent < payload.length) {
        const chunk = payload.subarray(sent, sent + 65536);
        sent += chunk.length;
        if (!res.write(chunk)) { res.once('drain', more); return; }
      }
      res.end();
    };
    more();
  },
  '/range': (req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m) { res.writeHead(200); res.end(payload); return; }
    const start = Number(m[1]);
    const end = m[2] === '' ? payload.length - 1 : Number(m[2]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${payload.length}`, 'content-length': end - start + 1 });
    res.end(payload.subarray(start, end + 1));
  },
  '/missing': (_req, res) => { res.writeHead(404); res.end('no'); },
  '/headers': (req, res) => { res.writeHead(200); res.end(JSON.stringify(req.headers)); },
  '/stall-headers': () => { /* never answers */ },
  '/stall-body': (_req, res) => { res.writeHead(200, { 'content-length': 100 }); res.write('x'.repeat(10)); },
  '/trickle': (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('x'), 40);
    res.on('close', () => clearInterval(timer));
  },
};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.push(`${req.headers.host} ${url.pathname}${url.search}`);
  // /redirect?to=<url>[&status=30x]; /hops/<n> redirects n times before /image.
  if (url.pathname === '/redirect') {
    res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '' });
    res.end();
    return;
  }
  const hops = /^\/hops\/(\d+)$/.exec(url.pathname);
  if (hops) {
    const n = Number(hops[1]);
    res.writeHead(301, { location: n === 0 ? '/image' : `/hops/${n - 1}` });
    res.end();
    return;
  }
  (routes[url.pathname] ?? routes['/missing']!)(req, res);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

before(async () => {
  main = createServer(handle);
  other = createServer((_req, res) => { otherHits++; res.end('other'); });
  port = await listen(main);
  otherPort = await listen(other);
});

after(async () => {
  main.closeAllConnections();
  other.closeAllConnections();
  await Promise.all([new Promise((r) => main.close(r)), new Promise((r) => other.close(r))]);
});

/** A resolver from a table; every call is recorded. A function entry gives per-call answers. */
function resolver(table: Record<string, string | ((call: number) => string)>, calls: string[] = []): HostResolver {
  const counts = new Map<string, number>();
  return async (host) => {
    calls.push(host);
    const entry = table[host];
    if (entry === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    const n = (counts.get(host) ?? 0) + 1;
    counts.set(host, n);
    const address = typeof entry === 'function' ? entry(n) : entry;
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
}

/** Local servers reachable: 127.0.0.1 and the given names are operator-allowed on the main port. */
function localPolicy(over: Partial<ImportFilteringConfig> = {}, hosts: string[] = []): ImportFilteringConfig {
  return policy({ allowedHosts: ['127.0.0.1', ...hosts], allowedPorts: [port], ...over });
}

function fetcher(over: Partial<ImportFilteringConfig> = {}, deps: SafeFetcherDeps = {}, hosts: string[] = []) {
  return createSafeFetcher(localPolicy(over, hosts), deps);
}

async function rejectsWith(promise: Promise<unknown>, type: typeof FetchRefused | typeof FetchFailed,
  reason: RefusalReason | FailureReason): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.equal((err as FetchRefused | FetchFailed).reason, reason, (err as Error).message);
    return err as Error;
  }
  assert.fail(`expected ${type.name} ${reason}, but it succeeded`);
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function drain(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a permitted fetch streams the exact bytes, with status, headers and Content-Length', async () => {
  const res = await fetcher().fetch(`http://127.0.0.1:${port}/image`, { maxBytes: Infinity });
  assert.equal(res.status, 200);
  assert.equal(res.contentLength, payload.length);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(sha(await drain(res.body)), sha(payload));
  const chunked = await fetcher().fetch(`http://127.0.0.1:${port}/chunked`, { maxBytes: payload.length });
  assert.equal(chunked.contentLength, undefined);
  assert.equal(sha(await drain(chunked.body)), sha(payload));
});

test('range requests: Range header sent, 206 is a success', async () => {
  const res = await fetcher().fetch(`http://127.0.0.1:${port}/range`, { maxBytes: Infinity, range: { start: 10, end: 19 } });
  assert.equal(res.status, 206);
  assert.deepEqual(await drain(res.body), payload.subarray(10, 20));
});

test('a host name resolving to loopback, private or metadata addresses is refused before connecting', async () => {
  const hits = seen.length;
  const calls: string[] = [];
  const f = createSafeFetcher(policy({ allowedPorts: [port] }), {
    resolver: resolver({ 'loop.test': '127.0.0.1', 'ten.test': '10.1.2.3', 'meta.test': '169.254.169.254',
      'mapped.test': '::ffff:127.0.0.1', 'six.test': '::1' }, calls),
  });
  for (const host of ['loop.test', 'ten.test', 'meta.test', 'mapped.test', 'six.test']) {
    await rejectsWith(f.fetch(`http://${host}:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'address');
    await rejectsWith(f.resolve(`http://${host}:${port}/image`), FetchRefused, 'address');
  }
  // One public answer among denied ones is still refused: every address is checked.
  const mixed = createSafeFetcher(policy(), {
    resolver: async () => [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }],
  });
  await rejectsWith(mixed.fetch('http://mixed.test/', { maxBytes: 1 }), FetchRefused, 'address');
  assert.equal(seen.length, hits, 'no request reached the server');
  assert.ok(calls.length >= 10);
});

test('the system resolver: localhost is refused (it resolves to loopback); an unknown name is unresolvable', async () => {
  const f = createSafeFetcher(policy({ allowedPorts: [port] }));
  await rejectsWith(f.fetch(`http://localhost:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'address');
  const none = createSafeFetcher(policy(), { resolver: resolver({}) });
  await rejectsWith(none.fetch('http://nowhere.test/', { maxBytes: 1 }), FetchRefused, 'unresolvable');
});

test('literal and encoded loopback URLs are refused by fetch too', async () => {
  const f = createSafeFetcher(policy({ allowedPorts: [port] }));
  const hits = seen.length;
  for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
    await rejectsWith(f.fetch(`http://${host}:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'address');
  }
  for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '127.0.0.1.']) {
    await rejectsWith(f.fetch(`http://${host}:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'host_form');
  }
  for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/', 'gopher://127.0.0.1:70/', 'data:,x']) {
    await rejectsWith(f.fetch(url, { maxBytes: Infinity }), FetchRefused, 'scheme');
  }
  assert.equal(seen.length, hits);
});

test('operator exception: exactly the listed host on an allowed port, nothing else in the range', async () => {
  const f = fetcher({}, { resolver: resolver({ 'mirror.test': '127.0.0.1', 'other.test': '127.0.0.1' }) }, ['mirror.test']);
  assert.equal(await text((await f.fetch(`http://mirror.test:${port}/headers`, { maxBytes: Infinity })).body)
    .then((t) => JSON.parse(t).host), `mirror.test:${port}`, 'the Host header keeps the name');
  await rejectsWith(f.fetch(`http://127.0.0.1:${otherPort}/`, { maxBytes: Infinity }), FetchRefused, 'port');
  await rejectsWith(f.fetch(`http://other.test:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'host');
  await rejectsWith(f.fetch(`http://localhost:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'host');
  await rejectsWith(f.fetch(`http://[::1]:${port}/image`, { maxBytes: Infinity }), FetchRefused, 'host');
  // The other port is reachable once allowed, and only then.
  const both = fetcher({ allowedPorts: [port, otherPort] });
  assert.equal(await text((await both.fetch(`http://127.0.0.1:${otherPort}/`, { maxBytes: Infinity })).body), 'other');
  assert.equal(otherHits, 1);
});

test('redirects are re-checked on every hop: allowed → allowed → 127.0.0.1 is refused', async () => {
  const calls: string[] = [];
  const f = createSafeFetcher(policy({ allowedHosts: ['a.test', 'b.test'], allowedPorts: [port] }),
    { resolver: resolver({ 'a.test': '127.0.0.1', 'b.test': '127.0.0.1' }, calls) });
  const final = encodeURIComponent(`http://127.0.0.1:${port}/image`);
  const viaB = encodeURIComponent(`http://b.test:${port}/redirect?to=${final}`);
  const before = seen.length;
  const err = await rejectsWith(f.fetch(`http://a.test:${port}/redirect?to=${viaB}`, { maxBytes: Infinity }), FetchRefused, 'host');
  assert.match((err as FetchRefused).url, /127\.0\.0\.1/);
  assert.deepEqual(seen.slice(before).map((s) => s.split(' ')[0]), [`a.test:${port}`, `b.test:${port}`]);
  assert.deepEqual(calls, ['a.test', 'b.test']);
  // Redirects to the metadata service, to another scheme or to a disallowed port are refused the same way.
  // (While allowed_hosts is set, which reaching these loopback servers needs, a target outside it is
  // refused as 'host'; the address checks of unlisted hosts are covered by the tests above.)
  const g = fetcher();
  for (const [to, reason] of [
    ['http://169.254.169.254/latest/meta-data/', 'host'], ['http://[::ffff:a9fe:a9fe]/', 'host'],
    ['http://0xa9fea9fe/', 'host_form'], ['//0x7f000001/', 'host_form'], [`//127.1:${port}/image`, 'host_form'],
    ['http:/\\127.0.0.1/', 'malformed'], ['/\\0x7f000001/', 'malformed'], ['file:///etc/passwd', 'scheme'], [`http://127.0.0.1:${otherPort}/`, 'port'],
    ['http://user@127.0.0.1/', 'userinfo'],
  ] as const) {
    for (const status of [301, 302, 303, 307, 308]) {
      await rejectsWith(g.fetch(`http://127.0.0.1:${port}/redirect?status=${status}&to=${encodeURIComponent(to)}`,
        { maxBytes: Infinity }), FetchRefused, reason);
    }
  }
  assert.equal(otherHits, 1, 'the redirect to the other port was never followed');
});

test('redirect hop limit: max_redirects followed, one more refused; relative Locations work', async () => {
  const two = fetcher({ maxRedirects: 2 });
  const res = await two.fetch(`http://127.0.0.1:${port}/hops/1`, { maxBytes: Infinity });
  assert.equal(res.url, `http://127.0.0.1:${port}/image`);
  assert.equal(sha(await drain(res.body)), sha(payload));
  await rejectsWith(two.fetch(`http://127.0.0.1:${port}/hops/2`, { maxBytes: Infinity }), FetchRefused, 'redirect');
  await rejectsWith(fetcher({ maxRedirects: 0 }).fetch(`http://127.0.0.1:${port}/hops/0`, { maxBytes: Infinity }),
    FetchRefused, 'redirect');
  await rejectsWith(fetcher().fetch(`http://127.0.0.1:${port}/redirect`, { maxBytes: Infinity }), FetchRefused, 'redirect');
});

test('caller headers are kept on same-origin redirects and dropped when the origin changes', async () => {
  const f = fetcher({}, { resolver: resolver({ 'mirror.test': '127.0.0.1' }) }, ['mirror.test']);
  const headers = { 'x-auth-token': 'secret' };
  const same = await f.fetch(`http://127.0.0.1:${port}/redirect?to=/headers`, { maxBytes: Infinity, headers });
  assert.equal(JSON.parse(await text(same.body))['x-auth-token'], 'secret');
  const cross = await f.fetch(`http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(`http://mirror.test:${port}/headers`)}`,
    { maxBytes: Infinity, headers });
  assert.equal(JSON.parse(await text(cross.body))['x-auth-token'], undefined);
});

test('DNS rebinding: the connection goes to the checked address, never to a later DNS answer', async () => {
  // The check sees a public answer for `localhost`; the system resolver (which an unpinned socket
  // would ask) says 127.0.0.1. The fetch must fail on the public address and never reach the local server.
  const calls: string[] = [];
  const rebinding = createSafeFetcher(policy({ allowedPorts: [port], connectTimeoutMs: 300 }), {
    resolver: resolver({ localhost: '198.51.99.1' }, calls),
  });
  const before = seen.length;
  await assert.rejects(rebinding.fetch(`http://localhost:${port}/image`, { maxBytes: Infinity }),
    (err) => err instanceof FetchFailed && ['timeout', 'network'].includes(err.reason));
  assert.deepEqual(calls, ['localhost'], 'one lookup: the check');
  assert.equal(seen.length, before, 'nothing reached 127.0.0.1');
  // The converse proves the pin is what is used: checked answer 127.0.0.1 (operator-allowed name),
  // later answers unroutable; the fetch still succeeds because no second lookup happens.
  const pinnedCalls: string[] = [];
  const pinned = fetcher({}, { resolver: resolver({ 'mirror.test': (n) => (n === 1 ? '127.0.0.1' : '192.0.2.1') }, pinnedCalls) },
    ['mirror.test']);
  const res = await pinned.fetch(`http://mirror.test:${port}/image`, { maxBytes: Infinity });
  assert.equal(sha(await drain(res.body)), sha(payload));
  assert.deepEqual(pinnedCalls, ['mirror.test']);
});

test('size cap: Content-Length over the cap fails before the body; a chunked body fails once over', async () => {
  await rejectsWith(fetcher().fetch(`http://127.0.0.1:${port}/image`, { maxBytes: payload.length - 1 }), FetchFailed, 'too_large');
  const res = await fetcher().fetch(`http://127.0.0.1:${port}/chunked`, { maxBytes: 1024 * 1024 });
  await rejectsWith(drain(res.body), FetchFailed, 'too_large');
  const exact = await fetcher().fetch(`http://127.0.0.1:${port}/image`, { maxBytes: payload.length });
  assert.equal((await drain(exact.body)).length, payload.length);
});

test('HTTP errors are FetchFailed http_status with the status', async () => {
  const err = await rejectsWith(fetcher().fetch(`http://127.0.0.1:${port}/missing`, { maxBytes: Infinity }), FetchFailed, 'http_status');
  assert.equal((err as FetchFailed).status, 404);
});

test('timeouts: no headers, a stalled body, a total deadline; and a connection refused is a network failure', async () => {
  await rejectsWith(fetcher({ readTimeoutMs: 200 }).fetch(`http://127.0.0.1:${port}/stall-headers`, { maxBytes: Infinity }),
    FetchFailed, 'timeout');
  const stalled = await fetcher({ readTimeoutMs: 200 }).fetch(`http://127.0.0.1:${port}/stall-body`, { maxBytes: Infinity });
  await rejectsWith(drain(stalled.body), FetchFailed, 'timeout');
  const trickle = await fetcher({ readTimeoutMs: 2000, totalTimeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/trickle`, { maxBytes: Infinity });
  await rejectsWith(drain(trickle.body), FetchFailed, 'timeout');
  const closed = createServer();
  const closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  await rejectsWith(fetcher({ allowedPorts: [closedPort] }).fetch(`http://127.0.0.1:${closedPort}/`, { maxBytes: 1 }),
    FetchFailed, 'network');
});

test('the caller AbortSignal: before the fetch, while waiting for headers, and mid-body', async () => {
  await rejectsWith(fetcher().fetch(`http://127.0.0.1:${port}/image`, { maxBytes: Infinity, signal: AbortSignal.abort() }),
    FetchFailed, 'aborted');
  await rejectsWith(fetcher().fetch(`http://127.0.0.1:${port}/stall-headers`, { maxBytes: Infinity, signal: AbortSignal.timeout(100) }),
    FetchFailed, 'aborted');
  const controller = new AbortController();
  const res = await fetcher().fetch(`http://127.0.0.1:${port}/trickle`, { maxBytes: Infinity, signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await rejectsWith(drain(res.body), FetchFailed, 'aborted');
});

test('checkUrl on the fetcher uses its policy', () => {
  const f = fetcher();
  assert.equal(f.checkUrl(`http://127.0.0.1:${port}/x`).ok, true);
  const bad = f.checkUrl('http://169.254.169.254/');
  assert.ok(!bad.ok && bad.error.reason === 'host');
});

test('https: the connection is pinned while the certificate is verified against the host name (SNI kept)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-net-tls-'));
  let cert: Buffer;
  let key: Buffer;
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=mirror.test',
      '-addext', 'subjectAltName=DNS:mirror.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  } catch (err) {
    t.skip(`openssl could not make a test certificate: ${String(err)}`);
    return;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const servernames: string[] = [];
  const server = createHttpsServer({ cert, key }, (req, res) => { res.end(`tls ${req.headers.host}`); });
  server.on('secureConnection', (socket) => servernames.push(String((socket as { servername?: string }).servername)));
  const tlsPort = await listen(server as unknown as Server);
  try {
    const p = policy({ allowedHosts: ['mirror.test', '127.0.0.1'], allowedPorts: [tlsPort] });
    const deps = { resolver: resolver({ 'mirror.test': '127.0.0.1' }), tls: { ca: cert } };
    const res = await createSafeFetcher(p, deps).fetch(`https://mirror.test:${tlsPort}/`, { maxBytes: Infinity });
    assert.equal(await text(res.body), `tls mirror.test:${tlsPort}`);
    assert.deepEqual(servernames, ['mirror.test']);
    // The certificate names mirror.test, not 127.0.0.1, and an untrusted CA fails: verification is on.
    await rejectsWith(createSafeFetcher(p, deps).fetch(`https://127.0.0.1:${tlsPort}/`, { maxBytes: Infinity }), FetchFailed, 'network');
    await rejectsWith(createSafeFetcher(p, { resolver: deps.resolver }).fetch(`https://mirror.test:${tlsPort}/`, { maxBytes: Infinity }),
      FetchFailed, 'network');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
