// The synchronous URL rules of src/net (no network): address ranges, written forms, schemes,
// userinfo, and Glance's [import_filtering_opts] allow/deny precedence; plus the config options.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { checkUrl, deniedRange, type RefusalReason } from '../../src/net/index.ts';
import { load, loadError } from './config-helpers.ts';
import { policy } from './net-helpers.ts';

function refused(url: string, reason: RefusalReason, p = policy()): void {
  const result = checkUrl(url, p);
  assert.equal(result.ok, false, `${url} should be refused`);
  if (!result.ok) assert.equal(result.error.reason, reason, `${url}: ${result.error.message}`);
}

function allowed(url: string, p = policy()): void {
  const result = checkUrl(url, p);
  assert.ok(result.ok, `${url} should pass: ${result.ok ? '' : result.error.message}`);
}

test('denied address ranges: every special-purpose IPv4 and IPv6 block', () => {
  const denied = [
    '127.0.0.1', '127.255.255.254', '0.0.0.0', '0.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '169.254.0.1', '100.64.0.1', '100.127.255.255', '224.0.0.1', '239.255.255.250',
    '255.255.255.255', '240.0.0.1', '192.0.2.1', '198.18.0.1', '192.0.0.8',
    '::1', '::', 'fe80::1', 'febf::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'ff05::2', '2001:db8::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::7f00:1', '::127.0.0.1',
    '::ffff:0:7f00:1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::8.8.8.8', '2002:7f00:1::1', '2002:a00:1::',
    '2001::1', '100::1', 'fec0::1', '1234::1', 'not-an-ip', '0177.0.0.1', '127.1',
  ];
  for (const address of denied) assert.notEqual(deniedRange(address), undefined, `${address} must be denied`);
  const fine = ['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450::1',
    '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const address of fine) assert.equal(deniedRange(address), undefined, `${address} must be allowed`);
});

test('IP literals in the URL: loopback, metadata, private and their IPv6 forms are refused', () => {
  for (const url of [
    'http://127.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://192.168.0.1/',
    'http://172.16.5.4/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[::1]/', 'http://[::]/', 'http://[fe80::1]/',
    'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://[::ffff:a9fe:a9fe]/',
    'http://[64:ff9b::127.0.0.1]/', 'http://[2002:7f00:1::]/', 'http://224.0.0.1/', 'http://255.255.255.255/',
  ]) refused(url, 'address');
  allowed('http://8.8.8.8/image.qcow2');
  allowed('https://[2606:4700:4700::1111]/x');
});

test('encoded and non-canonical host forms are refused before any lookup', () => {
  for (const url of [
    'http://2130706433/', 'http://0x7f000001/', 'http://0x7f.0x0.0x0.0x1/', 'http://0177.0.0.1/', 'http://127.1/',
    'http://127.0.1/', 'http://127.0.0.1./', 'http://017700000001/', 'http://%31%32%37.0.0.1/', 'http://127.0.0.01/',
    'http://example.com./', 'http://ｅxample.com/', 'http://bücher.example/', 'http://[fe80::1%25eth0]/',
    'http://1.2.3.4.5/', 'http://169.254.169.254./', 'http://0251.0376.0251.0376/',
  ]) {
    const result = checkUrl(url, policy());
    assert.equal(result.ok, false, `${url} should be refused`);
    if (!result.ok) assert.ok(['host_form', 'malformed'].includes(result.error.reason), `${url}: ${result.error.reason}`);
  }
  allowed('http://xn--bcher-kva.example/');
  allowed('http://Images.Example.COM/a.img');
});

test('schemes other than http(s) are refused, also when an operator allows them', () => {
  for (const url of ['file:///etc/passwd', 'ftp://example.com/x', 'gopher://example.com/_x', 'data:text/plain,hi',
    'javascript:alert(1)', 'dict://example.com:11211/', 'ldap://example.com/']) refused(url, 'scheme');
  refused('file:///etc/passwd', 'scheme', policy({ allowedSchemes: ['file', 'http'] }));
  refused('https://example.com/', 'scheme', policy({ allowedSchemes: ['http'] }));
  refused('https://example.com/', 'scheme', policy({ allowedSchemes: [], disallowedSchemes: ['https'] }));
  // Glance: with both set, only the allow list counts.
  allowed('https://example.com/', policy({ allowedSchemes: ['https'], disallowedSchemes: ['https'] }));
});

test('userinfo tricks and malformed input', () => {
  refused('http://example.com@127.0.0.1/', 'userinfo');
  refused('http://user:pw@example.com/', 'userinfo');
  refused('http://127.0.0.1\\@example.com/', 'address');
  // A backslash ends the host for http(s) URLs, so this one names example.com, which is what is fetched.
  const backslash = checkUrl('http://example.com\\@127.0.0.1/', policy());
  assert.ok(backslash.ok && backslash.checked.host === 'example.com');
  refused('', 'malformed');
  refused('not a url', 'malformed');
  refused('/relative/path', 'malformed');
  refused('http:example.com/x', 'malformed');
  refused('http:/\\127.0.0.1/', 'malformed');
  refused(' http://example.com/', 'malformed');
  refused('http://exa\tmple.com/', 'malformed');
  refused('http://example.com/\n', 'malformed');
});

test('ports: default 80/443 only; an implicit port counts as the scheme default', () => {
  allowed('http://example.com/');
  allowed('http://example.com:80/');
  allowed('https://example.com:443/');
  refused('http://example.com:8080/', 'port');
  refused('http://example.com:22/', 'port');
  refused('https://example.com:80/', 'port', policy({ allowedPorts: [443] }));
  allowed('http://example.com:8080/', policy({ allowedPorts: [], disallowedPorts: [22] }));
  refused('http://example.com:22/', 'port', policy({ allowedPorts: [], disallowedPorts: [22] }));
  refused('http://example.com/', 'port', policy({ allowedPorts: [], disallowedPorts: [80] }));
  allowed('http://example.com:8080/', policy({ allowedPorts: [8080], disallowedPorts: [8080] }));
});

test('hosts: allow list wins over deny list; matching is exact (case-insensitive), IPv6 literals canonical', () => {
  refused('http://evil.example/', 'host', policy({ disallowedHosts: ['evil.example'] }));
  refused('http://EVIL.example/', 'host', policy({ disallowedHosts: ['evil.example'] }));
  allowed('http://sub.evil.example/', policy({ disallowedHosts: ['evil.example'] }));
  refused('http://other.example/', 'host', policy({ allowedHosts: ['mirror.example'] }));
  allowed('http://mirror.example/', policy({ allowedHosts: ['mirror.example'], disallowedHosts: ['mirror.example'] }));
  refused('http://sub.mirror.example/', 'host', policy({ allowedHosts: ['mirror.example'] }));
  refused('http://[2606:4700:4700:0::1111]/', 'host', policy({ disallowedHosts: ['[2606:4700:4700::1111]'] }));
  refused('http://8.8.8.8/', 'host', policy({ disallowedHosts: ['8.8.8.8'] }));
});

test('operator exception: an allowed_hosts entry with its port in allowed_ports skips the address checks', () => {
  const p = policy({ allowedHosts: ['127.0.0.1', 'mirror.internal'], allowedPorts: [8080] });
  allowed('http://127.0.0.1:8080/', p);
  refused('http://127.0.0.1:8081/', 'port', p);
  refused('http://127.0.0.2:8080/', 'host', p);
  refused('http://[::1]:8080/', 'host', p);
  refused('http://[::ffff:127.0.0.1]:8080/', 'host', p);
  refused('http://2130706433:8080/', 'host_form', p);
  // Without allowed_ports there is no exception: the deny ranges apply.
  refused('http://127.0.0.1:8080/', 'address', policy({ allowedHosts: ['127.0.0.1'], allowedPorts: [], disallowedPorts: [] }));
});

test('[import_filtering_opts]: Glance defaults, Glimpse-only limits, bad ports refused at load', () => {
  const { config } = load('');
  assert.deepEqual(config.importFiltering, {
    allowedSchemes: ['http', 'https'], disallowedSchemes: [], allowedHosts: [], disallowedHosts: [],
    allowedPorts: [80, 443], disallowedPorts: [], maxRedirects: 5, connectTimeoutMs: 10000, readTimeoutMs: 60000,
    totalTimeoutMs: 0,
  });
  const custom = load('[import_filtering_opts]\nallowed_hosts = Mirror.Example, 127.0.0.1\nallowed_ports = 8080\n'
    + 'max_redirects = 0\ntotal_timeout = 1.5\n').config.importFiltering;
  assert.deepEqual(custom.allowedHosts, ['mirror.example', '127.0.0.1']);
  assert.deepEqual(custom.allowedPorts, [8080]);
  assert.equal(custom.maxRedirects, 0);
  assert.equal(custom.totalTimeoutMs, 1500);
  assert.match(loadError('[import_filtering_opts]\nallowed_ports = 80,http\n').message, /port/);
  assert.match(loadError('[import_filtering_opts]\ndisallowed_ports = 70000\n').message, /port/);
});
