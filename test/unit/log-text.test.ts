import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { formatJsonLine, formatRecord, formatTime } from '../../src/lib/log-text.ts';
import { closest, editDistance } from '../../src/config/suggest.ts';
import { createLogging } from '../../src/cli/logging.ts';
import { loadConfig } from '../../src/config/load.ts';

const time = new Date(2026, 11, 7, 20, 45, 7, 123).getTime();

test('a request line: time, pid, level, [request project user image], message, other fields', () => {
  const line = formatRecord({ level: 30, time, pid: 42, service: 'glimpse-api', request_id: 'req-1', project_id: 'p',
    user_id: 'u', image_id: 'i', msg: 'No image found with ID i', status: 404, code: 'image.not_found' });
  assert.equal(line, '2026-12-07 20:45:07.123 42 INFO [req-1 project=p user=u image=i] No image found with ID i status=404 code=image.not_found');
});

test('errors: the message inline, the stack below at ERROR; values with spaces quoted; no context, no brackets', () => {
  const err = { type: 'Error', message: 'ENOTDIR: not a directory', stack: 'Error: ENOTDIR: not a directory\n    at put (x.ts:1)\n    at run (y.ts:2)' };
  assert.equal(formatRecord({ level: 50, time, pid: 1, msg: 'request failed', err, reason: 'a b' }),
    '2026-12-07 20:45:07.123 1 ERROR request failed: ENOTDIR: not a directory reason="a b"\n    at put (x.ts:1)\n    at run (y.ts:2)');
  assert.equal(formatRecord({ level: 40, time, pid: 1, msg: 'upload failed', err }), '2026-12-07 20:45:07.123 1 WARNING upload failed: ENOTDIR: not a directory');
  assert.equal(formatRecord({ level: 30, msg: 'x', pid: 1, time }, { withHead: false }), 'INFO x');
});

test('formatJsonLine passes through what is not JSON; formatTime is local time with milliseconds', () => {
  assert.equal(formatJsonLine('not json'), 'not json\n');
  assert.equal(formatJsonLine('{"level":20,"time":0,"pid":1,"msg":"m"}').endsWith(' DEBUG m\n'), true);
  assert.equal(formatTime(time), '2026-12-07 20:45:07.123');
});

test('did you mean: a swap, a missing or an extra letter is close; an unrelated name is not', () => {
  assert.equal(editDistance('bind_prot', 'bind_port'), 1);
  assert.equal(closest('bind_prot', ['bind_host', 'bind_port', 'workers']), 'bind_port');
  assert.equal(closest('databse', ['database', 'glance_store']), 'database');
  assert.equal(closest('zzzz', ['bind_port', 'debug']), undefined);
  assert.equal(closest('debug', ['debug']), undefined, 'an exact name needs no suggestion');
});

function capture(isTTY: boolean, env: Record<string, string> = {}) {
  let text = '';
  const stdout = Object.assign(new Writable({ write(chunk, _e, done) { text += String(chunk); done(); } }), { isTTY });
  const { config } = loadConfig({ env });
  const { logger } = createLogging(config, { stdout });
  return { logger, text: () => text };
}

test('use_json unset: text on a terminal, JSON otherwise; use_json forces either', () => {
  const tty = capture(true);
  tty.logger.info({ image_id: 'abc' }, 'hello');
  assert.match(tty.text(), /^\d{4}-\d\d-\d\d [\d:.]+ \d+ INFO \[image=abc\] hello\n$/);
  const pipe = capture(false);
  pipe.logger.info({ image_id: 'abc' }, 'hello');
  assert.equal((JSON.parse(pipe.text()) as { msg: string; image_id: string }).image_id, 'abc');
  const forcedText = capture(false, { GLIMPSE_DEFAULT__USE_JSON: 'false' });
  forcedText.logger.info('x');
  assert.match(forcedText.text(), / INFO x\n$/);
  const forcedJson = capture(true, { GLIMPSE_DEFAULT__USE_JSON: 'true' });
  forcedJson.logger.warn('x');
  assert.equal((JSON.parse(forcedJson.text()) as { level: number }).level, 40);
  const debug = capture(false, { GLIMPSE_DEFAULT__DEBUG: 'true' });
  debug.logger.debug('d');
  assert.match(debug.text(), /"msg":"d"/);
  const info = capture(false);
  info.logger.debug('d');
  assert.equal(info.text(), '');
});

test('use_syslog: each line goes to the syslog socket with its facility and severity, through util-linux logger', async (t) => {
  const python = spawnSync('python3', ['--version']);
  const loggerTool = spawnSync('logger', ['--version']);
  if (python.status !== 0 || loggerTool.status !== 0) {
    t.skip('needs python3 (to listen on a unix datagram socket) and util-linux logger');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-syslog-'));
  const socket = join(dir, 'log.sock');
  const server = spawn('python3', ['-c', [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)', `s.bind(${JSON.stringify(socket)})`, 's.settimeout(20)',
    'print("ready", flush=True)',
    'for _ in range(2): print(s.recv(65536).decode(), flush=True)',
  ].join('\n')]);
  let received = '';
  server.stdout.on('data', (d: Buffer) => { received += d.toString(); });
  while (!received.includes('ready')) await new Promise((r) => setTimeout(r, 50));
  const { config } = loadConfig({ env: { GLIMPSE_DEFAULT__USE_SYSLOG: 'true', GLIMPSE_DEFAULT__SYSLOG_LOG_FACILITY: 'LOG_LOCAL0' } });
  const { logger, target } = createLogging(config, { name: 'glimpse-test', syslogSocket: socket });
  assert.equal(target, 'syslog (LOG_LOCAL0)');
  logger.info({ image_id: 'abc' }, 'hello syslog');
  logger.error('it broke');
  await once(server, 'exit');
  // LOG_LOCAL0 = 16: info = 16 * 8 + 6, error = 16 * 8 + 3.
  assert.match(received, /<134>[^\n]*glimpse-test\[\d+\]: INFO \[image=abc\] hello syslog/);
  assert.match(received, /<131>[^\n]*glimpse-test\[\d+\]: ERROR it broke/);
});
