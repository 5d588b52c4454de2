// Lazy request loggers (src/http/request-logger.ts): the same JSON fields as pino children, with no
// child made for the one request line.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';

import { LazyLogger, lazyChildLogger, logLine } from '../../src/http/request-logger.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const root = pino({ base: { service: 't' }, timestamp: false }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  return { root: root as unknown as FastifyBaseLogger, lines };
}

test('the request line carries every binding of the chain, as a pino child would, without making one', () => {
  const { root, lines } = capture();
  const made = (logger: FastifyBaseLogger) => (logger as unknown as { made: unknown }).made !== undefined;
  const request = lazyChildLogger(root, { request_id: 'req-1' }, {});
  const withImage = request.child({ image_id: 'i1' });
  const withCaller = withImage.child({ project_id: 'p', user_id: null });
  logLine(withCaller, 'info', { http_status: 200 }, 'GET / 200 in 1 ms');
  assert.ok(![request, withImage, withCaller].some(made), 'no pino child made');
  assert.deepEqual(lines[0], { level: 30, service: 't', request_id: 'req-1', image_id: 'i1', project_id: 'p', user_id: null, http_status: 200, msg: 'GET / 200 in 1 ms' });

  withCaller.warn({ code: 'x' }, 'something');
  assert.ok([request, withImage, withCaller].every(made), 'the chain is made when something logs through it');
  assert.deepEqual(lines[1], { level: 40, service: 't', request_id: 'req-1', image_id: 'i1', project_id: 'p', user_id: null, code: 'x', msg: 'something' });
  logLine(withCaller, 'warn', { http_status: 500 }, 'line');
  assert.deepEqual(lines[2], { level: 40, service: 't', request_id: 'req-1', image_id: 'i1', project_id: 'p', user_id: null, http_status: 500, msg: 'line' });
  assert.ok(withCaller instanceof LazyLogger);
});

test('levels: a line below the root level is dropped; child options make a real child at once', () => {
  const { root, lines } = capture();
  root.level = 'warn';
  const request = lazyChildLogger(root, { request_id: 'req-2' }, {});
  logLine(request, 'info', {}, 'dropped');
  request.info('dropped too');
  assert.equal(lines.length, 0);
  assert.equal(request.level, 'warn');
  const real = lazyChildLogger(root, { request_id: 'req-3' }, { level: 'error' });
  assert.ok(!(real instanceof LazyLogger));
  assert.equal(real.level, 'error');
});
